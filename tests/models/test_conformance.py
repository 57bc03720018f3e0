"""Conformance suite: every decoder-only family TransformerLens supports, under TL 4 and TL 3.9.

Each family is a random-init 2-layer model (``tests/archs.py``) opened with ``load_model(folder)``,
as a user would. Per family, against TransformerLens's own quantities:

* prefix matching and previous token of ``head_scores`` equal a plain loop over ``hook_pattern``;
* ``TextActivations`` patterns equal ``hook_pattern`` for every head (recomputed from q/k where
  that was proved exact, the model's own pattern otherwise);
* each head's logit attribution summed over sources equals TL's per-head direct logit attribution
  (``stack_head_results`` → ``apply_ln_to_stack`` → ``W_U``) to 1e-4 relative; with a
  post-attention norm (Gemma 2/3, OLMo 2) TL's per-head results stop before that norm, so the
  reference is TL's head results through the frozen norm (``⊙ g / σ_post``), and the test first
  checks that those head terms add up to the model's own ``hook_attn_out``;
* a ``TokenView``, an ``AttentionMatrix`` and ``save_html`` build.

A family TransformerLens cannot load is an expected failure whose reason is TL's own error
(``TL_CANNOT``: strict, so a family that starts working fails the test until it is moved). The
outcome of every family is compared with ``tests/compat/results.json``, from which the
table of docs/architectures.md is generated (``scripts/compat_table.py``); ``IW_WRITE_COMPAT=1`` rewrites that file.

``IW_TEST_DEVICE=cuda`` runs the same checks with every model on that device
(``load_model(folder, device="cuda")``): TransformerLens's reference quantities then come from the
same device, ours must still arrive as CPU tensors, and the outcomes must equal the recorded (CPU)
ones. Unset (the default, CI), nothing is passed to ``load_model``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from archs import DEVICE, FAMILIES, TL_MAJOR, build

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3

RESULTS = Path(__file__).resolve().parents[1] / "compat" / "results.json"
WRITE = os.environ.get("IW_WRITE_COMPAT") == "1"
if WRITE and DEVICE is not None:  # the results file records the default (CPU) run
    raise RuntimeError("IW_WRITE_COMPAT=1 with IW_TEST_DEVICE set: write the results on the CPU")
TEXT = "abcab xyz abcab xyz, the cat sat; the cat sat on the mat. abcab xyz"

#: Families TransformerLens itself cannot run here, per TL major version (the error is recorded).
#: TL 3.9's converters only know the configs of its official checkpoints and, with transformers 5,
#: fail on several configs built from scratch (the error says where).
TL_CANNOT: dict[int, set[str]] = {
    4: set(),
    3: {
        "gpt2",
        "falcon",
        "llama",
        "gemma",
        "gemma2",
        "gemma3",
        "phi",
        "olmo",
        "olmo2",
        "stablelm",
        "starcoder2",
        "gpt_bigcode",
        "xglm",
        "codegen",
        "mpt",
    },
}

_MODELS: dict[str, Any] = {}
_OUTCOMES: dict[str, dict[str, Any]] = {}


def _load(family: str, root: Path) -> Any:
    if family not in _MODELS:
        from induction_widgets import load_model

        try:
            _MODELS[family] = load_model(build(family, root), device=DEVICE, progress=False)
        except Exception as exc:
            _MODELS[family] = exc
    return _MODELS[family]


@pytest.fixture(scope="session")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("archs")


def _recorded() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


def _record(family: str, outcome: dict[str, Any]) -> None:
    _OUTCOMES[family] = outcome
    if WRITE:
        data = _recorded()
        data.setdefault(f"tl{TL_MAJOR}", {})[family] = outcome
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    else:
        recorded = _recorded().get(f"tl{TL_MAJOR}", {}).get(family)
        assert recorded == outcome, (
            f"{family} under TL {TL_MAJOR}"
            + (f" on {DEVICE}" if DEVICE else "")
            + f": outcome {outcome} differs from tests/compat/results.json ({recorded})"
            + ("" if DEVICE else "; rerun scripts/compat_table.py")
        )


def _plain_loop_scores(patterns: torch.Tensor, tokens: torch.Tensor) -> tuple[Any, Any]:
    """Prefix matching and previous token from ``patterns [layer, batch, head, dst, src]``."""
    n_layers, batch, n_heads, pos, _ = patterns.shape
    prefix = torch.zeros(n_layers, n_heads)
    previous = torch.zeros(n_layers, n_heads)
    for l in range(n_layers):
        for h in range(n_heads):
            mass, count, prev = 0.0, 0, 0.0
            for b in range(batch):
                for d in range(pos):
                    targets = [j + 1 for j in range(d) if tokens[b, j] == tokens[b, d]]
                    if targets:
                        mass += sum(float(patterns[l, b, h, d, s]) for s in set(targets))
                        count += 1
                    if d >= 1:
                        prev += float(patterns[l, b, h, d, d - 1])
            prefix[l, h] = mass / count
            previous[l, h] = prev / (batch * (pos - 1))
    return prefix, previous


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family(family: str, model_root: Path, tmp_path: Path) -> None:
    import induction_widgets as iw
    from induction_widgets.compute._model import model_device, model_info, post_attn_gain

    model = _load(family, model_root)
    if isinstance(model, Exception):
        error = f"{type(model).__name__}: {str(model).splitlines()[0][:160]}"
        if family not in TL_CANNOT[TL_MAJOR]:
            raise model
        _record(family, {"status": "TransformerLens cannot load it", "error": error})
        pytest.xfail(f"TransformerLens {TL_MAJOR} cannot load {family}: {error}")
    assert family not in TL_CANNOT[TL_MAJOR], f"{family} now loads: remove it from TL_CANNOT"
    info = model_info(model)
    if DEVICE is not None:
        assert model_device(model).type == torch.device(DEVICE).type, model_device(model)

    # -- scores against a plain loop over the model's own hook_pattern
    tokens = iw.repeated_random_tokens(model, 2, 8, 2, seed=1)
    scores = iw.head_scores(model, tokens=tokens, progress=False)
    _, cache = model.run_with_cache(tokens)
    patterns = torch.stack(
        [cache[f"blocks.{l}.attn.hook_pattern"].float().cpu() for l in range(info.n_layers)]
    )
    prefix, previous = _plain_loop_scores(patterns, tokens.cpu())
    assert scores.prefix_matching.device.type == "cpu"  # [layer, head] results come to the CPU
    torch.testing.assert_close(scores.prefix_matching, prefix, atol=1e-5, rtol=0)
    torch.testing.assert_close(scores.previous_token, previous, atol=1e-5, rtol=0)
    assert torch.isfinite(scores.copying).all() and torch.isfinite(scores.ov_copying).all()

    # -- TextActivations: patterns and direct-path attribution
    acts = iw.compute.TextActivations(model, TEXT, progress=False)
    ids = acts.tokens[None].to(tokens.device)
    _, cache = model.run_with_cache(ids)
    w_u = model.W_U.detach().float()
    w_u_next = (w_u - w_u.mean(-1, keepdim=True))[
        :, acts.tokens[1:].to(w_u.device)
    ]  # [d_model, pos-1]
    gain = post_attn_gain(model, info)
    for l in range(info.n_layers):
        results = cache.stack_head_results(layer=l + 1, pos_slice=None)  # [comp, 1, pos, d_model]
        results = results[-info.n_heads :].float()  # the heads of layer l
        if gain is not None:
            post = cache[f"blocks.{l}.ln1_post.hook_scale"].float()  # [1, pos, 1]
            results = results * gain[l].to(results.device) / post
            total = results.sum(0)
            attn_out = cache[f"blocks.{l}.hook_attn_out"].float()
            torch.testing.assert_close(total, attn_out, atol=1e-4, rtol=1e-4)
        dla = cache.apply_ln_to_stack(results, layer=-1, pos_slice=None)[
            :, 0, :-1
        ]  # [head, pos-1, d]
        reference = torch.einsum("hpd,dp->hp", dla, w_u_next.to(dla.device)).cpu()
        for h in range(info.n_heads):
            pattern, attribution = acts.attention_and_attribution(l, h)
            theirs = cache[f"blocks.{l}.attn.hook_pattern"][0, h].float().cpu()
            torch.testing.assert_close(pattern, theirs, atol=1e-5, rtol=0)
            ours = attribution[:-1].sum(-1)
            scale = reference[h].abs().max().clamp(min=1e-6)
            assert (ours - reference[h]).abs().max() / scale < 1e-4, (l, h)

    # -- views
    view = iw.TokenView(model, TEXT)
    matrix = iw.AttentionMatrix(model, TEXT, 1, 0)
    iw.save_html(view, tmp_path / "view.html")
    iw.save_html(matrix, tmp_path / "matrix.html")
    assert (tmp_path / "view.html").stat().st_size > 1000

    recomputed = [l for l in range(info.n_layers) if acts.exact.get(l)]
    _record(
        family,
        {
            "status": "ok",
            "patterns": (
                "recomputed from q, k"
                if len(recomputed) == info.n_layers
                else "hook_pattern"
                if not recomputed
                else f"recomputed in layers {recomputed}, else hook_pattern"
            ),
            "direct path": "through ln1_post (frozen)" if gain is not None else "W_O",
        },
    )


def test_every_family_recorded() -> None:
    """The results file lists every family for this TL version, and no other."""
    if WRITE:
        pytest.skip("writing the results")
    recorded = _recorded().get(f"tl{TL_MAJOR}", {})
    assert sorted(recorded) == sorted(FAMILIES)


def test_compat_table() -> None:
    """docs/architectures.md's compatibility table is what scripts/compat_table.py renders from the results."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / "compat_table.py"
    spec = importlib.util.spec_from_file_location("compat_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.PAGE.read_text()
    assert module.rewrite(page, module.render(_recorded())) == page, (
        "docs/architectures.md's compatibility table disagrees with tests/compat/results.json: "
        "run python scripts/compat_table.py"
    )
