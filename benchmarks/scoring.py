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

Devices (``python -m benchmarks.scoring --devices cuda,cpu …``, not part of ``make bench``): the same
``head_scores`` and bare forward pass, plus one ``TextActivations`` pass and a head's
pattern + attribution, on each device named, in one run (so the CUDA ÷ CPU ratios come from one
machine), at several lengths of the paper's protocol (``repeated_random_tokens(model, 10, L, 4)``
→ ``[10, 1 + 4L]``). ``--config DIR`` builds a random-init model from ``DIR/config.json`` beside
``DIR``'s tokenizer files (timing depends only on the shapes; no weights need to travel), ``--model``
opens anything ``load_model`` takes. CUDA timings synchronise the device before the clock stops.
``scripts/gpu_check.sh`` runs it on a GPU machine; the figures are in ``benchmarks/results_cuda.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from .common import (
    CaseResult,
    Row,
    Stats,
    fmt_bytes,
    fmt_time,
    interleaved,
    memprobe,
    ratio_text,
)

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
            out = model(tokens)
        if out.device.type == "cuda":  # the clock stops when the logits exist, not when queued
            torch.cuda.synchronize(out.device)
        return out

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


# ---- devices: the same operations on CUDA and on the CPU, in one run -----------------------------

#: Tokenizer files copied next to a random-init model built by ``--config``.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)


