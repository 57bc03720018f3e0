"""The hardening matrix's machinery, shared by the rooms' bad-input tests.

Every public entry point, given each bad input, raises ONE clear error of ours. The rows live beside
the room they exercise (``tests/compute/test_compute_hardening.py``, ``tests/models/…``,
``tests/widgets/…``, ``tests/export/…``); this module holds what they share: the objects the rows act
on (:class:`Ctx`, the ``ctx`` fixture), the cross products (every text function × every bad text,
every head function × every bad ``(layer, head)``), and the assertion each row makes
(:func:`assert_raises_ours`):

* the exact exception type (one of ``errors.py``; each also subclasses the builtin a Python
  user would catch: ``ValueError``, ``TypeError`` or ``IndexError``),
* the message, including the words that name the fix,
* that the innermost traceback frame is a file of this package, not torch / TransformerLens /
  traitlets (a ``__cause__`` from deeper down is allowed; the raised error itself is ours).

Decisions recorded in the rows (asserted, not just stated):

* whitespace-only text is real text: it is tokenised and answered;
* ``truncate=True`` keeps the first ``n_ctx`` tokens wherever text or tokens are read;
* layer / head: ``int``, numpy integers and 0-d integer tensors are accepted; ``bool``, floats (even
  ``1.0``), strings, ``None`` and float tensors are not. Counts (``n_examples``, ``n_lines``, ...)
  accept numpy integers too; ``seed`` must be an int (a float or str would silently collide);
* giving only one of ``layer`` / ``head`` to a view is an error (it used to be silently replaced).

:func:`all_rows` reads every room's matrix, for the coverage test over ``induction_widgets.__all__``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

import induction_widgets as iw

SRC = Path(iw.__file__).resolve().parent
TESTS = Path(__file__).resolve().parent
TEXT = "the cat sat on the mat. the cat sat on the mat."
LONG = "ab" * 200  # 400 characters + BOS = 401 tokens for the tiny (character-level) model
N_CTX, D_VOCAB = 256, 99  # the tiny model
#: The rooms' matrices: every module that defines ROWS with the rows of one room.
MATRIX_MODULES = "*/test_*_hardening.py"


# --- the objects the rows act on ------------------------------------------------------------------


@dataclass
class Ctx:
    tiny: Any
    bare: Any  # tests/handmade.py: 1 layer, 1 head, d_vocab 12, n_ctx 16, no tokenizer
    nan_model: Any  # the same with one NaN key weight
    inf_model: Any  # ... and one infinite one
    scores: iw.HeadScores
    view: iw.TokenView
    tmp: Path

    @contextlib.contextmanager
    def poisoned_tiny(self) -> Iterator[Any]:
        """The tiny model with one NaN key weight, restored afterwards."""
        _, param = next(
            (n, p)
            for n, p in self.tiny.named_parameters()
            if p.ndim >= 2 and ("W_K" in n or ".k." in n)
        )
        saved = param.detach().clone()
        with torch.no_grad():
            param.view(-1)[0] = float("nan")
        try:
            yield self.tiny
        finally:
            with torch.no_grad():
                param.copy_(saved)


def make_ctx(tiny: Any, tmp_path_factory: Any) -> Ctx:
    """The objects the rows act on; each room's module makes it its ``ctx`` fixture with
    ``ctx = pytest.fixture(scope="module")(make_ctx)``."""
    from handmade import build

    scores = iw.head_scores(tiny, n_examples=2, progress=False)
    return Ctx(
        tiny=tiny,
        bare=build(),
        nan_model=build(poison=float("nan")),
        inf_model=build(poison=float("inf")),
        scores=scores,
        view=iw.TokenView(tiny, TEXT, 1, 0, scores=scores),
        tmp=tmp_path_factory.mktemp("hardening"),
    )


def with_poisoned_tiny(fn: Callable[[Any], Any]) -> Callable[[Ctx], Any]:
    def call(c: Ctx) -> Any:
        with c.poisoned_tiny() as model:
            return fn(model)

    return call


# --- the matrix -------------------------------------------------------------------------------------


class Rows(list[Any]):
    """One room's rows: ``pytest.param(call, exception type, message regex, id=...)``."""

    def add(self, id_: str, call: Callable[[Ctx], Any], exc: type[Exception], message: str) -> None:
        self.append(pytest.param(call, exc, message, id=id_))


NOT_A_MODEL = (
    r"expected a TransformerLens model \(.*\), got {}\. Load one with induction_widgets\.load_model"
)
BROKEN = r"parameter '.*' holds NaN or infinity: the checkpoint is broken; reload it"

