"""Exceptions raised for user mistakes.

Every error names what was wrong and how to fix it; none of them leaks a traceback from deep
inside torch. They subclass the built-in exception a Python user would expect (``ValueError``,
``TypeError``, ``IndexError``) so ordinary ``except`` clauses keep working.
"""

from __future__ import annotations


class InductionWidgetsError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(InductionWidgetsError, ValueError):
    """The text, tokens or a numeric argument cannot be used as given."""


class HeadIndexError(InductionWidgetsError, IndexError, ValueError):
    """A layer or head index outside the model's range."""


class NotAModelError(InductionWidgetsError, TypeError):
    """Something that is not a TransformerLens model was passed where one is needed."""


class ModelWeightsError(InductionWidgetsError, ValueError):
    """The model's weights or activations hold NaN or infinity."""


class SweepError(InductionWidgetsError, RuntimeError):
    """A sweep task failed: its worker died more often than ``retries`` allows, or it raised."""
