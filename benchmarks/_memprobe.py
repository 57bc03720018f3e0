"""Peak memory of one operation in a fresh interpreter: ``python -m benchmarks._memprobe OP MODEL``.

Loads the model, builds the paper's batch (10 × (BOS + 25 random tokens × 4), seed 0), warms the
operation up on the first example only, collects garbage, resets the peak RSS (``VmHWM``, via
``/proc/self/clear_refs``) after giving freed heap back to the OS (``malloc_trim``; the parent
also sets a fixed ``MALLOC_MMAP_THRESHOLD_``), runs the operation once on the whole batch and prints
``@@{"rss_before", "peak", "peak_delta", "held_delta", "seconds", ...}`` (bytes). ``peak_delta``
is what the operation added on top of the loaded model at its highest point; ``held_delta`` what
its result still holds afterwards (RSS after ``gc`` + ``malloc_trim``, result alive, − before).

OPs: ``forward``, ``head_scores``, ``detect_head`` (``scoring.make_ops`` on that batch), and the
``longtext_*`` ops of ``longtext.probe_op`` (their own input, warm-up and extra fields).
"""

from __future__ import annotations

import gc
import json
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from .common import proc_status, reset_peak_rss, trim_heap


def probe(
    model: Any, op: str
) -> tuple[Callable[[], Any], Callable[[], Any], Callable[[Any], dict]]:
    """``(warm, run, report)`` of ``op``."""
    if op.startswith("longtext_"):
        from .longtext import probe_op

        return probe_op(model, op)
    import induction_widgets as iw

    from .scoring import make_ops

    tokens = iw.repeated_random_tokens(model, 10, 25, 4, seed=0)
    return make_ops(model, tokens[:1])[op], make_ops(model, tokens)[op], lambda _: {}


def main(argv: list[str]) -> int:
    op, model_name = argv
    warnings.filterwarnings("ignore")
    import induction_widgets as iw

    model = iw.load_model(model_name, progress=False)
    warm, run, report = probe(model, op)
    warm()
    gc.collect()
    trim_heap()
    reset_ok = reset_peak_rss()
    before = proc_status()
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    after = proc_status()
    gc.collect()
    trim_heap()
    held = proc_status()["VmRSS"] - before["VmRSS"]
    extra = report(result)
    del result
    out = {
        "op": op,
        "model": model_name,
        "rss_before": before["VmRSS"],
        "peak": after["VmHWM"],
        "peak_delta": after["VmHWM"] - before["VmRSS"],
        "hwm_reset": reset_ok,
        "held_delta": held,
        "seconds": seconds,
        **extra,
    }
    print("@@" + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
