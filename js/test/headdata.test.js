// Head data on request: the request/answer protocol against the exported page's model stand-in,
// the browser-side cache and prefetch, and the facade the explorer composes its views with.
import { describe, expect, it } from "vitest";
import { StandaloneModel } from "../src/standalone.js";
import { decodeState, decodeSync } from "../src/shared/decode.js";
import { REST_DELAY_MS, headSource, withHeadData, tokenViewNeeds } from "../src/shared/headdata.js";
import { facade } from "../src/shared/facade.js";
import { b64Dict } from "./helpers.js";

const head = (v) => ({
  attention: b64Dict("uint8", [2, 2], [255, v, 255 - v], { layout: "tril", scale: 1 / 255, compress: true }),
  attribution: b64Dict("float32", [2, 2], [v, 0, NaN, NaN]),
  value_norm: b64Dict("float32", [2], [1, v]),
});

async function page() {
  const state = { tokens: ["a", "b"], layer: 0, head: 0, n_layers: 2, n_heads: 3, mode: "attention", ...head(10) };
  const store = { "0.0": head(10), "0.1": head(20), "1.1": head(100) };
  const model = new StandaloneModel(await decodeState(state), store);
  const sent = [];
  const send = model.send.bind(model);
  model.send = (msg) => {
    sent.push(msg);
    send(msg);
  };
  return { model, sent };
}

const settle = async (model) => {
  for (let i = 0; i < 5; i++) {
    await model.whenIdle();
    await new Promise((r) => setTimeout(r, 0));
  }
};

describe("head data on request", () => {
  it("asks for the mode's buffers, caches them, prefetches the rest and the neighbours", async () => {
    const { model, sent } = await page();
    const data = withHeadData(model, model, tokenViewNeeds);
    await settle(model);
    // first paint from the page's own state; then requests: this head, head 1; the rest of this
    // head only once it stayed on screen for REST_DELAY_MS
    expect(decodeSync(data.get("attention")).data[2]).toBeCloseTo(10 / 255, 6);
    expect(sent[0]).toMatchObject({ type: "iw:head", layer: 0, head: 0, names: ["attention"] });
    expect(sent.some((m) => m.head === 1 && m.names.includes("attention"))).toBe(true);
    const source = headSource(model);
    expect(source.get(0, 1, "attention")).not.toBeNull(); // the neighbour is already here
    const rest = (m) => m.head === 0 && m.names.includes("attribution");
    expect(sent.some(rest)).toBe(false);
    await new Promise((r) => setTimeout(r, REST_DELAY_MS + 50));
    await settle(model);
    expect(sent.some(rest)).toBe(true);
    expect(source.get(0, 0, "attribution")).not.toBeNull();
    const changes = [];
    data.on("change:attention", (m, v) => changes.push(decodeSync(v).data[2]));
    const before = sent.length;
    model.set("head", 1);
    await settle(model);
    expect(changes.at(-1)).toBeCloseTo(20 / 255, 6);
    expect(sent.slice(before).some((m) => m.head === 1 && m.names.includes("attention"))).toBe(false); // cached
    data.off();
    source.close();
  });

  it("a head the page does not hold is answered with an error and nothing changes", async () => {
    const { model } = await page();
    const source = headSource(model);
    const errors = [];
    source.listeners.add((l, h, names, error) => error && errors.push(error));
    source.request(1, 0, ["attention"]);
    await settle(model);
    expect(errors).toEqual(["head 1.0 not embedded in this file"]);
    expect(source.get(1, 0, "attention")).toBeNull();
    source.close();
  });

  it("the explorer's facade renames traits, derives selected_head and removes only its listeners", async () => {
    const { model } = await page();
    const map = facade(model, { derived: { selected_head: { deps: ["layer", "head"], get: (m) => [m.get("layer"), m.get("head")], set: (m, v) => { m.set("layer", v[0]); m.set("head", v[1]); } } }, fixed: { title: "" } });
    const matrix = facade(model, { rename: { mode: "matrix_mode" } });
    model.set("matrix_mode", "logit_attr");
    expect(matrix.get("mode")).toBe("logit_attr");
    expect(map.get("title")).toBe("");
    const seen = [];
    map.on("change:selected_head", (m, v) => seen.push(v));
    const own = [];
    model.on("change:layer", () => own.push("model"));
    map.set("selected_head", [1, 1]);
    await settle(model);
    expect(map.get("selected_head")).toEqual([1, 1]);
    expect(seen.at(-1)).toEqual([1, 1]);
    const heard = seen.length;
    map.off();
    model.set("layer", 0);
    await settle(model);
    expect(seen.length).toBe(heard); // the facade's listener is gone …
    expect(own.length).toBe(2); // … the model's own one is not
  });
});
