"""induction_widgets — find and inspect induction heads (Olsson et al. 2022) in Jupyter.

Four rooms, arrows one way: ``compute`` (scores, attribution, tasks; torch + TransformerLens) →
``payload`` (tensors → binary buffers) → ``widgets`` (anywidget views) → ``export`` (offline HTML).
"""

from .compute import (
    PARALLEL_SENTENCES,
    SCORE_NAMES,
    HeadIndexError,
    HeadRow,
    HeadScores,
    InductionWidgetsError,
    InputError,
    ModelWeightsError,
    NotAModelError,
    TextActivations,
    attention_pattern,
    copying_text,
    head_scores,
    logit_attribution,
    ov_copying_score,
    pattern_matching_problem,
    pattern_matching_score,
    pattern_matching_text,
    prefix_matching_score,
    previous_token_score,
    repeated_random_tokens,
    translation_text,
)
from .compute.cache import memory_info, set_memory_budget
from .export import export_notebook, report, save_html
from .models import load_model
from .widgets import AttentionMatrix, HeadMap, InductionExplorer, TokenView, VerdictScatter
from .widgets._base import close_all

__version__ = "0.1.0"

__all__ = [
    "PARALLEL_SENTENCES",
    "SCORE_NAMES",
    "AttentionMatrix",
    "HeadIndexError",
    "HeadMap",
    "HeadRow",
    "HeadScores",
    "InductionExplorer",
    "InductionWidgetsError",
    "InputError",
    "ModelWeightsError",
    "NotAModelError",
    "TextActivations",
    "TokenView",
    "VerdictScatter",
    "__version__",
    "attention_pattern",
    "close_all",
    "copying_text",
    "export_notebook",
    "head_scores",
    "load_model",
    "logit_attribution",
    "memory_info",
    "ov_copying_score",
    "pattern_matching_problem",
    "pattern_matching_score",
    "pattern_matching_text",
    "prefix_matching_score",
    "previous_token_score",
    "repeated_random_tokens",
    "report",
    "save_html",
    "set_memory_budget",
    "translation_text",
]
