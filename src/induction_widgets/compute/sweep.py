r"""Sweeps: models × checkpoints × measures, run anywhere, kept on disk, resumed where they stopped.

:func:`sweep` turns ``models`` × ``checkpoints`` into *tasks* — one (model, revision) each — and
runs every task that has no result yet: load the checkpoint (:func:`load_model` with
``revision=``), measure it, write its rows, free it. Where the tasks run is an
``executor``: none (this process, one after the other), or any
:class:`concurrent.futures.Executor` — ``ProcessPoolExecutor``, a Dask ``Client.get_executor()``
(a ``LocalCluster`` or, through ``dask-jobqueue``, a SLURM allocation; docs/sweeps.md).

Measures (``measures=``), per checkpoint:

==================  ===========================================================================
``"head_scores"``   :func:`head_scores`: ``prefix_matching``, ``copying``, ``previous_token``
                    (value = the mean over counted destinations, ``sem`` = the spread over
                    examples / √n) and ``ov_copying`` (one value per head, ``sem`` NaN), each
                    ``[layer, head]``
``"icl"``           :func:`icl_score`: one value (``layer``/``head`` null), ``sem`` over contexts
``"icl_ablation"``  :func:`ablation_scores` ``(compare=False)``: per-head ΔICL ``[layer, head]``
                    = ICL(ablated) − ICL(clean), ``sem`` paired over contexts;
                    ``ablation_method=`` is handed through as ``method=``
==================  ===========================================================================

Protocols: for ``"tiny"`` the same as :func:`checkpoint_scores` (head scores on BOS + 25 random
tokens × 2; ICL on the first 56 tokens of 128 copy-task sequences of 64 tokens), so a sweep of the
shipped run equals it value for value; for other models the paper's 10 × (BOS + 25 × 4) and
:func:`icl_score`'s corpus contexts (``n_contexts``, default 32).

**On disk** (``out=``)::

    out/sweep.json                 the arguments (models, checkpoints, measures, protocol) and tasks
    out/results/part-<key>.parquet one file per finished task, written to a temporary name and
                                   renamed (atomic): a task's rows are all there or not at all
    out/running/<key>.<host>.<pid> while a task runs (what runs where); removed when it ends

Re-running the same sweep into ``out`` runs only the tasks with no part file; a sweep with other
arguments is refused (:class:`InputError` naming the fix). Rows (:data:`COLUMNS`): ``model,
revision, step, layer, head, measure, value, sem``.

**Worker deaths.** A task whose worker dies (``BrokenProcessPool``; Dask ``KilledWorker``) is run
again, up to ``retries`` more times; then :class:`SweepError`. A broken ``ProcessPoolExecutor``
cannot take new work, so the sweep replaces it with a new pool of the same size (shut down at the
end; the pool passed in stays broken). Only the task(s) whose ``running`` marker was left behind by
a dead process count a death. Dask retries a task on a dead worker by itself
(``distributed.scheduler.allowed-failures``, default 3) before it reports ``KilledWorker``.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import inspect
import json
import os
import re
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..checks import check_int, check_seed
from ..errors import InductionWidgetsError, InputError, SweepError

MEASURES = ("head_scores", "icl", "icl_ablation")
"""What a sweep can measure per checkpoint (see the module docstring)."""

HEAD_MEASURES = ("prefix_matching", "copying", "previous_token", "ov_copying")
"""The ``measure`` names the ``"head_scores"`` measure writes."""

COLUMNS = ("model", "revision", "step", "layer", "head", "measure", "value", "sem")
"""The tidy table's columns, in order."""

MANIFEST = "sweep.json"
_VERSION = 1
#: exception class names that mean "the worker process died", not "the task raised"
_DEATHS = {"BrokenProcessPool", "KilledWorker", "CommClosedError", "StreamClosedError"}


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
        import pyarrow.parquet
    except ImportError as exc:  # pragma: no cover - the sweep extra is missing
        raise ImportError(
            "iw.sweep keeps its results in Parquet: pip install 'induction_widgets[sweep]' "
            "(pyarrow; dask[distributed] for a cluster)"
        ) from exc
    return pa


