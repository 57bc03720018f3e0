"""One opening-head rule (``HeadScores.default_head``): the head map, the token view and the matrix
given scores, the explorer and the report all open on the same head."""

from __future__ import annotations

import json
import re

import pytest
import torch

import induction_widgets as iw

TEXT = "The cat sat on the mat. The cat sat on the mat."


def made(induction: bool = True) -> iw.HeadScores:
    """2 × 4 heads. L0H1 has the highest prefix matching (0.9) but copies negatively (not an
    induction head); L1H2 (0.6, copying 0.8) and L1H3 (0.5, copying 0.7) are induction heads.
    ``induction=False``: every copying score negative, so no head passes."""
    pm = torch.tensor([[0.1, 0.9, 0.2, 0.0], [0.05, 0.1, 0.6, 0.5]])
    copying = torch.tensor([[0.0, -0.5, 0.0, 0.0], [0.0, 0.0, 0.8, 0.7]])
    if not induction:
        copying = -copying.abs() - 0.1
    z = torch.zeros(2, 4)
    return iw.HeadScores(prefix_matching=pm, copying=copying, previous_token=z, ov_copying=z)


def test_the_rule():
    scores = made()
    assert scores.induction_heads() == [(1, 2), (1, 3)]
    assert (scores.top(1)[0].layer, scores.top(1)[0].head) == (0, 1)  # the other rule's pick
    assert scores.default_head() == (1, 2)  # the strongest induction head
    assert made(induction=False).induction_heads() == []
    assert made(induction=False).default_head() == (0, 1)  # else the top prefix matching


def test_every_view_opens_on_the_default_head(tiny):
    scores = made()
    want = [1, 2]
    assert iw.HeadMap(scores).selected_head == want
    tv = iw.TokenView(tiny, TEXT, scores=scores)
    am = iw.AttentionMatrix(tiny, TEXT, scores=scores)
    ex = iw.InductionExplorer(tiny, TEXT, scores=scores)
    assert [tv.layer, tv.head] == [am.layer, am.head] == ex.selected_head == want
    for view in (tv, am, ex):
        view.close()
    assert [iw.AttentionMatrix(tiny, TEXT).layer, iw.AttentionMatrix(tiny, TEXT).head] == [0, 0]
    with pytest.raises(iw.InputError, match="give both layer and head"):
        iw.AttentionMatrix(tiny, TEXT, layer=1)


def test_the_report_opens_on_the_default_head(tiny, tmp_path):
    scores = made()
    path = iw.report(
        tiny, tmp_path / "r.html", scores=scores, beyond=False, n_problems=2, progress=False
    )
    text = path.read_text(encoding="utf-8")
    blobs = re.findall(
        r'<script type="application/json" id="iw-data-\d+">(.*?)</script>', text, re.S
    )
    maps = [json.loads(b) for b in blobs]
    maps = [m for m in maps if m["kind"] == "head_map"]
    assert maps and all(m["state"]["selected_head"] == [1, 2] for m in maps)


def test_export_view_spec_is_the_views_own(tiny):
    """``export.view_spec(view)`` and ``view.view_spec()`` are the same type, with the same state;
    the page form (buffers embedded, a store of heads) is ``export.page_spec``."""
    from induction_widgets.views import ViewSpec

    hm = iw.HeadMap(made())
    ours, theirs = iw.export.view_spec(hm), hm.view_spec()
    assert type(ours) is type(theirs) is ViewSpec
    assert ours.kind == theirs.kind == "head_map" and ours.state.keys() == theirs.state.keys()
    assert iw.export.view_spec(theirs) is theirs
    page = iw.export.page_spec(hm)
    assert page["kind"] == "head_map" and page["store"] == {}
    with pytest.raises(iw.InputError, match="cannot export str"):
        iw.export.view_spec("a view")
