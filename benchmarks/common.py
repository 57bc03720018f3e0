"""Shared pieces of the benchmark cases: statistics, formatting, machine facts, subprocess memory
probes, the optional CircuitsVis install and the Chromium launcher."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
#: CircuitsVis and the one import it needs beyond numpy/torch, pinned, installed with --no-deps
#: (importlib-metadata >= 9 imports a further package, lazy_importer; 8.7 needs only zipp).
CIRCUITSVIS_PINS = ["circuitsvis==1.43.3", "importlib-metadata==8.7.0", "zipp>=3.20"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

try:  # the package may be used from the source tree without an (editable) install
    import induction_widgets  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(SRC))


# ---- statistics and formatting ----------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of a non-empty list."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass
class Stats:
    """Repeated measurements of one quantity (seconds, bytes, ...)."""

    values: list[float]
    unit: str = "s"

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def q(self, p: float) -> float:
        return quantile(self.values, p)

    def fmt(self, *, spread: str = "minmax") -> str:
        """``median [min–max] (n=…)``, or with ``spread="iqr"`` the interquartile range."""
        f = fmt_time if self.unit == "s" else fmt_bytes if self.unit == "B" else _fmt_plain
        if self.n == 1:
            return f"{f(self.median)} (n=1)"
        if spread == "iqr":
            return f"{f(self.median)} (IQR {f(self.q(0.25))}–{f(self.q(0.75))}, n={self.n})"
        return f"{f(self.median)} [{f(self.lo)}–{f(self.hi)}] (n={self.n})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "n": self.n,
            "median": self.median,
            "min": self.lo,
            "max": self.hi,
            "q25": self.q(0.25),
            "q75": self.q(0.75),
            "p95": self.q(0.95),
            "values": self.values,
        }


def _fmt_plain(x: float) -> str:
    return f"{x:.3g}"


def fmt_time(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "n/a"
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.01:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e3:.2f} ms"


def fmt_ms(ms: float) -> str:
    return fmt_time(ms / 1e3)


def fmt_bytes(n: float) -> str:
    if n != n:
        return "n/a"
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{sign}{n / size:.3g} {unit}"
    return f"{sign}{n:.0f} B"


def fmt_ratio(x: float) -> str:
    if x != x:
        return "n/a"
    if x >= 100:
        return f"{x:.0f}×"
    if x >= 10:
        return f"{x:.1f}×"
    return f"{x:.2f}×"


def paired_ratios(ours: Stats, base: Stats) -> Stats:
    """Per-repetition ratios ``ours[i] / base[i]`` of interleaved repetitions."""
    return Stats([a / b for a, b in zip(ours.values, base.values, strict=False) if b > 0], "x")


def ratio_text(ours: Stats, base: Stats) -> tuple[float, str]:
    """``(ratio of medians, "r× [paired min–max]")``."""
    r = ours.median / base.median if base.median > 0 else float("nan")
    pr = paired_ratios(ours, base)
    if pr.n >= 2:
        return r, f"{fmt_ratio(r)} [paired {fmt_ratio(pr.lo)}–{fmt_ratio(pr.hi)}]"
    return r, fmt_ratio(r)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, result)`` of one call (garbage collected before, not during)."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def interleaved(
    fns: dict[str, Callable[[], Any]],
    reps: int,
    log: Callable[[str], None] | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Stats]:
    """Time every function ``reps`` times, interleaved A B C A B C …, so that a machine that gets
    busier or quieter during the run affects each alike. The last result of each function is
    stored in ``outputs`` when given."""
    out: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(reps):
        for name, fn in fns.items():
            dt, result = timed(fn)
            out[name].append(dt)
            if outputs is not None:
                outputs[name] = result
            del result
            if log:
                log(f"    rep {r + 1}/{reps} {name}: {fmt_time(dt)}")
    return {k: Stats(v) for k, v in out.items()}


# ---- rows of the results table -------------------------------------------------------------------


@dataclass
class Row:
    case: str
    ours: str
    baseline: str
    ratio: str
    goal: str
    met: bool | None = None  # None: no goal, or not measurable
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseResult:
    name: str
    title: str
    rows: list[Row]
    notes: list[str]
    seconds: float = 0.0
    error: str | None = None
    #: when the case was measured by another run than the file's header names (a merged
    #: ``--only`` run): that run's command, date, load average, thread check and machine
    run: dict[str, Any] | None = None


# ---- machine ----------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def chromium_version() -> str:
    from labkit import CHROMIUM

    try:
        out = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        return out.stdout.strip() or out.stderr.strip()[:80]
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


def machine_info() -> dict[str, Any]:
    import torch

    try:
        from importlib.metadata import version

        tl = version("transformer_lens")
    except Exception:  # pragma: no cover
        tl = "?"
    cores = os.cpu_count() or 0
    with contextlib.suppress(AttributeError):
        cores = len(os.sched_getaffinity(0))
    return {
        "cores": cores,
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "transformer_lens": tl,
        "python": platform.python_version(),
        "chromium": chromium_version(),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def thread_check() -> dict[str, float]:
    """Seconds for 200 small matmuls ([1010, 64] @ [64, 64]) with torch's threads and with one:
    on a machine shared with other work, several intra-op threads can make small ops many times
    slower than one thread (they wait for each other), which inflates hook-heavy code most."""
    import torch

    a, w = torch.randn(1010, 64), torch.randn(64, 64)
    n = torch.get_num_threads()
    out = {"threads": float(n)}
    try:
        for key, k in (("many_s", n), ("one_s", 1)):
            torch.set_num_threads(k)
            a @ w
            t0 = time.perf_counter()
            for _ in range(200):
                a @ w
            out[key] = time.perf_counter() - t0
    finally:
        torch.set_num_threads(n)
    return out


def machine_short(m: dict[str, Any]) -> str:
    return f"{m['cores']} cores, {m['cpu']}, torch {m['torch']}"


# ---- memory: fresh subprocess per measurement -------------------------------------------------


def proc_status() -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of this process, in bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0]) * 1024
    return out


def trim_heap() -> bool:
    """Give freed heap memory back to the OS (glibc ``malloc_trim``), so that RSS counts live
    memory only and a later allocation shows up as growth instead of reusing resident pages."""
    import ctypes

    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux ``clear_refs`` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def fresh_interpreter(module: str, args: list[str], timeout: float) -> dict[str, Any]:
    """``python -m MODULE ARGS`` in a fresh interpreter (this tree first on the path, warnings
    off): the JSON after its last ``@@`` line, or ``{"error": ...}`` with the output's tail."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), str(SRC), env.get("PYTHONPATH", "")) if p
    )
    env["PYTHONWARNINGS"] = "ignore"
    # A fixed mmap threshold: large blocks (tensors) are mapped and unmapped, never parked in the
    # heap, so RSS follows live memory (glibc's default raises the threshold as blocks are freed).
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(128 * 1024))
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
        check=False,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("@@"):
            result: dict[str, Any] = json.loads(line[2:])
            return result
    tail = (proc.stderr or proc.stdout)[-600:]
    return {"error": f"exit {proc.returncode}: {tail}"}


