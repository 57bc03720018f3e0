"""Case 1 — scoring every head on the paper's protocol.

Input: ``iw.repeated_random_tokens(model, 10, 25, 4, seed=0)`` → ``[10, 101]``.

* ours: ``iw.head_scores(model, tokens=tokens)`` — prefix matching, copying, previous token and OV
  copying of every head (one hooked forward pass + the OV eigenvalues).
* baseline 1: one bare forward pass ``model(tokens)`` of the same batch under ``torch.no_grad()``
  (goal: ours ≤ 1.5× of it).
* baseline 2: TransformerLens ``detect_head(model, seqs, "induction_head")`` over the same sequences
  (TL4 signature ``detect_head(model, seq: str | list[str], detection_pattern, heads=None,
  cache=None, *, exclude_bos=False, exclude_current_token=False, error_measure="mul")``). It takes
  strings, so each example's random body is decoded and re-tokenised by TL (BOS prepended); it runs
  one ``run_with_cache`` per string and computes one score. Called under ``torch.no_grad()``.
* Peak memory: each operation once in a fresh interpreter (``benchmarks._memprobe``): peak RSS
  (``VmHWM`` after a reset) minus RSS before the call, with the model already loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import CaseResult, Row, Stats, fmt_bytes, interleaved, memprobe, ratio_text

TITLE = "Scoring: all heads on the paper's protocol (10 × 101 tokens)"


def detect_sequences(model: Any, tokens: Any) -> list[str]:
    """Each example's body (BOS dropped) as text, for TL's string-only ``detect_head``."""
    return [model.tokenizer.decode(row[1:].tolist()) for row in tokens]


def make_ops(model: Any, tokens: Any) -> dict[str, Callable[[], Any]]:
    import torch
    from transformer_lens.head_detector import detect_head

    import induction_widgets as iw

    seqs = detect_sequences(model, tokens)

    def forward() -> Any:
        with torch.no_grad():
            return model(tokens)

    def ours() -> Any:
        return iw.head_scores(model, tokens=tokens, progress=False)

    def detect() -> Any:
        with torch.no_grad():
            return detect_head(model, seqs, "induction_head")

    return {"forward": forward, "head_scores": ours, "detect_head": detect}


def _pearson(a: Any, b: Any) -> float:

    x = a.flatten().double()
    y = b.flatten().double()
    x = x - x.mean()
    y = y - y.mean()
    return float((x @ y) / (x.norm() * y.norm()).clamp(min=1e-30))


def run_model(ctx: Any, name: str) -> tuple[list[Row], list[str]]:

    import induction_widgets as iw

    model = ctx.model(name)
    tokens = iw.repeated_random_tokens(model, 10, 25, 4, seed=0)
    label = {"smollm2": "SmolLM2-135M", "tiny": "tiny"}[name]
    info = f"{model.cfg.n_layers}×{model.cfg.n_heads} heads"
    notes: list[str] = []

    # TL's detect_head re-tokenises text: how many examples come back as the same tokens?
    same = 0
    for i, seq in enumerate(detect_sequences(model, tokens)):
        back = model.to_tokens(seq)[0].to(tokens.device)
        same += int(back.shape == tokens[i].shape and bool((back == tokens[i]).all()))

    ops = make_ops(model, tokens)
    warm = make_ops(model, tokens[:1])
    errors: dict[str, str] = {}
    for k, fn in warm.items():  # first-call costs (hook setup, allocator) out of the timings
        try:
            fn()
        except Exception as exc:
            errors[k] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    ctx.log(f"  {label}: timing {ctx.reps} interleaved repetitions")
    timed_ops = {k: v for k, v in ops.items() if k not in errors}
    last: dict[str, Any] = {}
    stats = interleaved(timed_ops, ctx.reps, ctx.log, last)
    last.pop("forward", None)  # [10, 101, vocab] logits: not needed

    scores = last["head_scores"]
    if "detect_head" not in errors:
        r = _pearson(scores.prefix_matching, last["detect_head"])
        notes.append(
            f"{label}: TL's `induction_head` score vs our prefix matching over the {info}: "
            f"Pearson r = {r:.3f} (TL's 'mul' score divides the target mass by all the attention "
            f"of every row, ours averages only rows that have a target); {same}/{tokens.shape[0]} "
            "examples survive TL's decode → re-tokenise round trip token for token."
        )
    best = scores.top(1)[0]
    ctx.shared[f"best_head_{name}"] = (best.layer, best.head)

    rows: list[Row] = []
    ours = stats["head_scores"]
    fwd = stats["forward"]
    r, rtext = ratio_text(ours, fwd)
    rows.append(
        Row(
            f"Scoring, {label} ({info}): `head_scores` (4 scores, every head) vs one bare forward pass",
            ours.fmt(),
            fwd.fmt(),
            rtext,
            "≤ 1.5×",
            r <= 1.5,
            {"ours": ours.as_dict(), "baseline": fwd.as_dict(), "ratio": r},
        )
    )
    if "detect_head" in errors:
        rows.append(
            Row(
                f"Scoring, {label}: `head_scores` vs TL `detect_head(…, 'induction_head')`",
                ours.fmt(),
                f"fails: `{errors['detect_head']}`",
                "n/a",
                "— (context)",
                None,
            )
        )
    else:
        det = stats["detect_head"]
        r2, rtext2 = ratio_text(ours, det)
        rows.append(
            Row(
                f"Scoring, {label}: `head_scores` (4 scores) vs TL `detect_head(…, 'induction_head')` (1 score)",
                ours.fmt(),
                det.fmt(),
                rtext2,
                "— (context; < 1× = ours faster)",
                None,
                {"ours": ours.as_dict(), "baseline": det.as_dict(), "ratio": r2},
            )
        )

    # peak memory, each op in a fresh interpreter
    mem: dict[str, dict[str, Any]] = {}
    for op in ("head_scores", "forward", "detect_head"):
        if op in errors:
            continue
        ctx.log(f"  {label}: peak memory of {op} (fresh interpreter)")
        mem[op] = memprobe(op, name)
        ctx.log(f"    {mem[op]}")
    if "head_scores" in mem and "forward" in mem:
        m_ours, m_fwd = mem["head_scores"], mem["forward"]
        if "error" in m_ours or "error" in m_fwd:
            rows.append(
                Row(
                    f"Peak RSS added, {label}",
                    m_ours.get("error", "")[:200],
                    m_fwd.get("error", "")[:200],
                    "n/a",
                    "—",
                )
            )
        else:
            mr = m_ours["peak_delta"] / max(m_fwd["peak_delta"], 1)
            rows.append(
                Row(
                    f"Peak RSS added over the loaded model, {label}: `head_scores` vs bare forward",
                    fmt_bytes(m_ours["peak_delta"]),
                    fmt_bytes(m_fwd["peak_delta"]),
                    f"{mr:.2f}×",
                    "— (context)",
                    None,
                    {"ours": m_ours, "baseline": m_fwd},
                )
            )
            m_det = mem.get("detect_head")
            if m_det and "error" not in m_det:
                rows.append(
                    Row(
                        f"Peak RSS added, {label}: `head_scores` vs TL `detect_head`",
                        fmt_bytes(m_ours["peak_delta"]),
                        fmt_bytes(m_det["peak_delta"]),
                        f"{m_ours['peak_delta'] / max(m_det['peak_delta'], 1):.2f}×",
                        "— (context)",
                        None,
                        {"ours": m_ours, "baseline": m_det},
                    )
                )
        notes.append(
            f"{label}: RSS with the model loaded before the call: "
            f"{fmt_bytes(m_ours.get('rss_before', float('nan')))}; one measurement per operation "
            "(a fresh interpreter each, the operation warmed up on one example first)."
        )
    return rows, notes


def run(ctx: Any) -> CaseResult:
    rows: list[Row] = []
    notes: list[str] = [
        "Input: `iw.repeated_random_tokens(model, 10, 25, 4, seed=0)` → [10, 101]. Timings are "
        "interleaved (forward, head_scores, detect_head, forward, …) after one warm-up call of each "
        "on the first example; 'paired' is the range of the per-repetition ratios.",
        "`detect_head` takes strings: each example's random body is decoded and re-tokenised by TL "
        "(which prepends BOS); it runs one `run_with_cache` per string. Called under "
        "`torch.no_grad()`, as is the bare forward pass; `head_scores` disables gradients itself.",
    ]
    models = ["tiny"] if ctx.quick else ["smollm2", "tiny"]
    for name in models:
        r, n = run_model(ctx, name)
        rows += r
        notes += n
    return CaseResult("scoring", TITLE, rows, notes)


__all__ = ["Stats", "make_ops", "run"]
