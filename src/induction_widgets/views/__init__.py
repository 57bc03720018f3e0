"""View specs: pure functions from (activations, head, options) to a view's state — the JSON-able
fields plus binary buffers — shared by the live widgets and the exported pages.

``spec`` builds the states; ``static`` turns a state into an offline page or a notebook's static
``text/html`` copy. Neither imports a widget class or an export module.
"""

from .spec import (
    ABLATION_SCORE,
    HEAD_BUFFERS,
    SINK_SCALES,
    ViewSpec,
    ablation_state,
    attention_matrix_state,
    check_ablation,
    check_score_name,
    check_scores,
    check_sink_scale,
    explorer_state,
    head_map_state,
    head_state,
    loss_curve_state,
    partners_state,
    phase_change_state,
    token_view_state,
    verdict_scatter_state,
)
from .static import (
    CSP,
    STATIC_COPY_ENV,
    STATIC_COPY_MAX_TOKENS,
    display_copy,
    json_for_script,
    output_path,
    page,
    runtime_js,
    static_html,
    static_spec,
    write_html,
)
from .sweep import explorer_call, head_jumps, sweep_depth_state, sweep_heatmap_state

__all__ = [
    "ABLATION_SCORE",
    "CSP",
    "HEAD_BUFFERS",
    "SINK_SCALES",
    "STATIC_COPY_ENV",
    "STATIC_COPY_MAX_TOKENS",
    "ViewSpec",
    "ablation_state",
    "attention_matrix_state",
    "check_ablation",
    "check_score_name",
    "check_scores",
    "check_sink_scale",
    "display_copy",
    "explorer_call",
    "explorer_state",
    "head_jumps",
    "head_map_state",
    "head_state",
    "json_for_script",
    "loss_curve_state",
    "output_path",
    "page",
    "partners_state",
    "phase_change_state",
    "runtime_js",
    "static_html",
    "static_spec",
    "sweep_depth_state",
    "sweep_heatmap_state",
    "token_view_state",
    "verdict_scatter_state",
    "write_html",
]
