"""The hardening matrix covers the public API, derived from ``induction_widgets.__all__``.

Every public name is either exercised by at least one bad-input row of some room's matrix (a row id
``<name>-…`` or ``<name>.…``, classes through their constructors) or listed in :data:`EXEMPT` with
the reason. A new public function without rows fails here until it gets rows or a reason.
"""

from __future__ import annotations

import re

import pytest
from hardening import Rows, all_rows

import induction_widgets as iw

pytestmark = pytest.mark.tl3

#: Public names without bad-input rows, each with the reason.
EXEMPT: dict[str, str] = {
    "__version__": "a string constant",
    "PARALLEL_SENTENCES": "a constant (the parallel sentences of translation_text)",
    "SCORE_NAMES": "a constant (the names of HeadScores' grids)",
    # The error classes: raised by the rows, never called with user input.
    "InductionWidgetsError": "an error class",
    "InputError": "an error class",
    "HeadIndexError": "an error class",
    "NotAModelError": "an error class",
    "ModelWeightsError": "an error class",
    "SweepError": "an error class (raised by sweep when a task cannot finish)",
    # Result types: built by the function named, whose rows cover the input; a user reads them.
    "AblationEffect": "result of ablation_effect",
    "AblationScores": "result of ablation_scores",
    "CheckpointScores": "result of checkpoint_scores",
    "HeadRow": "a row of HeadScores.top",
    "ICLScore": "result of icl_score",
    "Partners": "result of previous_token_partners",
    # Functions that take no input at all.
    "close_all": "takes no argument",
    "memory_info": "takes no argument",
}


def covered(names: list[str], ids: list[str]) -> set[str]:
    """The names of ``names`` with a row: an id that is ``name`` followed by ``-`` or ``.``."""
    joined = " ".join(ids)
    return {n for n in names if re.search(rf"(^| ){re.escape(n)}[-.]", joined)}


def test_every_public_name_has_rows_or_a_reason():
    ids = [p.id for p in all_rows()]
    assert len(ids) >= 400, len(ids)  # it read every room's matrix
    public = sorted(iw.__all__)
    missing = set(public) - covered(public, ids) - set(EXEMPT)
    assert not missing, (
        f"public names without bad-input rows (add rows, or a reason to EXEMPT): {sorted(missing)}"
    )
    stale = [n for n in EXEMPT if n not in iw.__all__ or n in covered([n], ids)]
    assert not stale, f"EXEMPT names no longer public, or now covered: {stale}"


def test_every_public_callable_with_parameters_is_covered_not_exempt():
    """An exemption for a function or a widget class is only allowed when it takes no input."""
    import inspect

    for name, reason in EXEMPT.items():
        obj = getattr(iw, name)
        if inspect.isfunction(obj) or (callable(obj) and hasattr(obj, "__wrapped__")):
            assert not inspect.signature(obj).parameters, (name, reason)


def test_the_coverage_check_can_fail():
    """A synthetic matrix without rows for one public function is reported."""
    rows = Rows()
    rows.add("head_scores-n_examples=0", lambda c: None, iw.InputError, "")
    rows.add("HeadScores.top-k=0", lambda c: None, iw.InputError, "")
    ids = [p.id for p in rows]
    assert covered(["head_scores", "HeadScores", "ablate", "head"], ids) == {
        "head_scores",
        "HeadScores",
    }  # "head" is a prefix of a covered name, not covered itself
