"""Widget classes on the Python side: traitlets, payloads, links, errors, exports (no browser)."""

from __future__ import annotations

import gc
import json
import re

import numpy as np
import pytest
import torch
import traitlets

import induction_widgets as iw
from induction_widgets.export.html import json_for_script
from induction_widgets.payload import decode

TEXT = "the cat sat on the mat. the cat sat on the mat."
HOSTILE = [
    "</script><img src=x onerror=alert(1)>",
    "<!--",
    "]]>",
    "\"'\\",
    "\u202eRTL",
    "zero\u200bwidth",
    "🙂",
    "x" * 10_000,
    "\x00",
]


@pytest.fixture(scope="module")
def scores(tiny):
    return iw.head_scores(tiny, n_examples=4)


def test_token_view_opens_on_strongest_induction_head(tiny, scores):
    view = iw.TokenView(tiny, TEXT, scores=scores)
    assert (view.layer, view.head) == scores.induction_heads()[0]
    assert view.layer == 1
    assert view.tokens == iw.compute.str_tokens(tiny, tiny.to_tokens(TEXT)[0])
    assert view.bos is True


def test_head_change_sends_that_heads_numbers(tiny):
    view = iw.TokenView(tiny, TEXT, 1, 0)
    acts = iw.TextActivations(tiny, TEXT)
    for layer, head in [(1, 0), (0, 3), (1, 2)]:
        view.layer, view.head = layer, head
        att = decode(view.attention)
        assert att.shape == (len(view.tokens),) * 2
        assert np.allclose(att, acts.attention(layer, head).numpy(), atol=1e-3)
        attr = decode(view.attribution)
        expected = acts.logit_attribution(layer, head).numpy()
        assert np.isnan(attr[-1]).all()
        assert np.allclose(attr[:-1], expected[:-1], atol=2e-3, rtol=2e-3)
        assert view.attention["dtype"] == "float16" and isinstance(view.attention["view"], bytes)


def test_bad_traits_raise_clear_errors(tiny):
    view = iw.TokenView(tiny, TEXT, 1, 0)
    with pytest.raises(iw.HeadIndexError, match=r"layer 2 is out of range.*0\.\.1"):
        view.layer = 2
    with pytest.raises(iw.HeadIndexError, match=r"head 7 is out of range.*0\.\.3"):
        view.head = 7
    with pytest.raises(traitlets.TraitError, match="mode"):
        view.mode = "attn"
    assert (view.layer, view.head) == (1, 0)
    with pytest.raises(iw.HeadIndexError, match="layer must be an int"):
        iw.TokenView(tiny, TEXT, "1", 0)
    with pytest.raises(iw.InputError, match="the text is empty"):
        iw.TokenView(tiny, "", 1, 0)
    with pytest.raises(iw.NotAModelError, match="expected a TransformerLens model"):
        iw.TokenView(object(), TEXT, 1, 0)


def test_masks(tiny):
    text = iw.pattern_matching_text(6, 0)[0]
    view = iw.TokenView(tiny, text, 1, 0, dst_mask=lambda t: t == ":", output_mask=r"^\d$")
    tokens = view.tokens
    dst = decode(view.dst_mask).astype(bool)
    out = decode(view.output_mask).astype(bool)
    assert [t for t, keep in zip(tokens, dst, strict=True) if keep] == [":"] * 6
    assert all(t.isdigit() for t, keep in zip(tokens, out, strict=True) if keep) and out.sum() == 6
    assert view.src_mask == {}
    with pytest.raises(iw.InputError, match="dst_mask matches no token"):
        iw.TokenView(tiny, text, 1, 0, dst_mask=lambda t: t == "§")
    with pytest.raises(iw.InputError, match="src_mask has 3 entries but the text has"):
        iw.TokenView(tiny, text, 1, 0, src_mask=[True, False, True])


def test_head_map(scores):
    hm = iw.HeadMap(scores)
    best = scores.top(1)[0]
    assert hm.selected_head == [best.layer, best.head]
    assert set(hm.score_names) == {
        "prefix_matching", "copying", "copying_accuracy", "copying_rank", "copying_source",
        "previous_token", "ov_copying",
    }  # fmt: skip
    assert np.allclose(decode(hm.scores["copying"]), scores.copying.numpy())
    assert len(hm.verdicts) == 8
    with pytest.raises(iw.InputError, match="unknown score 'nope'"):
        hm.score = "nope"
    with pytest.raises(
        iw.InputError, match=r"unknown score 'pattern_matching'.*pattern_matching_score"
    ):
        iw.HeadMap(scores, score="pattern_matching")
    with pytest.raises(iw.InputError, match="selected_head must be"):
        hm.selected_head = [5, 0]
    with pytest.raises(iw.InputError, match="HeadMap needs HeadScores"):
        iw.HeadMap({"prefix_matching": torch.zeros(2, 4)})


