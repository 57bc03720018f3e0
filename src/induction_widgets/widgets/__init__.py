"""Widgets room: thin anywidget classes over the compute and payload rooms."""

from .attention_matrix import AttentionMatrix
from .explorer import InductionExplorer
from .head_map import HeadMap
from .loss_curve import LossCurve
from .partners import PartnersView
from .phase_change import PhaseChangeView
from .sweep import SweepDepth, SweepHeatmap
from .token_view import TokenView
from .verdict_scatter import VerdictScatter

__all__ = [
    "AttentionMatrix",
    "HeadMap",
    "InductionExplorer",
    "LossCurve",
    "PartnersView",
    "PhaseChangeView",
    "SweepDepth",
    "SweepHeatmap",
    "TokenView",
    "VerdictScatter",
]
