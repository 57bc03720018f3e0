"""A new view is three source files: ``views/<kind>.py`` (declaration + state), ``widgets/<kind>.py``
(the thin class) and ``js/src/<kind>.js``. Here a throwaway view gets its widget, traits, package
export and build entry with no edit anywhere else."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import traitlets

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "induction_widgets"

VIEW = """
from ..payload import encode
from .declare import Buffer, Enum, Int, declare

SPARKLINE = declare(
    "sparkline", "Sparkline",
    {"values": Buffer(), "top": Int(5), "style": Enum(("line", "bars"), "line")},
    module=__name__,
)


def sparkline_state(values, *, top=5, title=""):
    return {"values": encode(values, "float32"), "top": int(top), "title": title}
"""

WIDGET = """
from ..views.sparkline import sparkline_state
from ._base import ViewWidget


class Sparkline(ViewWidget, view="sparkline"):
    def __init__(self, values, *, top=5, title="", **kwargs):
        self._values = values
        super().__init__(**{**sparkline_state(values, top=top, title=title), **kwargs})

    def view_spec(self):
        return self._view_spec(sparkline_state(self._values, top=self.top, title=self.title))
"""

CHECK = """
import json, torch
import induction_widgets as iw
from induction_widgets.payload import decode
from induction_widgets.views import VIEWS, static_spec

w = iw.Sparkline(torch.tensor([3.0, 1.0, 2.0]), top=2, title="t")
spec = static_spec(w.view_spec())
print(json.dumps({
    "kinds": sorted(VIEWS),
    "in_all": "Sparkline" in iw.__all__ and "Sparkline" in iw.widgets.__all__,
    "traits": sorted(n for n, t in iw.Sparkline.class_traits(sync=True).items()
                     if n in {"values", "top", "style", "message", "title"}),
    "top": w.top, "style": w.style, "values": decode(w.values).tolist(),
    "kind": spec["kind"], "esm_missing": "is missing" in str(iw.Sparkline._esm),
}))
"""


def test_a_new_view_in_two_python_files_is_exported(tmp_path):
    """A copy of the package with views/sparkline.py and widgets/sparkline.py added (no other file
    touched): ``iw.Sparkline`` exists with its declared traits, and its spec exports."""
    copy = tmp_path / "induction_widgets"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    (copy / "views" / "sparkline.py").write_text(textwrap.dedent(VIEW))
    (copy / "widgets" / "sparkline.py").write_text(textwrap.dedent(WIDGET))
    out = subprocess.run(
        [sys.executable, "-c", CHECK],
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert "sparkline" in got["kinds"] and "head_map" in got["kinds"]
    assert got["in_all"] is True
    assert got["traits"] == ["message", "style", "title", "top", "values"]
    assert (got["top"], got["style"], got["values"]) == (2, "line", [3.0, 1.0, 2.0])
    assert got["kind"] == "sparkline" and got["esm_missing"] is True


def test_a_view_declared_in_a_temp_module_gets_a_widget_with_its_traits(tmp_path, monkeypatch):
    """In this process: a declaration and a class in a module outside the package."""
    from induction_widgets.views import VIEWS
    from induction_widgets.widgets import WIDGETS

    (tmp_path / "throwaway_view.py").write_text(
        textwrap.dedent(
            """
            from induction_widgets.views.declare import Bool, List, Str, declare
            from induction_widgets.widgets import ViewWidget

            DECL = declare("throwaway", "Throwaway",
                           {"names": List("str"), "flag": Bool(True), "unit": Str("nats")},
                           module=__name__)

            class Throwaway(ViewWidget, view="throwaway"):
                def view_spec(self):
                    return self._view_spec({"names": self.names, "title": self.title})
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import throwaway_view

        cls = throwaway_view.Throwaway
        assert WIDGETS["throwaway"] is cls and VIEWS["throwaway"] is throwaway_view.DECL
        traits = cls.class_traits(sync=True)
        assert isinstance(traits["names"], traitlets.List)
        assert traits["flag"].default() is True and traits["unit"].default() == "nats"
        assert {"message", "title"} <= set(traits)
        w = cls(names=["a", "b"], title="x")
        assert w.view_spec().kind == "throwaway" and w.view_spec().state["names"] == ["a", "b"]
        w.close()
    finally:
        VIEWS.remove("throwaway")
        WIDGETS.pop("throwaway", None)
        sys.modules.pop("throwaway_view", None)


def test_a_widget_must_carry_its_declared_name():
    from induction_widgets import InputError
    from induction_widgets.widgets import ViewWidget

    with pytest.raises(InputError, match="declares its widget 'HeadMap', not 'MyMap'"):

        class MyMap(ViewWidget, view="head_map"):
            pass
