// The kernel-lost watch: fires once on ipywidgets' `comm_live_update` or the kernel connection's
// status turning "dead", never otherwise.
import { describe, expect, it } from "vitest";
import { watchKernel } from "../src/shared/controls.js";

/** The slice of a Backbone model the watch uses: on/off/trigger. */
function emitter() {
  const handlers = new Map();
  return {
    on(name, cb) {
      if (!handlers.has(name)) handlers.set(name, []);
      handlers.get(name).push(cb);
    },
    off(name, cb) {
      handlers.set(name, (handlers.get(name) || []).filter((f) => f !== cb));
    },
    trigger(name) {
      for (const cb of handlers.get(name) || []) cb();
    },
    count: (name) => (handlers.get(name) || []).length,
  };
}

describe("watchKernel", () => {
  it("calls onLost once, on the first comm_live_update only", () => {
    const m = emitter();
    let calls = 0;
    watchKernel(m, () => calls++);
    m.trigger("change:layer");
    m.trigger("comm:close");
    expect(calls).toBe(0);
    m.trigger("comm_live_update");
    m.trigger("comm_live_update"); // JupyterLab fires it once per manager that disconnects
    expect(calls).toBe(1);
  });

  it("unsubscribes", () => {
    const m = emitter();
    let calls = 0;
    const dispose = watchKernel(m, () => calls++);
    expect(m.count("comm_live_update")).toBe(1);
    dispose();
    expect(m.count("comm_live_update")).toBe(0);
    m.trigger("comm_live_update");
    expect(calls).toBe(0);
  });

  it("survives a model whose off throws (already closed)", () => {
    const m = emitter();
    m.off = () => {
      throw new Error("closed");
    };
    const dispose = watchKernel(m, () => {});
    expect(() => dispose()).not.toThrow();
  });

  it("fires once when the manager's kernel goes dead (no restart)", () => {
    const slots = [];
    const kernel = {
      statusChanged: {
        connect: (f) => slots.push(f),
        disconnect: (f) => slots.splice(slots.indexOf(f), 1),
      },
    };
    const m = { ...emitter(), widget_manager: { kernel } };
    let calls = 0;
    const dispose = watchKernel(m, () => calls++);
    for (const status of ["busy", "idle", "unknown", "starting"]) slots.forEach((f) => f(kernel, status));
    expect(calls).toBe(0);
    slots.forEach((f) => f(kernel, "dead"));
    slots.forEach((f) => f(kernel, "dead"));
    expect(calls).toBe(1);
    dispose();
    expect(slots.length).toBe(0);
  });

  it("works without a widget manager or kernel (exported pages)", () => {
    for (const wm of [undefined, {}, { kernel: null }, { kernel: {} }]) {
      const m = { ...emitter(), widget_manager: wm };
      let calls = 0;
      const dispose = watchKernel(m, () => calls++);
      m.trigger("comm_live_update");
      expect(calls).toBe(1);
      expect(() => dispose()).not.toThrow();
    }
  });
});
