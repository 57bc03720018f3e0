"""Run every benchmark case and write ``benchmarks/results.md`` (and ``results.json``).

    python -m benchmarks.run                 # what `make bench` runs, from the repo root
    python -m benchmarks.run --quick --only scoring,payload --out /tmp/r.md   # while developing
    python -m benchmarks.run --only longtext  # re-run one case into the committed results

Each case measures ours and its baseline in the same run (see ``benchmarks/README.md``). A run of
some cases only (``--only``) merges them into the results already at ``--out`` (read from its
``.json``): their rows and sections are replaced, the other cases' are kept as they were, and the
header still describes the run that wrote the file; ``--fresh`` writes this run's cases alone.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from .common import REPO, CaseResult, Row, loadavg, machine_info, machine_short, thread_check

CASES = (
    "scoring",
    "scoring_scale",
    "payload",
    "static_copy",
    "browser",
    "live",
    "longtext",
    "longcontext",
    "memory",
    "attribution",
    "sweep",
)


class Context:
    """What the cases share: settings, the log, loaded models, a scratch directory."""

    def __init__(self, *, quick: bool, reps: int | None, tmp: Path) -> None:
        self.quick = quick
        self.reps = reps if reps is not None else (2 if quick else 3)
        self.tmp = tmp
        self.t0 = time.monotonic()
        self.shared: dict[str, Any] = {}
        self._models: dict[str, Any] = {}
        self.machine: dict[str, Any] = {}

    def log(self, msg: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    def model(self, name: str) -> Any:
        if name not in self._models:
            import induction_widgets as iw

            t = time.monotonic()
            self._models[name] = iw.load_model(name, progress=False)
            self.log(f"  loaded {name} in {time.monotonic() - t:.1f} s")
        return self._models[name]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_markdown(
    path: Path, results: list[CaseResult], machine: dict[str, Any], meta: dict[str, Any]
) -> None:
    """The results table and per-case sections; ``machine`` and ``meta`` describe the run named in
    the header, a case with ``run`` set was measured by the later run it names."""
    m = machine
    short = machine_short(m)
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{meta['command']}`"
        + (" (what `make bench` runs, from the repo root)" if not meta["args"] else "")
        + f" on {meta['date']}; the whole run took **{meta['seconds'] / 60:.1f} min** "
        f"({meta['seconds']:.0f} s).",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['mem_gb']} GiB, Python {m['python']}, "
        f"torch {m['torch']} ({m['torch_threads']} thread{'s' if m['torch_threads'] != 1 else ''}), "
        "TransformerLens "
        f"{m['transformer_lens']}, {m['chromium']}. Load average at start / end: "
        f"{meta['load_start']} / {meta['load_end']}.",
    ]
    tc = m.get("thread_check") or {}
    if tc.get("one_s"):
        slow = tc["many_s"] / tc["one_s"]
        lines += [
            "",
            f"Thread check at start: 200 small matmuls took {tc['many_s'] * 1e3:.0f} ms with torch's "
            f"{int(tc['threads'])} thread(s) and {tc['one_s'] * 1e3:.0f} ms with one ({slow:.1f}×)"
            + (
                " — the threads were fighting other processes for the cores, which slows "
                "hook-heavy, small-op code (scores, the payload build) far more than big matmuls."
                if slow > 2
                else "."
            ),
        ]
    if meta.get("busy"):
        lines += [
            "",
            f"**Note:** {meta['busy']}",
        ]
    if meta.get("quick"):
        lines += [
            "",
            "**Quick mode** (`--quick`): reduced sizes and repetitions, not the real run.",
        ]
    separate = [res for res in results if res.run]
    if separate:
        names = ", ".join(f"`{res.name}`" for res in separate)
        lines += [
            "",
            f"**Merged:** case{'s' if len(separate) > 1 else ''} {names} "
            f"{'were' if len(separate) > 1 else 'was'} measured separately, after this run "
            "(`--only`); the command, date and load of that run are in "
            f"{'their sections' if len(separate) > 1 else 'its section'}.",
        ]
    lines += [
        "",
        "Every case measures ours and its baseline in the same run, interleaved where both are "
        "timed; cells show the median with [min–max] over n repetitions (IQR or p95 where said). "
        "Ratios are ours ÷ baseline unless the row says otherwise; goals are ratios, except the "
        "absolute UI latencies the issue asks for, which are valid only for the machine named.",
        "",
        "| case | ours | baseline | ratio | goal | machine |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for res in results:
        row_machine = machine_short(res.run["machine"]) if res.run else short
        for row in res.rows:
            goal = row.goal
            if row.met is True:
                goal += " — **met**"
            elif row.met is False:
                goal += " — **not met**"
            lines.append(
                "| "
                + " | ".join(
                    _cell(x)
                    for x in (row.case, row.ours, row.baseline, row.ratio, goal, row_machine)
                )
                + " |"
            )
        if res.error:
            lines.append(
                f"| {_cell(res.title)} | **case failed** | | | | {_cell(row_machine)} |",
            )
    lines.append("")
    for res in results:
        lines += [f"## {res.title}", "", _case_line(res), ""]
        if res.error:
            lines += ["**The case failed:**", "", "```", res.error.strip()[-3000:], "```", ""]
        lines += [f"- {n}" for n in res.notes]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def _case_line(res: CaseResult) -> str:
    if not res.run:
        return f"Case `{res.name}`, {res.seconds:.0f} s of the run."
    r = res.run
    line = (
        f"Case `{res.name}`, {res.seconds:.0f} s, measured separately by `{r['command']}` on "
        f"{r['date']} (load average at start / end: {r['load_start']} / {r['load_end']}"
    )
    tc = r["machine"].get("thread_check") or {}
    if tc.get("one_s"):
        line += (
            f"; thread check: {tc['many_s'] * 1e3:.0f} ms with {int(tc['threads'])} thread(s), "
            f"{tc['one_s'] * 1e3:.0f} ms with one"
        )
    line += ")."
    if r.get("busy"):
        line += f" **Note:** {r['busy']}"
    return line


def _previous(out: Path) -> dict[str, Any] | None:
    """The results already at ``out`` (its ``.json``), or None when there are none."""
    path = out.with_suffix(".json")
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _case_json(res: CaseResult) -> dict[str, Any]:
    out = {
        "name": res.name,
        "title": res.title,
        "seconds": res.seconds,
        "error": res.error,
        "notes": res.notes,
        "rows": [_row_json(row) for row in res.rows],
    }
    if res.run:
        out["run"] = res.run
    return out


def _case_from_json(case: dict[str, Any]) -> CaseResult:
    return CaseResult(
        case["name"],
        case["title"],
        [Row(**row) for row in case["rows"]],
        case["notes"],
        case["seconds"],
        case["error"],
        case.get("run"),
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes and repetitions (dev)")
    ap.add_argument("--only", default=",".join(CASES), help=f"comma list of {', '.join(CASES)}")
    ap.add_argument("--reps", type=int, default=None, help="repetitions of the heavy timings")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results.md"))
    ap.add_argument(
        "--fresh",
        action="store_true",
        help="with --only: write only this run's cases (default: merge them into --out's results)",
    )
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")

    only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = [c for c in only if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}: choose from {CASES}")
    out = Path(args.out)
    previous = None
    if set(only) != set(CASES) and not args.fresh:
        previous = _previous(out)
        if previous is not None and bool(previous["meta"].get("quick")) != args.quick:
            kind = "quick" if previous["meta"].get("quick") else "full"
            ap.error(
                f"{out.with_suffix('.json')} holds a {kind} run: a {'quick' if args.quick else 'full'}"
                " run of some cases is not merged into it; choose another --out, or --fresh"
            )

    t_start = time.monotonic()
    load_start = loadavg()
    with tempfile.TemporaryDirectory(prefix="iw-bench-") as tmp:
        ctx = Context(quick=args.quick, reps=args.reps, tmp=Path(tmp))
        ctx.machine = machine_info()
        ctx.machine["thread_check"] = thread_check()
        ctx.log(f"machine: {ctx.machine}; load average {load_start}")
        results: list[CaseResult] = []
        for name in CASES:
            if name not in only:
                continue
            module = __import__(f"benchmarks.{name}", fromlist=["run"])
            ctx.log(f"case {name}: {module.TITLE}")
            t = time.monotonic()
            try:
                res = module.run(ctx)
            except Exception:
                res = CaseResult(name, module.TITLE, [], [], error=traceback.format_exc())
                ctx.log(f"case {name} FAILED:\n{res.error}")
            res.seconds = time.monotonic() - t
            ctx.log(f"case {name}: done in {res.seconds:.0f} s")
            for row in res.rows:
                ctx.log(f"  | {row.case} | {row.ours} | {row.baseline} | {row.ratio} | {row.goal}")
            results.append(res)
        seconds = time.monotonic() - t_start
        load_end = loadavg()
        cores = ctx.machine["cores"] or 1
        busy = ""
        try:
            peak_load = max(float(load_start.split()[0]), float(load_end.split()[0]))
            if peak_load > 0.75 * cores:
                busy = (
                    f"the machine was busy with other work during this run (1-minute load "
                    f"average up to {peak_load:.1f} on {cores} cores), so the absolute timings are "
                    "noisy and slower than on a quiet machine; the interleaved ratios are less "
                    "affected. Re-run `make bench` on a quiet machine for the figures of record."
                )
        except ValueError:
            pass
        given = list(sys.argv[1:] if argv is None else argv)
        meta = {
            "command": " ".join([".venv/bin/python -m benchmarks.run", *given]),
            "args": given,
            "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "seconds": seconds,
            "load_start": load_start,
            "load_end": load_end,
            "busy": busy,
            "quick": args.quick,
        }
        if previous is None:
            data = {"meta": meta, "machine": ctx.machine, "cases": [_case_json(r) for r in results]}
        else:  # this run's cases replace theirs; the rest, and the header, stay as they were
            run = {k: meta[k] for k in ("command", "date", "load_start", "load_end", "busy")}
            run["machine"] = ctx.machine
            for r in results:
                r.run = run
            now = {r.name: _case_json(r) for r in results}
            before = {c["name"]: c for c in previous["cases"]}
            order = [*CASES, *(n for n in before if n not in CASES)]
            data = {
                "meta": previous["meta"],
                "machine": previous["machine"],
                "cases": [now.get(n) or before[n] for n in order if n in now or n in before],
            }
        out.parent.mkdir(parents=True, exist_ok=True)
        write_markdown(
            out, [_case_from_json(c) for c in data["cases"]], data["machine"], data["meta"]
        )
        out.with_suffix(".json").write_text(json.dumps(data, indent=1, default=str))
        merged = f", merged into the results of {data['meta']['date']}" if previous else ""
        ctx.log(f"wrote {out} and {out.with_suffix('.json').name} in {seconds:.0f} s total{merged}")
    return 0 if all(r.error is None for r in results) else 1


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "case": row.case,
        "ours": row.ours,
        "baseline": row.baseline,
        "ratio": row.ratio,
        "goal": row.goal,
        "met": row.met,
        "data": row.data,
    }


if __name__ == "__main__":
    sys.exit(main())
