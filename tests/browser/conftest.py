"""Real-browser fixtures: Chromium through Playwright (sync API) and a real JupyterLab server.

Nothing is mocked: the lab runs the package's widgets in a real ipykernel, the browser is Debian's
Chromium (``/usr/bin/chromium``; ``playwright install`` is never used). Expected numbers are
computed in the test process from the same bundled "tiny" model and the same text.

Session fixtures: ``browser`` (Chromium), ``lab`` (a JupyterLab server in a private temporary
root/config/data/settings dir, killed at the end), ``tiny_model``; per module: ``offline`` (a
context for ``file://`` pages in which every other request is aborted and logged). Helpers:
:class:`LabNotebook` (labkit.py: write a notebook, open it, run all cells, run extra cells and read
their output back).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
ARTIFACTS = REPO / "tests" / "artifacts"

# The package may be used from the source tree without an (editable) install.
try:
    import induction_widgets  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    sys.path.insert(0, str(SRC))

playwright_sync = pytest.importorskip("playwright.sync_api")

# after the sys.path fix and the importorskip (CHROMIUM and CHROMIUM_ARGS live in labkit, shared
# with the benchmarks and tests/conftest.py's browser fixture)
from labkit import Lab, offline_context  # noqa: E402


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# ---------------------------------------------------------------------------------------------
# browser


# ``playwright_instance`` and ``browser`` are session fixtures of tests/conftest.py: one sync
# Playwright per session, shared with tests/docs (a second one in the same thread is refused).


@pytest.fixture(scope="module")
def offline(browser):
    """A context for pages opened as ``file://``: only file:, data:, blob: and about: URLs load,
    the rest is aborted and logged in ``offline.request_log`` (the tests check it stays empty)."""
    ctx = offline_context(browser)
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def tiny_model():
    from induction_widgets import load_model

    return load_model("tiny")


# ---------------------------------------------------------------------------------------------
# JupyterLab


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("lab")
    server = Lab(base)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lab_context(browser, lab):
    """One browser context for all lab pages; requests that leave the lab server are logged."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    ctx.off_box_requests = []  # type: ignore[attr-defined]

    def route(r):
        url = r.request.url
        if url.startswith(lab.url) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            ctx.off_box_requests.append(url)  # type: ignore[attr-defined]
            r.abort()

    ctx.route("**/*", route)
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()
