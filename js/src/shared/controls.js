// @ts-check
/**
 * UI pieces shared by the views: Layer/Head selects, mode buttons, colour legend, message banner,
 * attention-scale (sink) control, kernel-lost banner, decoded-trait cache.
 * @module controls
 */
import { h, setOptions } from "./dom.js";
import { injectStyles, legend } from "./colour.js";
import { scaleMeaning, sinkName } from "./sink.js";

/**
 * The frame every view starts from: the stylesheet, a focusable root `div.iw-root.<cls>`, and ONE
 * AbortController per view. Its signal carries every DOM listener, model subscription (dom.js
 * `listen`), focus subscription and observer of the view; `dispose()` aborts it and removes the root.
 * @param {HTMLElement} el
 * @param {string} cls the view's class, e.g. "iw-token-view"
 * @returns {{ root: HTMLElement, signal: AbortSignal, dispose: () => void }}
 */
export function viewShell(el, cls) {
  const controller = new AbortController();
  injectStyles(el);
  const root = h("div", { class: `iw-root ${cls}`, attrs: { tabindex: "0" } });
  return {
    root,
    signal: controller.signal,
    dispose() {
      controller.abort();
      root.remove();
    },
  };
}
import { layerChoices, headChoices, headAfterLayerChange } from "./heads.js";
import { decodeSync } from "./decode.js";

/**
 * The traits of a view of one head, as the kit's controls read them.
 * @typedef {{ layer: number, head: number, n_layers: number, n_heads: number, heads_available: number[][] }} HeadTraits
 */

/**
 * Layer and Head <select>s bound to the model traits layer/head (restricted by heads_available).
 * @param {import("./types.js").Model<HeadTraits>} model anywidget model
 * @param {AbortSignal} [signal] the view's teardown signal: the selects' listeners go with it
 * @returns {{el: HTMLElement, update: () => void, disable: (reason: string) => void}}
 */
export function headSelects(model, signal) {
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
  }, { signal });
  headSelect.addEventListener("change", () => {
    model.set("head", Number(headSelect.value));
    model.save_changes();
    update();
  }, { signal });
  update();
  /** Grey the selects out (e.g. once the kernel is gone: a change could not reach it). @param {string} reason */
  function disable(reason) {
    for (const s of [layerSelect, headSelect]) {
      s.disabled = true;
      s.title = reason;
    }
  }
  return { el, update, disable };
}

/**
 * A row of mode buttons (one pressed at a time) bound to a string trait: a click sets the trait and
 * saves; `update()` (the view calls it when drawing its controls) shows the trait's current value
 * (class iw-active, aria-pressed).
 * @param {{ value: string, label: string, class: string }[]} modes
 * @param {{ get: () => string, set: (value: string) => void, signal: AbortSignal }} o
 * @returns {{ el: HTMLElement, update: () => void }}
 */
export function modeButtons(modes, { get, set, signal }) {
  const buttons = modes.map((m) => {
    const b = h("button", { class: m.class, text: m.label, attrs: { type: "button" } });
    b.addEventListener("click", () => set(m.value), { signal });
    return b;
  });
  function update() {
    const current = get();
    modes.forEach((m, i) => {
      buttons[i].classList.toggle("iw-active", m.value === current);
      buttons[i].setAttribute("aria-pressed", String(m.value === current));
    });
  }
  return { el: h("span", { class: "iw-buttons" }, buttons), update };
}

/** The attention / logit-attribution pair of {@link modeButtons} used by the head views. */
export const HEAD_MODES = [
  { value: "attention", label: "Attention", class: "iw-mode-attention" },
  { value: "logit_attr", label: "Logit attr", class: "iw-mode-logit" },
];

/**
 * A colour legend (see colour.js `legend`) that redraws only when its kind or range changed.
 * @returns {{ el: HTMLElement, show: (kind: "attention" | "attribution" | "sequential", vmax?: number, vmin?: number, palette?: unknown) => void }}
 */
export function legendSlot() {
  const el = h("span", { class: "iw-legend" });
  let key = "";
  return {
    el,
    show(kind, vmax = 1, vmin = 0, palette = "paper") {
      const k = `${kind}:${vmax}:${vmin}:${palette}`;
      if (k === key) return;
      key = k;
      legend(el, kind, vmax, vmin, palette);
    },
  };
}

