"""Case — a sweep of the 23 shipped tiny checkpoints: what the sweep machinery costs.

* baseline: the plain loop — for each checkpoint ``load_model("tiny", revision=…)``, then the
  sweep's measures (``head_scores`` on BOS + 25 × 2, ``icl_score`` on 128 copy-task contexts of 56
  tokens) in this process, results kept in memory.
* ours (goal): ``iw.sweep("tiny", "all", executor=client.get_executor())`` on a 1-worker Dask
  ``LocalCluster`` (processes, 1 thread, loopback, no dashboard), into a fresh folder each
  repetition: the same work plus pickling each task, the scheduler round trips and one atomic
  Parquet file per checkpoint. The cluster is started (and its worker warmed by one task) before
  the clock runs; its start-up is reported separately. Goal: ≤ 1.2× the plain loop.
* ours, in process: ``iw.sweep(…, executor=None)`` (context: the on-disk results alone).
* context: seconds per checkpoint of random-init **Pythia-70m-shaped** checkpoints (GPT-NeoX, 6
  layers × 8 heads, d_model 512, rotary 25 %; the tiny model's 99-character vocabulary, as no
  Pythia tokenizer is on this machine) loaded from a local folder (``revision="checkpoint-i"``),
  head scores (10 × (BOS + 25 × 4)) + ICL (32 corpus contexts of 512 tokens), in process on CPU.

Interleaved repetitions (plain, dask, in-process, …); ratios of medians with the paired range.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any

from .common import REPO, CaseResult, Row, fmt_time, interleaved, ratio_text

TITLE = "Sweep: the 23 shipped tiny checkpoints, 1-worker Dask cluster vs the plain loop"
GOAL = 1.2


def plain_loop() -> list[Any]:
    import induction_widgets as iw
    from induction_widgets.compute.sweep import SweepConfig, SweepTask, measure_model

    cfg = SweepConfig()
    rows = []
    for step in iw.models.tiny_checkpoint_steps():
        task = SweepTask("tiny", f"step{step}", step)
        model = iw.load_model("tiny", revision=task.revision, progress=False)
        rows.extend(measure_model(model, task, cfg))
        del model
    return rows


def pythia_shaped(ctx: Any, n: int = 2) -> tuple[list[float], Any]:
    """Seconds per checkpoint of an in-process sweep over ``n`` random-init Pythia-70m-shaped
    checkpoints (see the module docstring)."""
    import induction_widgets as iw

    sys.path.insert(0, str(REPO / "tests"))
    from sweepdata import pythia_shaped_run  # the tests' random-init run writer

    run_dir = pythia_shaped_run(
        ctx.tmp / "pythia70m-shaped",
        n,
        seed=0,
        hidden_size=512,
        num_hidden_layers=6,
        num_attention_heads=8,
        intermediate_size=2048,
        max_position_embeddings=2048,
        rotary_pct=0.25,
    )
    times = []
    for i in range(n):
        t = time.perf_counter()
        sw = iw.sweep(
            str(run_dir),
            [f"checkpoint-{i}"],
            out=ctx.tmp / f"p70-{i}",
            device="cpu",
            progress=False,
        )
        times.append(time.perf_counter() - t)
    return times, sw


def run(ctx: Any) -> CaseResult:
    import distributed

    import induction_widgets as iw

    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    client = distributed.Client(cluster)
    start = time.perf_counter() - t0
    try:
        executor = client.get_executor()
        t1 = time.perf_counter()
        iw.sweep("tiny", ["step0"], out=ctx.tmp / "sweep-warm", executor=executor, progress=False)
        warm = time.perf_counter() - t1
        ctx.log(f"  cluster up in {start:.1f} s, worker warmed in {warm:.1f} s")
        n = {"i": 0}

        def fresh(name: str) -> Any:
            n["i"] += 1
            folder = ctx.tmp / f"sweep-{name}-{n['i']}"
            shutil.rmtree(folder, ignore_errors=True)
            return folder

        def dask_sweep() -> Any:
            return iw.sweep("tiny", "all", out=fresh("dask"), executor=executor, progress=False)

        def here_sweep() -> Any:
            return iw.sweep("tiny", "all", out=fresh("here"), progress=False)

        outputs: dict[str, Any] = {}
        stats = interleaved(
            {"plain": plain_loop, "dask": dask_sweep, "here": here_sweep},
            ctx.reps,
            ctx.log,
            outputs,
        )
        n_rows = len(outputs["plain"])
        assert outputs["dask"].arrow().num_rows == n_rows == outputs["here"].arrow().num_rows
    finally:
        client.close()
        cluster.close()
    ctx.log("  random-init Pythia-70m-shaped checkpoints, in process")
    p70, p70_sweep = pythia_shaped(ctx)
    r_dask, dask_text = ratio_text(stats["dask"], stats["plain"])
    _, here_text = ratio_text(stats["here"], stats["plain"])
    rows = [
        Row(
            "Sweep, 23 tiny checkpoints (head scores + ICL): `iw.sweep(..., executor=` 1-worker "
            "Dask `LocalCluster` `.get_executor())` vs the plain in-process loop",
            stats["dask"].fmt(),
            stats["plain"].fmt(),
            dask_text,
            f"≤ {GOAL}×",
            None if ctx.quick else r_dask <= GOAL,
            {"dask": stats["dask"].as_dict(), "plain": stats["plain"].as_dict()},
        ),
        Row(
            "Sweep, 23 tiny checkpoints: `iw.sweep(...)` in process (Parquet parts, manifest) vs "
            "the plain loop",
            stats["here"].fmt(),
            stats["plain"].fmt(),
            here_text,
            "— (context)",
            None,
            {"here": stats["here"].as_dict()},
        ),
    ]
    rows.append(
        Row(
            "Sweep, random-init Pythia-70m-shaped checkpoints (6×8 heads, d 512): seconds per "
            "checkpoint (load + head scores + ICL on 32 × 512 tokens), in process, CPU",
            " / ".join(fmt_time(t) for t in p70) + f" (n={len(p70)})",
            "—",
            "—",
            "— (context: the cost per checkpoint in docs/sweeps.md)",
            None,
            {"pythia70m_shaped_s": p70, "rows": p70_sweep.arrow().num_rows},
        )
    )
    notes = [
        f"Each run writes {n_rows} rows (23 checkpoints × (4 head scores × 8 heads + ICL)).",
        f"Not timed: the cluster's start-up ({fmt_time(start)}) and the worker's first task, "
        f"which imports torch and TransformerLens there ({fmt_time(warm)}); a sweep pays them once.",
    ]
    return CaseResult("sweep", TITLE, rows, notes)
