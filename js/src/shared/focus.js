// @ts-check
/**
 * Hover / lock / arrow-key focus shared by the views (after CircuitsVis's `useHoverLock`: the
 * focused item is the locked one if any, else the hovered one).
 *
 *   hover(x)   the pointer is over x (null: over nothing)
 *   click(x)   lock x; clicking the locked item again unlocks (when `toggle`)
 *   step(±1)   arrow keys: move the lock to the next selectable index, clamped at the ends
 *   unlock()   Escape
 *
 * Items are whatever the view points at (a token index, a [row, col] cell), compared by `equal`.
 * Subscribers hear every change (with its cause); `bindPointer` / `bindKeys` add the DOM listeners
 * under the view's AbortSignal, so one `AbortController.abort()` removes them all.
 * @module focus
 */

/**
 * @template T
 * @typedef {{ hover: T | null, locked: T | null, focused: T | null }} FocusState
 */
/** @typedef {"hover" | "lock" | "unlock" | "step" | "set"} FocusCause */

/**
 * @template T
 * @typedef {(state: FocusState<T>, cause: FocusCause) => void} FocusListener
 */

/** Cells ([row, col] arrays) compare by value. @param {any} a @param {any} b @returns {boolean} */
export const sameCell = (a, b) =>
  a === b || (Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]));

/** @template T */
export class Focus {
  /**
   * @param {{ equal?: (a: T, b: T) => boolean, selectable?: (x: T) => boolean, toggle?: boolean }} [o]
   *   equal: item identity (default ===, or {@link sameCell} for cells); selectable: which items
   *   can be locked (default all); toggle: whether clicking the locked item unlocks it (default true)
   */
  constructor({ equal = (a, b) => a === b, selectable = () => true, toggle = true } = {}) {
    /** @type {T | null} */
    this.hover = null;
    /** @type {T | null} */
    this.locked = null;
    this.equal = equal;
    this.selectable = selectable;
    this.toggle = toggle;
    /** @type {Set<FocusListener<T>>} */
    this.listeners = new Set();
  }

  /** The locked item if any, else the hovered one. @returns {T | null} */
  get focused() {
    return this.locked !== null ? this.locked : this.hover;
  }

  /** @param {T | null} a @param {T | null} b */
  same(a, b) {
    return a === null || b === null ? a === b : this.equal(a, b);
  }

  /** @param {FocusCause} cause */
  emit(cause) {
    const state = { hover: this.hover, locked: this.locked, focused: this.focused };
    for (const cb of [...this.listeners]) cb(state, cause);
  }

  /**
   * Hear every change. Returns an unsubscribe function; `signal` also unsubscribes on abort.
   * @param {FocusListener<T>} cb
   * @param {AbortSignal} [signal]
   */
  subscribe(cb, signal) {
    if (signal?.aborted) return () => {};
    this.listeners.add(cb);
    const off = () => this.listeners.delete(cb);
    signal?.addEventListener("abort", off, { once: true });
    return off;
  }

  /** The pointer is over `x` (null: over nothing). @param {T | null} x */
  setHover(x) {
    if (this.same(x, this.hover)) return;
    this.hover = x;
    this.emit("hover");
  }

  /** A click on `x`: unlock if it is the locked item (toggle), else lock it when selectable. @param {T | null} x */
  click(x) {
    if (x === null) return;
    if (this.toggle && this.same(x, this.locked)) this.unlock();
    else if (this.selectable(x)) this.lock(x);
  }

  /** @param {T} x */
  lock(x) {
    if (this.same(x, this.locked)) return;
    this.locked = x;
    this.emit("lock");
  }

  /** Escape. @returns {boolean} whether something was locked */
  unlock() {
    if (this.locked === null) return false;
    this.locked = null;
    this.emit("unlock");
    return true;
  }

  /** Set both from outside (e.g. a trait changed in the kernel) without echoing a cause other than "set".
   * @param {{ hover?: T | null, locked?: T | null }} s */
  set(s) {
    const hover = s.hover === undefined ? this.hover : s.hover;
    const locked = s.locked === undefined ? this.locked : s.locked;
    if (this.same(hover, this.hover) && this.same(locked, this.locked)) return;
    this.hover = hover;
    this.locked = locked;
    this.emit("set");
  }
}

/**
 * Arrow-key move over indices [0, n): from the locked index (or from the first / last index when
 * nothing is locked) to the next selectable one in `dir`; at the ends it stays where it is.
 * @param {Focus<number>} focus
 * @param {1 | -1} dir
 * @param {number} n
 * @returns {number | null} the newly locked index, or null when there was nowhere to go
 */
export function step(focus, dir, n) {
  const from = focus.locked;
  let i = from !== null ? from + dir : dir > 0 ? 0 : n - 1;
  while (i >= 0 && i < n && !focus.selectable(i)) i += dir;
  if (i < 0 || i >= n) return null;
  focus.locked = i;
  focus.emit("step");
  return i;
}

/** @param {EventTarget | null} t */
const isFormControl = (t) =>
  typeof Element !== "undefined" && t instanceof Element && Boolean(t.closest("select, input, textarea"));