def test_head_map_state_carries_the_spread(tiny, scores):
    """scores_std / scores_n: float32 [layer, head] buffers equal to HeadScores.std and the count of
    examples, for exactly the scores with per-example values; none for hand-made scores."""
    from induction_widgets.views import head_map_state

    state = head_map_state(scores)
    assert set(state["scores_std"]) == set(scores.per_example) == set(state["scores_n"])
    assert "ov_copying" not in state["scores_std"]  # weights only: no examples
    for name in scores.per_example:
        assert state["scores_std"][name]["dtype"] == "float32"
        assert state["scores_std"][name]["shape"] == [scores.n_layers, scores.n_heads]
        np.testing.assert_array_equal(
            decode(state["scores_std"][name]), scores.std(name).numpy().astype(np.float32)
        )
        x = scores.per_example[name].numpy()
        want_n = np.isfinite(x).sum(0)
        np.testing.assert_array_equal(decode(state["scores_n"][name]), want_n)
    assert decode(state["scores_n"]["prefix_matching"]).max() == 4  # n_examples=4
    # the widgets sync them; the explorer carries the map's
    hm = iw.HeadMap(scores)
    np.testing.assert_array_equal(
        decode(hm.scores_std["copying"]), scores.std("copying").numpy().astype(np.float32)
    )
    ex = iw.InductionExplorer(tiny, TEXT, scores=scores, layer=1, head=0)
    assert set(ex.scores_std) == set(scores.per_example)
    assert set(ex.view_spec().state["scores_n"]) == set(scores.per_example)
    # hand-made scores (no per-example values): no spread, no error
    z = torch.zeros(2, 4)
    made = iw.HeadScores(prefix_matching=z + 0.5, copying=z, previous_token=z, ov_copying=z)
    state = head_map_state(made)
    assert state["scores_std"] == {} and state["scores_n"] == {}
    assert iw.HeadMap(made).scores_std == {}


def test_explorer_links_map_and_views(tiny, scores):
    ex = iw.InductionExplorer(tiny, TEXT, scores=scores)
    ex.head_map.selected_head = [0, 3]
    assert (ex.token_view.layer, ex.token_view.head) == (0, 3)
    assert (ex.matrix.layer, ex.matrix.head) == (0, 3)
    assert np.allclose(decode(ex.token_view.attention), decode(ex.matrix.attention))
    ex.token_view.head = 1
    assert ex.head_map.selected_head == [0, 1]
    assert ex.token_view.activations is ex.matrix.activations  # one forward pass serves both


def test_explorer_head_switch_computes_the_head_once(tiny, scores):
    """A head picked on the map reaches both views as the same buffers (one computation, not one
    per view and trait), and they hold that head's numbers."""
    ex = iw.InductionExplorer(tiny, TEXT, scores=scores, layer=1, head=0)
    acts = ex.token_view.activations
    for pair in ([0, 2], [1, 3]):
        ex.head_map.selected_head = pair
        assert ex.token_view.attention is ex.matrix.attention
        assert ex.token_view.attribution is ex.matrix.attribution
        want = acts.attention(*pair).numpy()
        assert np.allclose(decode(ex.token_view.attention), want, atol=1e-3)
        want_l = acts.logit_attribution(*pair).numpy()
        got_l = decode(ex.matrix.attribution)
        assert np.allclose(got_l[:-1], want_l[:-1], rtol=2e-3, atol=1e-3)
        assert np.isnan(got_l[-1]).all()


def test_view_survives_the_model_being_garbage_collected(scores):
    from induction_widgets.models import load_model

    model = load_model("tiny")
    view = iw.TokenView(model, TEXT, 1, 0)
    del model
    gc.collect()
    view.head = 2  # answered from the cached activations, no model needed
    assert view.message == ""
    assert decode(view.attention).shape[0] == len(view.tokens)


