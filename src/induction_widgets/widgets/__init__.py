"""Widgets room: thin anywidget classes over the compute and payload rooms, one module per view.

Every module of this package (but ``_base``) is imported with it; each widget class names its view
(``class HeadMap(ViewWidget, view="head_map")``) and is registered in :data:`WIDGETS` and exported
here under its declared name, so a new view's widget needs no edit of this file (the
``TYPE_CHECKING`` imports below only tell static type checkers the classes' names).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from ..naming import deprecated_aliases
from ._base import WIDGETS, ViewWidget, close_all


def load_widgets() -> dict[str, type[ViewWidget]]:
    """Import every widget module of this package; public class name → class of every view."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    return {cls.__name__: cls for cls in WIDGETS.values()}


VIEW_CLASSES = load_widgets()
globals().update(VIEW_CLASSES)

if TYPE_CHECKING:
    from .attention_matrix import AttentionMatrix as AttentionMatrix
    from .explorer import InductionExplorer as InductionExplorer
    from .head_map import HeadMap as HeadMap
    from .loss_curve import LossCurve as LossCurve
    from .partners import PartnerBars as PartnerBars
    from .phase_change import PhaseChangeCurves as PhaseChangeCurves
    from .sweep_depth import SweepDepthMaps as SweepDepthMaps
    from .sweep_heatmap import SweepHeatmap as SweepHeatmap
    from .token_view import TokenView as TokenView
    from .verdict_scatter import VerdictScatter as VerdictScatter

__all__ = [
    *sorted(VIEW_CLASSES),
    "VIEW_CLASSES",
    "WIDGETS",
    "ViewWidget",
    "close_all",
    "load_widgets",
]

#: Widget classes renamed by the naming rule (docs/naming.md): old name → new name.
RENAMED_VIEWS: dict[str, str] = {
    "PartnersView": "PartnerBars",
    "PhaseChangeView": "PhaseChangeCurves",
}
__getattr__ = deprecated_aliases(__name__, RENAMED_VIEWS, globals())
