"""Placement and dtype: ``load_model(dtype=, device=, device_map=)``, float32 maths on a bfloat16
model, and a Pythia-style (GPT-NeoX) folder through scores, a TokenView and the explorer.

``IW_TEST_DEVICE=cuda`` loads the float32/bfloat16 pair and the GPT-NeoX folder on that device
(``tests/archs.py``); unset, nothing is passed (the CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from archs import DEVICE, TL_MAJOR, build

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    family = "llama" if TL_MAJOR >= 4 else "qwen2"  # TL 3.9 cannot convert a scratch Llama config
    return build(family, tmp_path_factory.mktemp("placement"))


def test_bfloat16_copy_gives_the_same_heads(llama_dir: Path) -> None:
    """A bfloat16 copy: same top heads, every score within 1e-2 of float32, results float32 on CPU."""
    import induction_widgets as iw

    full = iw.load_model(llama_dir, device=DEVICE, progress=False)
    half = iw.load_model(llama_dir, device=DEVICE, dtype=torch.bfloat16, progress=False)
    assert next(half.parameters()).dtype == torch.bfloat16
    a = iw.head_scores(full, n_examples=4, seq_len=20, repeats=2, progress=False)
    b = iw.head_scores(half, n_examples=4, seq_len=20, repeats=2, progress=False)
    for name in ("prefix_matching", "previous_token", "ov_copying"):
        x, y = a.get(name), b.get(name)
        assert y.dtype == torch.float32 and y.device.type == "cpu"
        assert (x - y).abs().max() < 1e-2, name
    # random-init heads score close together: the same top head and the same top three
    top_a, top_b = [(r.layer, r.head) for r in a.top(3)], [(r.layer, r.head) for r in b.top(3)]
    assert top_a[0] == top_b[0] and set(top_a) == set(top_b)
    acts = iw.compute.TextActivations(half, "abcab xyz abcab xyz", progress=False)
    pattern, attribution = acts.attention_and_attribution(1, 0)
    assert pattern.dtype == attribution.dtype == torch.float32


def test_device_and_device_map_are_exclusive(llama_dir: Path) -> None:
    import induction_widgets as iw

    with pytest.raises(iw.InputError, match="not both"):
        iw.load_model(llama_dir, device="cpu", device_map="auto", progress=False)
    with pytest.raises(iw.InputError, match="floating"):
        iw.load_model(llama_dir, dtype=torch.int8, progress=False)


@pytest.mark.skipif(TL_MAJOR < 4, reason="TransformerBridge's hf_model= path")
def test_device_reaches_the_weights(llama_dir: Path) -> None:
    """TL 4 takes a pre-loaded HF model as it is (``device`` only lands in ``cfg.device``), so
    ``load_model`` places the weights itself. ``device="meta"``, a device every machine has, shows
    they get there: TL's weight processing then refuses them as never materialised (before the fix
    they stayed on the CPU and the load succeeded). With ``device`` given or not, the weights sit
    on ``cfg.device`` (on a GPU machine ``IW_TEST_DEVICE=cuda`` checks CUDA)."""
    import induction_widgets as iw

    with pytest.raises(NotImplementedError, match="meta device"):
        iw.load_model(llama_dir, device="meta", progress=False)
    for device in {None, DEVICE}:
        model = iw.load_model(llama_dir, device=device, progress=False)
        placed = {p.device.type for p in model.parameters()}
        assert placed == {torch.device(model.cfg.device).type}, (device, placed, model.cfg.device)
        if device is not None:
            assert placed == {torch.device(device).type}


@pytest.mark.skipif(TL_MAJOR < 4, reason="device_map needs TransformerLens 4")
def test_device_map_passes_through(llama_dir: Path) -> None:
    """``device_map`` reaches transformers/accelerate: a per-module map is applied as given (one
    module on the meta device shows it was not ignored), and a whole load with a CPU map scores."""
    import induction_widgets as iw
    from induction_widgets.models.hub import Placement, load_hf_dir

    split = {
        "model.embed_tokens": "meta",
        "model.layers": "cpu",
        "model.norm": "cpu",
        "model.rotary_emb": "cpu",
        "lm_head": "cpu",
    }
    hf_model, _ = load_hf_dir(llama_dir, Placement(device_map=split))
    assert hf_model.hf_device_map == split
    assert hf_model.model.embed_tokens.weight.device.type == "meta"
    model = iw.load_model(llama_dir, device_map={"": "cpu"}, progress=False)
    assert iw.head_scores(model, n_examples=2, seq_len=8, repeats=2, progress=False).n_layers == 2


def test_pythia_style_folder_end_to_end(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``iw.load_model(folder)`` on a GPT-NeoX folder: head_scores, a TokenView, an explorer."""
    import induction_widgets as iw

    folder = build("gpt_neox", tmp_path_factory.mktemp("neox"))
    model = iw.load_model(folder, device=DEVICE, progress=False)
    scores = iw.head_scores(model, n_examples=2, seq_len=10, repeats=2, progress=False)
    assert scores.prefix_matching.shape == (2, 4)
    text = "abcab xyz abcab xyz, the cat sat"
    view = iw.TokenView(model, text, 1, 2)
    assert view.layer == 1 and view.head == 2
    explorer = iw.InductionExplorer(model, text, scores=scores)
    assert explorer is not None
