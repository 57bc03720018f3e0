/**
 * UI pieces shared by the views: Layer/Head selects, message banner, decoded-trait cache.
 * @module controls
 */
import { h, setOptions } from "./dom.js";
import { layerChoices, headChoices, headAfterLayerChange } from "./heads.js";
import { decodeSync } from "./decode.js";

/**
 * Layer and Head <select>s bound to the model traits layer/head (restricted by heads_available).
 * @param {object} model anywidget model
 * @returns {{el: HTMLElement, update: () => void}}
 */
export function headSelects(model) {
  const layerSelect = h("select", { class: "iw-layer-select", attrs: { "aria-label": "Layer" } });
  const headSelect = h("select", { class: "iw-head-select", attrs: { "aria-label": "Head" } });
  const el = h("span", { class: "iw-head-selects" }, [
    h("label", {}, ["Layer", layerSelect]),
    " ",
    h("label", {}, ["Head", headSelect]),
  ]);
  const nLayers = () => model.get("n_layers") | 0;
  const nHeads = () => model.get("n_heads") | 0;
  const available = () => model.get("heads_available") || [];

  function update() {
    const layer = model.get("layer");
    const head = model.get("head");
    setOptions(
      layerSelect,
      layerChoices(nLayers(), available()).map((l) => ({ value: l, label: String(l) })),
      layer,
    );
    setOptions(
      headSelect,
      headChoices(layer, nHeads(), available()).map((x) => ({ value: x, label: String(x) })),
      head,
    );
  }
  layerSelect.addEventListener("change", () => {
    const layer = Number(layerSelect.value);
    const head = headAfterLayerChange(layer, model.get("head"), nHeads(), available());
    model.set("layer", layer);
    if (head !== model.get("head")) model.set("head", head);
    model.save_changes();
    update();
  });
  headSelect.addEventListener("change", () => {
    model.set("head", Number(headSelect.value));
    model.save_changes();
    update();
  });
  update();
  return { el, update };
}

/**
 * Banner for the `message` trait (hidden when empty).
 * @returns {{el: HTMLElement, update: () => void}}
 */
export function messageBanner(model) {
  const el = h("div", { class: "iw-message", attrs: { role: "status" } });
  function update() {
    const msg = model.get("message") || "";
    el.textContent = msg;
    el.hidden = msg === "";
  }
  update();
  return { el, update };
}

/**
 * Decode buffer traits on demand, cached by the identity of the trait value (a new value from
 * the kernel is a new object).
 * @param {object} model
 * @returns {(name: string) => ({data: Float32Array, shape: number[]} | null)}
 */
export function bufferCache(model) {
  const cache = new Map();
  return (name) => {
    const raw = model.get(name);
    const hit = cache.get(name);
    if (hit && hit.raw === raw) return hit.value;
    let value = null;
    try {
      value = decodeSync(raw);
    } catch (err) {
      console.error(`induction_widgets: cannot decode ${name}`, err);
    }
    cache.set(name, { raw, value });
    return value;
  };
}

/**
 * Decode a uint8 mask trait to a Uint8Array (null when absent).
 */
export function maskOf(decoded) {
  if (!decoded) return null;
  const m = new Uint8Array(decoded.data.length);
  for (let i = 0; i < m.length; i++) m[i] = decoded.data[i] !== 0 ? 1 : 0;
  return m;
}

/** Largest |finite value| of a Float32Array (0 if none). */
export function maxAbsFinite(data) {
  let m = 0;
  if (!data) return 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}
