"""Output control and progress steps shared by the loaders."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import logging
import os
import warnings
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def quiet(gguf: bool = False) -> Iterator[None]:
    """Silence Python warnings, ``logging`` (up to ERROR), transformers' progress bars,
    (with ``gguf=True``) the GGUF de-quantisation bar, and stray prints to stdout/stderr;
    everything is restored on exit.

    Progress bars that must stay visible are created *before* entering (tqdm binds its
    output stream at construction; notebook bars are widgets, unaffected by the redirect).
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars_enabled = hf_logging.is_progress_bar_enabled()
    previous_disable = logging.root.manager.disable
    gguf_utils: Any = None
    if gguf and importlib.util.find_spec("gguf") is not None:
        # transformers' GGUF loader uses a bare tqdm.auto bar that the switch above misses
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    gguf_tqdm = getattr(gguf_utils, "tqdm", None)
    try:
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        logging.disable(logging.ERROR)
        if gguf_tqdm is not None:
            gguf_utils.tqdm = _no_bar
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        if gguf_tqdm is not None:
            gguf_utils.tqdm = gguf_tqdm
        logging.disable(previous_disable)
        hf_logging.set_verbosity(verbosity)
        if bars_enabled:
            hf_logging.enable_progress_bar()


def _no_bar(iterable: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Stand-in for ``tqdm(iterable, ...)`` that just returns the iterable."""
    return iterable


@contextlib.contextmanager
def cached_gguf_name_maps() -> Iterator[None]:
    """Memoise ``gguf.get_tensor_name_map`` during a GGUF load.

    transformers rebuilds the same ``TensorNameMap`` once per module of the model (~400
    times for SmolLM2, ~10 s); the map is a pure function of (architecture, n_blocks).
    """
    try:
        import gguf
    except ImportError:
        yield
        return
    original = gguf.get_tensor_name_map
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original)
    try:
        yield
    finally:
        gguf.get_tensor_name_map = original


class Steps:
    """A tqdm.auto bar counting named loading steps (disabled when ``progress=False``)."""

    def __init__(self, desc: str, total: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self._desc = desc
        self._bar = tqdm(
            total=total,
            desc=desc,
            disable=not enabled,
            leave=False,
            bar_format="{desc} [step {n_fmt}/{total_fmt}, {elapsed}]",
        )

    def start(self, what: str) -> None:
        self._bar.set_description_str(f"{self._desc}: {what}", refresh=True)

    def done(self) -> None:
        self._bar.update(1)

    def add(self, n: int) -> None:
        self._bar.total = (self._bar.total or 0) + n
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def shorten(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