/**
 * The attention-scale control of the head views (attention matrix, token view): a labelled
 * `select.iw-sink-scale` bound to the `sink_scale` trait ("auto (<the head's default>)",
 * "without sink", "all sources"), and the legend note saying what 1.0 means on the scale on screen
 * ("1 = whole row" / "1 = row outside BOS"; the full sentence is the note's and the legend's tooltip).
 * `update(scale, summary, attention)`: `scale` the scale on screen (shared/sink.js `scaleOnScreen`),
 * `summary` the sink summary of the attention buffer (`sinkSummary`; null: no attention), `attention`
 * whether the view shows attention (otherwise the note is empty and the select disabled).
 * @param {{ get: (name: string) => any, set: (name: string, value: any) => void, save_changes: () => void }} model
 * @param {{ el: HTMLElement }} legendEl the view's legend ({@link legendSlot}): its tooltip gets the meaning
 * @param {AbortSignal} signal the view's teardown signal
 * @returns {{ el: HTMLElement, note: HTMLElement,
 *   update: (scale: string, summary: { first: number, defaultScale: string } | null, attention: boolean) => void }}
 */
export function sinkScaleControl(model, legendEl, signal) {
  const select = h("select", { class: "iw-sink-scale", attrs: { "aria-label": "Attention scale" } });
  const el = h("label", { title: "leave the attention sink out of the colour scale (each row renormalised over the other sources), or show every source" }, ["scale", select]);
  const note = h("span", { class: "iw-legend-note" });
  select.addEventListener(
    "change",
    () => {
      model.set("sink_scale", select.value);
      model.save_changes();
    },
    { signal },
  );
  /** @type {(scale: string, summary: { first: number, defaultScale: string } | null, attention: boolean) => void} */
  function update(scale, summary, attention) {
    const first = summary ? summary.first : 1;
    const bos = Boolean(model.get("bos"));
    const meaning = attention ? scaleMeaning(scale, first, bos) : "";
    if (attention) legendEl.el.title = meaning;
    note.textContent = attention ? (scale === "without sink" ? `1 = row outside ${sinkName(first, bos)}` : "1 = whole row") : "";
    note.title = meaning;
    note.dataset.scale = attention ? scale : "";
    const auto = summary ? summary.defaultScale : "all sources";
    const opts = [
      ["auto", `auto (${auto})`],
      ["without sink", "without sink"],
      ["all sources", "all sources"],
    ];
    if (select.options.length !== 3 || select.options[0].textContent !== opts[0][1]) {
      select.replaceChildren(...opts.map(([v, t]) => h("option", { text: t, attrs: { value: v } })));
    }
    select.value = String(model.get("sink_scale") || "auto");
    select.disabled = !attention || !summary;
  }
  return { el, note, update };
}

/**
 * Banner for the `message` trait (hidden when empty).
 * @param {import("./types.js").Model<{ message: string }>} model
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
 * @typedef {{data: Float32Array, shape: number[]}} Decoded
 */

/**
 * The kit's one decoded-buffer cache: `decoded(key, raw)` decodes a raw buffer dict once per
 * `key`, again only when a new raw value comes for that key (a new value from the kernel is a new
 * object). A raw dict decoded before by any cache (the head-data cache keeps heads seen) is not
 * decoded again. Absent or undecodable buffers give null (the error goes to the console).
 * @returns {(key: string, raw: unknown) => (Decoded | null)}
 */
export function decodedCache() {
  /** @type {Map<string, {raw: unknown, value: Decoded | null}>} */
  const cache = new Map();
  return (key, raw) => {
    const hit = cache.get(key);
    if (hit && hit.raw === raw) return hit.value;
    /** @type {Decoded | null} */
    let value = raw && typeof raw === "object" ? DECODED.get(raw) || null : null;
    if (value === null) {
      try {
        value = decodeSync(/** @type {object} */ (raw));
        if (value && raw && typeof raw === "object") DECODED.set(raw, value);
      } catch (err) {
        console.error(`induction_widgets: cannot decode ${key}`, err);
      }
    }
    cache.set(key, { raw, value });
    return value;
  };
}

/**
 * Decode buffer traits on demand ({@link decodedCache} keyed by trait name).
 * @param {{ get: (name: any) => any }} model
 * @returns {(name: string) => (Decoded | null)}
 */
export function bufferCache(model) {
  const decoded = decodedCache();
  return (name) => decoded(name, model.get(name));
}

/**
 * A buffer trait's numbers as a Float32Array (empty when the trait is absent or cannot be decoded):
 * {@link bufferCache} for the plot views, whose traits are all float vectors or matrices.
 * @param {{ get: (name: any) => any }} model anywidget model
 * @returns {(name: string) => Float32Array<ArrayBufferLike>}
 */
export function floatBuffers(model) {
  const decoded = bufferCache(model);
  return (name) => {
    const d = decoded(name);
    return d ? d.data : new Float32Array(0);
  };
}