# (id, model attribute of ctx or a literal model, input, type, message)
TEXT_CASES: list[tuple[str, Any, Any, type[Exception], str]] = [
    ("empty-text", "tiny", "", iw.InputError, r"the text is empty: give at least one character"),
    (
        "longer-than-n_ctx",
        "tiny",
        LONG,
        iw.InputError,
        r"401 tokens long but the model's context is n_ctx=256 tokens: pass truncate=True",
    ),
    (
        "negative-id",
        "tiny",
        [1, -1, 2],
        iw.InputError,
        r"token id -1 is outside the vocabulary: ids must be in 0\.\.98",
    ),
    (
        "id-equal-d_vocab",
        "tiny",
        [1, D_VOCAB, 2],
        iw.InputError,
        r"token id 99 is outside the vocabulary: ids must be in 0\.\.98",
    ),
    (
        "float-ids",
        "tiny",
        torch.tensor([1.0, 2.0, 1.0]),
        iw.InputError,
        r"token ids must be integers, got dtype torch\.float32",
    ),
    (
        "3d-ids",
        "tiny",
        torch.zeros(1, 1, 3, dtype=torch.long),
        iw.InputError,
        r"token ids must be 1-D \[pos\] or 2-D \[batch, pos\], got shape \(1, 1, 3\)",
    ),
    ("no-ids", "tiny", [], iw.InputError, r"no tokens: give at least one token"),
    (
        "dict-input",
        "tiny",
        {"a": 1},
        iw.InputError,
        r"expected text \(str\) or token ids \(list/array/tensor of ints\), got dict",
    ),
    (
        "text-without-tokenizer",
        "bare",
        "abc",
        iw.InputError,
        r"this model has no tokenizer, so it cannot read text: pass token ids",
    ),
    (
        "nn.Linear-as-model",
        torch.nn.Linear(2, 2),
        TEXT,
        iw.NotAModelError,
        NOT_A_MODEL.format("Linear"),
    ),
    ("str-as-model", "gpt2", TEXT, iw.NotAModelError, NOT_A_MODEL.format("str")),
    ("nan-weights", "nan_model", [0, 1, 2, 1, 2], iw.ModelWeightsError, BROKEN),
    ("inf-weights", "inf_model", [0, 1, 2, 1, 2], iw.ModelWeightsError, BROKEN),
]


def model_of(c: Ctx, spec: Any) -> Any:
    """A case's model: a name of one of ``c``'s models, or the object itself."""
    if isinstance(spec, str) and spec in ("tiny", "bare", "nan_model", "inf_model"):
        return getattr(c, spec)
    return spec


def text_rows(rows: Rows, fns: dict[str, Callable[..., Any]], one_sequence: set[str]) -> None:
    """Every function of ``fns`` (each takes ``(ctx, model, text_or_tokens, **kwargs)``) × every
    bad text of :data:`TEXT_CASES`; those of ``one_sequence`` also refuse a batch of two."""
    for fn_name, fn in fns.items():
        for case, m, x, exc, msg in TEXT_CASES:
            rows.add(
                f"{fn_name}-{case}", lambda c, f=fn, m=m, x=x: f(c, model_of(c, m), x), exc, msg
            )
        if fn_name in one_sequence:
            rows.add(
                f"{fn_name}-batch-of-2",
                lambda c, f=fn: f(c, c.tiny, torch.tensor([[1, 2, 1], [2, 1, 2]])),
                iw.InputError,
                r"one sequence at a time: got a batch of 2, pass tokens\[i\]",
            )


HEAD_CASES: list[tuple[str, Any, Any, str]] = [
    ("layer-too-big", 2, 0, r"layer 2 is out of range: this model has 2 layers, so use 0\.\.1"),
    ("layer-negative", -1, 0, r"layer -1 is out of range: this model has 2 layers, so use 0\.\.1"),
    ("head-too-big", 0, 4, r"head 4 is out of range: this model has 4 heads, so use 0\.\.3"),
    ("layer-float", 1.0, 0, r"layer must be an int in 0\.\.1, got float 1\.0"),
    ("layer-str", "1", 0, r"layer must be an int in 0\.\.1, got str '1'"),
    ("layer-bool", True, 0, r"layer must be an int in 0\.\.1, got bool True"),
    ("head-float-tensor", 0, torch.tensor(1.0), r"head must be an int in 0\.\.3, got Tensor"),
]


def head_rows(rows: Rows, fns: dict[str, Callable[..., Any]]) -> None:
    """Every function of ``fns`` (each takes ``(ctx, layer, head)``) × every bad ``(layer, head)``."""
    for fn_name, fn in fns.items():
        for case, layer, head, msg in HEAD_CASES:
            rows.add(
                f"{fn_name}-{case}",
                lambda c, f=fn, l=layer, h=head: f(c, l, h),
                iw.HeadIndexError,
                msg,
            )


#: Things that are not a model, where a model is needed.
NON_MODELS: tuple[tuple[str, Any], ...] = (
    ("nn.Linear", torch.nn.Linear(2, 2)),
    ("str", "gpt2"),
    ("None", None),
)


def non_model_rows(rows: Rows, fns: dict[str, Callable[[Ctx, Any], Any]]) -> None:
    """Every function of ``fns`` (each takes ``(ctx, model)``) given each of :data:`NON_MODELS`."""
    for name, call in fns.items():
        for mname, m in NON_MODELS:
            rows.add(
                f"{name}-{mname}-as-model",
                lambda c, f=call, m=m: f(c, m),
                iw.NotAModelError,
                NOT_A_MODEL.format(type(m).__name__),
            )


def _innermost_file(exc: BaseException) -> str:
    tb = exc.__traceback__
    assert tb is not None
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename


def assert_raises_ours(ctx: Ctx, call: Callable[[Ctx], Any], exc_type: type, message: str) -> None:
    """``call(ctx)`` raises exactly ``exc_type`` (one of ours), its message matches ``message``, and
    it was raised from a file of this package."""
    with pytest.raises(Exception) as info:
        call(ctx)
    err = info.value
    assert type(err) is exc_type, f"{type(err).__module__}.{type(err).__name__}: {err}"
    assert isinstance(err, iw.InductionWidgetsError)
    assert re.search(message, str(err)), f"{message!r} not in {str(err)!r}"
    innermost = Path(_innermost_file(err)).resolve()
    assert innermost.is_relative_to(SRC), f"raised from {innermost}, not from {SRC}"


def all_rows() -> list[Any]:
    """The rows of every room's matrix (each module matching :data:`MATRIX_MODULES`)."""
    rows: list[Any] = []
    for path in sorted(TESTS.glob(MATRIX_MODULES)):
        spec = importlib.util.spec_from_file_location(f"_hardening_rows_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        rows.extend(module.ROWS)
    return rows
