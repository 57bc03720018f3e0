// @ts-check
/**
 * One anywidget model seen by a sub-view under other trait names: `rename` maps the sub-view's
 * trait name to the model's, `fixed` answers constants (never written), `derived` computes a trait
 * from others (`deps`) and writes it back through `set`. Listeners registered through the facade
 * are tracked, so `off()` with no arguments removes only those, never the model's other listeners.
 * @module facade
 */

/**
 * @typedef {{ deps: string[], get: (m: any) => any, set: (m: any, v: any) => void }} Derived
 * @param {import("./types.js").ModelLike} model the anywidget model (or the standalone stand-in)
 * @param {{ rename?: Object<string, string>, fixed?: Object<string, any>, derived?: Object<string, Derived> }} o
 */
export function facade(model, { rename = {}, fixed = {}, derived = {} } = {}) {
  /** @param {string} n */
  const name = (n) => rename[n] ?? n;
  /** @type {{ event: string, cb: Function, wrapped: Function }[]} */
  let subs = [];
  /** @param {string} event */
  const expand = (event) =>
    String(event)
      .split(/\s+/)
      .filter(Boolean)
      .flatMap((e) => {
        if (!e.startsWith("change:")) return [{ own: e, model: e }];
        const n = e.slice(7);
        if (n in fixed) return [];
        if (n in derived) return derived[n].deps.map((d) => ({ own: e, model: `change:${name(d)}` }));
        return [{ own: e, model: `change:${name(n)}` }];
      });
  const self = {
    /** the anywidget model that carries messages (head data requests) */
    __iwReal: model.__iwReal || model,
    /** @param {string} n */
    get: (n) => (n in fixed ? fixed[n] : n in derived ? derived[n].get(model) : model.get(name(n))),
    /** @param {string} n @param {any} v */
    set(n, v) {
      if (n in fixed) return;
      if (n in derived) derived[n].set(model, v);
      else model.set(name(n), v);
    },
    save_changes: () => model.save_changes(),
    /** @param {...any} args */
    send: (...args) => model.send?.(...args),
    get widget_manager() {
      return model.widget_manager;
    },
    /** @param {string} event @param {Function} cb @param {any} [ctx] */
    on(event, cb, ctx) {
      for (const { own, model: ev } of expand(event)) {
        const n = own.startsWith("change:") ? own.slice(7) : null;
        /** @param {...any} args */
        const wrapped = (...args) => (n === null ? cb.apply(ctx, args) : cb.call(ctx, self, self.get(n)));
        subs.push({ event: ev, cb, wrapped });
        model.on(ev, wrapped);
      }
    },
    /** @param {string} [event] @param {Function} [cb] */
    off(event, cb) {
      const events = event == null ? null : new Set(expand(event).map((e) => e.model));
      const keep = [];
      for (const s of subs) {
        if ((events === null || events.has(s.event)) && (!cb || s.cb === cb)) {
          try {
            model.off(s.event, s.wrapped);
          } catch {
            /* model already closed */
          }
        } else keep.push(s);
      }
      subs = keep;
    },
  };
  return self;
}