/**
 * Keys on `root`: Escape unlocks, ←/→ step the lock over [0, size()) (clamped). Keys are left
 * alone while a form control inside has the focus, or with Alt/Ctrl/Meta.
 * @param {EventTarget} root
 * @param {Focus<number>} focus
 * @param {{ signal: AbortSignal, size: () => number, onStep?: (i: number) => void }} o
 */
export function bindKeys(root, focus, { signal, size, onStep }) {
  root.addEventListener(
    "keydown",
    (ev) => {
      const e = /** @type {KeyboardEvent} */ (ev);
      if (e.target !== root && isFormControl(e.target)) return;
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "Escape") {
        if (focus.unlock()) {
          e.preventDefault();
          e.stopPropagation();
        }
      } else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        const i = step(focus, e.key === "ArrowRight" ? 1 : -1, size());
        if (i !== null) onStep?.(i);
        e.preventDefault();
        e.stopPropagation();
      }
    },
    { signal },
  );
}

/**
 * Pointer on `target`: `move` events hover the item under the pointer (`itemAt`), `leave` clears
 * the hover, `click` calls `onClick` (default: {@link Focus#click}).
 * @template T
 * @param {EventTarget} target
 * @param {Focus<T>} focus
 * @param {{ signal: AbortSignal, itemAt: (e: any) => T | null, move?: string, leave?: string,
 *           onClick?: ((item: T | null, e: any) => void) | null }} o
 *   move / leave: event names (default pointermove / pointerleave); onClick null: no click handler
 */
export function bindPointer(target, focus, { signal, itemAt, move = "pointermove", leave = "pointerleave", onClick }) {
  target.addEventListener(move, (e) => focus.setHover(itemAt(e)), { signal });
  target.addEventListener(leave, () => focus.setHover(null), { signal });
  if (onClick === null) return;
  const click = onClick ?? ((/** @type {T | null} */ item) => focus.click(item));
  target.addEventListener("click", (e) => click(itemAt(e), e), { signal });
}

/** @typedef {"ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown"} ArrowKey */
/** @type {Record<string, [number, number]>} [row, col] step of each arrow key */
const ARROWS = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };

/**
 * Keyboard use of a grid drawn on a canvas (the head map, the matrix, the scatter's heads): the
 * target becomes focusable (tabindex 0; the kit's CSS draws its focus ring), the arrow keys move a
 * cursor over the rows × cols cells [row, col] (clamped at the edges; from `start()` or [0, 0]
 * when there is none), Enter or Space selects the cell under the cursor (`onEnter`, default: lock
 * it), Escape unlocks (or, with nothing locked, drops the cursor). The cursor is the Focus's hover
 * — or its lock while something is locked, so the arrows then move the lock — so a view draws and
 * reads out a keyboard cursor exactly as it does the pointer's. Handled keys stop here (a token
 * view around, as in the explorer, does not step its own lock too).
 * @template T
 * @param {HTMLElement} target
 * @param {Focus<T>} focus
 * @param {{ signal: AbortSignal, shape: () => [number, number], start?: () => number[] | null,
 *           toItem?: (cell: [number, number]) => T, toCell?: (item: T) => number[],
 *           onEnter?: (item: T) => void }} o
 *   toItem / toCell: the Focus's items from / to cells (default: the cell itself)
 */
export function bindGridKeys(target, focus, { signal, shape, start, toItem, toCell, onEnter }) {
  const item = toItem ?? ((/** @type {[number, number]} */ c) => /** @type {T} */ (/** @type {unknown} */ (c)));
  const cell = toCell ?? ((/** @type {T} */ x) => /** @type {number[]} */ (/** @type {unknown} */ (x)));
  target.tabIndex = 0;
  target.addEventListener(
    "keydown",
    (ev) => {
      const e = /** @type {KeyboardEvent} */ (ev);
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const [rows, cols] = shape();
      const delta = ARROWS[e.key];
      if (delta) {
        if (rows <= 0 || cols <= 0) return;
        const cur = focus.focused;
        const from = cur !== null ? cell(cur) : start?.() ?? null;
        /** @type {[number, number]} */
        const next = from
          ? [Math.min(Math.max(from[0] + (cur !== null ? delta[0] : 0), 0), rows - 1),
             Math.min(Math.max(from[1] + (cur !== null ? delta[1] : 0), 0), cols - 1)]
          : [0, 0];
        if (focus.locked !== null) focus.lock(item(next));
        else focus.setHover(item(next));
      } else if (e.key === "Enter" || e.key === " ") {
        const cur = focus.focused;
        if (cur === null) return;
        if (onEnter) onEnter(cur);
        else focus.lock(cur);
      } else if (e.key === "Escape") {
        if (!focus.unlock()) {
          if (focus.hover === null) return;
          focus.setHover(null);
        }
      } else return;
      e.preventDefault();
      e.stopPropagation();
    },
    { signal },
  );
  // leaving by Tab drops the keyboard cursor (not a lock)
  target.addEventListener("blur", () => focus.setHover(null), { signal });
}
