"""What can be checked here of the hosts no test drives (VS Code, Colab; docs/hosts.md).

- VS Code's Jupyter extension, with a local kernel, looks for a widget module's front end in the
  kernel environment's ``share/jupyter/nbextensions/<module>/`` before any CDN (vscode-jupyter
  #14761, #16586): anywidget's ``index.js`` / ``extension.js`` must be there, and its lab
  extension under ``share/jupyter/labextensions/anywidget/`` for JupyterLab.
- Our own front end travels in the widget's state: every view's ``_esm`` is the whole module's
  source (no URL, no ``import`` from the network), so no host fetches our code from anywhere.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import pytest

import induction_widgets as iw

VIEWS = ("TokenView", "AttentionMatrix", "HeadMap", "VerdictScatter", "InductionExplorer",
         "LossCurve", "PartnerBars", "PhaseChangeCurves")  # fmt: skip
#: an import of a module by URL: static ``import … from "https://…"``, ``import("//…")``
URL_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["'](?:https?:)?//""")


def _data_dirs() -> list[Path]:
    """Where Jupyter (and VS Code's local-kernel loader) finds data files of this environment."""
    prefixes = dict.fromkeys((sys.prefix, sysconfig.get_config_var("prefix") or sys.prefix))
    return [Path(p) / "share" / "jupyter" for p in prefixes]


def test_anywidget_front_end_is_installed_where_local_loaders_look():
    anywidget = pytest.importorskip("anywidget")
    version = anywidget.__version__
    found_nb = [d / "nbextensions" / "anywidget" for d in _data_dirs()]
    nb = next((d for d in found_nb if (d / "index.js").is_file()), None)
    assert nb is not None, f"no anywidget nbextension in {found_nb}"
    assert (nb / "extension.js").is_file()
    index = (nb / "index.js").read_text(errors="replace")
    assert "anywidget" in index and len(index) > 1000  # the real loader, not a stub
    lab = next(
        (d / "labextensions" / "anywidget" for d in _data_dirs()
         if (d / "labextensions" / "anywidget" / "package.json").is_file()),
        None,
    )  # fmt: skip
    assert lab is not None, "no anywidget lab extension"
    assert f'"version": "{version}"' in (lab / "package.json").read_text()


@pytest.mark.parametrize("name", VIEWS)
def test_every_view_carries_its_module_inline(name):
    """The class's ``_esm`` is the built bundle's text (the wheel's ``static/`` file), with no
    import by URL and no CDN address."""
    source = str(getattr(iw, name)._esm)  # anywidget's FileContents: the file's text
    assert "is missing; run `make js`" not in source, "the front-end bundle was not built"
    assert len(source) > 5000
    assert URL_IMPORT.search(source) is None
    for cdn in ("jsdelivr", "unpkg", "esm.sh", "skypack", "cdnjs"):
        assert cdn not in source, cdn


def test_the_module_travels_in_the_widget_state():
    """What the kernel sends the front end: the ``_esm`` state is the module's source text, not a
    path or an address to fetch."""
    import torch

    z = torch.zeros(2, 3)
    view = iw.HeadMap(iw.HeadScores(prefix_matching=z, copying=z, previous_token=z, ov_copying=z))
    try:
        sent = view.get_state()["_esm"]
        static = Path(iw.__file__).parent / "static" / "head_map.js"
        assert sent == static.read_text()
    finally:
        view.close()