def memprobe(op: str, model: str, timeout: float = 900) -> dict[str, Any]:
    """Run ``benchmarks._memprobe`` in a fresh interpreter and return its JSON answer."""
    return fresh_interpreter("benchmarks._memprobe", [op, model], timeout)


# ---- CircuitsVis ----------------------------------------------------------------------------------


def ensure_circuitsvis(log: Callable[[str], None]) -> str | None:
    """Import CircuitsVis, installing the pinned wheels with ``--no-deps`` into this venv first if
    needed (never anything that pulls torch). Returns its version, or None with the reason logged."""
    try:
        import circuitsvis

        return str(circuitsvis.__version__)
    except Exception as exc:  # not installed, or its import fails
        log(f"  circuitsvis not importable ({type(exc).__name__}: {exc}); installing --no-deps")
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *CIRCUITSVIS_PINS]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        log(f"  pip failed: {proc.stderr[-400:]}")
        return None
    import importlib

    importlib.invalidate_caches()
    for name in [m for m in sys.modules if m.startswith(("circuitsvis", "importlib_metadata"))]:
        del sys.modules[name]
    try:
        import circuitsvis

        return str(circuitsvis.__version__)
    except Exception as exc:
        log(f"  circuitsvis still not importable: {type(exc).__name__}: {exc}")
        return None


# ---- Chromium ---------------------------------------------------------------------------------


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (``playwright install`` is never used)."""
    from labkit import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def chromium_process(playwright: Any, tmp: Path) -> Iterator[Any]:
    """A headless Chromium that this process starts itself (same flags, plus a DevTools port) and
    Playwright connects to over CDP — so that a page that hangs its renderer can be ended at once
    by killing the browser's own process group, which a graceful close would wait for."""
    import signal
    import tempfile

    from labkit import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"no Chromium at {CHROMIUM}")
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp))
    log_path = profile / "stderr.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                CHROMIUM,
                *CHROMIUM_ARGS,
                "--remote-debugging-port=0",
                f"--user-data-dir={profile / 'data'}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    browser = None
    try:
        deadline = time.monotonic() + 60
        ws = None
        while ws is None:
            for line in log_path.read_text(errors="replace").splitlines():
                if "DevTools listening on " in line:
                    ws = line.split("DevTools listening on ", 1)[1].strip()
            if ws is None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Chromium did not start: {log_path.read_text()[-800:]}")
                time.sleep(0.05)
        browser = playwright.chromium.connect_over_cdp(ws)
        yield browser
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        if browser is not None:
            with contextlib.suppress(Exception):
                browser.close()


def offline_context(browser: Any, allowed: tuple[str, ...] = ("file:", "data:", "blob:")) -> Any:
    """``labkit.offline_context`` at the benchmarks' viewport (1280 × 1000): requests outside
    ``allowed`` prefixes are aborted and logged in ``context.request_log``."""
    from labkit import offline_context as _offline_context

    return _offline_context(browser, allowed, viewport=(1280, 1000))


# ---- inputs -------------------------------------------------------------------------------------


def text_ids(model: Any, n: int) -> Any:
    """``n`` token ids (BOS first) of ``iw.copying_text()`` repeated, paragraph after paragraph,
    and cut to ``n`` tokens (``[n]`` long tensor on the CPU)."""
    import induction_widgets as iw
    from induction_widgets.compute._model import to_tokens

    paragraph = iw.copying_text()
    k = 1
    while True:
        ids = to_tokens(model, "\n\n".join([paragraph] * k), truncate=True)[0].cpu()
        if len(ids) >= n or len(ids) >= model.cfg.n_ctx:
            return ids[:n]
        k = max(k + 1, int(k * n / max(len(ids), 1)) + 1)
