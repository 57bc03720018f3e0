"""One home for the checks of what a user passes in.

Every room (compute, payload, views, widgets, export) checks its arguments with these functions, so
a mistake reads the same wherever it is made and each rule is written once. This module sits below
compute: it imports only :mod:`induction_widgets.errors`, numpy and torch.

=========================  ================================================================
check                      accepts
=========================  ================================================================
:func:`check_int`          a plain or numpy int ``>= minimum`` (counts, sizes, windows)
:func:`check_seed`         a plain or numpy int of any sign
:func:`check_choice`       one of a few strings
:func:`check_head`         ``(layer, head)`` inside ``n_layers`` × ``n_heads`` (as ints)
:func:`check_head_pair`    ``[layer, head]`` as one value (a selected head), as a list
:func:`check_layers`       ``None``, one layer or a list of layers, as sorted distinct ints
:func:`check_tensor`       a float tensor of a given shape (e.g. ``[layer, head]`` grids)
:func:`check_weights`      a model whose parameters are all finite
:func:`check_finite`       a tensor without NaN or infinity
=========================  ================================================================

Integers: ``int``, numpy integers and 0-d integer tensors (``divmod(scores.argmax(), n_heads)``)
are accepted; ``bool``, floats (even ``1.0``) and strings are not — a float would be truncated
silently and ``True`` would read as ``1``.
"""

from __future__ import annotations

import contextlib
import operator
import weakref
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from .errors import HeadIndexError, InputError, ModelWeightsError

__all__ = [
    "HeadGrid",
    "as_index",
    "check_choice",
    "check_finite",
    "check_head",
    "check_head_pair",
    "check_int",
    "check_layers",
    "check_seed",
    "check_tensor",
    "check_weights",
    "is_int",
    "weights_stamp",
]


class HeadGrid(Protocol):
    """Anything with the model's head grid: a ``ModelInfo``, a ``HeadScores``, a ``Partners``."""

    @property
    def n_layers(self) -> int: ...

    @property
    def n_heads(self) -> int: ...


def as_index(value: Any) -> Any:
    """A 0-d integer tensor as an ``int``; anything else unchanged (the checks judge it)."""
    if (
        isinstance(value, torch.Tensor)
        and value.ndim == 0
        and not (
            value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool
        )
    ):
        return int(value)
    return value


def is_int(value: Any) -> bool:
    """Whether ``value`` is a plain or numpy integer (not a ``bool``)."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as a plain int >= ``minimum`` (numpy integers accepted; bools and floats are not)."""
    if not is_int(value):
        raise InputError(
            f"{name} must be an int >= {minimum}, got {type(value).__name__} {value!r}"
        )
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_seed(seed: Any) -> int:
    """``seed`` as a plain int (any sign; numpy integers accepted): a float or a string would be
    silently truncated or hashed, so two different seeds could give the same sample."""
    if not is_int(seed):
        raise InputError(
            f"seed must be an int, got {type(seed).__name__} {seed!r}: pass e.g. seed=0"
        )
    return int(seed)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else an :class:`InputError` naming them
    (``"mode must be 'a' or 'b'"``; with three or more, ``"must be one of 'a', 'b', 'c'"``)."""
    if not isinstance(value, str) or value not in choices:
        names = [repr(c) for c in choices]
        options = " or ".join(names) if len(names) <= 2 else "one of " + ", ".join(names)
        raise InputError(f"{name} must be {options}, got {value!r}")
    return value


def check_head(grid: HeadGrid, layer: Any, head: Any) -> tuple[int, int]:
    """Validate a ``(layer, head)`` pair against ``grid`` and return it as plain ints.

    Raises :class:`HeadIndexError` naming the valid range ``0..n_layers-1`` / ``0..n_heads-1``.
    """
    layer, head = as_index(layer), as_index(head)
    for name, value, limit in (("layer", layer, grid.n_layers), ("head", head, grid.n_heads)):
        if not is_int(value):
            raise HeadIndexError(
                f"{name} must be an int in 0..{limit - 1}, got {type(value).__name__} {value!r}"
            )
        if not 0 <= int(value) < limit:
            raise HeadIndexError(
                f"{name} {int(value)} is out of range: this model has {limit} "
                f"{name}s, so use 0..{limit - 1}"
            )
    return int(layer), int(head)


def check_head_pair(
    value: Any,
    grid: HeadGrid,
    *,
    name: str = "selected_head",
    what: str = "",
    n_layers: int | None = None,
) -> list[int]:
    """``[layer, head]`` given as one value (a tuple, list or array of two ints) → ``[int, int]``.

    ``layer`` must lie in ``0..n_layers-1`` (``grid.n_layers`` unless ``n_layers`` narrows it, e.g. to
    the heads before a given layer, ``what="an earlier head "``) and ``head`` in
    ``0..grid.n_heads-1``. Anything else raises one :class:`InputError` naming both ranges.
    """
    layers = grid.n_layers if n_layers is None else n_layers
    try:
        pair = [as_index(v) for v in value]
    except TypeError:
        pair = [value]
    if (
        len(pair) != 2
        or not all(is_int(v) for v in pair)
        or not 0 <= pair[0] < layers
        or not 0 <= pair[1] < grid.n_heads
    ):
        raise InputError(
            f"{name} must be {what}[layer, head] with layer in 0..{layers - 1} and head in "
            f"0..{grid.n_heads - 1}, got {value!r}"
        )
    return [int(v) for v in pair]


def check_tensor(name: str, value: Any, shape: tuple[int, ...], hint: str) -> torch.Tensor:
    """``value`` as a float tensor of exactly ``shape`` (a numpy array is accepted), else an
    :class:`InputError` naming the shape expected and ``hint`` (where a right one comes from)."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if (
        not isinstance(value, torch.Tensor)
        or not value.dtype.is_floating_point
        or tuple(value.shape) != tuple(shape)
    ):
        got = (
            f"a {tuple(value.shape)} {value.dtype} tensor"
            if isinstance(value, torch.Tensor)
            else type(value).__name__
        )
        raise InputError(
            f"{name} must be a float tensor of shape {tuple(shape)}, got {got}: {hint}"
        )
    return value


