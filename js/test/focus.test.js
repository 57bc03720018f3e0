// The shared focus state machine (hover / lock / arrows / Escape) and pointer → cell, without a DOM:
// Node's own EventTarget carries the events, so teardown is checked on real listeners.
import { describe, expect, it } from "vitest";
import { Focus, bindKeys, bindPointer, sameCell, step } from "../src/shared/focus.js";
import { cellAt } from "../src/shared/canvas.js";

/** A keydown-like event (Node has no KeyboardEvent). */
function key(name, extra = {}) {
  return Object.assign(new Event("keydown", { cancelable: true }), { key: name, altKey: false, ctrlKey: false, metaKey: false, ...extra });
}
/** A pointer-like event carrying the item under the pointer. */
function pointer(type, item) {
  return Object.assign(new Event(type), { item });
}

describe("Focus: hover and lock", () => {
  it("hover then lock: the lock wins over later hovers, unlock gives the hover back", () => {
    const f = new Focus();
    const seen = [];
    f.subscribe((s, cause) => seen.push([cause, s.hover, s.locked, s.focused]));
    f.setHover(3);
    expect(f.focused).toBe(3);
    f.click(3);
    expect(f.locked).toBe(3);
    f.setHover(5);
    expect(f.focused).toBe(3); // locked beats hovered
    f.click(3); // clicking the locked item unlocks (toggle)
    expect(f.locked).toBe(null);
    expect(f.focused).toBe(5);
    expect(seen).toEqual([
      ["hover", 3, null, 3],
      ["lock", 3, 3, 3],
      ["hover", 5, 3, 3],
      ["unlock", 5, null, 5],
    ]);
  });
  it("repeated hovers of the same item are silent; cells compare by value", () => {
    const f = new Focus({ equal: sameCell });
    let calls = 0;
    f.subscribe(() => calls++);
    f.setHover([1, 2]);
    f.setHover([1, 2]);
    f.setHover(null);
    f.setHover(null);
    expect(calls).toBe(2);
  });
  it("only selectable items lock; without toggle a second click keeps the lock", () => {
    const f = new Focus({ selectable: (i) => i % 2 === 0, toggle: false });
    f.click(1);
    expect(f.locked).toBe(null);
    f.click(2);
    f.click(2);
    expect(f.locked).toBe(2);
    f.click(null);
    expect(f.locked).toBe(2);
  });
  it("set() from outside updates without a hover/lock cause", () => {
    const f = new Focus();
    const causes = [];
    f.subscribe((_s, c) => causes.push(c));
    f.set({ locked: 4 });
    f.set({ locked: 4 });
    expect(f.locked).toBe(4);
    expect(causes).toEqual(["set"]);
  });
});

