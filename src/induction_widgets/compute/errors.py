"""Old home of the error classes (now :mod:`induction_widgets.errors`); re-exported so
``from induction_widgets.compute.errors import InputError`` keeps working."""

from ..errors import (
    HeadIndexError,
    InductionWidgetsError,
    InputError,
    ModelWeightsError,
    NotAModelError,
    SweepError,
)

__all__ = [
    "HeadIndexError",
    "InductionWidgetsError",
    "InputError",
    "ModelWeightsError",
    "NotAModelError",
    "SweepError",
]