def check_layers(grid: HeadGrid, layers: Any) -> list[int] | None:
    """``None`` (all layers), a layer or a list of layers → sorted distinct checked ints.

    Raises :class:`HeadIndexError` for a layer outside ``0..n_layers-1``, :class:`InputError` for
    an empty list.
    """
    if layers is None:
        return None
    items = [layers] if not isinstance(layers, (list, tuple, range)) else list(layers)
    out = []
    for item in items:
        try:
            value = -1 if isinstance(item, bool) else operator.index(item)
        except TypeError:
            value = -1
        if not 0 <= value < grid.n_layers:
            raise HeadIndexError(
                f"layers must be layer numbers in 0..{grid.n_layers - 1} (an int or a list), got "
                f"{layers!r}: e.g. layers=[{grid.n_layers - 1}]"
            )
        out.append(value)
    if not out:
        raise InputError("layers is empty: give at least one layer, or None for all layers")
    return sorted(set(out))


_CHECKED: weakref.WeakKeyDictionary[Any, tuple[tuple[int, int], ...]] = weakref.WeakKeyDictionary()


def weights_stamp(model: Any) -> tuple[tuple[int, int], ...]:
    """Changes whenever a parameter is edited in place (its ``_version``) or replaced (its ``id``)."""
    return tuple((id(p), p._version) for p in model.parameters())


def check_weights(model: Any) -> None:
    """Raise :class:`ModelWeightsError` naming the first parameter that holds NaN or infinity.

    Checked before every forward pass: some attention implementations (TransformerLens 3's among
    them) silently zero NaN attention, which would hide a broken checkpoint.
    """
    params = list(model.named_parameters())
    # Skip the scan while no parameter changed since the last clean one (in-place edits bump
    # a tensor's _version; replacing a tensor changes its id).
    stamp = weights_stamp(model)
    try:
        if _CHECKED.get(model) == stamp:
            return
    except TypeError:  # pragma: no cover - a model that cannot be weakly referenced
        pass
    with torch.no_grad():
        for name, param in params:
            if not torch.isfinite(param).all():
                raise ModelWeightsError(
                    f"the model's parameter {name!r} holds NaN or infinity: the checkpoint is "
                    "broken; reload it (check each parameter with torch.isfinite(p).all())"
                )
    with contextlib.suppress(TypeError):
        _CHECKED[model] = stamp


def check_finite(x: torch.Tensor, what: str, *, bounded: bool = False) -> None:
    """Raise :class:`ModelWeightsError` if ``x`` holds NaN or infinity.

    ``bounded=True`` (values known to be small, e.g. attention probabilities) checks the sum
    instead: NaN and ±inf propagate through it and a finite sum cannot overflow, at one reduction
    instead of a boolean tensor the size of ``x``.
    """
    bad = not torch.isfinite(x.sum()) if bounded else not torch.isfinite(x).all()
    if bad:
        raise ModelWeightsError(
            f"{what} holds NaN or infinity, so the model's weights (or its input scale) are "
            "broken: check the model with torch.isfinite(p).all() for each parameter and reload it"
        )