def test_mimebundle_has_an_offline_html_copy(tiny):
    view = iw.TokenView(tiny, TEXT, 1, 0)
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    html = data["text/html"]
    assert html.startswith('<iframe class="iw-static"')
    assert "http://" not in html and "https://" not in html


def test_long_text_displays_carry_a_note_and_the_whole_copy_on_export(tiny, monkeypatch):
    """Above STATIC_COPY_MAX_TOKENS a display's text/html is a short note (the whole copy costs
    tokens² on every display); INDUCTION_WIDGETS_STATIC_COPY=always (set by an executing export)
    brings the whole view back; views without head buffers always carry it."""
    from induction_widgets.views import STATIC_COPY_ENV, static

    view = iw.TokenView(tiny, TEXT, 1, 0)
    n = len(view.tokens)
    monkeypatch.delenv(STATIC_COPY_ENV, raising=False)
    monkeypatch.setattr(static, "STATIC_COPY_MAX_TOKENS", n - 1)
    html = view._repr_mimebundle_()[0]["text/html"]
    assert html.startswith('<div class="iw-static-note"') and "<iframe" not in html
    assert f"L1H0 on {n:,} tokens" in html and "export NOTEBOOK --execute" in html
    monkeypatch.setenv(STATIC_COPY_ENV, "always")
    assert view._repr_mimebundle_()[0]["text/html"].startswith('<iframe class="iw-static"')
    monkeypatch.setenv(STATIC_COPY_ENV, "auto")
    monkeypatch.setattr(static, "STATIC_COPY_MAX_TOKENS", n)
    assert view._repr_mimebundle_()[0]["text/html"].startswith('<iframe class="iw-static"')


def test_hostile_tokens_cannot_break_out_of_the_page(tiny, tmp_path):
    view = iw.TokenView(tiny, "a" * (len(HOSTILE) - 1), 1, 0)
    assert len(view.tokens) == len(HOSTILE)
    spec = view.view_spec()  # the state the widget was made from, with hostile token strings
    spec.state["tokens"] = HOSTILE
    page = iw.save_html(spec, tmp_path / "hostile.html").read_text(encoding="utf-8")
    # Each JSON block is the only place data goes; it must not contain a raw "<" at all.
    blocks = re.findall(
        r'<script type="application/json" id="iw-data-0">(.*?)</script>', page, re.S
    )
    assert len(blocks) == 1 and "<" not in blocks[0] and ">" not in blocks[0]
    assert json.loads(blocks[0])["state"]["tokens"] == HOSTILE
    assert "<img" not in page.replace("\\u003cimg", "")
    assert page.count("</script>") == 2  # the JSON block and the module script, nothing else
    assert json_for_script("</script><!--") == '"\\u003c/script\\u003e\\u003c!--"'


def test_save_html_heads_argument(tiny, scores, tmp_path):
    view = iw.TokenView(tiny, TEXT, 1, 0, scores=scores)
    spec = iw.export.page_spec(view, heads=[(0, 1), (1, 3)])
    assert spec["state"]["heads_available"] == [[0, 1], [1, 3]]
    assert set(spec["store"]) == {"0.1", "1.3"}
    assert (spec["state"]["layer"], spec["state"]["head"]) == (0, 1)
    assert (view.layer, view.head) == (1, 0)  # exporting never changes the live view
    default = iw.export.page_spec(view)
    assert default["state"]["heads_available"][0] == [1, 0] and len(default["store"]) >= 2
    assert len(iw.export.page_spec(view, heads="all")["store"]) == 8
    with pytest.raises(iw.HeadIndexError, match="layer 9 is out of range"):
        iw.export.page_spec(view, heads=[(9, 0)])
    with pytest.raises(iw.InputError, match="heads must be 'all'"):
        iw.export.page_spec(view, heads="some")
    # the embedded attention decodes to the tensor within uint8 precision
    acts = iw.TextActivations(tiny, TEXT)
    att = decode(spec["store"]["1.3"]["attention"])
    assert np.abs(att - acts.attention(1, 3).numpy()).max() <= 1 / 510 + 1e-6
    attr = decode(spec["store"]["1.3"]["attribution"])
    exp = acts.logit_attribution(1, 3).numpy()
    assert np.isnan(attr[-1]).all()
    assert np.abs(attr[:-1] - exp[:-1]).max() <= np.abs(exp[:-1]).max() / 254 + 1e-6


