// @ts-check
/**
 * Partners: the earlier heads of an induction head ranked by K-composition (bars, highest first,
 * the `top` of them), each with its previous-token score beside it — a previous-token partner
 * scores high on both. Both bars share the scale 0 … 1 (both scores live there). Hovering a row
 * names the head with both scores; clicking it (or Enter / Space on it) sets `selected_head`.
 *
 * Traits: k_composition, previous_token (float32 buffers [n_layers, n_heads]; K-composition NaN
 * for layers >= layer), layer, head (the induction head), n_layers, n_heads, top,
 * selected_head ([layer, head] or []), message, title.
 * @module partners
 */
import { formatNumber } from "./shared/colour.js";
import { h, listen } from "./shared/dom.js";
import { floatBuffers, kernelLostBanner, messageBanner, viewShell } from "./shared/controls.js";
import { rankPartners } from "./shared/plot.js";

const K_COLOUR = "rgb(31,119,180)";
const PREV_COLOUR = "rgb(255,127,14)";

/**
 * The row's text: "L0H3 → L1H1: K-composition 0.231, previous-token score 0.992".
 * @param {import("./shared/plot.js").PartnerRow} r
 * @param {number} layer
 * @param {number} head
 */
export function partnerText(r, layer, head) {
  return `L${r.layer}H${r.head} → L${layer}H${head}: K-composition ${formatNumber(r.k, 3)}, previous-token score ${formatNumber(r.prev, 3)}`;
}

/** @param {number} v */
const width = (v) => `${(Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0) * 100}%`;

/**
 * @param {string} cls
 * @param {string} colour
 * @param {number} v
 */
function bar(cls, colour, v) {
  const fill = h("span", { class: `iw-bar-fill ${cls}` });
  Object.assign(fill.style, { display: "block", height: "100%", width: width(v), background: colour });
  const track = h("span", { class: "iw-bar-track" }, [fill]);
  Object.assign(track.style, { display: "inline-block", width: "140px", height: "10px", background: "#8882", verticalAlign: "middle" });
  return track;
}

/**
 * @typedef {import("./shared/types.js").BufferTrait} BufferTrait
 * @typedef {{ k_composition: BufferTrait, previous_token: BufferTrait, layer: number, head: number, n_layers: number,
 *   n_heads: number, top: number, selected_head: number[], message: string, title: string }} PartnersTraits
 */

/** @type {import("./shared/types.js").View<PartnersTraits>} */
function render({ model, el }) {
  const shell = viewShell(el, "iw-partners");
  const { root, signal } = shell;
  const title = h("span", { class: "iw-title" });
  const subject = h("span", { class: "iw-subject" });
  const key = h("span", { class: "iw-key" }, [
    h("span", { text: "■", attrs: { style: `color:${K_COLOUR}` } }),
    " K-composition  ",
    h("span", { text: "■", attrs: { style: `color:${PREV_COLOUR}` } }),
    " previous-token score (both 0 … 1)",
  ]);
  const header = h("div", { class: "iw-header" }, [title, subject, key]);
  const banner = messageBanner(model);
  const lost = kernelLostBanner(model, () => "The bars stay readable, but selecting a head no longer reaches the kernel or the linked views. Re-run the cell to reconnect.");
  const list = h("div", { class: "iw-partner-list", attrs: { role: "list" } });
  const readout = h("div", { class: "iw-readout" });
  root.append(header, banner.el, lost.el, list, readout);
  el.append(root);

  /** @type {import("./shared/plot.js").PartnerRow[]} */
  let rows = [];
  /** @type {HTMLElement[]} */
  let rowEls = [];
  let hover = -1;

  const buf = floatBuffers(model);
  const selectedIndex = () => {
    const s = model.get("selected_head");
    return Array.isArray(s) && s.length === 2 ? rows.findIndex((r) => r.layer === s[0] && r.head === s[1]) : -1;
  };

  /** @param {number} i */
  function select(i) {
    model.set("selected_head", [rows[i].layer, rows[i].head]);
    model.save_changes();
    mark();
  }

  function build() {
    const layer = model.get("layer") | 0;
    const head = model.get("head") | 0;
    title.textContent = model.get("title") || "";
    subject.textContent = `earlier heads of L${layer}H${head}, by K-composition into its keys`;
    rows = rankPartners(buf("k_composition"), buf("previous_token"), layer, model.get("n_heads") | 0, model.get("top") | 0);
    list.replaceChildren();
    rowEls = rows.map((r, i) => {
      const row = h("div", {
        class: "iw-partner-row",
        title: partnerText(r, layer, head),
        attrs: { role: "listitem", tabindex: "0", "data-layer": r.layer, "data-head": r.head, "data-k": r.k, "data-prev": r.prev },
      }, [
        h("span", { class: "iw-partner-label", text: `L${r.layer}H${r.head}`, attrs: { style: "display:inline-block;width:4.5em" } }),
        bar("iw-bar-k", K_COLOUR, r.k),
        h("span", { class: "iw-partner-k", text: ` ${formatNumber(r.k, 3)} `, attrs: { style: "display:inline-block;width:4em" } }),
        bar("iw-bar-prev", PREV_COLOUR, r.prev),
        h("span", { class: "iw-partner-prev", text: ` ${formatNumber(r.prev, 3)}` }),
      ]);
      Object.assign(row.style, { cursor: "pointer", padding: "1px 4px", whiteSpace: "nowrap" });
      row.addEventListener("click", () => select(i), { signal });
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          select(i);
        }
      }, { signal });
      row.addEventListener("pointerenter", () => {
        hover = i;
        updateReadout();
      }, { signal });
      row.addEventListener("pointerleave", () => {
        hover = -1;
        updateReadout();
      }, { signal });
      return row;
    });
    list.append(...rowEls);
    if (!rows.length) list.append(h("div", { text: layer === 0 ? `L${layer}H${head} is in the first layer: no earlier heads` : "no scores" }));
    mark();
  }

  function mark() {
    const sel = selectedIndex();
    rowEls.forEach((row, i) => {
      row.classList.toggle("iw-selected", i === sel);
      row.setAttribute("aria-current", i === sel ? "true" : "false");
      row.style.outline = i === sel ? "2px solid currentColor" : "";
    });
    updateReadout();
  }

  function updateReadout() {
    const i = hover >= 0 ? hover : selectedIndex();
    if (i < 0) {
      readout.textContent = rows.length ? "hover a head to read its scores; click it to select it" : "";
      return;
    }
    readout.textContent = (hover >= 0 ? "" : "selected ") + partnerText(rows[i], model.get("layer") | 0, model.get("head") | 0);
  }

  listen(model, ["k_composition", "previous_token", "layer", "head", "n_heads", "top", "title"], build, signal);
  listen(model, ["selected_head"], mark, signal);
  listen(model, ["message"], banner.update, signal);
  build();
  return () => {
    lost.dispose();
    shell.dispose();
  };
}

/** @satisfies {import("@anywidget/types").AnyWidget<PartnersTraits>} */
const widget = { render };
export default widget;
export { render };
