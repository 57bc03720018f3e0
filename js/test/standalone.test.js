// The model stand-in of exported HTML (no DOM needed).
import { describe, expect, it } from "vitest";
import { StandaloneModel, VIEWS, link } from "../src/standalone.js";
import { ENTRIES, RUNTIME, VIEW_KINDS, viewKinds, viewsModule } from "../build.mjs";
import { decodeState, decodeSync } from "../src/shared/decode.js";
import { b64Dict } from "./helpers.js";

const head = (v) => ({
  attention: b64Dict("uint8", [2, 2], [255, v, 255 - v], { layout: "tril", scale: 1 / 255, compress: true }),
  attribution: b64Dict("float32", [2, 2], [v, 0, NaN, NaN]),
  value_norm: b64Dict("float32", [2], [1, v]),
});

async function makeModel() {
  const state = { tokens: ["a", "b"], layer: 0, head: 0, n_layers: 2, n_heads: 2, message: "", selected: -1, ...head(10) };
  const store = { "0.0": head(10), "1.1": head(100) };
  return new StandaloneModel(await decodeState(state), store);
}

describe("StandaloneModel", () => {
  it("get/set/on/off with synchronous change events", async () => {
    const m = await makeModel();
    const seen = [];
    const cb = (model, value) => seen.push(value);
    m.on("change:selected", cb);
    m.set("selected", 1);
    m.set("selected", 1); // unchanged → no event
    m.save_changes();
    m.send({});
    expect(seen).toEqual([1]);
    m.off("change:selected", cb);
    m.set("selected", 0);
    expect(seen).toEqual([1]);
  });

  it("swaps in the stored head's buffers before firing layer/head events", async () => {
    const m = await makeModel();
    const events = [];
    let attentionAtLayerEvent = null;
    for (const t of ["layer", "head", "attention", "attribution", "value_norm", "message"]) m.on(`change:${t}`, () => events.push(t));
    m.on("change:layer", () => {
      attentionAtLayerEvent = decodeSync(m.get("attention")).data[2];
    });
    m.set("layer", 1);
    m.set("head", 1);
    await m.whenIdle();
    expect(m.get("layer")).toBe(1);
    expect(m.get("head")).toBe(1);
    expect(attentionAtLayerEvent).toBeCloseTo(100 / 255, 6);
    expect(decodeSync(m.get("value_norm")).data[1]).toBe(100);
    expect(events).toEqual(expect.arrayContaining(["layer", "head", "attention", "attribution", "value_norm"]));
    expect(m.get("message")).toBe("");
  });

  it("a head that is not embedded sets a message and clears the buffers", async () => {
    const m = await makeModel();
    m.set("layer", 1); // head stays 0 → "1.0" not in store
    await m.whenIdle();
    expect(m.get("message")).toBe("head 1.0 not embedded in this file");
    expect(m.get("attention")).toEqual({});
    m.set("head", 1);
    await m.whenIdle();
    expect(m.get("message")).toBe("");
    expect(decodeSync(m.get("attention")).shape).toEqual([2, 2]);
  });

  it("the initial head is available again after switching away", async () => {
    const state = { layer: 0, head: 1, message: "", ...head(7) };
    const m = new StandaloneModel(await decodeState(state), { "1.1": head(100) });
    m.set("layer", 1);
    await m.whenIdle();
    m.set("layer", 0);
    m.set("head", 1);
    await m.whenIdle();
    expect(m.get("message")).toBe("");
    expect(decodeSync(m.get("value_norm")).data[1]).toBe(7);
  });

  it("link copies selected_head to layer/head", async () => {
    const target = await makeModel();
    const source = new StandaloneModel({ selected_head: [] });
    const unlink = link(source, "selected_head", target);
    source.set("selected_head", [1, 1]);
    await target.whenIdle();
    expect([target.get("layer"), target.get("head")]).toEqual([1, 1]);
    unlink();
    source.set("selected_head", [0, 0]);
    await target.whenIdle();
    expect([target.get("layer"), target.get("head")]).toEqual([1, 1]);
  });

  it("exposes every view file js/src/<kind>.js, and only those", () => {
    expect(Object.keys(VIEWS).sort()).toEqual(VIEW_KINDS);
    expect(VIEW_KINDS).toEqual(expect.arrayContaining(["token_view", "attention_matrix", "head_map", "explorer", "verdict_scatter", "loss_curve", "partners", "phase_change"]));
    for (const kind of VIEW_KINDS) expect(typeof VIEWS[kind].render).toBe("function");
  });
});

describe("the view registry follows the files", () => {
  it("builds every view file and the runtime", () => {
    expect(ENTRIES).toEqual([...VIEW_KINDS, RUNTIME]);
    expect(VIEW_KINDS).not.toContain(RUNTIME);
  });

  it("picks up a new view file without an edit", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const dir = mkdtempSync(path.join(tmpdir(), "iw-views-"));
    for (const name of ["a_view.js", "standalone.js", "b_view.js"]) writeFileSync(path.join(dir, name), "export default { render() {} };\n");
    expect(viewKinds(dir)).toEqual(["a_view", "b_view"]);
    const src = viewsModule(viewKinds(dir), dir);
    expect(src).toContain(JSON.stringify(path.join(dir, "b_view.js")));
    expect(src).toMatch(/export default \{ "a_view": v0, "b_view": v1 \};/);
  });
});
