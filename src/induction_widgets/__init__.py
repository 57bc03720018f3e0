"""induction_widgets — find and inspect induction heads (Olsson et al. 2022) in Jupyter.

Rooms, arrows one way: ``compute`` (scores, attribution, tasks; torch + TransformerLens) →
``payload`` (tensors → binary buffers) → ``views`` (pure state functions) → ``widgets`` (anywidget
classes) and ``export`` (offline HTML), with ``errors``, ``checks`` and ``models`` below compute
(tests/test_architecture.py holds the contract). Names follow one rule (docs/naming.md); old names
are deprecated aliases.
"""

from typing import TYPE_CHECKING

from . import compute
from .compute import (
    PARALLEL_SENTENCES,
    SCORE_NAMES,
    AblationComparison,
    AblationEffect,
    AblationScores,
    CheckpointScores,
    HeadRow,
    HeadScores,
    ICLScore,
    Partners,
    Sweep,
    TextActivations,
    ablate,
    ablation_comparison,
    ablation_effect,
    ablation_scores,
    attention_pattern,
    checkpoint_scores,
    copy_task_tokens,
    copying_text,
    corpus_contexts,
    corpus_text,
    head_means,
    head_scores,
    icl_score,
    k_composition_scores,
    logit_attribution,
    long_range_induction_scores,
    ov_copying_scores,
    pattern_matching_problem,
    pattern_matching_scores,
    pattern_matching_text,
    per_token_loss,
    prefix_matching_scores,
    previous_token_partners,
    previous_token_scores,
    repeated_random_tokens,
    repeated_tokens_loss,
    sweep,
    translation_text,
)
from .compute.cache import memory_info, set_memory_budget
from .errors import (
    HeadIndexError,
    InductionWidgetsError,
    InputError,
    ModelWeightsError,
    NotAModelError,
    SweepError,
)
from .export import export_notebook, figure, report, save_figure, save_html
from .models import load_model
from .naming import deprecated_aliases

# RENAMED_VIEWS: view classes renamed by the naming rule (docs/naming.md: <Subject><Figure>); the
# old names stay readable as deprecated aliases, here and in ``induction_widgets.widgets``.
from .widgets import RENAMED_VIEWS, VIEW_CLASSES, close_all

#: every view's widget class (TokenView, HeadMap, …) under its declared, public name
PUBLIC_VIEWS = dict(VIEW_CLASSES)
globals().update(PUBLIC_VIEWS)

if TYPE_CHECKING:  # for type checkers: at run time they come from PUBLIC_VIEWS
    from .widgets.attention_matrix import AttentionMatrix as AttentionMatrix
    from .widgets.explorer import InductionExplorer as InductionExplorer
    from .widgets.head_map import HeadMap as HeadMap
    from .widgets.loss_curve import LossCurve as LossCurve
    from .widgets.partners import PartnerBars as PartnerBars
    from .widgets.phase_change import PhaseChangeCurves as PhaseChangeCurves
    from .widgets.sweep_depth import SweepDepthMaps as SweepDepthMaps
    from .widgets.sweep_heatmap import SweepHeatmap as SweepHeatmap
    from .widgets.token_view import TokenView as TokenView
    from .widgets.verdict_scatter import VerdictScatter as VerdictScatter

__version__ = "0.1.0"

#: Old public names (docs/naming.md): each still works, warns once per use with a
#: DeprecationWarning naming its replacement, and is the very same object as the new name.
DEPRECATED_NAMES: dict[str, str] = {**compute.DEPRECATED_NAMES, **RENAMED_VIEWS}
__getattr__ = deprecated_aliases(__name__, DEPRECATED_NAMES, globals())

__all__ = [
    "PARALLEL_SENTENCES",
    "SCORE_NAMES",
    "AblationComparison",
    "AblationEffect",
    "AblationScores",
    "CheckpointScores",
    "HeadIndexError",
    "HeadRow",
    "HeadScores",
    "ICLScore",
    "InductionWidgetsError",
    "InputError",
    "ModelWeightsError",
    "NotAModelError",
    "Partners",
    "Sweep",
    "SweepError",
    "TextActivations",
    "__version__",
    "ablate",
    "ablation_comparison",
    "ablation_effect",
    "ablation_scores",
    "attention_pattern",
    "close_all",
    "copy_task_tokens",
    "copying_text",
    "corpus_contexts",
    "corpus_text",
    "export_notebook",
    "figure",
    "head_means",
    "head_scores",
    "icl_score",
    "k_composition_scores",
    "load_model",
    "logit_attribution",
    "long_range_induction_scores",
    "memory_info",
    "ov_copying_scores",
    "pattern_matching_problem",
    "pattern_matching_scores",
    "pattern_matching_text",
    "per_token_loss",
    "prefix_matching_scores",
    "previous_token_partners",
    "previous_token_scores",
    "repeated_random_tokens",
    "repeated_tokens_loss",
    "report",
    "save_figure",
    "save_html",
    "checkpoint_scores",
    "set_memory_budget",
    "sweep",
    "translation_text",
    *PUBLIC_VIEWS,
]
