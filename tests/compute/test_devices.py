"""Every public computation gives the same numbers on ``IW_TEST_DEVICE`` (e.g. ``cuda``) as on the CPU.

One random-init Llama-style model (``tests/archs.py``) is loaded twice from the same folder: on the
CPU and on ``IW_TEST_DEVICE``. Each public compute function runs on both with the same inputs
(token tensors made on the CPU, so moving them to the model's device is the function's job) and
must return CPU tensors equal to the CPU run's within float32 kernel differences (1e-4). The views
and the report are built from the device model (no tensor left on the wrong device).

Skipped unless ``IW_TEST_DEVICE`` names a device other than the CPU (``scripts/gpu_check.sh`` sets
it on a GPU machine); CI has no GPU and nothing needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from archs import DEVICE, TL_MAJOR, build

pytestmark = pytest.mark.skipif(
    DEVICE is None or torch.device(str(DEVICE)).type == "cpu",
    reason="set IW_TEST_DEVICE=cuda (or another non-CPU device) to compare it with the CPU",
)

TEXT = "abcab xyz abcab xyz, the cat sat; the cat sat on the mat. abcab xyz"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    import induction_widgets as iw

    family = "llama" if TL_MAJOR >= 4 else "qwen2"  # TL 3.9 cannot convert a scratch Llama config
    folder = build(family, tmp_path_factory.mktemp("devices"))
    cpu = iw.load_model(folder, device="cpu", progress=False)
    dev = iw.load_model(folder, device=DEVICE, progress=False)
    assert next(dev.parameters()).device.type == torch.device(str(DEVICE)).type
    return cpu, dev


def _tokens() -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    body = torch.randint(2, 99, (3, 9), generator=g)
    return torch.cat([torch.zeros(3, 1, dtype=torch.long), body, body], dim=1)  # BOS id 0


def _tensors(value: Any) -> dict[str, torch.Tensor]:
    """The tensors inside a result (a tensor, a float, a dataclass / named tuple of them)."""
    if isinstance(value, torch.Tensor):
        return {"": value}
    if isinstance(value, (int, float)):
        return {"": torch.tensor(float(value))}
    fields = getattr(value, "__dataclass_fields__", None) or getattr(value, "_fields", None) or ()
    out: dict[str, torch.Tensor] = {}
    for name in fields:
        item = getattr(value, name)
        if isinstance(item, torch.Tensor) and item.is_floating_point():
            out[name] = item
    return out


def _scores_fields(scores: Any) -> dict[str, torch.Tensor]:
    return dict(scores.as_dict())


def _effect(effect: Any) -> dict[str, torch.Tensor]:
    return {
        "icl_before": torch.tensor(effect.icl_before.score),
        "icl_after": torch.tensor(effect.icl_after.score),
        "repeated_loss_before": torch.tensor(effect.repeated_loss_before),
        "repeated_loss_after": torch.tensor(effect.repeated_loss_after),
    }


OPS: dict[str, Callable[[Any], Any]] = {
    "head_scores": lambda m: _scores_fields(
        __import__("induction_widgets").head_scores(m, tokens=_tokens(), progress=False)
    ),
    "attention_pattern": lambda m: __import__("induction_widgets").attention_pattern(m, TEXT, 1, 0),
    "logit_attribution": lambda m: __import__("induction_widgets").logit_attribution(m, TEXT, 1, 2),
    "prefix_matching_scores": lambda m: __import__("induction_widgets").prefix_matching_scores(
        m, _tokens()
    ),
    "previous_token_scores": lambda m: __import__("induction_widgets").previous_token_scores(
        m, _tokens()
    ),
    "ov_copying_scores": lambda m: __import__("induction_widgets").ov_copying_scores(m),
    "k_composition_scores": lambda m: __import__("induction_widgets").k_composition_scores(m, 1, 0),
    "per_token_loss": lambda m: __import__("induction_widgets").per_token_loss(
        m, _tokens(), progress=False
    ),
    "repeated_tokens_loss": lambda m: __import__("induction_widgets").repeated_tokens_loss(m, 3, 9),
    "head_means": lambda m: __import__("induction_widgets").head_means(m),
    "previous_token_partners": lambda m: __import__("induction_widgets").previous_token_partners(
        m, 1, 0, tokens=_tokens()
    ),
    "icl_score": lambda m: __import__("induction_widgets").icl_score(
        m, n_contexts=3, progress=False
    ),
    "ablation_effect": lambda m: _effect(
        __import__("induction_widgets").ablation_effect(m, [(1, 0)], n_contexts=3)
    ),
    "ablation_scores": lambda m: __import__("induction_widgets").ablation_scores(
        m, n_contexts=3, compare=False, progress=False
    ),
    "pattern_matching_scores": lambda m: __import__("induction_widgets").pattern_matching_scores(
        m, n_problems=2, n_lines=6, progress=False
    ),
}


@pytest.mark.parametrize("op", list(OPS))
def test_same_numbers_as_the_cpu(pair: tuple[Any, Any], op: str) -> None:
    cpu, dev = pair
    ours, theirs = OPS[op](dev), OPS[op](cpu)
    if not isinstance(ours, dict):
        ours, theirs = _tensors(ours), _tensors(theirs)
    assert ours and sorted(ours) == sorted(theirs)
    for name, value in ours.items():
        assert value.device.type == "cpu", f"{op}.{name} left on {value.device}"
        ref = theirs[name]
        torch.testing.assert_close(
            value.float(), ref.float(), atol=1e-4, rtol=1e-4, equal_nan=True, msg=f"{op}.{name}"
        )


def test_views_and_report_build(pair: tuple[Any, Any], tmp_path: Path) -> None:
    import induction_widgets as iw
    from induction_widgets.compute import TextActivations
    from induction_widgets.compute.choose import choose_copying_head

    _, dev = pair
    scores = iw.head_scores(dev, n_examples=3, seq_len=9, repeats=2, progress=False)
    explorer = iw.InductionExplorer(dev, TEXT, scores=scores, progress=False)
    iw.save_html(explorer, tmp_path / "explorer.html")
    iw.save_html(iw.HeadMap(scores), tmp_path / "map.html")
    iw.save_html(iw.VerdictScatter(scores), tmp_path / "scatter.html")
    partners = iw.previous_token_partners(dev, 1, 0, tokens=_tokens())
    iw.save_html(iw.PartnerBars(partners), tmp_path / "partners.html")
    choice = choose_copying_head(TextActivations(dev, TEXT, progress=False))
    assert 0 <= choice.head[0] < 2
    page = iw.report(dev, tmp_path / "report.html", scores=scores, n_problems=2, progress=False)
    assert Path(page).stat().st_size > 1000


def test_tiny_model_on_the_device() -> None:
    """The bundled tiny model (its own loader) on the device: weights there, same scores."""
    import induction_widgets as iw

    cpu, dev = iw.load_model("tiny"), iw.load_model("tiny", device=DEVICE)
    assert {p.device.type for p in dev.parameters()} == {torch.device(str(DEVICE)).type}
    ours = iw.head_scores(dev, tokens=_tokens(), progress=False).as_dict()
    theirs = iw.head_scores(cpu, tokens=_tokens(), progress=False).as_dict()
    assert sorted(ours) == sorted(theirs)
    for name, value in ours.items():
        assert value.device.type == "cpu", name
        torch.testing.assert_close(value, theirs[name], atol=1e-4, rtol=1e-4, msg=name)