def step_of(revision: str | None) -> int | None:
    """The training step a revision names: ``"step3000"`` → 3000, ``"checkpoint-600"`` → 600,
    ``"600"`` → 600; ``None`` for anything else (``"main"``, a commit)."""
    if revision is None:
        return None
    match = re.fullmatch(r"(?:step|checkpoint-?|ckpt-?|global_step)?(\d+)", revision.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class SweepTask:
    """One checkpoint to measure: a :func:`load_model` spec and a revision (``None``: as
    published). ``key``: a stable name for its results, from (model, revision)."""

    model: str
    revision: str | None
    step: int | None

    @property
    def key(self) -> str:
        text = json.dumps([self.model, self.revision])
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return self.model if self.revision is None else f"{self.model}@{self.revision}"


@dataclass(frozen=True)
class SweepConfig:
    """How each task measures (recorded in the manifest; every task of a sweep uses the same)."""

    measures: tuple[str, ...] = ("head_scores", "icl")
    n_examples: int = 10
    seq_len: int | None = None
    repeats: int | None = None
    seed: int = 0
    n_contexts: int | None = None
    ablation_method: str | None = None
    device: str | None = None


def _is_tiny(spec: str) -> bool:
    return spec.strip().lower() == "tiny"


def _protocol(task: SweepTask, cfg: SweepConfig) -> tuple[int, int]:
    """``(seq_len, repeats)`` of the head-score input (tiny: 25 × 2, as checkpoint_scores)."""
    seq_len = cfg.seq_len if cfg.seq_len is not None else 25
    repeats = cfg.repeats if cfg.repeats is not None else (2 if _is_tiny(task.model) else 4)
    return seq_len, repeats


def _icl_tokens(model: Any, task: SweepTask, cfg: SweepConfig) -> Any:
    """The ICL contexts: for the tiny model its training distribution (checkpoint_scores'
    choice: the first 56 tokens of 128 sequences of 64), else ``None`` (icl_score's corpus)."""
    from .icl import copy_task_tokens

    if _is_tiny(task.model):
        return copy_task_tokens(model, cfg.n_contexts or 128, n_tokens=56, length=64, seed=cfg.seed)
    return None


def measure_model(model: Any, task: SweepTask, cfg: SweepConfig) -> list[dict[str, Any]]:
    """The rows of one checkpoint (``COLUMNS``; ``layer``/``head`` ``None`` for the ICL score)."""
    from .icl import icl_score

    rows: list[dict[str, Any]] = []
    base = {"model": task.model, "revision": task.revision, "step": task.step}

    def grid(name: str, value: torch.Tensor, sem: torch.Tensor | None) -> None:
        v = value.detach().double().cpu()
        s = sem.detach().double().cpu() if sem is not None else torch.full_like(v, float("nan"))
        for layer in range(v.shape[0]):
            for head in range(v.shape[1]):
                rows.append(
                    {
                        **base,
                        "layer": layer,
                        "head": head,
                        "measure": name,
                        "value": float(v[layer, head]),
                        "sem": float(s[layer, head]),
                    }
                )

    tokens = _icl_tokens(model, task, cfg) if {"icl", "icl_ablation"} & set(cfg.measures) else None
    if "head_scores" in cfg.measures:
        from .scores import head_scores

        seq_len, repeats = _protocol(task, cfg)
        scores = head_scores(model, cfg.n_examples, seq_len, repeats, cfg.seed, progress=False)
        for name in HEAD_MEASURES:
            sem = None
            if name in scores.per_example:
                n = (~scores.per_example[name].isnan()).sum(0).clamp(min=1)
                sem = scores.std(name) / n.double().sqrt()
            grid(name, scores.get(name), sem)
    if "icl" in cfg.measures:
        kwargs: dict[str, Any] = {"curve": False, "seed": cfg.seed}
        if tokens is None and cfg.n_contexts is not None:
            kwargs["n_contexts"] = cfg.n_contexts
        result = icl_score(model, tokens, **kwargs)
        rows.append(
            {**base, "layer": None, "head": None, "measure": "icl"}
            | {"value": float(result.score), "sem": float(result.sem)}
        )
    if "icl_ablation" in cfg.measures:
        from .ablation import ablation_scores

        extra: dict[str, Any] = {"compare": False, "seed": cfg.seed, "progress": False}
        if cfg.ablation_method is not None:
            extra["method"] = cfg.ablation_method
        if tokens is None and cfg.n_contexts is not None:
            extra["n_contexts"] = cfg.n_contexts
        abl = ablation_scores(model, tokens, **extra)
        assert abl.icl_change is not None
        grid("icl_ablation", abl.icl_change, abl.icl_change_sem)
    return rows


def _schema() -> Any:
    pa = _pyarrow()
    return pa.schema(
        [
            ("model", pa.string()),
            ("revision", pa.string()),
            ("step", pa.int64()),
            ("layer", pa.int32()),
            ("head", pa.int32()),
            ("measure", pa.string()),
            ("value", pa.float64()),
            ("sem", pa.float64()),
        ]
    )


def _write_atomic(rows: list[dict[str, Any]], path: Path) -> None:
    """Write ``rows`` as Parquet to a temporary name beside ``path``, then rename it (atomic on
    one file system): a reader sees the whole file or none."""
    import pyarrow.parquet as pq

    pa = _pyarrow()
    table = pa.Table.from_pylist(rows, schema=_schema())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def part_path(out: Path, task: SweepTask) -> Path:
    return out / "results" / f"part-{task.key}.parquet"


def _marker(out: Path, task: SweepTask) -> Path:
    return out / "running" / f"{task.key}.{socket.gethostname()}.{os.getpid()}"


def run_task(task: SweepTask, cfg: SweepConfig, out: str, attempt: int = 0) -> str:
    """Run one task where it is called (a worker): load, measure, write its part file, free the
    model. Returns the task's key. Module-level, so executors can pickle it by reference.
    ``attempt`` (0, 1, …) changes nothing here but makes each resubmission a new call, so an
    executor that names calls by their arguments (Dask's ``pure=True``) does not hand back the
    failed one."""
    from ..models import load_model

    folder = Path(out)
    marker = _marker(folder, task)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(task.label)
    try:
        model = load_model(task.model, revision=task.revision, device=cfg.device, progress=False)
        try:
            rows = measure_model(model, task, cfg)
        finally:
            del model
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        _write_atomic(rows, part_path(folder, task))
    finally:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()
    return task.key


def _as_spec(model: Any) -> str:
    if isinstance(model, (str, os.PathLike)) and not isinstance(model, bytes):
        text = os.fspath(model)
        if text.strip():
            return text
    raise InputError(
        "sweep(models=...) takes load_model specs — 'tiny', a hub name such as "
        "'EleutherAI/pythia-160m', or a local folder — because each task loads its checkpoint in "
        f"its own worker; got {type(model).__name__}: {model!r}"
    )


def _revisions(spec: str, checkpoints: Any) -> list[str | None]:
    """One model's revisions: ``None`` → ``[None]`` (as published); ``"all"`` → every checkpoint
    of its run (tiny; TransformerLens's schedule for Pythia / stanford-crfm); a list of revisions
    (strings) or steps (ints, through ``checkpoint_value``)."""
    from ..models import resolve_revision, tiny_checkpoint_steps

    tiny_steps = tiny_checkpoint_steps if _is_tiny(spec) else None
    if checkpoints is None:
        return [None]
    if isinstance(checkpoints, str) and checkpoints == "all":
        if _is_tiny(spec):
            values = tiny_checkpoint_steps()
        else:
            from ..models.revision import tl_checkpoint_labels

            try:
                values, _ = tl_checkpoint_labels(spec)
            except ValueError as exc:
                raise InputError(
                    f"sweep: checkpoints='all' needs a known schedule ('tiny', Pythia, "
                    f"stanford-crfm); for {spec!r} list the revisions"
                ) from exc
        return [resolve_revision(spec, checkpoint_value=v, tiny_steps=tiny_steps) for v in values]
    if isinstance(checkpoints, (str, int)) or not isinstance(checkpoints, Iterable):
        raise InputError(
            "sweep(checkpoints=...) takes None (each model as published), 'all', a list of "
            "revisions ('step3000') or steps (3000), or a dict model → such a list; got "
            f"{checkpoints!r}"
        )
    out: list[str | None] = []
    for item in checkpoints:
        if isinstance(item, bool) or (not isinstance(item, (str, int)) and item is not None):
            raise InputError(
                f"sweep: a checkpoint is a revision string or a step int, got {item!r}"
            )
        if item is None:
            out.append(None)
        elif isinstance(item, int):
            out.append(resolve_revision(spec, checkpoint_value=item, tiny_steps=tiny_steps))
        else:
            rev = resolve_revision(spec, revision=item)
            if _is_tiny(spec) and rev is not None:
                from ..models.revision import tiny_step

                rev = f"step{tiny_step(rev, tiny_checkpoint_steps())}"
            out.append(rev)
    if not out:
        raise InputError(f"sweep: no checkpoints given for {spec!r}")
    if len(set(out)) != len(out):
        raise InputError(f"sweep: a checkpoint of {spec!r} is listed twice: {out}")
    return out


def plan(models: Any, checkpoints: Any = None) -> list[SweepTask]:
    """The tasks of a sweep, models × their checkpoints, in order (see :func:`sweep`)."""
    specs = [models] if isinstance(models, (str, os.PathLike)) else models
    if not isinstance(specs, Iterable) or isinstance(specs, Mapping):
        raise InputError(f"sweep(models=...) takes a spec or a list of specs, got {models!r}")
    names = [_as_spec(m) for m in specs]
    if not names:
        raise InputError("sweep(models=[]): give at least one model")
    if len(set(names)) != len(names):
        raise InputError(f"sweep: a model is listed twice: {names}")
    if isinstance(checkpoints, Mapping):
        unknown = set(map(str, checkpoints)) - set(names)
        if unknown:
            raise InputError(f"sweep(checkpoints={{...}}): {sorted(unknown)} not among the models")
        per = {n: _revisions(n, checkpoints.get(n)) for n in names}
    else:
        per = {n: _revisions(n, checkpoints) for n in names}
    return [SweepTask(n, r, step_of(r)) for n in names for r in per[n]]


def _check_config(cfg: SweepConfig) -> SweepConfig:
    measures = (cfg.measures,) if isinstance(cfg.measures, str) else tuple(cfg.measures)
    bad = [m for m in measures if m not in MEASURES]
    if bad or not measures:
        raise InputError(
            f"sweep(measures=...): choose among {', '.join(map(repr, MEASURES))}; got {bad or '()'}"
        )
    if cfg.ablation_method is not None:
        if "icl_ablation" not in measures:
            raise InputError(
                "sweep(ablation_method=...) applies to the 'icl_ablation' measure: add it to measures"
            )
        from .ablation import ablation_scores

        if "method" not in inspect.signature(ablation_scores).parameters:
            raise InputError(
                "sweep(ablation_method=...): this version's ablation_scores has no method= "
                "option; leave ablation_method out (exact ablation)"
            )
    check_int("n_examples", cfg.n_examples, 1)
    for name in ("seq_len", "repeats", "n_contexts"):
        if getattr(cfg, name) is not None:
            check_int(name, getattr(cfg, name), 2 if name == "repeats" else 1)
    return SweepConfig(**{**asdict(cfg), "measures": measures, "seed": check_seed(cfg.seed)})


def _manifest(tasks: list[SweepTask], cfg: SweepConfig) -> dict[str, Any]:
    return {
        "version": _VERSION,
        "arguments": {
            "models": list(dict.fromkeys(t.model for t in tasks)),
            "checkpoints": {
                m: [t.revision for t in tasks if t.model == m]
                for m in dict.fromkeys(t.model for t in tasks)
            },
            **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()},
        },
        "tasks": [{"key": t.key, **asdict(t)} for t in tasks],
    }


