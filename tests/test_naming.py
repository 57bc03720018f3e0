"""The naming rule of the public API (docs/naming.md) and the old names kept as deprecated aliases."""

from __future__ import annotations

import importlib
import re
import warnings
from pathlib import Path

import anywidget
import pytest
import torch

import induction_widgets as iw

DOC = Path(__file__).resolve().parents[1] / "docs" / "naming.md"
MODULES = ("induction_widgets", "induction_widgets.compute")
ALIASES = [
    (module, old, new)
    for module in MODULES
    for old, new in importlib.import_module(module).DEPRECATED_NAMES.items()
]


@pytest.mark.parametrize(("module", "old", "new"), ALIASES, ids=[f"{m}.{o}" for m, o, _ in ALIASES])
def test_an_old_name_warns_and_is_the_new_one(module, old, new):
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{re.escape(module)}\.{old} is deprecated: use "):
        value = getattr(mod, old)
    assert value is getattr(mod, new)
    assert old not in mod.__all__ and new in mod.__all__
    assert old not in vars(mod)  # so that every use goes through the warning


def test_from_import_of_an_old_name_warns_too():
    with pytest.warns(DeprecationWarning, match="use induction_widgets.prefix_matching_scores"):
        from induction_widgets import prefix_matching_score  # noqa: F401


def test_an_old_function_returns_what_the_new_one_returns(tiny):
    tokens = iw.repeated_random_tokens(tiny, 2, 10, 2, seed=1)
    with pytest.warns(DeprecationWarning):
        old = iw.prefix_matching_score
    assert torch.equal(old(tiny, tokens), iw.prefix_matching_scores(tiny, tokens))


def test_unknown_names_are_still_attribute_errors():
    for module in MODULES:
        with pytest.raises(AttributeError, match="has no attribute 'nope'"):
            _ = importlib.import_module(module).nope


def test_star_import_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        exec("from induction_widgets import *", {})


def test_every_old_name_is_in_the_docs():
    text = DOC.read_text(encoding="utf-8")
    for module, old, new in ALIASES:
        assert f"`{old}`" in text and f"`{new}`" in text, (module, old)


# The rule itself, where a test can read it.

#: A view class is <subject><figure>; the figure names the drawing.
FIGURES = ("Map", "Maps", "Heatmap", "Matrix", "Curve", "Curves", "Scatter", "Bars", "Explorer")


def test_view_classes_end_in_their_figure():
    views = [
        name
        for name in iw.__all__
        if isinstance(getattr(iw, name), type)
        and issubclass(getattr(iw, name), anywidget.AnyWidget)
    ]
    assert len(views) >= 8, views
    for name in views:
        # TokenView draws the text itself (tokens coloured in place): "View" is its figure.
        assert name == "TokenView" or name.endswith(FIGURES), name


def test_functions_returning_every_head_end_in_scores(tiny):
    """A public function returning a ``[layer, head]`` tensor is named ``*_scores``."""
    tokens = iw.repeated_random_tokens(tiny, 2, 10, 2, seed=1)
    grids = {
        "prefix_matching_scores": iw.prefix_matching_scores(tiny, tokens),
        "previous_token_scores": iw.previous_token_scores(tiny, tokens),
        "ov_copying_scores": iw.ov_copying_scores(tiny),
        "pattern_matching_scores": iw.pattern_matching_scores(tiny, 2, 10),
    }
    for name, grid in grids.items():
        assert name in iw.__all__ and name.endswith("_scores")
        assert tuple(grid.shape) == (tiny.cfg.n_layers, tiny.cfg.n_heads), name
    singular = [n for n in iw.__all__ if n.endswith("_score")]
    assert singular == ["icl_score"], singular  # one number (with its standard error)
    assert isinstance(iw.icl_score(tiny, n_contexts=2, curve=False, progress=False), iw.ICLScore)
