"""Compute room: scores, attribution and the paper's tasks. Torch + TransformerLens only.

Nothing here imports widget, payload or export code. The error classes live in
:mod:`induction_widgets.errors` (their one home) and the input checks in :mod:`induction_widgets.checks`.
"""

from ..naming import deprecated_aliases
from ._model import ModelInfo, check_model, model_info, str_tokens, to_tokens
from .ablation import (
    ABLATION_KINDS,
    AblationComparison,
    AblationEffect,
    AblationScores,
    ablate,
    ablation_comparison,
    ablation_effect,
    ablation_scores,
    head_means,
)
from .attribution import TextActivations, attention_pattern, logit_attribution
from .checkpoints import (
    TINY_CHECKPOINTS,
    CheckpointScores,
    checkpoint_scores,
    load_tiny_checkpoints,
    tiny_model_from_weights,
)
from .choose import (
    HeadChoice,
    choose_copying_head,
    choose_pattern_matching_head,
    choose_translation_head,
    translation_targets,
)
from .composition import (
    PartnerRow,
    Partners,
    k_composition_scores,
    previous_token_partners,
)
from .icl import (
    ICLScore,
    copy_task_tokens,
    corpus_contexts,
    corpus_text,
    icl_indices,
    icl_score,
    losses_at,
    per_token_loss,
    repeated_tokens_loss,
)
from .long_range import long_range_induction_scores, max_long_range_length
from .scores import (
    SCORE_NAMES,
    HeadRow,
    HeadScores,
    copying_ratio,
    head_scores,
    induction_targets,
    ov_copying_scores,
    pattern_matching_problem,
    pattern_matching_scores,
    prefix_matching_scores,
    previous_token_scores,
)
from .sink import sink_share, sink_summary, sink_width, without_sink
from .sweep import MEASURES as SWEEP_MEASURES
from .sweep import Sweep, SweepTask, plan, sweep
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
    "ABLATION_KINDS",
    "PARALLEL_SENTENCES",
    "PRIDE_AND_PREJUDICE",
    "SCORE_NAMES",
    "SWEEP_MEASURES",
    "TEMPLATES",
    "TINY_CHECKPOINTS",
    "AblationComparison",
    "AblationEffect",
    "AblationScores",
    "CheckpointScores",
    "HeadChoice",
    "HeadRow",
    "HeadScores",
    "ICLScore",
    "ModelInfo",
    "PartnerRow",
    "Partners",
    "Sweep",
    "SweepTask",
    "TextActivations",
    "ablate",
    "ablation_comparison",
    "ablation_effect",
    "ablation_scores",
    "attention_pattern",
    "check_model",
    "checkpoint_scores",
    "choose_copying_head",
    "choose_pattern_matching_head",
    "choose_translation_head",
    "copy_task_tokens",
    "copying_ratio",
    "copying_text",
    "corpus_contexts",
    "corpus_text",
    "head_means",
    "head_scores",
    "icl_indices",
    "icl_score",
    "induction_targets",
    "k_composition_scores",
    "load_tiny_checkpoints",
    "logit_attribution",
    "long_range_induction_scores",
    "losses_at",
    "max_long_range_length",
    "model_info",
    "ov_copying_scores",
    "pattern_matching_lines",
    "pattern_matching_problem",
    "pattern_matching_scores",
    "pattern_matching_text",
    "per_token_loss",
    "plan",
    "prefix_matching_scores",
    "previous_token_partners",
    "previous_token_scores",
    "repeated_random_tokens",
    "repeated_tokens_loss",
    "sink_share",
    "sink_summary",
    "sink_width",
    "str_tokens",
    "sweep",
    "tiny_model_from_weights",
    "to_tokens",
    "translation_targets",
    "translation_text",
    "without_sink",
]


#: Old names of functions returning every head (docs/naming.md): each warns with a
#: DeprecationWarning and is the same function as its new name.
DEPRECATED_NAMES: dict[str, str] = {
    "prefix_matching_score": "prefix_matching_scores",
    "previous_token_score": "previous_token_scores",
    "ov_copying_score": "ov_copying_scores",
    "pattern_matching_score": "pattern_matching_scores",
    "score_checkpoints": "checkpoint_scores",
}


__getattr__ = deprecated_aliases(__name__, DEPRECATED_NAMES, globals())
