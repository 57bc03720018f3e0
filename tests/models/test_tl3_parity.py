"""TransformerLens 3.9 (HookedTransformer) and 4 (TransformerBridge) give the same scores.

The same shipped tiny weights are scored in this process (TL 4) and in the `.venv-tl3` environment
that `make test` builds (TL 3.9), and every score must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import torch

import induction_widgets as iw

TL_MAJOR = int(version("transformer_lens").split(".")[0])
ROOT = Path(__file__).resolve().parents[2]
TL3_PYTHON = ROOT / ".venv-tl3" / "bin" / "python"

SCRIPT = """
import json, warnings
warnings.filterwarnings("ignore")
import transformer_lens, induction_widgets as iw
from importlib.metadata import version
model = iw.load_model("tiny")
scores = iw.head_scores(model, n_examples=6, seq_len=20, repeats=3, seed=11)
text = "the cat sat on the mat. the cat sat on the mat."
attr = iw.logit_attribution(model, text, 1, 2)
print(json.dumps({
    "version": version("transformer_lens"), "kind": type(model).__name__,
    "scores": {k: v.tolist() for k, v in scores.as_dict().items()},
    "attr_sum": attr[:-1].sum(-1).tolist(),
}))
"""


@pytest.mark.skipif(
    TL_MAJOR < 4, reason="compares against the TL 3.9 environment from the TL 4 one"
)
def test_tl3_and_tl4_scores_agree():
    assert TL3_PYTHON.exists(), "make test builds .venv-tl3 (transformer_lens 3.9) before pytest"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [str(TL3_PYTHON), "-c", SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=True,
    )
    tl3 = json.loads(out.stdout.strip().splitlines()[-1])
    assert tl3["version"].startswith("3.9") and tl3["kind"] == "HookedTransformer"
    model = iw.load_model("tiny")
    assert type(model).__name__ == "TransformerBridge"
    scores = iw.head_scores(model, n_examples=6, seq_len=20, repeats=3, seed=11)
    for name, value in scores.as_dict().items():
        assert torch.allclose(value, torch.tensor(tl3["scores"][name]), atol=1e-4), name
    attr = iw.logit_attribution(model, "the cat sat on the mat. the cat sat on the mat.", 1, 2)
    assert torch.allclose(attr[:-1].sum(-1), torch.tensor(tl3["attr_sum"]), atol=1e-4)
    assert sys.executable != str(TL3_PYTHON)