/** Decoded buffers by their raw dict: a head seen before (kept by the head-data cache) is not
 * decoded again; an entry goes when its raw dict leaves that cache.
 * @type {WeakMap<object, Decoded>} */
const DECODED = new WeakMap();

/**
 * Decode a uint8 mask trait to a Uint8Array (null when absent).
 * @param {Decoded | null} decoded
 */
export function maskOf(decoded) {
  if (!decoded) return null;
  const m = new Uint8Array(decoded.data.length);
  for (let i = 0; i < m.length; i++) m[i] = decoded.data[i] !== 0 ? 1 : 0;
  return m;
}

/** Largest |finite value| of a Float32Array (0 if none). @param {ArrayLike<number> | null | undefined} data */
export function maxAbsFinite(data) {
  let m = 0;
  if (!data) return 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a > m && a !== Infinity) m = a;
  }
  return m;
}

/**
 * Call `onLost` once when the kernel behind `model` goes away.
 *
 * When a kernel restarts, the ipywidgets manager marks every widget model's comm as dead
 * (`comm_live = false`) and fires `comm_live_update` on it; the new kernel holds no such widget,
 * so the model never comes back to life (a re-run of the cell makes a new one). anywidget hands
 * `on` straight to that model, so the event reaches the view. The exported-HTML model stand-in
 * never fires it. Until the event, `save_changes` reaches the kernel; after it, ipywidgets drops
 * every change silently — hence the banner and the greyed-out controls.
 *
 * A kernel that dies and is not restarted (the server gives up, status `"dead"`) fires no
 * `comm_live_update` in ipywidgets 8.1 (its manager disconnects on `"restarting"` only), so the
 * watch also listens to the kernel connection's `statusChanged` signal, reached through the
 * widget manager (`model.widget_manager.kernel`, JupyterLab's `IKernelConnection`), for `"dead"`.
 * @param {{on: Function, off: Function, widget_manager?: any}} model
 * @param {() => void} onLost
 * @returns {() => void} unsubscribe
 */
export function watchKernel(model, onLost) {
  let lost = false;
  const cb = () => {
    if (lost) return;
    lost = true;
    onLost();
  };
  model.on("comm_live_update", cb);
  const kernel = kernelOf(model);
  const onStatus = (/** @type {unknown} */ _sender, /** @type {string} */ status) => {
    if (status === "dead") cb();
  };
  kernel?.statusChanged.connect(onStatus);
  return () => {
    try {
      model.off("comm_live_update", cb);
      kernel?.statusChanged.disconnect(onStatus);
    } catch {
      /* model already closed */
    }
  };
}

/** The widget manager's kernel connection, where it has a `statusChanged` signal; else null. @param {{widget_manager?: any}} model */
function kernelOf(model) {
  try {
    const kernel = model.widget_manager?.kernel;
    return typeof kernel?.statusChanged?.connect === "function" ? kernel : null;
  } catch {
    return null;
  }
}

/**
 * A banner (hidden until needed) saying the kernel is gone and what still works; shows
 * `describe()` when {@link watchKernel} fires, then calls `onLost` (e.g. to disable controls).
 * @param {{on: Function, off: Function, widget_manager?: any}} model anywidget model
 * @param {() => string} describe what the view still shows and what needs a re-run
 * @param {() => void} [onLost]
 * @returns {{el: HTMLElement, dispose: () => void}}
 */
export function kernelLostBanner(model, describe, onLost) {
  const el = h("div", { class: "iw-kernel-lost", attrs: { role: "alert" } });
  el.hidden = true;
  const dispose = watchKernel(model, () => {
    el.textContent = `${KERNEL_LOST} ${describe()}`;
    el.hidden = false;
    el.closest(".iw-root")?.classList.add("iw-disconnected");
    if (onLost) onLost();
  });
  return { el, dispose };
}

/**
 * {@link kernelLostBanner} for a view of one head (token view, attention matrix): what it still
 * shows, and its Layer/Head selects disabled.
 * @param {import("./types.js").Model<HeadTraits> & {widget_manager?: any}} model anywidget model
 * @param {{disable: (reason: string) => void}} selects from {@link headSelects}
 */
export function headViewKernelLostBanner(model, selects) {
  return kernelLostBanner(
    model,
    () =>
      `It still shows L${model.get("layer")}H${model.get("head")} as last computed: hover, lock and the mode buttons ` +
      "work; choosing another head needs the kernel. Re-run the cell to reconnect.",
    () => selects.disable("The kernel is gone: re-run the cell to choose another head"),
  );
}

/** First sentence of the kernel-lost banner (the views add what still works for them). */
export const KERNEL_LOST = "The kernel was restarted, shut down or died: this view is disconnected.";
