"""Bad inputs to the views and their widgets: each raises ONE clear error of ours.

The matrix's machinery is in ``tests/hardening.py``; here are the rows of every view's constructor
and traits (text, ``(layer, head)``, scores, selected heads, options), and a view that outlives its
model.
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest
import torch
from hardening import (
    BROKEN,
    TEXT,
    Rows,
    assert_raises_ours,
    head_rows,
    make_ctx,
    non_model_rows,
    text_rows,
)

import induction_widgets as iw
from induction_widgets.payload import decode

pytestmark = pytest.mark.tl3
ctx = pytest.fixture(scope="module")(make_ctx)

ROWS = Rows()
row = ROWS.add

# Everything that reads one text or a token batch. Each takes (ctx, model, text_or_tokens, **kwargs).
text_rows(
    ROWS,
    {
        "TokenView": lambda c, m, x, **k: iw.TokenView(m, x, 0, 0, **k),
        "AttentionMatrix": lambda c, m, x, **k: iw.AttentionMatrix(m, x, 0, 0, **k),
        "InductionExplorer": lambda c, m, x, **k: iw.InductionExplorer(
            m, x, layer=0, head=0, scores=c.scores if m is c.tiny else None, **k
        ),
    },
    {"TokenView", "AttentionMatrix", "InductionExplorer"},
)

# Everything that takes a (layer, head). Each takes (ctx, layer, head).
head_rows(
    ROWS,
    {
        "TokenView": lambda c, l, h: iw.TokenView(c.tiny, TEXT, l, h, scores=c.scores),
        "AttentionMatrix": lambda c, l, h: iw.AttentionMatrix(c.tiny, TEXT, l, h),
        "InductionExplorer": lambda c, l, h: iw.InductionExplorer(
            c.tiny, TEXT, layer=l, head=h, scores=c.scores
        ),
    },
)
for _name, _call in {
    "TokenView-layer-only": lambda c: iw.TokenView(c.tiny, TEXT, layer=1, scores=c.scores),
    "TokenView-head-only": lambda c: iw.TokenView(c.tiny, TEXT, head=2, scores=c.scores),
    "InductionExplorer-layer-only": lambda c: iw.InductionExplorer(
        c.tiny, TEXT, layer=1, scores=c.scores
    ),
}.items():
    row(_name, _call, iw.InputError, r"give both layer and head, or neither")
# Non-models and broken weights where a model is needed.
non_model_rows(ROWS, {"TokenView-strongest-head": lambda c, m: iw.TokenView(m, TEXT)})
row(
    "TokenView-strongest-head-nan",
    lambda c: iw.TokenView(c.nan_model, [0, 1, 2]),
    iw.ModelWeightsError,
    BROKEN,
)

# Score names.
UNKNOWN = (
    r"unknown score {}: choose one of prefix_matching, copying, copying_accuracy, copying_rank, "
    r"copying_source, previous_token, ov_copying"
)
for _name, _call, _msg in [
    ("HeadMap-score", lambda c: iw.HeadMap(c.scores, score="nope"), UNKNOWN.format("'nope'")),
    ("HeadMap-score-None", lambda c: iw.HeadMap(c.scores, score=None), UNKNOWN.format("None")),
    (
        "HeadMap-score-not-computed",
        lambda c: iw.HeadMap(c.scores, score="pattern_matching"),
        UNKNOWN.format("'pattern_matching'") + r" \(compute it with pattern_matching_scores",
    ),
    (
        "HeadMap-score-trait",
        lambda c: setattr(iw.HeadMap(c.scores), "score", "nope"),
        UNKNOWN.format("'nope'"),
    ),
    (
        "HeadMap-ablation-not-AblationScores",
        lambda c: iw.HeadMap(c.scores, ablation=[0.1] * 8),
        r"ablation must be AblationScores \(from induction_widgets\.ablation_scores\(model\)\) "
        r"or None, got list",
    ),
    (
        "HeadMap-score-icl_ablation-without-ablation",
        lambda c: iw.HeadMap(c.scores, score="icl_ablation"),
        r"score='icl_ablation' colours by an ablation result: pass "
        r"ablation=induction_widgets\.ablation_scores\(model\)",
    ),
]:
    row(_name, _call, iw.InputError, _msg)

# HeadMap's other inputs.
SELECTED = r"selected_head must be \[layer, head\] with layer in 0\.\.1 and head in 0\.\.3, got "
for _name, _sel in [
    ("out-of-range", (5, 0)),
    ("negative", (0, -1)),
    ("one-number", (1,)),
    ("float", (1.5, 0)),
    ("str", ("a", 0)),
    ("bool", (True, 0)),
    ("int", 3),
]:
    row(
        f"HeadMap-selected_head-{_name}",
        lambda c, s=_sel: iw.HeadMap(c.scores, selected_head=s),
        iw.InputError,
        SELECTED,
    )
row(
    "HeadMap-not-scores",
    lambda c: iw.HeadMap({"prefix_matching": torch.zeros(2, 4)}),
    iw.InputError,
    r"HeadMap needs HeadScores \(from induction_widgets\.head_scores\(model\)\), got dict",
)

# VerdictScatter's inputs (the same selected_head rules as the map) and the sink scale.
for _name, _sel in [("out-of-range", (5, 0)), ("one-number", (1,)), ("str", ("a", 0)), ("int", 3)]:
    row(
        f"VerdictScatter-selected_head-{_name}",
        lambda c, s=_sel: iw.VerdictScatter(c.scores, selected_head=s),
        iw.InputError,
        SELECTED,
    )
row(
    "VerdictScatter-not-scores",
    lambda c: iw.VerdictScatter({"prefix_matching": torch.zeros(2, 4)}),
    iw.InputError,
    r"VerdictScatter needs HeadScores \(from induction_widgets\.head_scores\(model\)\), got dict",
)
row(
    "VerdictScatter-measure",
    lambda c: iw.VerdictScatter(c.scores, measure="rank"),
    iw.InputError,
    r"unknown verdict measure 'rank': choose one of .*copying_rank",
)
# The views of the "beyond" measures (issue 15 item 5): what they show, and their options.
row(
    "LossCurve-not-a-result",
    lambda c: iw.LossCurve("the cat sat"),
    iw.InputError,
    r"LossCurve needs an ICLScore \(from induction_widgets\.icl_score\(model\)\) or a "
    r"per_token_loss tensor \[batch, pos\] of floats, got str",
)
row(
    "LossCurve-int-tensor",
    lambda c: iw.LossCurve(torch.zeros(2, 40, dtype=torch.long)),
    iw.InputError,
    r"per_token_loss tensor \[batch, pos\] of floats, got a 2-d torch\.int64 tensor",
)
row(
    "LossCurve-no-curve",
    lambda c: iw.LossCurve(iw.icl_score(c.tiny, n_contexts=2, curve=False, progress=False)),
    iw.InputError,
    r"no loss curve \(computed with curve=False\): rerun induction_widgets\.icl_score\(model, curve=True\)",
)
row(
    "LossCurve-too-short",
    lambda c: iw.LossCurve(torch.ones(2, 2)),
    iw.InputError,
    r"contexts of 2 tokens are too short for an ICL score",
)
row(
    "PartnerBars-not-partners",
    lambda c: iw.PartnerBars(c.scores),
    iw.InputError,
    r"PartnerBars needs Partners \(from induction_widgets\.previous_token_partners\(model, "
    r"layer, head\)\), got HeadScores",
)
row(
    "PartnerBars-top",
    lambda c: iw.PartnerBars(iw.previous_token_partners(c.tiny, 1, 1), top=0),
    iw.InputError,
    r"top must be a positive int \(how many heads to show\), got 0",
)
for _name, _sel in [("not-earlier", (1, 0)), ("one-number", (0,)), ("str", ("a", 0)), ("int", 3)]:
    row(
        f"PartnerBars-selected_head-{_name}",
        lambda c, s=_sel: iw.PartnerBars(iw.previous_token_partners(c.tiny, 1, 1), selected_head=s),
        iw.InputError,
        r"selected_head must be an earlier head \[layer, head\] with layer in 0\.\.0 and head "
        r"in 0\.\.3, got ",
    )
row(
    "PhaseChangeCurves-not-checkpoint-scores",
    lambda c: iw.PhaseChangeCurves([c.scores, c.scores]),
    iw.InputError,
    # the message is views/spec.py's (rebuilt on branch house), which still names the old function
    r"PhaseChangeCurves needs CheckpointScores \(from induction_widgets\.checkpoint_scores\(\)\), "
    r"got list",
)


def _checkpoints(n: int) -> Any:
    z = torch.zeros(n, 2, 4)
    return iw.CheckpointScores(
        list(range(n)), z, z, z, z, torch.zeros(n), torch.zeros(n), early=6, late=55
    )


row(
    "PhaseChangeCurves-jump",
    lambda c: iw.PhaseChangeCurves(_checkpoints(3), jump="ov_copying"),
    iw.InputError,
    r"jump must be one of 'prefix_matching', 'copying', 'previous_token', 'icl', got 'ov_copying'",
)
row(
    "PhaseChangeCurves-one-checkpoint",
    lambda c: iw.PhaseChangeCurves(_checkpoints(1)),
    iw.InputError,
    r"a phase change needs at least two checkpoints, got 1",
)
SINK_SCALE = r"sink_scale must be one of 'auto', 'without sink', 'all sources', got "
for _name, _call in [
    ("TokenView", lambda c: iw.TokenView(c.tiny, TEXT, 1, 0, sink_scale="no sink")),
    ("AttentionMatrix", lambda c: iw.AttentionMatrix(c.tiny, TEXT, 1, 0, sink_scale=None)),
    (
        "InductionExplorer",
        lambda c: iw.InductionExplorer(c.tiny, TEXT, scores=c.scores, sink_scale="BOS"),
    ),
    (
        "TokenView-trait",
        lambda c: setattr(iw.TokenView(c.tiny, TEXT, 1, 0), "sink_scale", "all"),
    ),
]:
    row(f"{_name}-sink_scale", _call, iw.InputError, SINK_SCALE)

PALETTE = r"palette must be one of 'paper', 'colorblind', got "
for _name, _call in [
    ("TokenView", lambda c: iw.TokenView(c.tiny, TEXT, 1, 0, palette="rainbow")),
    ("AttentionMatrix", lambda c: iw.AttentionMatrix(c.tiny, TEXT, 1, 0, palette=None)),
    ("HeadMap", lambda c: iw.HeadMap(c.scores, palette="colourblind")),
    (
        "InductionExplorer",
        lambda c: iw.InductionExplorer(c.tiny, TEXT, scores=c.scores, palette="cb"),
    ),
    ("TokenView-trait", lambda c: setattr(c.view, "palette", "Paper")),
]:
    row(f"{_name}-palette", _call, iw.InputError, PALETTE)

# View options: masks, modes, reused scores / activations.
NO_MATCH = r"{} matches no token of the text, so nothing could be shown: check the predicate against view\.tokens"
for _name, _kw, _msg in [
    ("dst_mask-predicate-no-match", {"dst_mask": lambda t: t == "§"}, NO_MATCH.format("dst_mask")),
    ("output_mask-regex-no-match", {"output_mask": r"^\d$"}, NO_MATCH.format("output_mask")),
    ("src_mask-all-false", {"src_mask": [False] * 48}, NO_MATCH.format("src_mask")),
    (
        "src_mask-wrong-length",
        {"src_mask": [True] * 3},
        r"src_mask has 3 entries but the text has 48 tokens",
    ),
    (
        "dst_mask-int",
        {"dst_mask": 5},
        r"dst_mask must be a predicate on token strings, a regex or one bool per token, got int 5",
    ),
    ("mode", {"mode": "attn"}, r"mode must be 'attention' or 'logit_attr', got 'attn'"),
    (
        "selected_is",
        {"selected_is": "dst"},
        r"selected_is must be 'destination' or 'source', got 'dst'",
    ),
    (
        "scores-not-HeadScores",
        {"scores": "x"},
        r"scores must be HeadScores \(from induction_widgets\.head_scores\(model\)\) or None, got str",
    ),
    (
        "activations-not-TextActivations",
        {"activations": "x"},
        r"activations must be TextActivations .* or None, got str",
    ),
]:
    row(
        f"TokenView-{_name}",
        lambda c, k=_kw: iw.TokenView(c.tiny, TEXT, 1, 0, **k),
        iw.InputError,
        _msg,
    )
row(
    "TokenView-activations-of-another-text",
    lambda c: iw.TokenView(
        c.tiny, TEXT, 1, 0, activations=iw.TextActivations(c.tiny, "other text")
    ),
    iw.InputError,
    r"read from a different text: pass the same text \(or tokens\) they were read from, or activations=None",
)
row(
    "AttentionMatrix-activations-of-another-model",
    lambda c: iw.AttentionMatrix(c.bare, [0, 1, 2], 0, 0, activations=c.view.activations),
    iw.InputError,
    r"read with a different model: pass the model they came from, or activations=None",
)
row(
    "AttentionMatrix-mode",
    lambda c: iw.AttentionMatrix(c.tiny, TEXT, 1, 0, mode="heatmap"),
    iw.InputError,
    r"mode must be 'attention' or 'logit_attr', got 'heatmap'",
)
row(
    "InductionExplorer-scores-not-HeadScores",
    lambda c: iw.InductionExplorer(c.tiny, TEXT, scores={"prefix_matching": None}),
    iw.InputError,
    r"scores must be HeadScores .* or None, got dict",
)


@pytest.mark.parametrize(("call", "exc_type", "message"), ROWS)
def test_bad_input_raises_one_clear_error(ctx, call, exc_type, message):
    assert_raises_ours(ctx, call, exc_type, message)


# --- a view outlives its model, also on the re-capture path -----------------------------------------


def test_view_reports_a_collected_model_on_the_recapture_path(ctx):
    model = iw.load_model("tiny")
    view = iw.TokenView(model, TEXT, 0, 0, scores=ctx.scores)
    acts = view.activations
    assert acts.exact == {0: True, 1: True}
    acts.exact[1] = False  # as for an attention variant the recomputation does not reproduce
    acts._patterns.clear()
    del model
    gc.collect()
    assert acts._model_ref() is None, "something still holds the model"
    view.layer = 1  # must re-capture layer 1: needs the model
    assert view.message.startswith(
        "cannot show L1H0: the model behind this view was garbage-collected"
    )
    assert "keep a reference to it" in view.message and "open the view again" in view.message
    assert (view.layer, view.head) == (1, 0)
    view.layer = 0  # an exact layer: answered from the cached activations
    assert view.message == ""
    attention = decode(view.attention)
    assert attention.shape == (len(view.tokens), len(view.tokens))
    assert np.allclose(np.nansum(attention, -1), 1, atol=2e-3)
    # the error itself, from the compute room
    with pytest.raises(iw.InputError, match="garbage-collected: keep a reference"):
        acts.attention(1, 2)
