// @ts-check
/**
 * Head data on request. A view no longer receives every buffer of every head as traits: it asks
 * the model for the buffers that the mode on screen needs, caches what it got, and prefetches the
 * same buffers of its neighbours (same layer, head ± 1) at once and the rest of the head (the other
 * mode's buffers) once the head has stayed on screen for REST_DELAY_MS: at 2,048 tokens a head's
 * float16 attribution is 4 MB, and sending it on every step of a quick walk through the heads kept
 * the kernel, the server and the page busy when the next step came.
 *
 * Protocol (anywidget custom messages, `model.send` / `model.on("msg:custom")`, with buffers):
 *   browser → kernel  {type: "iw:head", id, layer, head, names: ["attention", …]}
 *   kernel → browser  {type: "iw:head", id, layer, head, meta: {name: {dtype, shape, scale,
 *                      offset, layout[, pad_rows, nnz, index_dtype, n, block]}}, names: [...]},
 *                      buffers: one per name, in order (names the kernel has not for this text, e.g.
 *                      the overviews of a short one, are left out)
 *                     or {type: "iw:head", id, layer, head, error: "…"}
 * The standalone page's model stand-in answers the same requests from its embedded store.
 * @module headdata
 */

export const HEAD_BUFFERS = ["attention", "attribution", "value_norm", "attention_overview", "attribution_overview"];
/** Texts longer than this come in the long format (payload.LONG_TOKENS): compact rows + overviews. */
export const LONG_TOKENS = 2048;
/** ms a head stays on screen before the rest of its buffers is prefetched */
export const REST_DELAY_MS = 400;
const MAX_BYTES = 64 * 1024 * 1024; // cache budget per model (float16 2,048² ≈ 8 MB per buffer; decoded float32 twice that)

/** @typedef {{ dtype: string, shape: number[], scale: number, offset: number, layout?: string, view: DataView }} Buffer */

/** One cache + request queue per real model (shared by the views composed over it). */
const SOURCES = new WeakMap();

/**
 * @param {import("./types.js").ModelLike} model
 * @returns {HeadSource}
 */
export function headSource(model) {
  let s = SOURCES.get(model);
  if (!s) {
    s = new HeadSource(model);
    SOURCES.set(model, s);
  }
  return s;
}

export class HeadSource {
  /** @param {import("./types.js").ModelLike} model */
  constructor(model) {
    this.model = model;
    /** @type {Map<string, Buffer>} "L.H/name" → buffer, in use order (oldest first) */
    this.cache = new Map();
    this.bytes = 0;
    /** @type {Map<number, {key: string, names: string[]}>} */
    this.pending = new Map();
    /** @type {Set<string>} "L.H/name" in flight */
    this.inflight = new Set();
    this.nextId = 1;
    /** @type {Set<(layer: number, head: number, names: string[], error?: string) => void>} */
    this.listeners = new Set();
    /** @type {ReturnType<typeof setTimeout> | undefined} the pending prefetch of the rest of a head */
    this.restTimer = undefined;
    this.onMessage = (/** @type {any} */ msg, /** @type {any[]} */ buffers) => this.receive(msg, buffers || []);
    model.on("msg:custom", this.onMessage);
  }

