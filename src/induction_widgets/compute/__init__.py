"""Compute room: scores, attribution and the paper's tasks. Torch + TransformerLens only.

Nothing here imports widget, payload or export code.
"""

from ..errors import (
    HeadIndexError,
    InductionWidgetsError,
    InputError,
    ModelWeightsError,
    NotAModelError,
)
from ._model import ModelInfo, check_model, model_info, str_tokens, to_tokens
from .attribution import TextActivations, attention_pattern, logit_attribution
from .choose import (
    HeadChoice,
    choose_copying_head,
    choose_pattern_matching_head,
    choose_translation_head,
    translation_targets,
    verdict_scatter,
)
from .scores import (
    SCORE_NAMES,
    HeadRow,
    HeadScores,
    copying_ratio,
    head_scores,
    induction_targets,
    ov_copying_score,
    pattern_matching_problem,
    pattern_matching_score,
    prefix_matching_score,
    previous_token_score,
)
from .sink import sink_share, sink_summary, sink_width, without_sink
from .tasks import (
    PARALLEL_SENTENCES,
    PRIDE_AND_PREJUDICE,
    TEMPLATES,
    copying_text,
    pattern_matching_lines,
    pattern_matching_text,
    repeated_random_tokens,
    translation_text,
)

__all__ = [
    "PARALLEL_SENTENCES",
    "PRIDE_AND_PREJUDICE",
    "SCORE_NAMES",
    "TEMPLATES",
    "HeadChoice",
    "HeadIndexError",
    "HeadRow",
    "HeadScores",
    "InductionWidgetsError",
    "InputError",
    "ModelInfo",
    "ModelWeightsError",
    "NotAModelError",
    "TextActivations",
    "attention_pattern",
    "check_model",
    "choose_copying_head",
    "choose_pattern_matching_head",
    "choose_translation_head",
    "copying_ratio",
    "copying_text",
    "head_scores",
    "induction_targets",
    "logit_attribution",
    "model_info",
    "ov_copying_score",
    "pattern_matching_lines",
    "pattern_matching_problem",
    "pattern_matching_score",
    "pattern_matching_text",
    "prefix_matching_score",
    "previous_token_score",
    "repeated_random_tokens",
    "sink_share",
    "sink_summary",
    "sink_width",
    "str_tokens",
    "to_tokens",
    "translation_targets",
    "translation_text",
    "verdict_scatter",
    "without_sink",
]
