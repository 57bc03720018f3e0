"""Checkpoints you can name: ``load_model(spec, revision=...)`` for the tiny run, local folders and
hub repositories (a temporary Hugging Face cache, offline), on the installed TransformerLens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import induction_widgets as iw
from induction_widgets.models import tiny_checkpoint_steps, tiny_checkpoint_weights

REPO = "pythia-test/pythia-mini"
REVISIONS = {"step1000": "a" * 40, "step3000": "b" * 40}
PROBE = [0, 5, 17, 40, 5, 17, 40, 9, 33, 5, 17]

pytestmark = (
    pytest.mark.tl3
)  # the load path differs: TransformerBridge (4) / HookedTransformer (3.9)


def _pythia_shaped(seed: int):
    """A random-init GPT-NeoX (Pythia's architecture) with tiny dims and the tiny model's
    99-token character vocabulary."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    torch.manual_seed(seed)
    cfg = GPTNeoXConfig(
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        rotary_pct=0.25,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPTNeoXForCausalLM(cfg).eval()
    return model


def write_hub_cache(home: Path) -> dict[str, torch.Tensor]:
    """``home/hub/models--pythia-test--pythia-mini``: one snapshot per revision (different
    weights), ``refs/<revision>`` naming its commit. Returns each revision's log-probabilities
    of :data:`PROBE` ``[pos, d_vocab]`` from the in-memory model."""
    repo = home / "hub" / ("models--" + REPO.replace("/", "--"))
    tokenizer = iw.models.tiny_tokenizer()
    expected = {}
    for i, (rev, sha) in enumerate(REVISIONS.items()):
        model = _pythia_shaped(seed=i + 1)
        snap = repo / "snapshots" / sha
        model.save_pretrained(snap)
        tokenizer.save_pretrained(snap)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / rev).write_text(sha)
        with torch.no_grad():
            logits = model(torch.tensor([PROBE])).logits[0]
        expected[rev] = logits.log_softmax(-1)
    return expected


LOAD = """
import json, sys, torch
import induction_widgets as iw
out = {}
try:
    iw.load_model(%r, revision="step9999", progress=False)
except OSError as exc:
    out["missing"] = str(exc)
for rev in sys.argv[1:]:
    m = iw.load_model(%r, revision=rev, device="cpu", progress=False)
    with torch.no_grad():
        lp = m(torch.tensor([%r]))[0].log_softmax(-1)
    out[rev] = {"logp": lp.tolist(), "tag": m.cfg.checkpoint_revision, "cls": type(m).__name__}
print("RESULT" + json.dumps(out))
"""


def test_hub_revisions_offline(tmp_path):
    """Each revision of a hub repository loads its own weights from the HF cache, offline: the
    model's log-probabilities equal those of the model written under that revision (and differ
    from the other's). Runs in a fresh interpreter, so HF_HOME is read at import."""
    expected = write_hub_cache(tmp_path)
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    env.pop("HF_HUB_CACHE", None)
    proc = subprocess.run(
        [sys.executable, "-c", LOAD % (REPO, REPO, PROBE), *REVISIONS],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT"))
    got = json.loads(line[len("RESULT") :])
    (a, b) = REVISIONS
    assert not torch.allclose(expected[a], expected[b], atol=1e-3)  # the two differ
    for rev in REVISIONS:
        logp = torch.tensor(got[rev]["logp"])
        other = b if rev == a else a
        torch.testing.assert_close(logp, expected[rev], atol=2e-4, rtol=1e-4)
        assert not torch.allclose(logp, expected[other], atol=1e-3)
        assert got[rev]["tag"] == rev
    # a revision missing from the cache: our OSError saying the cache is all there is
    assert "only revisions already in the local Hugging Face cache" in got.pop("missing")
    assert set(got) == set(REVISIONS)


def test_tiny_revisions_are_the_run_checkpoints():
    """``load_model("tiny", revision=...)``, ``checkpoint_value`` and ``checkpoint_index`` give the
    model built from that checkpoint's weights (plain reference: the stacked file read whole)."""
    from safetensors.torch import load_file

    from induction_widgets.models.tiny import TINY_CHECKPOINTS, tiny_model_from_weights

    stacked = load_file(str(TINY_CHECKPOINTS))
    steps = [int(s) for s in stacked["step"]]
    assert tiny_checkpoint_steps() == steps and len(steps) == 23
    i = steps.index(600)
    weights = {k: v[i].float() for k, v in stacked.items() if k != "step"}
    assert all(torch.equal(tiny_checkpoint_weights(600)[k], weights[k]) for k in weights)
    ref = tiny_model_from_weights(weights)
    tokens = torch.tensor([PROBE])
    want = ref(tokens)
    for kwargs in ({"revision": "step600"}, {"revision": 600}, {"checkpoint_value": 600}):
        m = iw.load_model("tiny", **kwargs)
        torch.testing.assert_close(m(tokens), want, rtol=0, atol=0)
        assert m.cfg.checkpoint_revision == "step600"
    m = iw.load_model("tiny", checkpoint_index=i)
    torch.testing.assert_close(m(tokens), want, rtol=0, atol=0)
    assert not torch.allclose(iw.load_model("tiny", revision="step0")(tokens), want)


def test_local_folder_revisions(tmp_path):
    """A local folder's revisions are its sub-directories holding a model."""
    for k, name in enumerate(["checkpoint-10", "checkpoint-20"]):
        model = _pythia_shaped(seed=10 + k)
        model.save_pretrained(tmp_path / name)
        iw.models.tiny_tokenizer().save_pretrained(tmp_path / name)
    tokens = torch.tensor([PROBE])
    a = iw.load_model(tmp_path, revision="checkpoint-10", device="cpu", progress=False)
    b = iw.load_model(tmp_path / "checkpoint-10", device="cpu", progress=False)
    torch.testing.assert_close(a(tokens), b(tokens))
    c = iw.load_model(tmp_path, revision="checkpoint-20", device="cpu", progress=False)
    assert not torch.allclose(a(tokens).log_softmax(-1), c(tokens).log_softmax(-1), atol=1e-3)
    with pytest.raises(iw.InputError, match="checkpoint-10"):
        iw.load_model(tmp_path, revision="checkpoint-30", progress=False)
