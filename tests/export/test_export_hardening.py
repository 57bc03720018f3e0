"""Bad inputs to the export room (save_html, report): each raises ONE clear error of ours.

The matrix's machinery is in ``tests/hardening.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from hardening import (
    BROKEN,
    TEXT,
    Ctx,
    Rows,
    assert_raises_ours,
    head_rows,
    make_ctx,
    non_model_rows,
    with_poisoned_tiny,
)

import induction_widgets as iw
from induction_widgets.views import ViewSpec

pytestmark = pytest.mark.tl3
ctx = pytest.fixture(scope="module")(make_ctx)

ROWS = Rows()
row = ROWS.add

EMPTY_NOTEBOOK = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def _written(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# The heads to export or to report on, each (layer, head).
head_rows(
    ROWS,
    {
        "save_html-heads": lambda c, l, h: iw.save_html(c.view, c.tmp / "v.html", heads=[(l, h)]),
        "report-heads": lambda c, l, h: iw.report(
            c.tiny, c.tmp / "r.html", heads={"copying": (l, h)}, scores=c.scores, progress=False
        ),
    },
)
non_model_rows(ROWS, {"report": lambda c, m: iw.report(m, c.tmp / "r.html", progress=False)})
row(
    "report-nan",
    lambda c: with_poisoned_tiny(lambda m: iw.report(m, c.tmp / "r.html", progress=False))(c),
    iw.ModelWeightsError,
    BROKEN,
)

# Export: save_html and report.
HEADS = r"heads must be 'all', None or a list of \(layer, head\)"
for _name, _call, _exc, _msg in [
    (
        "heads-str",
        lambda c: iw.save_html(c.view, c.tmp / "v.html", heads="top"),
        iw.InputError,
        HEADS,
    ),
    ("heads-int", lambda c: iw.save_html(c.view, c.tmp / "v.html", heads=5), iw.InputError, HEADS),
    (
        "heads-empty",
        lambda c: iw.save_html(c.view, c.tmp / "v.html", heads=[]),
        iw.InputError,
        r"heads is empty: give at least one \(layer, head\)",
    ),
    (
        "heads-one-number",
        lambda c: iw.save_html(c.view, c.tmp / "v.html", heads=[(0,)]),
        iw.InputError,
        HEADS + r" pairs, got the entry \(0,\)",
    ),
    (
        "not-a-view",
        lambda c: iw.save_html(c.scores, c.tmp / "v.html"),
        iw.InputError,
        r"cannot export HeadScores: not an induction_widgets view",
    ),
    (
        "path-None",
        lambda c: iw.save_html(c.view, None),
        iw.InputError,
        r"path must be a file name \(str or pathlib\.Path\), e\.g\. 'view\.html', got NoneType",
    ),
    (
        "path-int",
        lambda c: iw.save_html(c.view, 5),
        iw.InputError,
        r"path must be a file name .* got int 5",
    ),
    (
        "path-folder",
        lambda c: iw.save_html(c.view, c.tmp),
        iw.InputError,
        r"is a folder: give a file name inside it, e\.g\. '.*view\.html'",
    ),
]:
    row(f"save_html-{_name}", _call, _exc, _msg)


def _report(c: Ctx, **kwargs: Any) -> Any:
    return iw.report(
        c.tiny, kwargs.pop("path", c.tmp / "r.html"), scores=c.scores, progress=False, **kwargs
    )


for _name, _kw, _msg in [
    ("scores-str", {"scores": "x"}, r"scores must be HeadScores .* or None, got str"),
    ("n_problems=0", {"n_problems": 0}, r"n_problems must be >= 1, got 0"),
    (
        "heads-unknown-key",
        {"heads": {"induction": (1, 0)}},
        r"heads has unknown key 'induction': use 'copying', 'translation', 'pattern_matching'",
    ),
    (
        "heads-not-a-pair",
        {"heads": {"copying": "L1H0"}},
        r"heads\['copying'\] must be a \(layer, head\) pair, got 'L1H0'",
    ),
    ("texts-unknown-key", {"texts": {"copy": TEXT}}, r"texts has unknown key 'copy'"),
    (
        "texts-empty",
        {"texts": {"copying": ""}},
        r"texts\['copying'\] must be a non-empty str, got '': leave the key out to use the default text",
    ),
    ("path-folder", {"path": Path("/")}, r"is a folder: give a file name inside it"),
    ("beyond-str", {"beyond": "no"}, r"beyond must be True or False, got 'no'"),
]:
    row(
        f"report-{_name}",
        (lambda c, k=_kw: iw.report(c.tiny, c.tmp / "r.html", progress=False, **k))
        if "scores" in _kw
        else (lambda c, k=_kw: _report(c, **k)),
        iw.InputError,
        _msg,
    )


# Figures (export.figure / view.save_figure): checked before matplotlib is imported, so these
# rows run without it.
SUFFIX = r"path must end in \.pdf, \.svg or \.png \(the figure's format\), got "
for _name, _call, _msg in [
    ("figure-not-a-view", lambda c: iw.figure(c.scores), r"cannot export HeadScores: not an"),
    (
        "figure-unknown-kind",
        lambda c: iw.figure(ViewSpec("no_such_view", {})),
        r"no figure for a 'no_such_view' view: figures exist for attention_matrix, explorer, .*"
        r"register_figure\(kind\)",
    ),
    ("save_figure-suffix-jpg", lambda c: iw.save_figure(c.view, c.tmp / "v.jpg"), SUFFIX),
    ("save_figure-no-suffix", lambda c: iw.save_figure(c.view, c.tmp), SUFFIX),
    ("save_figure-method-html", lambda c: c.view.save_figure(c.tmp / "v.html"), SUFFIX),
    ("save_figure-path-None", lambda c: iw.save_figure(c.view, None), r"path must be a file name"),
    ("save_figure-path-int", lambda c: iw.save_figure(c.view, 3), r"path must be a file name"),
    (
        "save_figure-dpi",
        lambda c: iw.save_figure(c.view, c.tmp / "v.png", dpi=0.5),
        r"dpi must be an int >= 10 \(dots per inch of a \.png\), got 0\.5",
    ),
    (
        "save_figure-not-a-view",
        lambda c: iw.save_figure("view", c.tmp / "v.png"),
        r"cannot export str: not an induction_widgets view",
    ),
]:
    row(_name, _call, iw.InputError, _msg)


# export_notebook: what it reads and writes.
for _name, _call, _msg in [
    (
        "export_notebook-missing",
        lambda c: iw.export_notebook(c.tmp / "nope.ipynb"),
        r"nope\.ipynb' does not exist: give the path of an \.ipynb file",
    ),
    (
        "export_notebook-folder",
        lambda c: iw.export_notebook(c.tmp),
        r"is a folder: give the path of an \.ipynb file",
    ),
    (
        "export_notebook-int",
        lambda c: iw.export_notebook(5),
        r"notebook must be the path of an \.ipynb file \(str or pathlib\.Path\), got int 5",
    ),
    (
        "export_notebook-timeout=0",
        lambda c: iw.export_notebook(_written(c.tmp / "ok.ipynb", EMPTY_NOTEBOOK), timeout=0),
        r"timeout must be >= 1, got 0",
    ),
    (
        "export_notebook-output-folder",
        lambda c: iw.export_notebook(_written(c.tmp / "ok.ipynb", EMPTY_NOTEBOOK), c.tmp),
        r"is a folder: give a file name inside it",
    ),
]:
    row(_name, _call, iw.InputError, _msg)
if importlib.util.find_spec("nbformat") is not None:  # the export extra (not in the TL 3.9 venv)
    row(
        "export_notebook-not-json",
        lambda c: iw.export_notebook(_written(c.tmp / "x.ipynb", "{not json")),
        iw.InputError,
        r"x\.ipynb' is not a Jupyter notebook \(nbformat cannot read it: .*\): give an \.ipynb file",
    )


@pytest.mark.parametrize(("call", "exc_type", "message"), ROWS)
def test_bad_input_raises_one_clear_error(ctx, call, exc_type, message):
    assert_raises_ours(ctx, call, exc_type, message)


def test_save_html_creates_missing_folders(ctx):
    out = iw.save_html(ctx.view, ctx.tmp / "new" / "folder" / "view.html", heads=[(1, 0)])
    assert out.is_file() and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
