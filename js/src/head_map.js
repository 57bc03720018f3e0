// @ts-check
/**
 * Head map: one score per head (e.g. copying, prefix matching) as a layer × head grid plus a
 * sortable table, as in the summary table of Olsson et al. (2022), Argument 4.
 * Grid rows = layers (top → bottom), columns = heads. Clicking a cell or a table row sets
 * `selected_head` = [layer, head].
 *
 * Traits: scores ({name: buffer [n_layers, n_heads]}), scores_std and scores_n (the spread over
 * examples, {name: buffer [n_layers, n_heads]}, only for scores with per-example values: the grid's
 * readout and the table show "score ± sd"), score, score_names, verdicts
 * (string[n_layers * n_heads], row-major), selected_head ([layer, head] or []), n_layers,
 * n_heads, message, title; ablation, ablation_sd (buffers [n_layers, n_heads] or {}: the per-head
 * change of the ICL score when that head alone is ablated, ΔICL = ICL(ablated) − ICL(clean), and
 * its standard error; NaN = not measured), ablation_note (what was measured) and ablation_method
 * ("exact" | "attribution"). With an ablation the score select offers "ΔICL (ablation)" — "ΔICL
 * (attribution patching)" for the first-order estimate — (`score` = "icl_ablation"): a diverging scale centred
 * on 0, blue > 0 (the ICL score rises: less in-context learning without the head), orange < 0,
 * heads not measured hatched; the table gets a sortable ΔICL column.
 * @module head_map
 */
import { attributionColour, formatNumber, formatSpread, rgbString, sequentialColour, spreadNote } from "./shared/colour.js";
import { h, listen, setOptions } from "./shared/dom.js";
import { decodedCache, kernelLostBanner, legendSlot, messageBanner, viewShell } from "./shared/controls.js";
import { canvasAlt, cellAt, clearedContext, localPoint, onWidthChange, sizeCanvas } from "./shared/canvas.js";
import { Focus, bindGridKeys, bindPointer, sameCell } from "./shared/focus.js";
import { prettyName } from "./shared/text.js";

const GRID_MARGIN = { left: 34, top: 18, right: 4, bottom: 4 };
const TOP_ROWS = 20;
/** The colouring by the ablation result (not a head score). */
export const ABLATION = "icl_ablation";
const ABLATION_LABEL = "ΔICL (ablation)";
/** The same colouring when it is attribution patching's first-order estimate (ablation_method). */
const ATTRIBUTION_LABEL = "ΔICL (attribution patching)";
const ABLATION_LEGEND =
  "ΔICL = ICL(ablated) − ICL(clean) per head. Blue > 0: the ICL score rises (less in-context learning) " +
  "when the head is ablated; orange < 0: it falls. Hatched: not measured.";

/** The select's and readout's name of a colouring (ΔICL by its ablation_method).
 * @param {string} name @param {string} [method] */
export const scoreLabel = (name, method = "") =>
  name === ABLATION ? (method === "attribution" ? ATTRIBUTION_LABEL : ABLATION_LABEL) : prettyName(name);

/** A signed number "+0.151" / "−0.02" (± its sd when there is one). @param {number} v @param {number | undefined} sd */
export function signedSpread(v, sd, digits = 4) {
  const text = formatSpread(v, sd, digits);
  return v > 0 ? `+${text}` : text.replace(/^-/, "−");
}

/** Draw a hatched (not measured) cell. @param {CanvasRenderingContext2D} ctx @param {number} x @param {number} y @param {number} size @param {string} fg */
function hatch(ctx, x, y, size, fg) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, size, size);
  ctx.clip();
  ctx.globalAlpha = 0.12;
  ctx.fillStyle = fg;
  ctx.fillRect(x, y, size, size);
  ctx.globalAlpha = 0.45;
  ctx.strokeStyle = fg;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let d = -size; d < size; d += 5) {
    ctx.moveTo(x + d, y + size);
    ctx.lineTo(x + d + size, y);
  }
  ctx.stroke();
  ctx.restore();
}

