"""One declaration per view: the registry (``views.VIEWS``), the JS view files, the saved pages'
registry, the JS build entries and every widget class's traits all follow from it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import anywidget
import pytest
import traitlets

import induction_widgets as iw
from induction_widgets.views import HEAD_BUFFERS, VIEWS
from induction_widgets.views.declare import BASE_TRAITS
from induction_widgets.widgets import WIDGETS

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"
STATIC = ROOT / "src" / "induction_widgets" / "static"

#: the traitlet each declared trait kind becomes
TRAITLETS = {
    "int": traitlets.Int,
    "float": traitlets.Float,
    "str": traitlets.Unicode,
    "bool": traitlets.Bool,
    "enum": traitlets.Enum,
    "buffer": traitlets.Dict,
    "list": traitlets.List,
}


def _node(*args: str) -> str:
    if shutil.which("node") is None or not (JS / "node_modules").exists():
        pytest.skip("node and js/node_modules are needed (make js)")
    return subprocess.run(
        ["node", *args], cwd=JS, check=True, capture_output=True, text=True, timeout=120
    ).stdout


def test_every_view_is_declared_once_and_named_in_the_js_files():
    files = sorted(p.stem for p in (JS / "src").glob("*.js") if p.stem != "standalone")
    assert sorted(VIEWS) == files
    assert set(VIEWS) >= {
        "token_view", "attention_matrix", "head_map", "explorer", "verdict_scatter",
        "loss_curve", "partners", "phase_change",
    }  # fmt: skip
    for kind, decl in VIEWS.items():
        assert decl.kind == kind and decl.module == f"induction_widgets.views.{kind}"
        assert HEAD_BUFFERS[kind] == decl.head_buffers


def test_build_entries_and_saved_page_registry_follow_the_files():
    """build.mjs's entries are the view files plus the runtime, and the built runtime's registry
    (what a saved page mounts) has exactly the declared kinds."""
    built = json.loads(_node("build.mjs", "--json"))
    assert built["kinds"] == sorted(VIEWS)
    assert built["entries"] == [*sorted(VIEWS), "standalone"]
    runtime = STATIC / "standalone.js"
    if not runtime.exists():
        pytest.skip("the front-end is not built (make js)")
    script = (
        f"const m = await import({json.dumps(runtime.as_uri())});"
        "console.log(JSON.stringify(Object.keys(m.VIEWS).sort()));"
    )
    assert json.loads(_node("--input-type=module", "-e", script)) == sorted(VIEWS)


@pytest.mark.parametrize("kind", sorted(VIEWS))
def test_widget_traits_equal_the_declaration(kind):
    decl = VIEWS[kind]
    cls = WIDGETS[kind]
    assert cls.__name__ == decl.widget and cls._kind == kind
    assert getattr(iw, decl.widget) is cls and decl.widget in iw.__all__
    base = set(anywidget.AnyWidget.class_traits(sync=True))
    synced = {n: t for n, t in cls.class_traits(sync=True).items() if n not in base}
    assert set(synced) == set(BASE_TRAITS) | set(decl.traits)
    for name, want in decl.synced.items():
        trait = synced[name]
        if want.kind == "head_pair":
            assert type(trait).__name__ == "HeadPair" and trait.default() == []
            continue
        assert isinstance(trait, TRAITLETS[want.kind]), (name, trait)
        if want.kind in ("int", "float", "str", "bool", "enum"):
            assert trait.default() == want.default, name
        if want.kind == "enum":
            assert tuple(trait.values) == want.choices
    unsynced = {n for n, t in cls.class_traits().items() if not t.metadata.get("sync")}
    assert set(decl.head_buffers) <= unsynced


def test_message_and_title_are_declared_once():
    """Every view has message/title from BASE_TRAITS; no declaration repeats them."""
    for decl in VIEWS.values():
        assert not set(decl.traits) & set(BASE_TRAITS)
    from induction_widgets.views.declare import Str, declare

    with pytest.raises(iw.InputError, match=r"declares \['title'\] again"):
        declare("oops", "Oops", {"title": Str()})
    assert "oops" not in VIEWS


def test_a_kind_cannot_be_declared_twice():
    from induction_widgets.views.declare import Int, declare

    with pytest.raises(iw.InputError, match="'head_map' is declared twice"):
        declare("head_map", "HeadMap", {"n": Int()}, module="elsewhere")
    assert VIEWS["head_map"].module == "induction_widgets.views.head_map"
    with pytest.raises(iw.InputError, match="unknown view kind 'nope': the views are"):
        VIEWS["nope"]
