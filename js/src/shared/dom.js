// @ts-check
/**
 * Tiny DOM helpers. Text always goes through textContent, never innerHTML.
 * @module dom
 */

/**
 * Create an element.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {{class?: string, text?: string, attrs?: Object<string, string | number>, title?: string}} [o]
 * @param {(Node|string)[]} [children] strings become text nodes
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, o = {}, children = []) {
  const el = document.createElement(tag);
  if (o.class) el.className = o.class;
  if (o.text != null) el.textContent = String(o.text);
  if (o.title != null) el.title = String(o.title);
  if (o.attrs) for (const [k, v] of Object.entries(o.attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

/**
 * Subscribe to `change:<name>` for several traits; returns a function that unsubscribes all, which
 * `signal` (the view's teardown) also calls on abort.
 * @param {{on: Function, off: Function}} model
 * @param {string[]} names
 * @param {(...args: any[]) => void} cb
 * @param {AbortSignal} [signal]
 */
export function listen(model, names, cb, signal) {
  const events = names.map((n) => `change:${n}`);
  for (const e of events) model.on(e, cb);
  const off = () => {
    for (const e of events) {
      try {
        model.off(e, cb);
      } catch {
        /* model already closed */
      }
    }
  };
  signal?.addEventListener("abort", off, { once: true });
  return off;
}

/**
 * Fill a <select> with options [{value, label}] and select `current` (adding it when missing).
 * Rebuilds only when the option list changed.
 * @param {HTMLSelectElement} select
 * @param {{value: number|string, label: string}[]} options
 * @param {number|string} current
 */
export function setOptions(select, options, current) {
  const opts = options.slice();
  if (current != null && current !== "" && !opts.some((o) => String(o.value) === String(current))) {
    opts.unshift({ value: current, label: `${current}` });
  }
  const key = JSON.stringify(opts);
  if (select.dataset.key !== key) {
    select.replaceChildren(
      ...opts.map((o) => {
        const opt = document.createElement("option");
        opt.value = String(o.value);
        opt.textContent = o.label;
        return opt;
      }),
    );
    select.dataset.key = key;
  }
  select.value = String(current);
}

/** devicePixelRatio clamped to [1, 3]. */
export const pixelRatio = () => Math.min(3, Math.max(1, (typeof window !== "undefined" && window.devicePixelRatio) || 1));
