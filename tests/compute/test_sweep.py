"""``iw.sweep``: the tidy table, nothing lost and nothing twice (a real SIGKILL mid-sweep), the
manifest, retries of killed workers (ProcessPoolExecutor), and memory given back."""

from __future__ import annotations

import gc
import multiprocessing
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
import torch
from sweepkit import KW, STEPS, Killer, rows_by_key

import induction_widgets as iw
from induction_widgets.compute.sweep import COLUMNS, HEAD_MEASURES, part_path

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A clean, uninterrupted run of the test sweep."""
    return iw.sweep("tiny", STEPS, out=tmp_path_factory.mktemp("clean"), **KW)


def test_table_equals_checkpoint_scores(clean):
    """One row per (checkpoint, measure, layer, head) (ICL: one per checkpoint), and every value
    equal to checkpoint_scores' (the plain loop) on the same protocol."""
    table = clean.arrow()
    assert tuple(table.column_names) == COLUMNS
    per = len(HEAD_MEASURES) * 2 * 4 + 1
    assert table.num_rows == len(STEPS) * per
    rows_by_key(table)
    model = iw.load_model("tiny")
    tokens = iw.copy_task_tokens(model, KW["n_contexts"], n_tokens=56, length=64)
    ref = iw.checkpoint_scores("tiny", steps=STEPS, icl_tokens=tokens, n_examples=KW["n_examples"])
    assert clean.grid("prefix_matching")["steps"] == STEPS
    for name in HEAD_MEASURES:
        torch.testing.assert_close(
            clean.grid(name)["value"].float(), getattr(ref, name), rtol=0, atol=0
        )
    icl = clean.grid("icl")
    torch.testing.assert_close(icl["value"], ref.icl.double(), rtol=0, atol=0)
    torch.testing.assert_close(icl["sem"], ref.icl_sem.double(), rtol=0, atol=0)
    # sem of a head score = sd over examples / sqrt(n)
    scores = iw.head_scores(iw.load_model("tiny", revision="step600"), KW["n_examples"], 25, 2)
    sem = scores.std("prefix_matching") / KW["n_examples"] ** 0.5
    torch.testing.assert_close(clean.grid("prefix_matching")["sem"][2].float(), sem)
    df = clean.table()
    assert list(df.columns) == list(COLUMNS) and df["layer"].isna().sum() == len(STEPS)


RUN = """
import sys, torch
torch.set_num_threads(2)
import induction_widgets as iw
iw.sweep("tiny", %r, out=sys.argv[1], **%r)
"""


