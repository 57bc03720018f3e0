// @ts-check
/**
 * Runtime for exported HTML: renders the same view modules without a kernel or widget manager.
 *
 *   import { mount, link } from "./standalone.js";      // or globalThis.inductionWidgets
 *   const tv = await mount(el1, "token_view", state, store);
 *   const hm = await mount(el2, "head_map", hmState);
 *   link(hm, "selected_head", tv);                      // clicking a head switches the token view
 *
 * `state` is the initial trait dict (buffer dicts carry b64 [+ compression]); `store` maps
 * "L.H" → partial state ({attention, attribution, value_norm}) of the heads embedded in the file.
 * @module standalone
 */
import { decodeState } from "./shared/decode.js";
import tokenView from "./token_view.js";
import attentionMatrix from "./attention_matrix.js";
import headMap from "./head_map.js";
import explorer from "./explorer.js";
import verdictScatter from "./verdict_scatter.js";
import lossCurve from "./loss_curve.js";
import partners from "./partners.js";
import phaseChange from "./phase_change.js";

export const VIEWS = { token_view: tokenView, attention_matrix: attentionMatrix, head_map: headMap, explorer, verdict_scatter: verdictScatter, loss_curve: lossCurve, partners, phase_change: phaseChange };

/** Traits swapped in from the store when layer/head change. */
const HEAD_TRAITS = ["attention", "attribution", "value_norm", "attention_overview", "attribution_overview"];

function equal(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  return false;
}

/**
 * A stand-in for the anywidget model: get/set/save_changes/on/off/send, with change events.
 * set() fires "change:<name>" synchronously, except that a change of layer/head is applied
 * together with the stored head's buffers (decoded asynchronously) before its events fire.
 */
export class StandaloneModel {
  /**
   * @param {object} state decoded trait dict (buffers in {view} form)
   * @param {Object<string, object>} [store] "L.H" → raw partial state (b64 buffers)
   */
  constructor(state, store = {}) {
    this._state = { ...state };
    this._store = store || {};
    this._decoded = new Map(); // "L.H" → Promise<decoded partial state>
    this._listeners = new Map(); // event → [{cb, ctx}]
    this._swap = 0;
    this._pendingHead = null;
    this._idle = Promise.resolve();
    /** Removes the view mounted over this model (set by {@link mount}). */
    this.destroy = () => {};
    const key = this.headKey();
    if (key && HEAD_TRAITS.some((t) => t in this._state)) {
      const own = {};
      for (const t of HEAD_TRAITS) if (t in this._state) own[t] = this._state[t];
      this._decoded.set(key, Promise.resolve(own));
    }
    this.widget_manager = { get_model: async () => { throw new Error("no widget manager in a standalone page"); } };
  }

  /** "L.H" of the current layer/head ("" when the traits are absent). */
  headKey() {
    const { layer, head } = this._state;
    return Number.isInteger(layer) && Number.isInteger(head) ? `${layer}.${head}` : "";
  }

  get(name) {
    return this._state[name];
  }

  set(name, value) {
    if (typeof name === "object" && name !== null) {
      for (const [k, v] of Object.entries(name)) this.set(k, v);
      return;
    }
    if (equal(this._state[name], value)) return;
    if ((name === "layer" || name === "head") && "layer" in this._state && "head" in this._state) {
      // Coalesce layer + head set in the same tick; fire once the buffers are in place.
      if (!this._pendingHead) {
        this._pendingHead = { layer: this._state.layer, head: this._state.head };
        this._idle = Promise.resolve().then(() => this._applyHead());
      }
      this._pendingHead[name] = value;
      return;
    }
    this._state[name] = value;
    this._emit([name]);
  }

  async _applyHead() {
    const target = this._pendingHead;
    this._pendingHead = null;
    const ticket = ++this._swap;
    const key = `${target.layer}.${target.head}`;
    let partial = null;
    let message = "";
    if (this._decoded.has(key) || key in this._store) {
      if (!this._decoded.has(key)) this._decoded.set(key, decodeState(this._store[key]));
      try {
        partial = await this._decoded.get(key);
      } catch (err) {
        message = `head ${key} could not be decoded: ${err && err.message ? err.message : err}`;
      }
    } else {
      message = `head ${key} not embedded in this file`;
    }
    if (ticket !== this._swap) return; // a later switch won
    const changed = [];
    const put = (k, v) => {
      if (!equal(this._state[k], v)) {
        this._state[k] = v;
        changed.push(k);
      }
    };
    put("layer", target.layer);
    put("head", target.head);
    for (const t of HEAD_TRAITS) {
      if (partial && t in partial) put(t, partial[t]);
      else if (t in this._state) put(t, {});
    }
    if ("message" in this._state || message) put("message", message);
    this._emit(changed);
  }