  /** @param {number} layer @param {number} head @param {string} name */
  get(layer, head, name) {
    const key = `${layer}.${head}/${name}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key); // most recently used last
      this.cache.set(key, hit);
    }
    return hit || null;
  }

  /**
   * Ask for the missing `names` of head (layer, head); returns true if all are cached already.
   * @param {number} layer @param {number} head @param {string[]} names
   */
  request(layer, head, names) {
    if (!Number.isInteger(layer) || !Number.isInteger(head) || layer < 0 || head < 0) return true;
    const missing = names.filter(
      (n) => !this.cache.has(`${layer}.${head}/${n}`) && !this.inflight.has(`${layer}.${head}/${n}`),
    );
    const have = names.every((n) => this.cache.has(`${layer}.${head}/${n}`));
    if (missing.length === 0) return have;
    const id = this.nextId++;
    for (const n of missing) this.inflight.add(`${layer}.${head}/${n}`);
    this.pending.set(id, { key: `${layer}.${head}`, names: missing });
    try {
      this.model.send({ type: "iw:head", id, layer, head, names: missing });
    } catch {
      for (const n of missing) this.inflight.delete(`${layer}.${head}/${n}`);
      this.pending.delete(id);
    }
    return false;
  }

  /**
   * The head on screen first, then its neighbours in the same layer; the rest of the head after
   * REST_DELAY_MS on it (a later `want` re-arms the timer for its own head); for a long text
   * (`long`) the head on screen only.
   * @param {number} layer @param {number} head @param {string[]} needed @param {number} nHeads
   * @param {boolean} [long]
   */
  want(layer, head, needed, nHeads, long = false) {
    const ready = this.request(layer, head, needed);
    clearTimeout(this.restTimer);
    // long texts: each head costs the kernel a pass over its rows; a prefetch queued before the
    // next switch would delay it, so only the head and mode on screen are asked for
    if (long) return ready;
    for (const h of [head + 1, head - 1]) if (h >= 0 && h < nHeads) this.request(layer, h, needed);
    this.restTimer = setTimeout(() => this.request(layer, head, HEAD_BUFFERS), REST_DELAY_MS);
    return ready;
  }

  /** @param {any} msg @param {any[]} buffers */
  receive(msg, buffers) {
    if (!msg || msg.type !== "iw:head") return;
    const entry = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    const names = entry ? entry.names : [];
    for (const n of names) this.inflight.delete(`${msg.layer}.${msg.head}/${n}`);
    if (msg.error) {
      for (const cb of this.listeners) cb(msg.layer, msg.head, [], String(msg.error));
      return;
    }
    /** @type {string[]} */
    const got = [];
    (msg.names || []).forEach((/** @type {string} */ name, /** @type {number} */ i) => {
      const meta = (msg.meta || {})[name];
      const raw = buffers[i];
      if (!meta || raw == null) return;
      const view = raw instanceof DataView ? raw : ArrayBuffer.isView(raw) ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : new DataView(raw);
      this.put(`${msg.layer}.${msg.head}/${name}`, { ...meta, view });
      got.push(name);
    });
    for (const cb of this.listeners) cb(msg.layer, msg.head, got);
  }

  /** @param {string} key @param {Buffer} buf */
  put(key, buf) {
    const old = this.cache.get(key);
    if (old) this.bytes -= old.view.byteLength;
    this.cache.set(key, buf);
    this.bytes += buf.view.byteLength;
    for (const [k, v] of this.cache) {
      if (this.bytes <= MAX_BYTES || k === key) break;
      this.cache.delete(k);
      this.bytes -= v.view.byteLength;
    }
  }

  close() {
    clearTimeout(this.restTimer);
    this.model.off("msg:custom", this.onMessage);
    this.listeners.clear();
    this.cache.clear();
    SOURCES.delete(this.model);
  }
}

/**
 * A view's model whose head buffers come from the head source: `get("attention")` is the buffer
 * of the head on screen (the last one received while a new head is on its way), and
 * `change:attention` fires when it arrives. `needed(model)` names what the mode on screen needs.
 * Everything else goes to `model` unchanged.
 * @param {import("./types.js").ModelLike} model (a facade is fine: layer/head/mode are read through it)
 * @param {import("./types.js").ModelLike} real the anywidget model that carries the messages
 * @param {(m: import("./types.js").ModelLike) => string[]} needed
 */
export function withHeadData(model, real, needed) {
  const source = headSource(real);
  /** @type {Record<string, any>} */
  const shown = {};
  for (const n of HEAD_BUFFERS) shown[n] = model.get(n) || {};
  /** @type {Map<string, {cb: Function, ctx: any}[]>} */
  const subs = new Map();
  const emit = (/** @type {string} */ name) => {
    for (const { cb, ctx } of (subs.get(name) || []).slice()) cb.call(ctx, self, shown[name]);
  };
  const current = () => [model.get("layer"), model.get("head")];
  const refresh = () => {
    const [layer, head] = current();
    const changed = [];
    for (const n of HEAD_BUFFERS) {
      const buf = source.get(layer, head, n);
      // the same bytes already shown (the page's initial state) are not shown again
      if (buf && shown[n] !== buf && !(shown[n] && shown[n].view === buf.view)) {
        shown[n] = buf;
        changed.push(n);
      }
    }
    for (const n of changed) emit(n);
  };
  const ask = () => {
    const [layer, head] = current();
    const tokens = model.get("tokens");
    const long = Array.isArray(tokens) && tokens.length > LONG_TOKENS;
    source.want(layer, head, needed(model), model.get("n_heads") | 0, long);
    refresh();
  };
  const onArrive = (/** @type {number} */ layer, /** @type {number} */ head) => {
    const [l, h] = current();
    if (layer === l && head === h) refresh();
  };
  source.listeners.add(onArrive);
  // a model that sets the buffers itself (the standalone page's head swap, a test) still works
  const fromModel = (/** @type {string} */ name) => () => {
    const v = model.get(name);
    if (v && Object.keys(v).length && v !== shown[name]) {
      shown[name] = v;
      emit(name);
    }
  };
  const modelSubs = HEAD_BUFFERS.map((n) => /** @type {[string, () => void]} */ ([`change:${n}`, fromModel(n)]));
  for (const [ev, cb] of modelSubs) model.on(ev, cb);
  const triggers = "change:layer change:head change:mode change:value_weighted";
  model.on(triggers, ask);

  const self = {
    __iwReal: real,
    /** @param {string} n */
    get: (n) => (HEAD_BUFFERS.includes(n) ? shown[n] : model.get(n)),
    /** @param {string} n @param {any} v */
    set: (n, v) => model.set(n, v),
    save_changes: () => model.save_changes(),
    /** @param {...any} a */
    send: (...a) => model.send(...a),
    get widget_manager() {
      return model.widget_manager;
    },
    /** @param {string} event @param {Function} cb @param {any} [ctx] */
    on(event, cb, ctx) {
      for (const e of String(event).split(/\s+/).filter(Boolean)) {
        const n = e.startsWith("change:") ? e.slice(7) : "";
        if (HEAD_BUFFERS.includes(n)) subs.set(n, [...(subs.get(n) || []), { cb, ctx }]);
        else model.on(e, cb, ctx);
      }
    },
    /** @param {string} [event] @param {Function} [cb] */
    off(event, cb) {
      if (event == null) {
        subs.clear();
        source.listeners.delete(onArrive);
        model.off(triggers, ask);
        for (const [ev, f] of modelSubs) model.off(ev, f);
        return;
      }
      for (const e of String(event).split(/\s+/).filter(Boolean)) {
        const n = e.startsWith("change:") ? e.slice(7) : "";
        if (HEAD_BUFFERS.includes(n)) subs.set(n, cb ? (subs.get(n) || []).filter((s) => s.cb !== cb) : []);
        else model.off(e, cb);
      }
    },
  };
  ask();
  return self;
}

/** What a token view shows in each mode. @param {import("./types.js").ModelLike} m */
export const tokenViewNeeds = (m) =>
  m.get("mode") === "logit_attr" ? ["attribution"] : m.get("value_weighted") ? ["attention", "value_norm"] : ["attention"];

/** What an attention matrix shows in each mode (with the block-max overview for long texts).
 * @param {import("./types.js").ModelLike} m */
export const matrixNeeds = (m) => {
  const name = m.get("mode") === "logit_attr" ? "attribution" : "attention";
  const tokens = m.get("tokens");
  return Array.isArray(tokens) && tokens.length > LONG_TOKENS ? [name, `${name}_overview`] : [name];
};

/**
 * Wrap a view's render so that it sees its head buffers through {@link withHeadData}.
 * @template {Record<string, any>} T
 * @param {import("./types.js").View<T>} renderView a synchronous render
 * @param {(m: import("./types.js").ModelLike) => string[]} needed
 * @returns {import("./types.js").View<T>}
 */
export function headDataView(renderView, needed) {
  return ({ model, el }) => {
    const data = withHeadData(model, /** @type {any} */ (model).__iwReal || model, needed);
    const cleanup = renderView({ model: /** @type {any} */ (data), el });
    return () => {
      if (typeof cleanup === "function") cleanup();
      data.off();
    };
  };
}
