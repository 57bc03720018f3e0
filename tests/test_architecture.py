"""The import contract of ``induction_widgets``, read from the source with ``ast``.

Two rules over every ``import`` in ``src/induction_widgets`` (lazy ones inside functions included):

1. **Arrows one way.** Each module belongs to a room; a room may import only the rooms listed for
   it in :data:`ALLOWED`: the order compute → payload → views → widgets and export, with errors,
   checks, naming and models below compute and the package façade on top. widgets and export are
   siblings: neither imports the other.
2. **No private names across modules.** No module imports another module's private name
   (``from .x import _y``, ``import x`` then ``x._y``), and a private module (``compute/_model.py``,
   ``widgets/_base.py``) is imported only from inside its own room.

``test_the_contract_catches_*`` feed the same checker a synthetic package that breaks each rule,
so the contract test cannot pass by reading nothing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "induction_widgets"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# Which rooms each room may import (its own room is always allowed). Listed explicitly: a new arrow
# is a design decision, made here and nowhere else.
BELOW_COMPUTE = {"errors", "checks", "naming", "models"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "naming": set(),  # the deprecated-alias helper
    "checks": {"errors"},
    "models": {"errors", "checks", "naming"},
    "compute": {"errors", "checks", "naming", "models"},
    "payload": BELOW_COMPUTE | {"compute"},
    "views": BELOW_COMPUTE | {"compute", "payload"},
    "widgets": BELOW_COMPUTE | {"compute", "payload", "views"},
    "export": BELOW_COMPUTE | {"compute", "payload", "views"},  # not widgets: siblings
    # The package's __init__: the public façade re-exports every room.
    "package": BELOW_COMPUTE | {"compute", "payload", "views", "widgets", "export"},
}


@dataclass(frozen=True)
class Edge:
    """One imported thing: ``source`` imports ``target`` (a module), or ``name`` from it, or reads
    the attribute ``name`` of the module ``target`` (``attribute=True``)."""

    source: str
    target: str
    name: str | None
    line: int
    attribute: bool = False


def module_name(path: Path, root: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(root: Path) -> dict[str, Path]:
    """Every module of the package under ``root`` (the package folder), by dotted name."""
    return {
        module_name(p, root): p
        for p in sorted(root.rglob("*.py"))
        if "static" not in p.relative_to(root).parts
    }


def room(module: str) -> str:
    """``induction_widgets.compute.scores`` → ``compute``; the package itself → ``package``."""
    parts = module.split(".")
    return "package" if len(parts) == 1 else parts[1]


def _resolve(source: str, is_package: bool, level: int, module: str | None) -> str:
    base = source.split(".") if is_package else source.split(".")[:-1]
    if level:
        base = base[: len(base) - (level - 1)]
        return ".".join([*base, module] if module else base)
    return module or ""


def edges_of(modules: dict[str, Path]) -> list[Edge]:
    """Every import of a package module, and every read of a private attribute of one."""
    out: list[Edge] = []
    for source, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        aliases: dict[str, str] = {}  # local name -> package module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _resolve(source, is_package, node.level, node.module)
                if not base.startswith(PACKAGE):
                    continue
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:  # `from . import compute`: the module itself
                        out.append(Edge(source, sub, None, node.lineno))
                        aliases[alias.asname or alias.name] = sub
                    else:
                        out.append(Edge(source, base, alias.name, node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == PACKAGE:
                        out.append(Edge(source, alias.name, None, node.lineno))
                        if alias.asname:
                            aliases[alias.asname] = alias.name
                        else:
                            aliases[PACKAGE] = PACKAGE
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                chain = []
                value: ast.expr = node
                while isinstance(value, ast.Attribute):
                    chain.append(value.attr)
                    value = value.value
                if not (isinstance(value, ast.Name) and value.id in aliases):
                    continue
                target = aliases[value.id]
                for attr in reversed(chain):  # walk `a.b._c` down to the first non-module
                    if f"{target}.{attr}" in modules:
                        target = f"{target}.{attr}"
                        continue
                    out.append(Edge(source, target, attr, node.lineno, attribute=True))
                    break
    return sorted(set(out), key=lambda e: (e.source, e.line, e.target, e.name or ""))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(modules: dict[str, Path], allowed: dict[str, set[str]] = ALLOWED) -> list[str]:
    """Every break of the two rules, as ``"module:line: what"``."""
    found = []
    for e in edges_of(modules):
        where = f"{e.source}:{e.line}"
        src_room, dst_room = room(e.source), room(e.target)
        if dst_room != src_room and dst_room not in allowed.get(src_room, set()):
            found.append(f"{where}: room {src_room} imports room {dst_room} ({e.target})")
        if e.name is not None and _private(e.name) and e.target != e.source:
            how = "reads" if e.attribute else "imports"
            found.append(f"{where}: {how} the private name {e.name} of {e.target}")
        private_module = next(
            (p for p in e.target.split(".")[1:] if _private(p)), None
        )  # `compute._model`: private to the compute room
        if private_module is not None and dst_room != src_room:
            found.append(
                f"{where}: imports {e.target}, a private module of room {dst_room}: import its "
                f"public home instead"
            )
    return found


def test_every_room_is_listed():
    rooms = {room(m) for m in modules_of(SRC)}
    assert rooms <= set(ALLOWED), f"rooms without a line in ALLOWED: {rooms - set(ALLOWED)}"
    assert {"compute", "payload", "views", "widgets", "export", "models"} <= rooms


def test_the_package_keeps_its_import_contract():
    modules = modules_of(SRC)
    assert len(modules) > 30 and len(edges_of(modules)) > 100  # it really read the package
    assert violations(modules) == []


# --- the contract can fail: a synthetic package that breaks each rule once ------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    root = tmp_path / PACKAGE
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {p.parent for p in root.rglob("*.py")}:
        (folder / "__init__.py").touch()
    return modules_of(root)


ROOMS = {
    "errors.py": "class InputError(ValueError): ...\n",
    "checks.py": "from .errors import InputError\n",
    "compute/_model.py": "def model_info(m): ...\ndef _index(v): ...\n",
    "compute/scores.py": "from ._model import model_info\n",
    "views/spec.py": "from ..compute import scores\n",
    "widgets/_base.py": "def close_all(): ...\n",
    "widgets/head_map.py": "from ._base import close_all\nfrom ..views.spec import x\n",
    "export/html.py": "from ..views import spec\n",
}


def test_the_contract_accepts_a_clean_synthetic_package(tmp_path):
    assert violations(_package(tmp_path, ROOMS)) == []


@pytest.mark.parametrize(
    ("rel", "text", "expected"),
    [
        # an arrow against the order: compute imports views (top level, then lazily)
        ("compute/bad.py", "from ..views import spec\n", "room compute imports room views"),
        (
            "compute/bad.py",
            "def f():\n    from ..views.spec import x\n    return x\n",
            "room compute imports room views",
        ),
        (
            "compute/bad.py",
            "import induction_widgets.widgets\n",
            "room compute imports room widgets",
        ),
        ("views/bad.py", "from ..export import html\n", "room views imports room export"),
        ("widgets/bad.py", "from ..export.html import x\n", "room widgets imports room export"),
        ("export/bad.py", "from ..widgets import head_map\n", "room export imports room widgets"),
        ("checks.py", "from .compute import scores\n", "room checks imports room compute"),
        # another module's private name, inside a room and across rooms
        ("compute/bad.py", "from ._model import _index\n", "private name _index"),
        ("views/bad.py", "from ..compute._model import _index\n", "private name _index"),
        (
            "views/bad.py",
            "from ..compute import _model\nx = _model._index\n",
            "private name _index",
        ),
        (
            "views/bad.py",
            "import induction_widgets.compute._model as m\nx = m._index(1)\n",
            "reads the private name _index",
        ),
        # a room's private module from outside the room
        (
            "views/bad.py",
            "from ..compute._model import model_info\n",
            "a private module of room compute",
        ),
        (
            "__init__.py",
            "from .widgets._base import close_all\n",
            "a private module of room widgets",
        ),
    ],
)
def test_the_contract_catches(tmp_path, rel, text, expected):
    found = violations(_package(tmp_path, {**ROOMS, rel: text}))
    assert any(expected in v for v in found), found
