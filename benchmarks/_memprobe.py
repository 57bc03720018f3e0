"""Peak memory of one operation in a fresh interpreter: ``python -m benchmarks._memprobe OP MODEL``.

Loads the model, builds the paper's batch (10 × (BOS + 25 random tokens × 4), seed 0), warms the
operation up on the first example only, collects garbage, resets the peak RSS (``VmHWM``, via
``/proc/self/clear_refs``) after giving freed heap back to the OS (``malloc_trim``; the parent
also sets a fixed ``MALLOC_MMAP_THRESHOLD_``), runs the operation once on the whole batch and prints
``@@{"rss_before", "peak", "peak_delta", "seconds", ...}`` (bytes). ``peak_delta`` is what the
operation added on top of the loaded model at its highest point.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import warnings

from .common import proc_status, reset_peak_rss, trim_heap
from .scoring import make_ops


def main(argv: list[str]) -> int:
    op, model_name = argv
    warnings.filterwarnings("ignore")
    import induction_widgets as iw

    model = iw.load_model(model_name, progress=False)
    tokens = iw.repeated_random_tokens(model, 10, 25, 4, seed=0)
    warm = make_ops(model, tokens[:1])[op]
    run = make_ops(model, tokens)[op]
    warm()
    gc.collect()
    trim_heap()
    reset_ok = reset_peak_rss()
    before = proc_status()
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    after = proc_status()
    del result
    out = {
        "op": op,
        "model": model_name,
        "rss_before": before["VmRSS"],
        "peak": after["VmHWM"],
        "peak_delta": after["VmHWM"] - before["VmRSS"],
        "hwm_reset": reset_ok,
        "seconds": seconds,
    }
    print("@@" + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
