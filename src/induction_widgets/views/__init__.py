"""Views: one module per view, each a declaration and a pure function from data and options to the
view's state — the JSON-able fields plus binary buffers — shared by the live widgets and the saved
pages (``static``) and the static figures (``figure``: matplotlib, imported when a figure is drawn;
public as ``induction_widgets.export.figure``). Nothing here imports a widget class or an export
module.

Adding a view
-------------
A view is three source files, named after its ``kind`` (say ``sparkline``):

1. ``views/sparkline.py`` — the declaration and the pure state function::

       from .declare import Buffer, Int, declare

       SPARKLINE = declare("sparkline", "Sparkline", {"values": Buffer(), "top": Int(5)},
                           module=__name__)

       def sparkline_state(values, *, top=5, title=""):
           return {"values": encode(values, "float32"), "top": top, "title": title}

   ``declare`` states, once, the kind, the public widget class's name, the synced traits
   (``message`` and ``title`` come with every view, :data:`~.declare.BASE_TRAITS`) and the
   per-head buffers a view of one head on a text shows (``head_buffers``, kept in the kernel and
   sent on request). Every module of this package but ``declare``, ``common``, ``static`` is a
   view module and is imported with the package, so the view is in :data:`VIEWS`.
2. ``widgets/sparkline.py`` — the thin anywidget class, whose traits come from the declaration::

       class Sparkline(ViewWidget, view="sparkline"):
           def __init__(self, values, *, title="", **kwargs):
               self._values = values
               super().__init__(**{**sparkline_state(values, title=title), **kwargs})

           def view_spec(self):
               return self._view_spec(sparkline_state(self._values, title=self.title))

   ``widgets`` imports every module of its package, so ``induction_widgets.Sparkline`` exists
   (for static type checkers, add it to the ``TYPE_CHECKING`` imports of ``widgets/__init__.py``).
3. ``js/src/sparkline.js`` — the front-end module (``export default { render }``). ``js/build.mjs``
   bundles every ``js/src/*.js`` (``standalone.js`` is the saved pages' runtime) and the saved
   pages' registry is generated from the same list.

``tests/views/test_declare.py`` checks that the declarations, the JS files, the saved-page
registry, the build entries and every widget's traits agree. See docs/views.md.
"""

from __future__ import annotations

import importlib
import pkgutil

from .common import (
    PALETTES,
    SINK_SCALES,
    ViewSpec,
    check_palette,
    check_scores,
    check_sink_scale,
    head_state,
)
from .declare import HEAD_BUFFERS, VIEWS, ViewDecl

#: The modules of this package that are not views.
NOT_VIEWS = frozenset({"common", "declare", "figure", "static"})


def load_views() -> None:
    """Import every view module of this package (each declares itself in :data:`VIEWS`)."""
    for info in pkgutil.iter_modules(__path__):
        if info.name not in NOT_VIEWS and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


load_views()

from .attention_matrix import attention_matrix_state  # noqa: E402
from .explorer import explorer_state  # noqa: E402
from .head_map import (  # noqa: E402
    ABLATION_SCORE,
    ablation_state,
    check_ablation,
    check_score_name,
    head_map_state,
)
from .loss_curve import loss_curve_state  # noqa: E402
from .partners import partners_state  # noqa: E402
from .phase_change import phase_change_state  # noqa: E402
from .static import (  # noqa: E402
    CSP,
    STATIC_COPY_ENV,
    STATIC_COPY_MAX_TOKENS,
    display_copy,
    json_for_script,
    output_path,
    page,
    runtime_js,
    spec_of,
    static_html,
    static_spec,
    write_html,
)
from .token_view import token_view_state  # noqa: E402
from .verdict_scatter import scatter_data, verdict_scatter_state  # noqa: E402

__all__ = [
    "ABLATION_SCORE",
    "CSP",
    "HEAD_BUFFERS",
    "PALETTES",
    "SINK_SCALES",
    "STATIC_COPY_ENV",
    "STATIC_COPY_MAX_TOKENS",
    "VIEWS",
    "ViewDecl",
    "ViewSpec",
    "ablation_state",
    "attention_matrix_state",
    "check_ablation",
    "check_palette",
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
    "load_views",
    "loss_curve_state",
    "output_path",
    "page",
    "partners_state",
    "phase_change_state",
    "runtime_js",
    "scatter_data",
    "spec_of",
    "static_html",
    "static_spec",
    "sweep_depth_state",
    "sweep_heatmap_state",
    "token_view_state",
    "verdict_scatter_state",
    "write_html",
]