def test_sigkill_mid_sweep_then_resume(clean, tmp_path):
    """A real process running the sweep is SIGKILLed after its first task lands; the re-run
    computes only what is missing and the table equals the clean run's, row for row."""
    out = tmp_path / "sweep"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN % (STEPS, KW), str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "results").is_dir() and any((out / "results").glob("part-*.parquet")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    proc.kill()
    proc.wait()
    done = sorted(p.name for p in (out / "results").glob("part-*.parquet"))
    assert 1 <= len(done) < len(STEPS), done  # killed in the middle
    before = {p: (out / "results" / p).stat().st_mtime_ns for p in done}
    resumed = iw.sweep("tiny", STEPS, out=out, **KW)
    # the finished parts were kept, not recomputed
    assert {p: (out / "results" / p).stat().st_mtime_ns for p in done} == before
    assert not resumed.missing() and not list((out / "running").iterdir())
    got, want = rows_by_key(resumed.arrow()), rows_by_key(clean.arrow())
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(
            torch.tensor(got[key]), torch.tensor(want[key]), rtol=0, atol=0, equal_nan=True
        )
    # a complete sweep re-run runs nothing; one deleted part is the only one recomputed
    stamp = {t.key: part_path(out, t).stat().st_mtime_ns for t in resumed.tasks}
    part_path(out, resumed.tasks[1]).unlink()
    iw.sweep("tiny", STEPS, out=out, **KW)
    again = {t.key: part_path(out, t).stat().st_mtime_ns for t in resumed.tasks}
    changed = [k for k in stamp if again[k] != stamp[k]]
    assert changed == [resumed.tasks[1].key]


def test_other_arguments_refused(clean):
    """Re-running into the folder with other arguments is refused with the fix named."""
    with pytest.raises(iw.InputError, match=r"other arguments.*measures.*another out= folder"):
        iw.sweep("tiny", STEPS, out=clean.path, measures=["icl"], **KW)
    with pytest.raises(iw.InputError, match="checkpoints"):
        iw.sweep("tiny", STEPS[:2], out=clean.path, **KW)
    assert iw.Sweep.open(clean.path).arguments["measures"] == ["head_scores", "icl"]


def test_memory_given_back(tmp_path):
    """Each task frees its model: no model object outlives the sweep, and the resident memory
    after eight checkpoints is what it was after two (each checkpoint ~28 MB of weights)."""
    from sweepdata import pythia_shaped_run

    psutil = pytest.importorskip("psutil")
    pythia_shaped_run(
        tmp_path / "run",
        8,
        seed=0,
        hidden_size=384,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=1536,
        max_position_embeddings=64,
    )
    classes = iw.models.backend().model_classes()
    gc.collect()
    alive = sum(isinstance(o, classes) for o in gc.get_objects())
    kw = {
        "measures": ["head_scores"],
        "n_examples": 4,
        "repeats": 2,
        "device": "cpu",
        "progress": False,
    }
    revs = [f"checkpoint-{i}" for i in range(8)]
    iw.sweep(str(tmp_path / "run"), revs[:2], out=tmp_path / "a", **kw)
    gc.collect()
    rss2 = psutil.Process().memory_info().rss
    iw.sweep(str(tmp_path / "run"), revs, out=tmp_path / "b", **kw)
    gc.collect()
    rss8 = psutil.Process().memory_info().rss
    assert sum(isinstance(o, classes) for o in gc.get_objects()) == alive
    assert rss8 - rss2 < 60e6, (rss2, rss8)


def test_process_pool_worker_killed_is_retried(clean, tmp_path):
    """A ProcessPoolExecutor worker SIGKILLed mid-task: the task runs again on a fresh pool and the
    sweep completes with the clean run's values; killed more often than ``retries`` allows, the
    sweep stops with SweepError."""
    # forkserver: workers fork from a single-threaded server that imported the package once
    # (forking this process, whose torch threads have run, can deadlock the child)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["induction_widgets"])
    killer = Killer(tmp_path / "a", times=1)
    killer.start()
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        result = iw.sweep("tiny", STEPS, out=tmp_path / "a", executor=pool, retries=1, **KW)
    killer.stop.set()
    assert len(killer.killed) == 1
    got, want = rows_by_key(result.arrow()), rows_by_key(clean.arrow())
    assert got.keys() == want.keys()
    assert all(
        torch.allclose(torch.tensor(got[k]), torch.tensor(want[k]), equal_nan=True) for k in want
    )
    killer = Killer(tmp_path / "b", times=2)
    killer.start()
    with (
        ProcessPoolExecutor(1, mp_context=ctx) as pool,
        pytest.raises(iw.SweepError, match="died 2 times"),
    ):
        iw.sweep("tiny", STEPS, out=tmp_path / "b", executor=pool, retries=1, **KW)
    killer.stop.set()
    assert len(killer.killed) == 2 and killer.killed[0][0] == killer.killed[1][0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"models": [], "out": "x"}, "at least one model"),
        ({"models": ["tiny", "tiny"], "out": "x"}, "listed twice"),
        ({"models": "tiny", "checkpoints": [601], "out": "x"}, "no checkpoint at that step"),
        ({"models": "tiny", "checkpoints": "step600", "out": "x"}, "takes None"),
        ({"models": "tiny", "measures": ["loss"], "out": "x"}, "choose among"),
        ({"models": "tiny", "executor": "dask", "out": "x"}, "concurrent.futures.Executor"),
        ({"models": "tiny", "retries": -1, "out": "x"}, "retries"),
        ({"models": "tiny", "ablation_method": "x", "out": "x"}, "icl_ablation"),
        ({"models": "tiny", "out": None}, "folder path"),
    ],
)
def test_bad_arguments(kwargs, match, tmp_path):
    if isinstance(kwargs.get("out"), str):
        kwargs = {**kwargs, "out": tmp_path / kwargs["out"]}
    with pytest.raises(iw.InputError, match=match):
        iw.sweep(**kwargs)
    assert not (tmp_path / "x").exists()