  _emit(names) {
    for (const name of names) {
      for (const { cb, ctx } of (this._listeners.get(`change:${name}`) || []).slice()) {
        try {
          cb.call(ctx, this, this._state[name]);
        } catch (err) {
          console.error(err);
        }
      }
    }
    if (names.length) {
      for (const { cb, ctx } of (this._listeners.get("change") || []).slice()) cb.call(ctx, this);
    }
  }

  /** Resolves once a pending layer/head switch has been applied and its events fired. */
  async whenIdle() {
    let seen;
    do {
      seen = this._idle;
      await seen;
    } while (seen !== this._idle);
  }

  save_changes() {}

  /**
   * Answer a head-data request (shared/headdata.js) from the embedded store, as the kernel would:
   * a "msg:custom" event with the buffers of the asked names, or an error for a head not embedded.
   * @param {any} msg
   */
  send(msg) {
    if (!msg || msg.type !== "iw:head") return;
    const key = `${msg.layer}.${msg.head}`;
    const reply = (content, buffers = []) => {
      for (const { cb, ctx } of (this._listeners.get("msg:custom") || []).slice()) cb.call(ctx, content, buffers);
    };
    const base = { type: "iw:head", id: msg.id, layer: msg.layer, head: msg.head };
    if (!this._decoded.has(key) && !(key in this._store)) {
      queueMicrotask(() => reply({ ...base, error: `head ${key} not embedded in this file` }));
      return;
    }
    if (!this._decoded.has(key)) this._decoded.set(key, decodeState(this._store[key]));
    this._decoded.get(key).then(
      (partial) => {
        const names = (msg.names || []).filter((n) => partial && partial[n] && partial[n].view);
        const meta = {};
        for (const n of names) {
          const { view, ...rest } = partial[n];
          meta[n] = rest;
        }
        reply({ ...base, names, meta }, names.map((n) => partial[n].view));
      },
      (err) => reply({ ...base, error: `head ${key} could not be decoded: ${err && err.message ? err.message : err}` }),
    );
  }

  on(event, cb, ctx) {
    for (const ev of String(event).split(/\s+/).filter(Boolean)) {
      if (!this._listeners.has(ev)) this._listeners.set(ev, []);
      this._listeners.get(ev).push({ cb, ctx });
    }
  }

  off(event, cb) {
    if (event == null) {
      this._listeners.clear();
      return;
    }
    for (const ev of String(event).split(/\s+/).filter(Boolean)) {
      const list = this._listeners.get(ev);
      if (!list) continue;
      this._listeners.set(ev, cb ? list.filter((l) => l.cb !== cb) : []);
    }
  }
}

/**
 * Render a view into `el` from an exported state.
 * @param {HTMLElement} el
 * @param {"token_view"|"attention_matrix"|"head_map"|"explorer"|"verdict_scatter"|"loss_curve"|"partners"|"phase_change"} kind
 * @param {object} state initial traits (buffer dicts with b64/compression or view)
 * @param {Object<string, object>} [store] "L.H" → {attention, attribution, value_norm}
 * @returns {Promise<StandaloneModel>} the model stand-in (its `destroy()` removes the view)
 */
export async function mount(el, kind, state, store = {}) {
  const view = VIEWS[kind];
  if (!view) throw new Error(`unknown widget kind ${JSON.stringify(kind)}`);
  const model = new StandaloneModel(await decodeState(state || {}), store);
  const cleanup = await view.render({ model: /** @type {any} */ (model), el });
  model.destroy = () => {
    if (typeof cleanup === "function") cleanup();
    model.off();
  };
  return model;
}

/**
 * Keep `target` in step with `source.get(name)`. For "selected_head" the pair [layer, head] is
 * written to target's layer/head traits; otherwise the trait is copied as is (or through
 * `transform(value) → {trait: value}`).
 * @returns {() => void} unlink
 */
export function link(source, name, target, transform) {
  const map =
    transform ||
    ((v) => {
      if (name !== "selected_head") return { [name]: v };
      return Array.isArray(v) && v.length === 2 ? { layer: v[0], head: v[1] } : null;
    });
  const cb = () => {
    const update = map(source.get(name));
    if (!update) return;
    for (const [k, v] of Object.entries(update)) target.set(k, v);
    target.save_changes();
  };
  source.on(`change:${name}`, cb);
  return () => source.off(`change:${name}`, cb);
}

if (typeof globalThis !== "undefined") globalThis.inductionWidgets = { mount, link, StandaloneModel };
