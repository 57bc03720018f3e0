"""The loss curve (``LossCurve``): the mean per-token loss against token index, with the two indices
the ICL score reads (the paper's in-context-learning score)."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..payload import encode
from .common import finite
from .declare import Buffer, Float, Int, Str, declare

LOSS_CURVE = declare(
    "loss_curve",
    "LossCurve",
    {
        "loss": Buffer(),
        "early": Int(50),
        "late": Int(500),
        "score": Float(None, allow_none=True),
        "sem": Float(None, allow_none=True),
        "note": Str(""),
        "window": Int(0),
        "n_contexts": Int(0),
    },
    module=__name__,
)


def loss_curve_state(result: Any, *, title: str = "") -> dict[str, Any]:
    """The loss curve's state: the mean per-token loss ``L[i] = mean_b −log p(t[b, i] | t[b, <i])``
    against token index ``i`` (a float32 buffer ``loss`` ``[pos]``, NaN at index 0), the two indices
    the ICL score reads (``early`` / ``late``: the paper's 50 and 500, or the 1 : 10 pair that fits a
    short context, said in ``note``), and the score ``L[late] − L[early]`` with its standard error.

    ``result``: an :class:`~induction_widgets.compute.ICLScore` computed with ``curve=True``, or a
    :func:`~induction_widgets.compute.per_token_loss` tensor ``[batch, pos]`` (or ``[pos]``), whose
    score is then computed by :func:`~induction_widgets.compute.icl.icl_from_losses`.
    """
    import torch

    from ..compute import ICLScore
    from ..compute.icl import icl_from_losses

    if isinstance(result, torch.Tensor) and result.ndim in (1, 2) and result.is_floating_point():
        result = icl_from_losses(result)
    if not isinstance(result, ICLScore):
        what = (
            f"a {result.ndim}-d {result.dtype} tensor"
            if isinstance(result, torch.Tensor)
            else type(result).__name__
        )
        raise InputError(
            "LossCurve needs an ICLScore (from induction_widgets.icl_score(model)) or a "
            f"per_token_loss tensor [batch, pos] of floats, got {what}"
        )
    if result.curve is None:
        raise InputError(
            "this ICLScore has no loss curve (computed with curve=False): rerun "
            "induction_widgets.icl_score(model, curve=True)"
        )
    curve = result.curve.detach().float().cpu()
    return {
        "loss": encode(curve, "float32"),
        "early": int(result.early),
        "late": int(result.late),
        "score": finite(result.score),
        "sem": finite(result.sem),
        "note": str(result.note),
        "window": int(result.window),
        "n_contexts": int(result.n_contexts),
        "title": title,
    }
