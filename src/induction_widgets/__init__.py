"""induction_widgets — find and inspect induction heads (Olsson et al. 2022) in Jupyter.

Four rooms, arrows one way: ``compute`` (scores, attribution, tasks; torch + TransformerLens) →
``payload`` (tensors → binary buffers) → ``widgets`` (anywidget views) → ``export`` (offline HTML).
"""

from typing import TYPE_CHECKING

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
    copy_task_tokens,
    copying_text,
    corpus_contexts,
    corpus_text,
    head_means,
    head_scores,
    icl_score,
    k_composition_scores,
    logit_attribution,
    ov_copying_score,
    pattern_matching_problem,
    pattern_matching_score,
    pattern_matching_text,
    per_token_loss,
    prefix_matching_score,
    previous_token_partners,
    previous_token_score,
    repeated_random_tokens,
    repeated_tokens_loss,
    score_checkpoints,
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
from .export import export_notebook, report, save_html
from .models import load_model
from .widgets import VIEW_CLASSES, close_all

# every view's widget class (TokenView, HeadMap, …), exported under its declared name
globals().update(VIEW_CLASSES)

if TYPE_CHECKING:
    from .widgets import (
        AttentionMatrix as AttentionMatrix,
    )
    from .widgets import (
        HeadMap as HeadMap,
    )
    from .widgets import (
        InductionExplorer as InductionExplorer,
    )
    from .widgets import (
        LossCurve as LossCurve,
    )
    from .widgets import (
        PartnersView as PartnersView,
    )
    from .widgets import (
        PhaseChangeView as PhaseChangeView,
    )
    from .widgets import (
        TokenView as TokenView,
    )
    from .widgets import (
        VerdictScatter as VerdictScatter,
    )

__version__ = "0.1.0"

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
    "PartnersView",
    "PhaseChangeView",
    "Sweep",
    "SweepDepth",
    "SweepError",
    "SweepHeatmap",
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
    "head_means",
    "head_scores",
    "icl_score",
    "k_composition_scores",
    "load_model",
    "logit_attribution",
    "memory_info",
    "ov_copying_score",
    "pattern_matching_problem",
    "pattern_matching_score",
    "pattern_matching_text",
    "per_token_loss",
    "prefix_matching_score",
    "previous_token_partners",
    "previous_token_score",
    "repeated_random_tokens",
    "repeated_tokens_loss",
    "report",
    "save_html",
    "score_checkpoints",
    "set_memory_budget",
    "sweep",
    "translation_text",
    *VIEW_CLASSES,
]
