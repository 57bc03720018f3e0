// @ts-check
/**
 * InductionExplorer: the head map, the token view and the attention matrix composed in one
 * anywidget view over ONE model, linked in the browser: the map's `selected_head` is the model's
 * [layer, head], so a click in the map (or on a point of the verdict scatter under it) switches the
 * text and the matrix, and the token view's Layer/Head selects move the map's selection. The matrix has its own mode (`matrix_mode`).
 *
 * Workbench layout (CSS grid, container queries): map | text | matrix side by side when the cell is
 * wide, map | text over matrix when medium, stacked when narrow. The map's table folds away.
 * @module explorer
 */
import tokenView from "./token_view.js";
import attentionMatrix from "./attention_matrix.js";
import headMap from "./head_map.js";
import verdictScatter from "./verdict_scatter.js";
import { facade } from "./shared/facade.js";

const STYLE = `
.iw-explorer { container-type: inline-size; }
.iw-explorer-grid {
  display: grid; gap: 10px 14px; align-items: start;
  grid-template-columns: minmax(220px, 300px) minmax(320px, 1fr) minmax(300px, 430px);
  grid-template-areas: "map text matrix" "scatter text matrix";
}
.iw-ex-map { grid-area: map; min-width: 0; }
.iw-ex-scatter { grid-area: scatter; min-width: 0; }
.iw-ex-text { grid-area: text; min-width: 0; }
.iw-ex-matrix { grid-area: matrix; min-width: 0; }
.iw-explorer .iw-tokens { max-height: min(60vh, 520px); }
@container (max-width: 1080px) {
  .iw-explorer-grid { grid-template-columns: minmax(200px, 280px) minmax(300px, 1fr);
    grid-template-areas: "map text" "scatter matrix"; }
  .iw-explorer .iw-tokens { max-height: min(40vh, 360px); }
}
@container (max-width: 640px) {
  .iw-explorer-grid { grid-template-columns: 1fr; grid-template-areas: "map" "text" "matrix" "scatter"; }
}
`;

/** @param {HTMLElement} el */
function injectStyle(el) {
  const style = document.createElement("style");
  style.textContent = STYLE;
  el.append(style);
}

/**
 * @typedef {{ layer: number, head: number, show_matrix: boolean }} ExplorerTraits
 * @type {import("./shared/types.js").View<ExplorerTraits>}
 */
async function render({ model, el }) {
  injectStyle(el);
  const root = document.createElement("div");
  root.className = "iw-explorer";
  const grid = document.createElement("div");
  grid.className = "iw-explorer-grid";
  const cells = ["map", "text", "matrix", "scatter"].map((name) => {
    const cell = document.createElement("div");
    cell.className = `iw-ex-${name}`;
    grid.append(cell);
    return cell;
  });
  root.append(grid);
  el.append(root);

  const selectedHead = {
    deps: ["layer", "head"],
    /** @param {any} m */
    get: (m) => [m.get("layer"), m.get("head")],
    /** @param {any} m @param {any} v */
    set: (m, v) => {
      if (Array.isArray(v) && v.length === 2) {
        m.set("layer", v[0]);
        m.set("head", v[1]);
      }
    },
  };
  const mapModel = facade(model, {
    derived: { selected_head: selectedHead },
    fixed: { title: "", message: "", fold_table: true, grid_height: 520 },
  });
  const textModel = facade(model, {});
  const matrixModel = facade(model, {
    rename: { mode: "matrix_mode" },
    fixed: { title: "", max_size: 380 },
  });
  const scatterModel = facade(model, {
    rename: { x: "scatter_x", y: "scatter_y", depth: "scatter_depth" },
    derived: { selected_head: selectedHead },
    fixed: { title: "", message: "" },
  });
  /** @type {(void | (() => void))[]} */
  const views = [];
  views.push(await headMap.render({ model: mapModel, el: cells[0] }));
  views.push(await tokenView.render({ model: textModel, el: cells[1] }));
  const showMatrix = () => {
    cells[2].hidden = !model.get("show_matrix");
  };
  showMatrix();
  views.push(await attentionMatrix.render({ model: matrixModel, el: cells[2] }));
  model.on("change:show_matrix", showMatrix);
  views.push(await verdictScatter.render({ model: scatterModel, el: cells[3] }));
  return () => {
    model.off("change:show_matrix", showMatrix);
    for (const cleanup of views) if (typeof cleanup === "function") cleanup();
    for (const f of [mapModel, textModel, matrixModel, scatterModel]) f.off();
    root.remove();
  };
}

/** @satisfies {import("@anywidget/types").AnyWidget<ExplorerTraits>} */
const widget = { render };
export default widget;