def build_random_model(config_dir: Path, out: Path, seed: int = 0) -> Path:
    """Write ``out``: a random-init causal LM of ``config_dir/config.json``, with its tokenizer."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if (out / "config.json").is_file():
        return out
    config = AutoConfig.from_pretrained(str(config_dir))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    for name in TOKENIZER_FILES:
        if (config_dir / name).is_file():
            shutil.copy(config_dir / name, out / name)
    return out


def _sync(device: Any) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _synced(fn: Callable[[], Any], device: Any) -> Callable[[], Any]:
    def call() -> Any:
        out = fn()
        _sync(device)
        return out

    return call


def compare_devices(
    spec: Any,
    devices: list[str],
    seq_lens: list[int],
    text_lens: list[int],
    *,
    reps: int = 3,
    n_examples: int = 10,
    repeats: int = 4,
    budget_s: float = float("inf"),
    log: Callable[[str], None] = print,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Time ``head_scores``, a bare forward pass and ``TextActivations`` on each device in turn.

    Per device: ``load_model(spec, device=…)``; per ``L`` in ``seq_lens``, tokens
    ``repeated_random_tokens(model, n_examples, L, repeats, seed=0)`` → ``[n_examples, 1 + L·repeats]``,
    one warm-up call of each operation on the whole batch, then ``reps`` interleaved repetitions;
    per ``T`` in ``text_lens``, one text of ``1 + T`` tokens (``repeated_random_tokens(model, 1, T/4,
    4, seed=1)``): ``TextActivations(model, ids)`` (one forward pass, queries/keys/values kept on the
    CPU) and, separately, one head's ``attention_and_attribution`` (CPU work on what it kept).
    A (device, length) that would end after ``budget_s`` seconds (estimated from the previous
    length on that device, time ∝ tokens) is skipped and listed. ``checkpoint(result)`` is called
    after each measurement, so a run stopped from outside keeps what it measured.

    Returns ``{"devices": {dev: {"name", "threads", "load_s", "scores": {L: {...}}, "text": {T:
    {...}}}}, "agreement": {L: max |prefix matching(dev) − prefix matching(first device)|},
    "skipped": [...]}`` (seconds; medians, min, max).
    """
    import torch

    import induction_widgets as iw

    t0 = time.monotonic()
    out: dict[str, Any] = {"devices": {}, "agreement": {}, "skipped": []}
    first_scores: dict[int, Any] = {}
    for dev in devices:
        entry: dict[str, Any] = {
            "name": torch.cuda.get_device_name(dev) if dev.startswith("cuda") else "cpu",
            "threads": torch.get_num_threads(),
            "scores": {},
            "text": {},
        }
        out["devices"][dev] = entry
        t = time.monotonic()
        model = iw.load_model(spec, device=dev, progress=False)
        entry["load_s"] = time.monotonic() - t
        placed = str(next(model.parameters()).device)
        if torch.device(placed).type != torch.device(dev).type:  # never time the wrong device
            raise RuntimeError(f"load_model(device={dev!r}) left the weights on {placed}")
        entry["placed_on"] = placed
        entry["shape"] = (
            f"{model.cfg.n_layers}×{model.cfg.n_heads} heads, d_model {model.cfg.d_model}"
        )
        log(f"{dev}: loaded in {entry['load_s']:.1f} s ({entry['shape']})")
        last_cost: tuple[int, float] | None = None  # (L, seconds) of the previous length
        for L in seq_lens:
            guess = 0.0 if last_cost is None else last_cost[1] * L / last_cost[0]
            if time.monotonic() - t0 + guess > budget_s:
                out["skipped"].append(f"{dev} scores L={L}")
                continue
            started = time.monotonic()
            tokens = iw.repeated_random_tokens(model, n_examples, L, repeats, seed=0)
            ops = {k: _synced(fn, dev) for k, fn in make_ops(model, tokens).items()}
            ops.pop("detect_head")
            for fn in ops.values():  # warm-up on the whole batch (kernels, allocator)
                fn()
            last: dict[str, Any] = {}
            stats = interleaved(ops, reps, None, last)
            row: dict[str, Any] = {k: v.as_dict() for k, v in stats.items()}
            row["tokens"] = list(tokens.shape)
            row["ratio"] = stats["head_scores"].median / stats["forward"].median
            entry["scores"][L] = row
            scores = last["head_scores"]
            if L in first_scores:
                diff = (scores.prefix_matching - first_scores[L].prefix_matching).abs().max()
                out["agreement"][L] = float(diff)
            else:
                first_scores[L] = scores
            log(
                f"{dev} [{tokens.shape[0]}, {tokens.shape[1]}]: head_scores "
                f"{stats['head_scores'].fmt()}, forward {stats['forward'].fmt()}"
            )
            last_cost = (L, time.monotonic() - started)
            if checkpoint is not None:
                checkpoint(out)
            del last, ops
        for T in text_lens:
            if time.monotonic() - t0 > budget_s:
                out["skipped"].append(f"{dev} text T={T}")
                continue
            ids = iw.repeated_random_tokens(model, 1, max(T // repeats, 1), repeats, seed=1)[0]
            layer = model.cfg.n_layers - 1

            def open_text(m: Any = model, ids: Any = ids) -> Any:
                return iw.compute.TextActivations(m, ids, progress=False)

            acts = open_text()  # warm-up
            acts.attention_and_attribution(layer, 0)
            passes, heads = [], []
            for _ in range(reps):
                dt, acts = _timed_call(_synced(open_text, dev))
                passes.append(dt)
                dt, _ = _timed_call(partial(acts.attention_and_attribution, layer, 1))
                heads.append(dt)
            entry["text"][T] = {
                "tokens": int(ids.shape[0]),
                "text_activations": Stats(passes).as_dict(),
                "one_head": Stats(heads).as_dict(),
            }
            log(
                f"{dev} text of {ids.shape[0]} tokens: TextActivations {Stats(passes).fmt()}, "
                f"one head's pattern + attribution {Stats(heads).fmt()}"
            )
            if checkpoint is not None:
                checkpoint(out)
            del acts
        del model
        if dev.startswith("cuda"):
            entry["max_memory_allocated"] = torch.cuda.max_memory_allocated(dev)
            torch.cuda.empty_cache()
    out["seconds"] = time.monotonic() - t0
    return out


def _timed_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def render_devices(result: dict[str, Any]) -> str:
    """Markdown tables of :func:`compare_devices`'s result (ratios against the last device)."""
    devs = list(result["devices"])
    ref = devs[-1]
    lines = [
        "| operation | tokens | "
        + " | ".join(f"{d} ({result['devices'][d]['name']})" for d in devs)
        + (f" | ratio {devs[0]} ÷ {ref}" if len(devs) > 1 else "")
        + " |",
        "| --- | --- | "
        + " | ".join("---" for _ in devs)
        + (" | ---" if len(devs) > 1 else "")
        + " |",
    ]

    def cell(d: dict[str, Any] | None) -> str:
        if d is None:
            return "not run (budget)"
        return f"{fmt_time(d['median'])} [{fmt_time(d['min'])}–{fmt_time(d['max'])}] (n={d['n']})"

    def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> str:
        return "n/a" if a is None or b is None else f"{a['median'] / b['median']:.3f}×"

    def rows_of(section: str, ops: tuple[tuple[str, str], ...]) -> None:
        """One row per (operation, length) of ``section``, a cell per device."""
        keys = sorted({int(k) for d in devs for k in result["devices"][d][section]})
        for op, label in ops:
            for k in keys:
                found = [
                    result["devices"][d][section].get(k)
                    or result["devices"][d][section].get(str(k))
                    for d in devs
                ]
                n = next((r["tokens"] for r in found if r), None)
                vals = [r[op] if r else None for r in found]
                lines.append(
                    f"| {label} | {n} | "
                    + " | ".join(cell(v) for v in vals)
                    + (f" | {ratio(vals[0], vals[-1])}" if len(devs) > 1 else "")
                    + " |"
                )

    rows_of("scores", (("head_scores", "`head_scores`"), ("forward", "`forward`")))
    rows_of(
        "text",
        (
            ("text_activations", "`TextActivations` (one pass)"),
            ("one_head", "one head's pattern + attribution"),
        ),
    )
    lines.append("")
    for d in devs:
        rs = result["devices"][d]["scores"]
        parts = [f"{rs[L]['tokens'][1]} tokens {rs[L]['ratio']:.2f}×" for L in rs]
        if parts:
            lines.append(f"- `head_scores` ÷ forward on {d}: " + ", ".join(parts) + ".")
    if result.get("agreement"):
        lines.append(
            "- Largest |prefix matching on "
            + " − on ".join(reversed(devs[:2]))
            + "| over every head: "
            + ", ".join(f"{float(v):.1e} (L={L})" for L, v in result["agreement"].items())
            + "."
        )
    if result.get("skipped"):
        lines.append("- Skipped (over the time budget): " + ", ".join(result["skipped"]) + ".")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.scoring --devices cuda,cpu --config DIR`` (see the module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.scoring", description=main.__doc__)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="anything load_model takes (a folder, 'smollm2', 'tiny')")
    src.add_argument("--config", help="folder with config.json + tokenizer: random-init model")
    ap.add_argument("--build-dir", default=None, help="where --config writes the model")
    ap.add_argument(
        "--devices", default="cpu", help="comma list, e.g. cuda,cpu (ratios: first ÷ last)"
    )
    ap.add_argument("--seq-lens", default="25", help="L of repeated_random_tokens(model, 10, L, 4)")
    ap.add_argument("--text-lens", default="", help="token counts of the TextActivations pass")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--budget-s", type=float, default=float("inf"), help="skip what starts later")
    ap.add_argument("--json", default=None, help="write the raw result here")
    ap.add_argument("--md", default=None, help="write the markdown tables here")
    args = ap.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    spec: Any = args.model
    if args.config:
        import tempfile

        build = Path(args.build_dir or tempfile.mkdtemp(prefix="iw-random-"))
        t = time.monotonic()
        spec = build_random_model(Path(args.config), build)
        log(f"random-init model from {args.config}/config.json in {time.monotonic() - t:.1f} s")
    ints = lambda text: [int(x) for x in text.split(",") if x.strip()]  # noqa: E731
    meta = {
        "command": " ".join(
            ["python -m benchmarks.scoring", *(argv if argv is not None else sys.argv[1:])]
        ),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "model": str(args.model or f"random-init from {args.config}/config.json"),
    }

    def write(result: dict[str, Any]) -> None:
        import platform

        import torch

        result["meta"] = {**meta, "torch": torch.__version__, "python": platform.python_version()}
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n")
        if args.md:
            Path(args.md).write_text(render_devices(result))

    result = compare_devices(
        spec,
        [d.strip() for d in args.devices.split(",") if d.strip()],
        ints(args.seq_lens),
        ints(args.text_lens),
        reps=args.reps,
        budget_s=args.budget_s,
        log=log,
        checkpoint=write,
    )
    write(result)
    print(render_devices(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Stats", "compare_devices", "make_ops", "render_devices", "run"]
