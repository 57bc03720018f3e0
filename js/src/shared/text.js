// @ts-check
/**
 * Formatting of token strings for status lines, readouts and canvas labels. Pure.
 * @module text
 */

// C0/C1 controls except \n \t, bidi controls and embeddings/isolates, zero-width chars, BOM.
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** Escape invisible/bidi characters as \uXXXX, newlines as \n and tabs as \t. @param {unknown} s */
export function escapeInvisible(s) {
  return String(s)
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Double-quoted, escaped token, truncated to `max` characters (with …).
 * @param {string} token
 * @param {number} [max]
 */
export function quoteToken(token, max = 40) {
  let s = escapeInvisible(token ?? "").replace(/"/g, '\\"');
  if (s.length > max) s = `${s.slice(0, max - 1)}…`;
  return `"${s}"`;
}

/**
 * Single-line label for a canvas axis: newline → ↵, invisible characters removed, truncated.
 * @param {string} token
 * @param {number} [max]
 */
export function labelToken(token, max = 16) {
  let s = String(token ?? "")
    .replace(/\r?\n/g, "↵")
    .replace(/\t/g, "⇥")
    .replace(INVISIBLE, "");
  if (s.length > max) s = `${s.slice(0, max - 1)}…`;
  return s;
}

/** "prefix_matching" → "prefix matching". */
export const prettyName = (/** @type {unknown} */ name) => String(name).replace(/_/g, " ");
