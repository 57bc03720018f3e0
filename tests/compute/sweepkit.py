"""Helpers of the sweep tests: a small tiny-run sweep, and a thread that SIGKILLs the worker
running a task (found by the task's ``running/<key>.<host>.<pid>`` marker)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

STEPS = [0, 300, 600, 1900]
#: a small protocol so each tiny task takes well under a second on a quiet machine
KW = {"n_examples": 6, "n_contexts": 24, "progress": False}


def rows_by_key(table) -> dict[tuple, tuple[float, float]]:
    """``(model, revision, measure, layer, head) → (value, sem)``, asserting each key is once."""
    out: dict[tuple, tuple[float, float]] = {}
    for r in table.to_pylist():
        key = (r["model"], r["revision"], r["measure"], r["layer"], r["head"])
        assert key not in out, f"row twice: {key}"
        out[key] = (r["value"], r["sem"])
    return out


class Killer(threading.Thread):
    """Kill (SIGKILL) the process running a task, ``times`` times: each time a new marker
    appears in ``folder/running`` whose process is alive, that process is killed."""

    def __init__(self, folder: Path, times: int = 1) -> None:
        super().__init__(daemon=True)
        self.folder = Path(folder) / "running"
        self.times = times
        self.killed: list[tuple[str, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        seen: set[str] = set()
        while not self.stop.is_set() and len(self.killed) < self.times:
            try:
                names = [p.name for p in self.folder.iterdir()]
            except FileNotFoundError:
                names = []
            for name in names:
                if name in seen:
                    continue
                seen.add(name)
                pid = int(name.rsplit(".", 1)[1])
                if pid == os.getpid():
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                self.killed.append((name.split(".")[0], pid))
                break
            time.sleep(0.01)