/**
 * @typedef {{ scores: Object<string, any>, scores_std: Object<string, any>, scores_n: Object<string, any>, score: string, score_names: string[], verdicts: string[],
 *   selected_head: number[], n_layers: number, n_heads: number, message: string, title: string,
 *   fold_table: boolean, grid_height: number, ablation: any, ablation_sd: any, ablation_note: string, ablation_method: string, palette: string }} HeadMapTraits
 * @typedef {{ index: number, layer: number, head: number, verdict: string, scores: Object<string, number>,
 *   std: Object<string, number>, n: Object<string, number> }} Row
 * @typedef {{ key: string, label: string, get: (r: Row) => any, text: (r: Row) => string,
 *   value?: (r: Row) => number | undefined, sd?: (r: Row) => number | undefined, dir: "asc" | "desc" }} Column
 */

/**
 * Sort rows by `key` (a column getter) in `dir`, NaN/missing always last; ties by head index.
 * @template {{ index: number }} R
 * @param {R[]} rows
 * @param {(row: R) => any} get
 * @param {"asc"|"desc"} dir
 * @returns {R[]}
 */
export function sortRows(rows, get, dir) {
  const sign = dir === "desc" ? -1 : 1;
  return rows.slice().sort((a, b) => {
    const x = get(a);
    const y = get(b);
    const xm = x == null || (typeof x === "number" && Number.isNaN(x));
    const ym = y == null || (typeof y === "number" && Number.isNaN(y));
    if (xm || ym) return xm === ym ? a.index - b.index : xm ? 1 : -1;
    if (x < y) return -sign;
    if (x > y) return sign;
    return a.index - b.index;
  });
}