@pytest.mark.parametrize("cls", [iw.TokenView, iw.AttentionMatrix, iw.InductionExplorer])
def test_progress_bar_is_the_callers_choice(tiny, scores, cls, capfd):
    kwargs = {"scores": scores} if cls is iw.InductionExplorer else {}
    text = f"{TEXT} {cls.__name__}"  # a text no other view holds: it is read here
    cls(tiny, text, layer=1, head=0, progress=True, **kwargs)
    assert "reading activations" in capfd.readouterr().err
    cls(tiny, text + " again", layer=1, head=0, progress=False, **kwargs)
    assert capfd.readouterr().err == ""


def test_report_leaves_the_callers_scores_alone(tiny, tmp_path):
    s = iw.head_scores(tiny, n_examples=4)
    assert s.pattern_matching is None
    path = iw.report(
        tiny, tmp_path / "r.html", scores=s, n_problems=2, progress=False, beyond=False
    )
    assert s.pattern_matching is None  # the report computed its own copy
    text = path.read_text(encoding="utf-8")
    assert "pattern matching" in text.lower()
    # beyond=False: none of the sections beyond Argument 4 (the CLI test shows them)
    assert "Beyond Argument 4" not in text and '"kind":"loss_curve"' not in text


def test_strip_remote_tags_keeps_inline_scripts():
    from induction_widgets.export.notebook import strip_remote_tags

    page = (
        '<script src="https://cdn.example/require.js"></script>'
        "<script src=''></script>"
        '<script src="" type="text/javascript"></script>'
        '<link rel="stylesheet" href="//cdn.example/x.css">'
        '<script type="module">inline()</script>'
        '<script src="local.js"></script>'
    )
    assert strip_remote_tags(page) == (
        '<script type="module">inline()</script><script src="local.js"></script>'
    )


def test_head_data_on_request(tiny):
    """The head buffers are not synced traits: the browser asks for the names the mode on screen
    needs, and the reply holds exactly those, as binary buffers with their dtype/shape as JSON."""
    view = iw.TokenView(tiny, TEXT, 1, 0)
    synced = set(view.trait_names(sync=True))
    assert not synced & {"attention", "attribution", "value_norm"}
    sent: list[tuple[dict, list]] = []
    view.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    ask = {"type": "iw:head", "id": 7, "layer": 0, "head": 2, "names": ["attribution"]}
    view._on_head_request(view, ask, [])
    (content, buffers) = sent[-1]
    assert content["id"] == 7 and content["names"] == ["attribution"] and len(buffers) == 1
    got = decode({**content["meta"]["attribution"], "view": buffers[0]})
    want = iw.TextActivations(tiny, TEXT).logit_attribution(0, 2).numpy()
    np.testing.assert_allclose(got, want, atol=2e-3 * np.nanmax(np.abs(want)), equal_nan=True)
    view._on_head_request(view, {**ask, "layer": 9}, [])
    assert "layer 9 is out of range" in sent[-1][0]["error"]
    assert (view.layer, view.head) == (1, 0)  # answering never moves the view


def test_head_payloads_make_only_the_names_asked_and_remember_recent_heads(tiny):
    """The browser asks for the mode on screen: an attention-only request makes no attribution;
    a later full request reuses the attention dict; a few recent heads are remembered."""
    from induction_widgets.payload import RECENT_HEADS, head_payloads

    acts = iw.TextActivations(tiny, TEXT, progress=False)
    first = head_payloads(acts, 1, 0, names=["attention"])
    assert list(first) == ["attention"]
    want = acts.attention(1, 0).numpy()
    assert np.allclose(decode(first["attention"]), want, atol=1e-3)
    full = head_payloads(acts, 1, 0)
    assert list(full) == ["attention", "attribution", "value_norm"]
    assert full["attention"] is first["attention"]
    assert np.allclose(
        decode(full["attribution"]), acts.logit_attribution(1, 0).numpy(), atol=1e-2, equal_nan=True
    )
    others = [(l, h) for l in range(2) for h in range(4) if (l, h) != (1, 0)]
    for layer, h in others[: RECENT_HEADS - 1]:
        head_payloads(acts, layer, h, names=["attention"])
    assert head_payloads(acts, 1, 0)["attribution"] is full["attribution"]  # still remembered
    for layer, h in others[:RECENT_HEADS]:  # one more than is kept: the oldest goes
        head_payloads(acts, layer, h, names=["attention"])
    assert head_payloads(acts, 1, 0)["attribution"] is not full["attribution"]