def _claim(out: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest, or check that the one already in ``out`` records the same sweep."""
    path = out / MANIFEST
    if path.is_file():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(
                f"sweep(out={os.fspath(out)!r}): {path} is not a sweep manifest; give an empty "
                "folder"
            ) from exc
        if old.get("arguments") != manifest["arguments"]:
            differ = sorted(
                k
                for k in set(old.get("arguments", {})) | set(manifest["arguments"])
                if old.get("arguments", {}).get(k) != manifest["arguments"].get(k)
            )
            detail = "; ".join(
                f"{k}: recorded {old.get('arguments', {}).get(k)!r}, now "
                f"{manifest['arguments'].get(k)!r}"
                for k in differ
            )
            raise InputError(
                f"sweep(out={os.fspath(out)!r}) holds a sweep with other arguments ({detail}); "
                "its results would mix with these. Give another out= folder, re-run with the "
                "recorded arguments (Sweep.open(out).arguments), or delete the folder to start over"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    if any(p for p in out.iterdir() if not p.name.startswith(".")):
        raise InputError(
            f"sweep(out={os.fspath(out)!r}): the folder holds files but no {MANIFEST}; give an "
            "empty or new folder"
        )
    tmp = out / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, path)


@dataclass
class Sweep:
    """A sweep's folder: its arguments, its tasks and the rows of the finished ones.

    :meth:`table` — the tidy table (pandas ``DataFrame`` when pandas is installed, else a pyarrow
    ``Table``), one row per (model, revision, measure, layer, head); :meth:`grid` — one measure
    of one model as ``[n_checkpoints, n_layers, n_heads]`` for the views.
    """

    path: Path
    arguments: dict[str, Any]
    tasks: list[SweepTask]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Sweep:
        """The sweep recorded in ``path`` (its ``sweep.json``)."""
        folder = Path(path)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"Sweep.open({os.fspath(path)!r}): no {MANIFEST} there") from exc
        tasks = [SweepTask(t["model"], t["revision"], t["step"]) for t in manifest["tasks"]]
        return cls(folder, manifest["arguments"], tasks)

    def done(self) -> list[SweepTask]:
        """The tasks whose results are on disk."""
        return [t for t in self.tasks if part_path(self.path, t).is_file()]

    def missing(self) -> list[SweepTask]:
        """The tasks still to run."""
        return [t for t in self.tasks if not part_path(self.path, t).is_file()]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(t.model for t in self.tasks))

    @property
    def measures(self) -> list[str]:
        """The ``measure`` names in the table (``prefix_matching`` … ``icl``, ``icl_ablation``)."""
        asked = self.arguments.get("measures", [])
        names = list(HEAD_MEASURES) if "head_scores" in asked else []
        return names + [m for m in ("icl", "icl_ablation") if m in asked]

    def arrow(self) -> Any:
        """Every finished task's rows as one pyarrow ``Table`` (columns :data:`COLUMNS`), in task
        order."""
        import pyarrow.parquet as pq

        pa = _pyarrow()
        parts = [pq.read_table(part_path(self.path, t)) for t in self.done()]
        if not parts:
            return _schema().empty_table()
        return pa.concat_tables(parts)

    def table(self) -> Any:
        """The tidy table: a pandas ``DataFrame`` (``layer``/``head``/``step`` nullable ``Int64``)
        when pandas is installed, else the pyarrow ``Table``."""
        table = self.arrow()
        try:
            import pandas as pd
        except ImportError:
            return table
        return table.to_pandas(
            types_mapper={
                _pyarrow().int64(): pd.Int64Dtype(),
                _pyarrow().int32(): pd.Int64Dtype(),
            }.get
        )

    def grid(self, measure: str, model: str | None = None) -> dict[str, Any]:
        """One measure of one model (default the first) along its checkpoints, from the finished
        tasks: ``{"revisions": [...], "steps": [...], "value": [n_ckpt, n_layers, n_heads],
        "sem": same}`` (float64 tensors; ``[n_ckpt]`` for ``"icl"``), checkpoints in the sweep's
        order (by step when every revision names one)."""
        if measure not in self.measures:
            raise InputError(
                f"measure {measure!r} is not in this sweep: choose one of {self.measures}"
            )
        model = self.models[0] if model is None else str(model)
        if model not in self.models:
            raise InputError(f"model {model!r} is not in this sweep: choose one of {self.models}")
        tasks = [t for t in self.done() if t.model == model]
        if all(t.step is not None for t in tasks):
            tasks.sort(key=lambda t: t.step or 0)
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        values, sems = [], []
        for t in tasks:
            part = pq.read_table(part_path(self.path, t))
            part = part.filter(pc.equal(part["measure"], measure))
            v = torch.tensor(part["value"].to_pylist(), dtype=torch.float64)
            s = torch.tensor(part["sem"].to_pylist(), dtype=torch.float64)
            if measure != "icl":
                layers = torch.tensor(part["layer"].to_pylist())
                heads = torch.tensor(part["head"].to_pylist())
                shape = (int(layers.max()) + 1, int(heads.max()) + 1)
                gv = torch.full(shape, float("nan"), dtype=torch.float64)
                gs = gv.clone()
                gv[layers, heads] = v
                gs[layers, heads] = s
                v, s = gv, gs
            values.append(v.reshape(-1) if measure == "icl" else v)
            sems.append(s.reshape(-1) if measure == "icl" else s)
        if not tasks:
            raise InputError(f"no finished checkpoint of {model!r} yet: run the sweep first")
        return {
            "model": model,
            "revisions": [t.revision for t in tasks],
            "steps": [t.step for t in tasks],
            "value": torch.cat(values) if measure == "icl" else torch.stack(values),
            "sem": torch.cat(sems) if measure == "icl" else torch.stack(sems),
        }


def _dead_markers(out: Path) -> set[str]:
    """Keys of tasks whose ``running`` marker names a process of this host that is gone."""
    host = socket.gethostname()
    dead: set[str] = set()
    folder = out / "running"
    if not folder.is_dir():
        return dead
    for p in folder.iterdir():
        key, _, rest = p.name.partition(".")
        mhost, _, pid = rest.rpartition(".")
        if mhost != host or not pid.isdigit():
            continue
        if not _alive(int(pid)):
            dead.add(key)
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return dead


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie — killed, not yet reaped by its parent, as a pool
    worker forked by a fork server can be for a while — counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - alive, another user's
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _renewed(executor: Executor) -> Executor | None:
    """A fresh pool like a broken ``ProcessPoolExecutor`` (same size and start method)."""
    from concurrent.futures import ProcessPoolExecutor

    if isinstance(executor, ProcessPoolExecutor):
        return ProcessPoolExecutor(
            max_workers=getattr(executor, "_max_workers", None),
            mp_context=getattr(executor, "_mp_context", None),
        )
    return None


def sweep(
    models: Any,
    checkpoints: Any = None,
    *,
    out: str | os.PathLike[str],
    measures: Sequence[str] = ("head_scores", "icl"),
    n_examples: int = 10,
    seq_len: int | None = None,
    repeats: int | None = None,
    seed: int = 0,
    n_contexts: int | None = None,
    ablation_method: str | None = None,
    device: str | None = None,
    executor: Executor | None = None,
    retries: int = 2,
    progress: bool | None = None,
) -> Sweep:
    """Measure every checkpoint of every model; results kept in ``out`` (see the module docstring).

    Args:
        models: a :func:`load_model` spec or a list of them (``"tiny"``, a hub name, a folder).
        checkpoints: ``None`` (each model as published), ``"all"`` (every checkpoint of the run:
            the tiny run's 23; Pythia's 154 through TransformerLens's schedule), a list of
            revisions (``"step3000"``) or steps (``3000``), or a dict model → such a list.
        out: the results folder (created; re-running into it resumes the same sweep).
        measures: among ``"head_scores"``, ``"icl"``, ``"icl_ablation"`` (per-head ΔICL, one
            pass per layer: the costly one).
        n_examples, seq_len, repeats, seed: the head-score protocol (:func:`head_scores`;
            defaults per model, see the module docstring). ``n_contexts``: ICL contexts.
        ablation_method: handed to :func:`ablation_scores` as ``method=``.
        device: where each task puts its model (``None``: TransformerLens's default).
        executor: ``None`` (run here, one task after the other) or any
            ``concurrent.futures.Executor`` (``ProcessPoolExecutor``, Dask's
            ``client.get_executor()``); each task is one ``submit``.
        retries: how many times a task whose worker died is run again before :class:`SweepError`.
        progress: one ``tqdm.auto`` bar over the tasks (default: more than one task to run).

    Returns:
        The :class:`Sweep` (``.table()``: the tidy table of every finished task).
    """
    _pyarrow()
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InputError(f"sweep(retries=...) must be an int >= 0, got {retries!r}")
    if executor is not None and not isinstance(executor, Executor):
        raise InputError(
            "sweep(executor=...) takes a concurrent.futures.Executor (ProcessPoolExecutor, "
            f"dask's client.get_executor()) or None; got {type(executor).__name__}"
        )
    if isinstance(out, bool) or not isinstance(out, (str, os.PathLike)) or not os.fspath(out):
        raise InputError(f"sweep(out=...) takes a folder path, got {out!r}")
    cfg = _check_config(
        SweepConfig(
            tuple(measures) if not isinstance(measures, str) else (measures,),
            n_examples,
            seq_len,
            repeats,
            seed,
            n_contexts,
            ablation_method,
            None if device is None else str(device),
        )
    )
    tasks = plan(models, checkpoints)
    folder = Path(out).expanduser().resolve()
    _claim(folder, _manifest(tasks, cfg))
    result = Sweep.open(folder)
    _dead_markers(folder)  # markers a killed run left behind
    todo = result.missing()
    show = len(todo) > 1 if progress is None else bool(progress)
    bar = tqdm(
        total=len(tasks),
        initial=len(tasks) - len(todo),
        desc="sweep",
        disable=not show,
        unit="ckpt",
    )
    try:
        if executor is None:
            for task in todo:
                bar.set_postfix_str(task.label, refresh=False)
                _run_here(task, cfg, folder)
                bar.update()
        else:
            _run_on(executor, todo, cfg, folder, retries, bar)
    finally:
        bar.close()
    return result


def _run_here(task: SweepTask, cfg: SweepConfig, folder: Path) -> None:
    try:
        run_task(task, cfg, str(folder))
    except InductionWidgetsError:
        raise
    except Exception as exc:
        raise SweepError(
            f"sweep task {task.label} failed: {type(exc).__name__}: {exc}; fix it and re-run the "
            "same sweep (finished tasks are kept)"
        ) from exc


def _run_on(
    executor: Executor,
    todo: list[SweepTask],
    cfg: SweepConfig,
    folder: Path,
    retries: int,
    bar: Any,
) -> None:
    """Submit every task; resubmit those whose worker died (bounded), on a fresh pool if the
    executor broke."""
    deaths = {t.key: 0 for t in todo}
    own: list[Executor] = []  # pools made here to replace a broken one
    current = executor
    pending: dict[Future[str], SweepTask] = {
        current.submit(run_task, t, cfg, str(folder), 0): t for t in todo
    }
    try:
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            again: list[SweepTask] = []
            broken = False
            for fut in finished:
                task = pending.pop(fut)
                exc = fut.exception()
                if exc is None:
                    bar.set_postfix_str(task.label, refresh=False)
                    bar.update()
                    continue
                if type(exc).__name__ not in _DEATHS:
                    for other in pending:
                        other.cancel()
                    if isinstance(exc, InductionWidgetsError):
                        raise exc
                    raise SweepError(
                        f"sweep task {task.label} failed: {type(exc).__name__}: {exc}; fix it and "
                        "re-run the same sweep (finished tasks are kept)"
                    ) from exc
                broken = broken or type(exc).__name__ == "BrokenProcessPool"
                again.append(task)
            if not again:
                continue
            if broken:
                # every queued future of a broken pool fails; wait for the rest to fail too
                rest, _ = wait(list(pending))
                for fut in rest:
                    task = pending.pop(fut)
                    if fut.exception() is None:
                        bar.update()
                    else:
                        again.append(task)
                dead = _dead_markers(folder)
                blamed = [t for t in again if t.key in dead] or again[:1]
            else:
                blamed = again
            for task in blamed:
                deaths[task.key] += 1
                if deaths[task.key] > retries:
                    raise SweepError(
                        f"sweep task {task.label}: its worker died {deaths[task.key]} times "
                        f"(retries={retries}); out of memory? Give the workers more memory, or "
                        "raise retries=; re-running the sweep keeps every finished task"
                    )
            if broken:
                fresh = _renewed(current)
                if fresh is None:
                    raise SweepError(
                        f"sweep: the executor {type(current).__name__} broke when a worker died and "
                        "cannot take new work; pass a fresh one and re-run (finished tasks are kept)"
                    )
                own.append(fresh)
                current = fresh
            # the blamed task(s) first, then the others in the sweep's order (a task that kills
            # its worker meets its bound at once)
            order = {t.key: i for i, t in enumerate(todo)}
            blamed_keys = {t.key for t in blamed}
            again.sort(key=lambda t: (t.key not in blamed_keys, order[t.key]))
            for task in again:
                if part_path(folder, task).is_file():  # finished before the worker died
                    bar.update()
                    continue
                n = sum(deaths.values()) + 1
                pending[current.submit(run_task, task, cfg, str(folder), n)] = task
    finally:
        for fut in pending:
            fut.cancel()
        for pool in own:
            pool.shutdown(wait=True, cancel_futures=True)