/** @type {import("./shared/types.js").View<HeadMapTraits>} */
function render({ model, el }) {
  // one AbortController per view (viewShell): every listener goes with its signal on teardown
  const view = viewShell(el, "iw-head-map");
  const { root, signal } = view;

  const title = h("span", { class: "iw-title" });
  const scoreSelect = h("select", { class: "iw-score-select", attrs: { "aria-label": "Score" } });
  const legendEl = legendSlot();
  const header = h("div", { class: "iw-header" }, [title, h("label", {}, ["Score", scoreSelect]), legendEl.el]);
  const banner = messageBanner(model);
  const lost = kernelLostBanner(
    model,
    () =>
      "The scores shown stay readable and sortable, but selecting a head no longer reaches the kernel " +
      "or the views linked to this map. Re-run the cell to reconnect.",
  );
  const canvas = h("canvas", { class: "iw-grid" });
  const wrap = h("div", { class: "iw-canvas-wrap" }, [canvas]);
  const readout = h("div", { class: "iw-readout" });
  const table = h("table", { class: "iw-head-table" });
  const showAll = h("button", { class: "iw-show-all", attrs: { type: "button" } });
  // In the explorer the table folds away (fold_table); on its own it is open.
  const fold = h("details", { class: "iw-table-fold" }, [h("summary", { text: "Table of heads" }), table, showAll]);
  fold.open = !model.get("fold_table");
  root.append(header, banner.el, lost.el, wrap, readout, fold);
  el.append(root);
  const alt = canvasAlt(canvas, { readout });

  // "trait:name" → decoded, through the kit's one cache
  const cached = decodedCache();
  /** @type {Row[]} one per head */
  let rows = [];
  let nL = 0;
  let nH = 0;
  let cell = 16;
  let range = [0, 1];
  /** @type {{key: string, dir: "asc" | "desc"} | null} */
  let sort = null;
  let expanded = false;
  // Hover over the grid ([layer, head]); the selection itself lives in the model (selected_head).
  /** @type {Focus<number[]>} */
  const focus = new Focus({ equal: sameCell, toggle: false });

  const scoreName = () => model.get("score") || "";
  /** @param {string} name */
  const label = (name) => scoreLabel(name, model.get("ablation_method") || "");
  const hasAblation = () => {
    const a = model.get("ablation");
    return Boolean(a && typeof a === "object" && Object.keys(a).length);
  };
  const scoreNames = () => {
    const names = model.get("score_names");
    const keys = Object.keys(model.get("scores") || {});
    const base = Array.isArray(names) && names.length ? names : keys;
    return hasAblation() ? [...base, ABLATION] : base;
  };
  const selectedHead = () => {
    const s = model.get("selected_head");
    return Array.isArray(s) && s.length === 2 ? s : null;
  };

  /** @param {string} name @param {"scores" | "scores_std" | "scores_n"} [trait] */
  function decoded(name, trait = "scores") {
    if (name === ABLATION) {
      // the ablation result travels as its own traits: ablation (values), ablation_sd
      if (trait === "scores_n" || !hasAblation()) return null;
      const which = trait === "scores" ? "ablation" : "ablation_sd";
      return decodedRaw(model.get(which), which, name);
    }
    return decodedRaw((model.get(trait) || {})[name], trait, name);
  }

  /** @param {any} raw @param {string} trait @param {string} name */
  function decodedRaw(raw, trait, name) {
    if (raw == null || (typeof raw === "object" && !Object.keys(raw).length)) {
      if (trait !== "scores") return null; // no spread for this score: nothing to decode
    }
    return cached(`${trait}:${name}`, raw);
  }

  /** Rebuild the per-head rows from the traits. */
  function loadData() {
    const first = decoded(scoreName()) || decoded(scoreNames()[0]);
    nL = model.get("n_layers") | 0 || (first && first.shape.length === 2 ? first.shape[0] : 0);
    nH = model.get("n_heads") | 0 || (first && first.shape.length === 2 ? first.shape[1] : 0);
    const verdicts = model.get("verdicts") || [];
    const names = new Set([...scoreNames(), ...Object.keys(model.get("scores") || {})]);
    if (!hasAblation()) names.delete(ABLATION);
    /** @type {Object<string, Float32Array>} */
    const columns = {};
    /** @type {Object<string, Float32Array>} */
    const stds = {};
    /** @type {Object<string, Float32Array>} */
    const counts = {};
    for (const name of names) {
      const d = decoded(name);
      if (d && d.data.length === nL * nH) columns[name] = d.data;
      const sd = decoded(name, "scores_std");
      if (sd && sd.data.length === nL * nH) stds[name] = sd.data;
      const n = decoded(name, "scores_n");
      if (n && n.data.length === nL * nH) counts[name] = n.data;
    }
    rows = [];
    for (let l = 0; l < nL; l++) {
      for (let hh = 0; hh < nH; hh++) {
        const index = l * nH + hh;
        /** @type {Object<string, number>} */
        const scores = {};
        for (const name in columns) scores[name] = columns[name][index];
        /** @type {Object<string, number>} */
        const std = {};
        for (const name in stds) std[name] = stds[name][index];
        /** @type {Object<string, number>} */
        const n = {};
        for (const name in counts) n[name] = counts[name][index];
        rows.push({ index, layer: l, head: hh, verdict: String(verdicts[index] ?? ""), scores, std, n });
      }
    }
    const current = columns[scoreName()];
    let lo = Infinity;
    let hi = -Infinity;
    if (current) {
      for (const v of current) {
        if (Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    if (scoreName() === ABLATION) {
      // diverging, centred on 0: ±(largest |ΔICL|)
      const m = lo <= hi ? Math.max(Math.abs(lo), Math.abs(hi)) : 0;
      range = [-m, m];
      legendEl.show("attribution", m, 0, model.get("palette"));
      legendEl.el.title = ABLATION_LEGEND + (model.get("ablation_note") ? ` (${model.get("ablation_note")})` : "");
      legendEl.el.dataset.kind = "diverging";
    } else {
      range = lo <= hi ? [lo, hi] : [0, 1];
      legendEl.show("sequential", range[1], range[0]);
    }
  }

  /** @param {number} l @param {number} hh */
  function value(l, hh, name = scoreName()) {
    const r = rows[l * nH + hh];
    const v = r ? r.scores[name] : undefined;
    return v === undefined ? NaN : v;
  }
  /** A cell's CSS colour. @param {number} v */
  function colour(v) {
    const [lo, hi] = range;
    if (scoreName() === ABLATION) return attributionColour(v, hi, model.get("palette"));
    return rgbString(sequentialColour(hi > lo ? (v - lo) / (hi - lo) : 0.5));
  }

  // ---- grid ------------------------------------------------------------------------------
  function layoutGrid() {
    const avail = (root.clientWidth || 600) - GRID_MARGIN.left - GRID_MARGIN.right - 12;
    cell = Math.max(6, Math.min(28, Math.floor(avail / Math.max(nH, 1)), Math.floor((model.get("grid_height") || 560) / Math.max(nL, 1))));
    sizeCanvas(canvas, GRID_MARGIN.left + nH * cell + GRID_MARGIN.right, GRID_MARGIN.top + nL * cell + GRID_MARGIN.bottom);
    const data = { plotLeft: GRID_MARGIN.left, plotTop: GRID_MARGIN.top, cell, nLayers: nL, nHeads: nH };
    for (const [k, v] of Object.entries(data)) canvas.dataset[k] = String(v);
  }

  function drawGrid() {
    const ctx = clearedContext(canvas);
    const fg = getComputedStyle(root).color || "#222";
    const bg = getComputedStyle(root).backgroundColor || "#fff";
    const ablation = scoreName() === ABLATION;
    for (let l = 0; l < nL; l++) {
      for (let hh = 0; hh < nH; hh++) {
        const v = value(l, hh);
        const x = GRID_MARGIN.left + hh * cell;
        const y = GRID_MARGIN.top + l * cell;
        if (Number.isNaN(v) && ablation) {
          hatch(ctx, x, y, cell, fg); // not measured: missing, not zero
          continue;
        }
        if (Number.isNaN(v)) {
          ctx.globalAlpha = 0.15;
          ctx.fillStyle = fg;
          ctx.fillRect(x + cell / 2 - 1, y + cell / 2 - 1, 2, 2);
          ctx.globalAlpha = 1;
          continue;
        }
        ctx.fillStyle = colour(v);
        ctx.fillRect(x, y, cell, cell);
      }
    }
    ctx.fillStyle = fg;
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const step = cell >= 14 ? 1 : Math.ceil(14 / cell);
    ctx.textAlign = "right";
    for (let l = 0; l < nL; l += step) ctx.fillText(`L${l}`, GRID_MARGIN.left - 4, GRID_MARGIN.top + (l + 0.5) * cell);
    ctx.textAlign = "center";
    const hstep = cell >= 16 ? 1 : Math.ceil(16 / cell);
    for (let hh = 0; hh < nH; hh += hstep) ctx.fillText(`H${hh}`, GRID_MARGIN.left + (hh + 0.5) * cell, GRID_MARGIN.top / 2);
    const sel = selectedHead();
    if (sel && sel[0] < nL && sel[1] < nH) {
      const x = GRID_MARGIN.left + sel[1] * cell;
      const y = GRID_MARGIN.top + sel[0] * cell;
      ctx.lineWidth = 2;
      ctx.strokeStyle = fg;
      ctx.strokeRect(x + 1, y + 1, cell - 2, cell - 2);
      ctx.lineWidth = 1;
      ctx.strokeStyle = bg;
      ctx.strokeRect(x + 2.5, y + 2.5, cell - 5, cell - 5);
    }
    const hover = focus.hover;
    if (hover) {
      ctx.lineWidth = 1;
      ctx.strokeStyle = fg;
      ctx.globalAlpha = 0.7;
      ctx.strokeRect(GRID_MARGIN.left + hover[1] * cell + 0.5, GRID_MARGIN.top + hover[0] * cell + 0.5, cell - 1, cell - 1);
      ctx.globalAlpha = 1;
    }
  }

  /** @param {number} l @param {number} hh */
  function headText(l, hh) {
    const r = rows[l * nH + hh];
    const v = value(l, hh);
    const name = scoreName();
    const verdict = r && r.verdict ? ` — ${r.verdict}` : "";
    if (name === ABLATION) {
      const sd = r ? r.std[name] : undefined;
      const shown = Number.isNaN(v) ? "not measured" : signedSpread(v, sd);
      const what = Number.isNaN(v) ? "" : sd != null && Number.isFinite(sd) ? " (± standard error over contexts)" : "";
      return `L${l}H${hh} (layer ${l + 1} / ${nL}): ${label(name)} ${shown}${what}${verdict}`;
    }
    const note = r ? spreadNote(r.n[name]) : "";
    const shown = formatSpread(v, r ? r.std[name] : undefined);
    return `L${l}H${hh} (layer ${l + 1} / ${nL}): ${prettyName(name)} ${shown}${note ? ` (${note})` : ""}${verdict}`;
  }

  function updateReadout() {
    const hover = focus.hover;
    const target = hover || selectedHead();
    if (!target || target[0] >= nL || target[1] >= nH) {
      readout.textContent = nL ? "hover a head; click to select it" : "no scores";
      for (const k of ["layer", "head", "value", "sd", "n"]) delete readout.dataset[k];
      return;
    }
    const [l, hh] = target;
    readout.textContent = (hover ? "" : "selected ") + headText(l, hh);
    Object.assign(readout.dataset, { layer: String(l), head: String(hh), value: String(value(l, hh)) });
    const r = rows[l * nH + hh];
    const name = scoreName();
    if (r && r.std[name] !== undefined) readout.dataset.sd = String(r.std[name]);
    else delete readout.dataset.sd;
    if (r && r.n[name] !== undefined) readout.dataset.n = String(r.n[name]);
    else delete readout.dataset.n;
  }

  /** The [layer, head] under the pointer, or null. @param {MouseEvent} e */
  function headAt(e) {
    const [x, y] = localPoint(canvas, e);
    return cellAt(x, y, { left: GRID_MARGIN.left, top: GRID_MARGIN.top, scale: cell, rows: nL, cols: nH });
  }

  /** @param {number} l @param {number} hh */
  function selectHead(l, hh) {
    model.set("selected_head", [l, hh]);
    model.save_changes();
    onSelected();
  }

  // ---- table -----------------------------------------------------------------------------
  /** @returns {Column[]} */
  function columns() {
    const s = scoreName();
    /** @type {Column[]} */
    const cols = [
      { key: "head", label: "head", get: (r) => r.index, text: (r) => `L${r.layer}H${r.head}`, dir: "asc" },
      { key: "depth", label: "layer depth", get: (r) => r.layer, text: (r) => `${r.layer + 1} / ${nL}`, dir: "asc" },
    ];
    /** @param {string} name @returns {Column} */
    // cells "0.912 ± 0.021" (score ± sd over examples) where the spread came; sorted by the score
    const scoreCol = (name) => ({
      key: `score:${name}`,
      label: prettyName(name),
      get: (r) => r.scores[name],
      text: (r) => (r.scores[name] === undefined ? "—" : formatSpread(r.scores[name], r.std[name], 3)),
      value: (r) => r.scores[name],
      sd: (r) => r.std[name],
      dir: "desc",
    });
    cols.push(scoreCol("copying"), scoreCol("prefix_matching"));
    if (s && s !== "copying" && s !== "prefix_matching" && s !== ABLATION) cols.push(scoreCol(s));
    if (hasAblation()) {
      // ΔICL ± its standard error; "—" where not measured (sorted last either way)
      cols.push({
        ...scoreCol(ABLATION),
        label: "ΔICL",
        text: (r) => {
          const v = r.scores[ABLATION];
          return v === undefined || Number.isNaN(v) ? "—" : signedSpread(v, r.std[ABLATION], 3);
        },
      });
    }
    cols.push({ key: "verdict", label: "verdict", get: (r) => r.verdict || null, text: (r) => r.verdict, dir: "asc" });
    return cols;
  }

  function renderTable() {
    const cols = columns();
    if (!sort || !cols.some((c) => c.key === sort.key)) sort = { key: `score:${scoreName()}`, dir: "desc" };
    const col = cols.find((c) => c.key === sort.key) || cols[0];
    const dir = sort.dir;
    const sorted = sortRows(rows, col.get, dir);
    const shown = expanded ? sorted : sorted.slice(0, TOP_ROWS);
    const sel = selectedHead();
    const thead = h("thead", {}, [
      h(
        "tr",
        {},
        cols.map((c) => {
          const th = h("th", { text: c.label, attrs: { "data-key": c.key, scope: "col" } });
          if (c.key === `score:${ABLATION}`) th.title = `${ABLATION_LEGEND} ± standard error over contexts. ${model.get("ablation_note") || ""}`;
          else if (c.sd && rows.some((r) => c.sd && c.sd(r) !== undefined))
            th.title = "score ± standard deviation over the examples (sorted by the score)";
          if (c.key === col.key) th.setAttribute("aria-sort", dir === "desc" ? "descending" : "ascending");
          return th;
        }),
      ),
    ]);
    const tbody = h("tbody");
    const frag = document.createDocumentFragment();
    for (const r of shown) {
      const tr = h("tr", { attrs: { "data-layer": r.layer, "data-head": r.head } });
      if (sel && sel[0] === r.layer && sel[1] === r.head) tr.classList.add("iw-selected");
      for (const c of cols) {
        const td = h("td", { text: c.text(r) });
        if (c.value && c.value(r) !== undefined) td.dataset.value = String(c.value(r));
        const sd = c.sd ? c.sd(r) : undefined;
        if (sd !== undefined) td.dataset.sd = String(sd);
        tr.append(td);
      }
      frag.append(tr);
    }
    tbody.append(frag);
    table.replaceChildren(thead, tbody);
    showAll.hidden = rows.length <= TOP_ROWS;
    showAll.textContent = expanded ? `show top ${TOP_ROWS}` : `show all ${rows.length}`;
  }

  function updateSelectedRow() {
    const sel = selectedHead();
    for (const tr of table.querySelectorAll("tbody tr")) {
      if (!(tr instanceof HTMLElement)) continue;
      const on = Boolean(sel) && Number(tr.dataset.layer) === sel[0] && Number(tr.dataset.head) === sel[1];
      tr.classList.toggle("iw-selected", on);
    }
  }

  // ---- events ----------------------------------------------------------------------------
  focus.subscribe(() => {
    drawGrid();
    updateReadout();
  }, signal);
  bindPointer(canvas, focus, {
    signal,
    itemAt: headAt,
    onClick: (c) => {
      if (c) selectHead(c[0], c[1]);
    },
  });
  // keyboard: arrows move over heads from the selected one, Enter selects, Escape drops the cursor
  bindGridKeys(canvas, focus, {
    signal,
    shape: () => [nL, nH],
    start: () => selectedHead(),
    onEnter: (c) => selectHead(c[0], c[1]),
  });

  /** The canvas's label and summary: the score shown, the top heads and the selected one. */
  function updateAlt() {
    const name = scoreName();
    const top = sortRows(rows, (r) => r.scores[name], "desc")
      .filter((r) => r.scores[name] !== undefined && !Number.isNaN(r.scores[name]))
      .slice(0, 5)
      .map((r) => `L${r.layer}H${r.head} ${formatNumber(r.scores[name], 3)}`);
    const sel = selectedHead();
    alt.label(
      `Head map: ${label(name)} of ${nL} layers × ${nH} heads. ` +
        "Arrow keys move over the heads, Enter selects one.",
    );
    alt.summary(
      (top.length ? `Highest ${label(name)}: ${top.join(", ")}. ` : "No scores. ") +
        (sel && sel[0] < nL && sel[1] < nH ? `Selected: ${headText(sel[0], sel[1])}.` : "No head selected."),
    );
  }

  /** @param {MouseEvent} e */
  const onTableClick = (e) => {
    const th = e.target instanceof Element ? e.target.closest("th") : null;
    if (th instanceof HTMLElement && table.contains(th)) {
      const key = th.dataset.key || "";
      const col = columns().find((c) => c.key === key);
      sort = sort && sort.key === key ? { key, dir: sort.dir === "desc" ? "asc" : "desc" } : { key, dir: col ? col.dir : "desc" };
      renderTable();
      return;
    }
    const tr = e.target instanceof Element ? e.target.closest("tbody tr") : null;
    if (tr instanceof HTMLElement && table.contains(tr)) selectHead(Number(tr.dataset.layer), Number(tr.dataset.head));
  };
  const onShowAll = () => {
    expanded = !expanded;
    renderTable();
  };
  table.addEventListener("click", onTableClick, { signal });
  showAll.addEventListener("click", onShowAll, { signal });
  scoreSelect.addEventListener(
    "change",
    () => {
      model.set("score", scoreSelect.value);
      model.save_changes();
      onScore();
    },
    { signal },
  );

  function updateHeader() {
    title.textContent = model.get("title") || "";
    setOptions(
      scoreSelect,
      scoreNames().map((n) => ({ value: n, label: label(n) })),
      scoreName(),
    );
  }
  function onAll() {
    updateHeader();
    loadData();
    layoutGrid();
    drawGrid();
    updateReadout();
    renderTable();
    updateAlt();
  }
  function onScore() {
    sort = null; // default: the selected score, descending
    onAll();
  }
  function onSelected() {
    drawGrid();
    updateReadout();
    updateSelectedRow();
    updateAlt();
  }

  onWidthChange(
    root,
    () => {
      layoutGrid();
      drawGrid();
    },
    signal,
  );

  listen(
    model,
    ["scores", "scores_std", "scores_n", "verdicts", "n_layers", "n_heads", "score_names", "title", "ablation", "ablation_sd", "ablation_note", "ablation_method", "palette"],
    onAll,
    signal,
  );
  listen(model, ["score"], onScore, signal);
  listen(model, ["selected_head"], onSelected, signal);
  listen(model, ["message"], banner.update, signal);
  signal.addEventListener("abort", lost.dispose, { once: true });
  onAll();

  return view.dispose;
}

/** @satisfies {import("@anywidget/types").AnyWidget<HeadMapTraits>} */
const widget = { render };
export default widget;
export { render };
