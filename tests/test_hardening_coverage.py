"""The hardening matrix covers the public API: every room's rows, read together."""

from __future__ import annotations

import re

import pytest
from hardening import all_rows

import induction_widgets as iw

pytestmark = pytest.mark.tl3


def test_the_matrix_covers_every_public_entry_point():
    """Every public callable that takes user input has at least one row."""
    rows = all_rows()
    ids = " ".join(p.id for p in rows)
    for name in (
        "head_scores", "prefix_matching_score", "previous_token_score", "ov_copying_score",
        "attention_pattern", "logit_attribution", "TextActivations", "pattern_matching_score",
        "pattern_matching_problem", "repeated_random_tokens", "TokenView", "AttentionMatrix",
        "HeadMap", "InductionExplorer", "save_html", "report", "load_model", "VerdictScatter",
        "LossCurve", "PartnersView", "PhaseChangeView", "sweep", "SweepHeatmap", "SweepDepth",
        "Sweep",
    ):  # fmt: skip
        assert name in iw.__all__, name
        assert re.search(rf"(^| ){re.escape(name)}[-.]", ids), name
    assert len(rows) >= 250, len(rows)
