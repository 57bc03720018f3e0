"""``iw.sweep`` on a real Dask ``LocalCluster`` of worker processes (loopback only, no dashboard):
the same rows as the in-process run, and a worker SIGKILLed mid-task is retried."""

from __future__ import annotations

import pytest
import torch
from sweepkit import KW, STEPS, Killer, rows_by_key

import induction_widgets as iw

distributed = pytest.importorskip("distributed")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def client():
    import dask

    # a killed worker is reported at once (KilledWorker), so the sweep's own retry runs
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            worker_dashboard_address=None,
        )
        c = distributed.Client(cluster)
        try:
            yield c
        finally:
            c.close()
            cluster.close()


def test_dask_cluster_sweep_with_a_killed_worker(client, tmp_path):
    """Run on the cluster with its worker killed during the first task: the nanny restarts the
    worker, the sweep resubmits the task, and every row equals the in-process run's."""
    steps = STEPS[:3]
    here = iw.sweep("tiny", steps, out=tmp_path / "here", **KW)
    killer = Killer(tmp_path / "dask", times=1)
    killer.start()
    result = iw.sweep(
        "tiny", steps, out=tmp_path / "dask", executor=client.get_executor(), retries=2, **KW
    )
    killer.stop.set()
    assert len(killer.killed) == 1
    got, want = rows_by_key(result.arrow()), rows_by_key(here.arrow())
    assert got.keys() == want.keys() and len(got) == len(steps) * 33
    for key in want:
        torch.testing.assert_close(
            torch.tensor(got[key]), torch.tensor(want[key]), rtol=1e-6, atol=1e-7, equal_nan=True
        )
