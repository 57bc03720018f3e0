"""Composition over inheritance: the explorer composes the three views (it is no TokenView), every
selected head is checked by one validator, and message/title are declared once."""

from __future__ import annotations

import ast
from pathlib import Path

import traitlets

import induction_widgets as iw
from induction_widgets.views.declare import BASE_TRAITS
from induction_widgets.widgets import WIDGETS
from induction_widgets.widgets._base import SelectsHead

WIDGETS_SRC = Path(iw.__file__).resolve().parent / "widgets"


def test_the_explorer_composes_instead_of_inheriting():
    assert not issubclass(iw.InductionExplorer, iw.TokenView)
    assert not issubclass(iw.InductionExplorer, (iw.HeadMap, iw.VerdictScatter))
    # its traits are the three views' (the scatter's points renamed scatter_*)
    ex = set(iw.InductionExplorer.class_traits(sync=True))
    tv = set(iw.TokenView.class_traits(sync=True))
    hm = set(iw.HeadMap.class_traits(sync=True)) - {"selected_head"}
    vs = set(iw.VerdictScatter.class_traits(sync=True)) - {"selected_head", "x", "y", "depth"}
    assert tv | hm | vs | {"scatter_x", "scatter_y", "scatter_depth"} <= ex
    for path in WIDGETS_SRC.glob("*.py"):
        assert "super(TokenView" not in path.read_text(encoding="utf-8"), path


def test_one_selected_head_validator():
    """Every view with a selected_head gets it from its declaration (HeadPair) and the check from
    SelectsHead; no widget writes its own validator."""
    selecting = [c for c in WIDGETS.values() if "selected_head" in c.class_traits(sync=True)]
    assert {c.__name__ for c in selecting} == {"HeadMap", "VerdictScatter", "PartnerBars"}
    for cls in selecting:
        assert issubclass(cls, SelectsHead)
        validators = [
            name
            for klass in cls.__mro__
            for name, v in vars(klass).items()
            if isinstance(v, traitlets.ValidateHandler) and "selected_head" in v.trait_names
        ]
        assert validators == ["_valid_selected_head"], (cls, validators)


def test_no_widget_module_declares_a_synced_trait():
    """Synced traits come from the declarations: no ``<name> = traitlets.X(...)`` in a widget
    module's class bodies (message/title included, BASE_TRAITS)."""
    assert set(BASE_TRAITS) == {"message", "title"}
    for path in WIDGETS_SRC.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                        src = ast.unparse(stmt.value)
                        assert not src.startswith("traitlets."), (path.name, node.name, src)