describe("Focus: arrow keys and Escape", () => {
  it("arrows step over unselectable items and clamp at both ends", () => {
    const f = new Focus({ selectable: (i) => i !== 1 && i !== 4 });
    expect(step(f, 1, 5)).toBe(0); // nothing locked: → starts at the first
    expect(step(f, 1, 5)).toBe(2); // 1 is skipped
    expect(step(f, 1, 5)).toBe(3);
    expect(step(f, 1, 5)).toBe(null); // 4 unselectable, 5 past the end: stays
    expect(f.locked).toBe(3);
    expect(step(f, -1, 5)).toBe(2);
    expect(step(f, -1, 5)).toBe(0);
    expect(step(f, -1, 5)).toBe(null);
    expect(f.locked).toBe(0);
    f.unlock();
    expect(step(f, -1, 5)).toBe(3); // nothing locked: ← starts at the last selectable
  });
  it("keydown on the root: arrows lock and move, Escape unlocks, modifiers are ignored", () => {
    const root = new EventTarget();
    const f = new Focus();
    const ctrl = new AbortController();
    const stepped = [];
    bindKeys(root, f, { signal: ctrl.signal, size: () => 3, onStep: (i) => stepped.push(i) });
    root.dispatchEvent(key("ArrowRight"));
    root.dispatchEvent(key("ArrowRight"));
    expect(f.locked).toBe(1);
    root.dispatchEvent(key("ArrowRight", { ctrlKey: true }));
    expect(f.locked).toBe(1);
    for (let i = 0; i < 5; i++) root.dispatchEvent(key("ArrowRight"));
    expect(f.locked).toBe(2); // clamped
    expect(stepped).toEqual([0, 1, 2]);
    const esc = key("Escape");
    root.dispatchEvent(esc);
    expect(f.locked).toBe(null);
    expect(esc.defaultPrevented).toBe(true);
    const esc2 = key("Escape"); // nothing locked: the key is left to the page
    root.dispatchEvent(esc2);
    expect(esc2.defaultPrevented).toBe(false);
  });
  it("teardown: after abort no listener reacts and no subscriber hears anything", () => {
    const root = new EventTarget();
    const target = new EventTarget();
    const f = new Focus();
    const ctrl = new AbortController();
    let heard = 0;
    f.subscribe(() => heard++, ctrl.signal);
    bindKeys(root, f, { signal: ctrl.signal, size: () => 3 });
    bindPointer(target, f, { signal: ctrl.signal, itemAt: (e) => e.item });
    target.dispatchEvent(pointer("pointermove", 2));
    target.dispatchEvent(pointer("click", 2));
    expect([f.hover, f.locked, heard]).toEqual([2, 2, 2]);
    ctrl.abort();
    expect(f.listeners.size).toBe(0);
    target.dispatchEvent(pointer("pointerleave"));
    target.dispatchEvent(pointer("click", 2));
    target.dispatchEvent(pointer("pointermove", 1));
    root.dispatchEvent(key("Escape"));
    root.dispatchEvent(key("ArrowLeft"));
    expect([f.hover, f.locked]).toEqual([2, 2]); // no DOM listener left
    f.setHover(0);
    expect(heard).toBe(2); // no subscriber left
    expect(f.subscribe(() => heard++, ctrl.signal)()).toBe(undefined); // subscribing after abort is a no-op
    f.setHover(1);
    expect(heard).toBe(2);
  });
  it("pointer binding: custom event names, leave clears the hover, onClick null adds no click", () => {
    const target = new EventTarget();
    const f = new Focus();
    const ctrl = new AbortController();
    bindPointer(target, f, { signal: ctrl.signal, itemAt: (e) => e.item, move: "mouseover", leave: "mouseleave", onClick: null });
    target.dispatchEvent(pointer("pointermove", 1));
    expect(f.hover).toBe(null);
    target.dispatchEvent(pointer("mouseover", 1));
    expect(f.hover).toBe(1);
    target.dispatchEvent(pointer("click", 1));
    expect(f.locked).toBe(null);
    target.dispatchEvent(pointer("mouseleave"));
    expect(f.hover).toBe(null);
    ctrl.abort();
  });
});

describe("pointer to cell", () => {
  const grid = { left: 30, top: 10, scale: 8, rows: 3, cols: 4 };
  it("maps CSS pixels to [row, col] with the margins, null outside", () => {
    expect(cellAt(30, 10, grid)).toEqual([0, 0]);
    expect(cellAt(30 + 8 * 3 + 7.9, 10 + 8 * 2 + 7.9, grid)).toEqual([2, 3]);
    expect(cellAt(29.9, 12, grid)).toBe(null);
    expect(cellAt(31, 9.9, grid)).toBe(null);
    expect(cellAt(30 + 8 * 4, 12, grid)).toBe(null);
    expect(cellAt(31, 10 + 8 * 3, grid)).toBe(null);
    expect(cellAt(31, 11, { ...grid, rows: 0 })).toBe(null);
  });
  it("zoomed and panned: origin cell at the corner, clipped to the plot area", () => {
    const g = { left: 0, top: 0, scale: 20, rows: 100, cols: 100, originCol: 10.5, originRow: 40, width: 200, height: 200 };
    expect(cellAt(0, 0, g)).toEqual([40, 10]);
    expect(cellAt(10, 0, g)).toEqual([40, 11]);
    expect(cellAt(199, 199, g)).toEqual([49, 20]);
    expect(cellAt(200, 10, g)).toBe(null);
  });
});

describe("model subscriptions go with the view's signal", () => {
  it("listen(…, signal): a trait change after abort reaches no callback", async () => {
    const { StandaloneModel } = await import("../src/standalone.js");
    const { listen } = await import("../src/shared/dom.js");
    const model = new StandaloneModel({ mode: "attention", layer: 0 });
    const ctrl = new AbortController();
    const seen = [];
    listen(model, ["mode", "layer"], () => seen.push([model.get("mode"), model.get("layer")]), ctrl.signal);
    model.set("mode", "logit_attr");
    expect(seen).toEqual([["logit_attr", 0]]);
    ctrl.abort();
    model.set("layer", 3);
    model.set("mode", "attention");
    expect(seen).toEqual([["logit_attr", 0]]);
  });
});
