"""One copy of a text's activations per (model, token ids), within a process-wide memory budget.

Views do not own their :class:`~induction_widgets.compute.TextActivations`; they hold an
:class:`ActivationHandle`, a share of one cache entry keyed on ``(model identity, model weights
stamp, token ids, storage dtype)``. Every view of the same text on the same model therefore shares
one object, however many times its cell is re-run.

* **Held only while someone holds it.** An entry keeps its activations strongly while at least one
  handle (a live view) is open; when the last handle is released (``view.close()``, the view
  garbage-collected) only a weak reference stays, so activations the user still holds
  (``acts = view.activations``) are found again but nothing is kept for nobody.
* **A budget across all views.** :func:`set_memory_budget` (default: a quarter of the machine's
  memory, at least 512 MB). When the strongly held entries' ``nbytes`` exceed it, the least
  recently used entries other than the one being read are *evicted*: their strong reference is
  dropped. A handle whose entry was evicted reads the text again (one forward pass) on its next
  request, so a view never shows numbers of another text or model. An entry whose model was
  garbage-collected cannot be read again and is never evicted; a single entry larger than the
  budget stays (a view must work).

Sizes are ``TextActivations.nbytes`` (per-layer queries/keys/values, ``W_O``, norm scale).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

from ..checks import weights_stamp
from ..errors import InputError
from ._model import to_tokens
from .attribution import TextActivations

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")
_MIN_DEFAULT = 512 * 10**6


def parse_size(value: Any, name: str = "memory budget") -> int:
    """Bytes from ``"1.5GB"``, ``"800MB"``, ``"2GiB"``, ``"4096"`` or a positive ``int``."""
    fix = f'give the {name} as a size such as "1.5GB", "800MB", "2GiB" or a number of bytes'
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{fix}; got {type(value).__name__} {value!r}")
    if isinstance(value, str):
        match = _SIZE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise InputError(f"{fix}; got {value!r} (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
        size = float(match.group(1)) * _UNITS[str(unit)]
    else:
        size = float(value)
    if not size >= 1 or size == float("inf"):
        raise InputError(f"{fix} (at least 1 byte, finite); got {value!r}")
    return int(size)


def default_budget() -> int:
    """A quarter of the machine's physical memory, at least 512 MB (2 GB where unknown)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux/macOS
        return 2 * 10**9
    return max(int(total) // 4, _MIN_DEFAULT)


class _Entry:
    """One (model, tokens, dtype): the activations (strong while held and resident, else weak)."""

    def __init__(
        self, key: tuple[Any, ...], model: Any, tokens: torch.Tensor, kwargs: dict
    ) -> None:
        self.key = key
        self.model_ref: Callable[[], Any] = (
            weakref.ref(model) if model is not None else (lambda: None)
        )
        self.tokens = tokens
        self.kwargs = kwargs  # how to read it again: storage dtype
        self.acts: TextActivations | None = None
        self.weak: weakref.ReferenceType[TextActivations] | None = None
        self.holders = 0
        self.nbytes = 0
        self.reads = 0  # forward passes made for this entry (1 + recomputations after eviction)

    def current(self) -> TextActivations | None:
        """The activations if some reference (ours or the user's) keeps them alive."""
        if self.acts is not None:
            return self.acts
        return self.weak() if self.weak is not None else None

    def hold(self, acts: TextActivations) -> None:
        self.acts = acts
        self.weak = weakref.ref(acts)
        self.nbytes = acts.nbytes


class ActivationHandle:
    """A holder's share of one cached :class:`TextActivations` (what a view keeps).

    :meth:`get` returns the activations, reading the text again if they were evicted;
    :meth:`release` gives the share back (idempotent; also done when the handle is collected).
    """

    def __init__(self, cache: ActivationCache, entry: _Entry) -> None:
        self._cache = cache
        self._entry = entry
        self.released = False
        self._finalizer = weakref.finalize(self, ActivationCache._drop, cache, entry)

    @property
    def resident(self) -> bool:
        """Whether :meth:`get` answers without a forward pass."""
        return self._entry.current() is not None

    @property
    def reads(self) -> int:
        """Forward passes made for this text so far (1, plus one per recomputation)."""
        return self._entry.reads

    def get(self, progress: bool | None = False) -> TextActivations:
        """The activations; one forward pass first if they were evicted under the budget."""
        return self._cache._get(self._entry, held=not self.released, progress=progress)

    def release(self) -> None:
        """Give this share back; the last share lets the activations go."""
        if not self.released:
            self.released = True
            self._finalizer()


class ActivationCache:
    """The process-wide registry of shared activations (see the module docstring)."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = default_budget() if budget is None else budget
        self._entries: OrderedDict[int, _Entry] = OrderedDict()  # LRU first
        self._index: dict[tuple[Any, ...], int] = {}
        self._serial = 0
        self._lock = threading.RLock()
        self.enabled = True

    # -- keys -------------------------------------------------------------------------------------

    @staticmethod
    def _key(model: Any, tokens: torch.Tensor, dtype: Any) -> tuple[Any, ...]:
        return (id(model), weights_stamp(model), str(dtype), tuple(tokens.tolist()))

    def _lookup(self, key: tuple[Any, ...], model: Any) -> _Entry | None:
        serial = self._index.get(key)
        if serial is None:
            return None
        entry = self._entries.get(serial)
        if entry is None or entry.model_ref() is not model:  # a new model at a recycled id
            self._index.pop(key, None)
            return None
        return entry

    def _new(self, key: tuple[Any, ...], model: Any, tokens: torch.Tensor, kw: dict) -> _Entry:
        entry = _Entry(key, model, tokens, kw)
        self._serial += 1
        self._entries[self._serial] = entry
        self._index[key] = self._serial
        return entry

    # -- acquiring --------------------------------------------------------------------------------

    def acquire(
        self,
        model: Any,
        text_or_tokens: Any,
        *,
        truncate: bool = False,
        progress: bool | None = None,
        dtype: Any = "model",
    ) -> ActivationHandle:
        """A share of the activations of ``text_or_tokens`` on ``model`` (read once, then shared)."""
        tokens = to_tokens(model, text_or_tokens, truncate=truncate)
        if tokens.shape[0] != 1:  # TextActivations names the fix
            TextActivations(model, tokens, truncate=truncate, progress=False)
        tokens = tokens[0].cpu()
        with self._lock:
            key = self._key(model, tokens, dtype)
            if not self.enabled:  # found by no later lookup
                key = ("private", self._serial + 1)
            entry = self._lookup(key, model)
            if entry is None:
                entry = self._new(key, model, tokens, {"dtype": dtype})
            entry.holders += 1
            handle = ActivationHandle(self, entry)
        try:
            self._get(entry, held=True, progress=progress)
        except BaseException:
            handle.release()
            raise
        return handle

    def adopt(self, acts: TextActivations) -> ActivationHandle:
        """A share of activations the caller already holds (``activations=``): later views of the
        same text and model find them here instead of reading the text again."""
        model = acts._model_ref()
        kw = {"dtype": acts.storage_dtype_option}
        with self._lock:
            entry = None
            every_layer = acts.layers == list(range(acts.info.n_layers))
            if model is not None and self.enabled and every_layer:  # else a private entry
                key = self._key(model, acts.tokens, acts.storage_dtype_option)
                entry = self._lookup(key, model)
                if entry is None:
                    entry = self._new(key, model, acts.tokens, kw)
                elif entry.current() not in (None, acts):
                    entry = None  # another object of the same text: keep the caller's own
            if entry is None:  # a private entry, found by no lookup
                entry = _Entry(("private", id(acts)), model, acts.tokens, kw)
                self._serial += 1
                self._entries[self._serial] = entry
            entry.hold(acts)
            entry.holders += 1
            self._touch(entry)
            self._evict(keep=entry)
            return ActivationHandle(self, entry)

    def _get(self, entry: _Entry, *, held: bool, progress: bool | None) -> TextActivations:
        with self._lock:
            acts = entry.current()
            if acts is not None:
                if held and entry.acts is None:  # found again through a reference the user kept
                    entry.hold(acts)
                    self._evict(keep=entry)
                self._touch(entry)
                return acts
            model = entry.model_ref()
            if model is None:
                raise InputError(
                    "the model behind this view was garbage-collected and its activations were "
                    "evicted: keep a reference to the model (model = iw.load_model(...)) and open "
                    "the view again"
                )
            # Read while holding the lock: two views asking for the same evicted text make one pass.
            acts = TextActivations(model, entry.tokens, progress=progress, **entry.kwargs)
            entry.reads += 1
            if held:
                entry.hold(acts)
                self._touch(entry)
                self._evict(keep=entry)
            return acts

    def _touch(self, entry: _Entry) -> None:
        for serial, e in self._entries.items():
            if e is entry:
                self._entries.move_to_end(serial)
                return

    # -- releasing and evicting -------------------------------------------------------------------

    @staticmethod
    def _drop(cache: ActivationCache, entry: _Entry) -> None:
        with cache._lock:
            entry.holders -= 1
            if entry.holders <= 0:
                entry.holders = 0
                entry.acts = None
            cache._prune()

    def _prune(self) -> None:
        """Forget entries nobody holds and nothing keeps alive."""
        for serial, entry in list(self._entries.items()):
            if entry.holders == 0 and entry.current() is None:
                del self._entries[serial]
                if self._index.get(entry.key) == serial:
                    del self._index[entry.key]

    def _evict(self, keep: _Entry | None = None) -> None:
        """Drop the least recently used strong references until within the budget."""
        held = self.held_bytes()
        for entry in list(self._entries.values()):
            if held <= self.budget:
                break
            if entry is keep or entry.acts is None or entry.model_ref() is None:
                continue
            entry.acts = None
            held -= entry.nbytes
        self._prune()

    def held_bytes(self) -> int:
        """Bytes of the activations held strongly (for live views) right now."""
        return sum(e.nbytes for e in self._entries.values() if e.acts is not None)

    def info(self) -> dict[str, Any]:
        """``budget``, ``held`` (bytes), ``entries`` (known), ``resident`` (held strongly),
        ``holders`` (open shares), ``reads`` (forward passes made for entries still known)."""
        with self._lock:
            entries = list(self._entries.values())
            return {
                "budget": self.budget,
                "held": self.held_bytes(),
                "entries": len(entries),
                "resident": sum(e.acts is not None for e in entries),
                "holders": sum(e.holders for e in entries),
                "reads": sum(e.reads for e in entries),
            }

    def set_budget(self, budget: int) -> None:
        with self._lock:
            self.budget = budget
            self._evict()

    def clear(self) -> None:
        """Evict everything that can be read again (views re-read on their next request)."""
        with self._lock:
            for entry in self._entries.values():
                if entry.model_ref() is not None:
                    entry.acts = None
            self._prune()


#: The one cache of this process.
CACHE = ActivationCache()


def set_memory_budget(budget: Any = None) -> int:
    """Set the memory the live views' activations may hold together; returns it in bytes.

    ``budget``: ``"1.5GB"``, ``"800MB"``, ``"2GiB"``, a number of bytes, or ``None`` for the
    default (a quarter of the machine's memory, at least 512 MB). Lowering it evicts the least
    recently used activations at once; their views read the text again on their next head change.
    """
    size = default_budget() if budget is None else parse_size(budget)
    CACHE.set_budget(size)
    return size


def memory_info() -> dict[str, Any]:
    """What the shared activations hold now: see :meth:`ActivationCache.info`."""
    return CACHE.info()


@contextlib.contextmanager
def cache_disabled() -> Any:
    """Within the block every view reads its own activations (no sharing): main's behaviour
    before the cache, for benchmarks."""
    CACHE.enabled = False
    try:
        yield
    finally:
        CACHE.enabled = True


__all__ = [
    "CACHE",
    "ActivationCache",
    "ActivationHandle",
    "cache_disabled",
    "default_budget",
    "memory_info",
    "parse_size",
    "set_memory_budget",
]
