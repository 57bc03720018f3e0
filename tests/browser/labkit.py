"""Driving a real JupyterLab from the tests: the server (:class:`Lab`), a notebook in a page
(:class:`LabNotebook`), what a page must not do (:class:`PageProblems`) and the Chromium to run
(:data:`CHROMIUM`, :data:`CHROMIUM_ARGS`). No pytest here: the benchmarks (``benchmarks/live.py``)
drive JupyterLab and Chromium with the same pieces."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

SRC = Path(__file__).resolve().parents[2] / "src"
#: Debian's Chromium (``playwright install`` is never used) and the flags it is launched with.
CHROMIUM = os.environ.get("IW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class PageProblems:
    """Console errors, page errors and dialogs seen by one page."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []

    def watch(self, page, *, ignore_console=()) -> None:
        def on_console(msg):
            if msg.type == "error" and not any(s in msg.text for s in ignore_console):
                self.console_errors.append(msg.text)

        def on_dialog(dialog):
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            with contextlib.suppress(Exception):
                dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("dialog", on_dialog)

    def assert_clean(self, *, console=True) -> None:
        assert self.dialogs == [], f"dialogs fired: {self.dialogs}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        if console:
            assert self.console_errors == [], f"console errors: {self.console_errors}"


def open_saved(ctx, path):
    """Open the saved page ``path`` in a new page of the offline context ``ctx`` (its request log
    cleared first), watched by a :class:`PageProblems`, once the page says it is ready:
    ``(page, problems)``."""
    page = ctx.new_page()
    problems = PageProblems()
    problems.watch(page)
    ctx.request_log.clear()
    page.goto(path.resolve().as_uri())
    expect(page.locator("body[data-iw-ready='true']")).to_have_count(1)
    return page, problems


def offline_context(
    browser,
    allowed: tuple[str, ...] = ("file:", "data:", "blob:", "about:"),
    *,
    viewport: tuple[int, int] = (1200, 1000),
):
    """A browser context in which only URLs starting with ``allowed`` load; every other request is
    aborted and logged in ``context.request_log`` (a list of URLs)."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    log: list[str] = []

    def route(r):
        url = r.request.url
        if url.startswith(allowed):
            r.continue_()
        else:
            log.append(url)
            r.abort()

    ctx.route("**/*", route)
    ctx.request_log = log
    return ctx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A Jupyter server in a private temporary folder: JupyterLab (``app="lab"``) or Notebook 7
    (``app="notebook"``); :attr:`tree` is where its notebooks open."""

    def __init__(self, base: Path, app: str = "lab") -> None:
        self.app = app
        self.tree = "lab/tree" if app == "lab" else "notebooks"
        self.base = base
        self.root = base / "root"
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "lab.log"
        self.proc: subprocess.Popen | None = None

    def _write_config(self, env: dict[str, str]) -> None:
        config = self.base / "config"
        settings = self.base / "settings"
        for d in (
            self.root,
            config / "labconfig",
            settings,
            self.base / "data",
            self.base / "runtime",
            self.base / "workspaces",
        ):
            d.mkdir(parents=True, exist_ok=True)
        # No news, no update check, no toasts; every notebook cell attached to the DOM.
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps(
                {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
            )
        )
        user = {
            "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
                "fetchNews": "false",
                "checkForUpdates": False,
                "doNotDisturbMode": True,
            },
            "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
                "windowingMode": "none",
            },
            "@jupyterlab/codemirror-extension/plugin.jupyterlab-settings": {
                "defaultConfig": {"autoClosingBrackets": False},
            },
        }
        # A kernel that dies stays dead (status "dead") instead of being restarted by the server,
        # so tests can see what the views do then (test_lab_restart.py).
        (config / "jupyter_server_config.json").write_text(
            json.dumps({"KernelRestarter": {"restart_limit": 0}})
        )
        for rel, value in user.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        # the ipython/jupyter state of the kernel and server stays in the temporary dir
        env.update(
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_DATA_DIR=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.base / "workspaces"),
            IPYTHONDIR=str(self.base / "ipython"),
        )

    def start(self) -> None:
        env = dict(os.environ)
        self._write_config(env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONWARNINGS="ignore")
        cmd = [
            sys.executable, "-m", "jupyter", self.app,
            "--allow-root",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False",
            "--LanguageServerManager.autodetect=False",
        ]  # fmt: skip
        if self.app == "lab":
            cmd += [
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
            ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(
                    f"{self.url}/api/status?token={self.token}", timeout=2
                ) as r:
                    if r.status == 200:
                        json.loads(r.read())
                        break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter {self.app} did not answer /api/status in 90 s:\n{self.log()}"
                )
            time.sleep(0.25)

    def api(self, path: str):
        with urllib.request.urlopen(f"{self.url}{path}?token={self.token}", timeout=10) as r:
            return json.loads(r.read())

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        # shut the kernels down through the API first (they are the server's children)
        with contextlib.suppress(Exception):
            for k in self.api("/api/kernels"):
                req = urllib.request.Request(
                    f"{self.url}/api/kernels/{k['id']}?token={self.token}", method="DELETE"
                )
                urllib.request.urlopen(req, timeout=10).close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()
        self.proc = None


class LabNotebook:
    """A notebook written into the lab's root, opened in a page, run top to bottom.

    ``cells`` are code strings. :meth:`run` appends a code cell through the UI, runs it and returns
    its text output; :meth:`eval` runs ``print(json.dumps(expr))`` and parses the answer.
    """

    def __init__(self, lab: Lab, context, name: str, cells: list[str]) -> None:
        import nbformat

        self.lab = lab
        self.name = name
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nbformat.write(nb, lab.root / f"{name}.ipynb")
        self.page = context.new_page()
        self.problems = PageProblems()
        self.problems.watch(self.page)
        self.n_cells = len(cells)

    # -- locating --------------------------------------------------------------------------------
    @property
    def notebook(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first

    def cell(self, i: int):
        return self.notebook.locator(".jp-Cell").nth(i)

    def output(self, i: int):
        return self.cell(i).locator(".jp-OutputArea-output")

    # -- running ---------------------------------------------------------------------------------
    def open(self, timeout: float = 180_000) -> None:
        page = self.page
        reset = "reset&" if self.lab.app == "lab" else ""
        page.goto(f"{self.lab.url}/{self.lab.tree}/{self.name}.ipynb?{reset}token={self.lab.token}")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
        self.wait_kernel()
        # "Run All" before the frontend holds a kernel connection runs nothing: retry until the
        # first prompt shows that execution started.
        first = self.cell(0).locator(".jp-InputPrompt")
        for attempt in range(4):
            self.run_all()
            try:
                expect(first).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=5_000)
                break
            except AssertionError:
                if attempt == 3:
                    raise
        self.wait_idle(timeout)

    def wait_kernel(self, timeout: float = 60.0) -> None:
        """The server has started this notebook's kernel, it is idle, and the page says so."""
        deadline = time.monotonic() + timeout
        while True:
            sessions = [
                s for s in self.lab.api("/api/sessions") if s.get("path") == f"{self.name}.ipynb"
            ]
            if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no idle kernel for {self.name}.ipynb: {sessions}")
            # not time.sleep: the sync API runs route handlers only inside Playwright calls
            self.page.wait_for_timeout(200)
        self.page.wait_for_function(
            "() => document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator')"
            "?.dataset.status === 'idle'",
            timeout=30_000,
        )

    def menu(self, top: str, item: str) -> None:
        page = self.page
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=top).first.click()
        page.locator(".lm-Menu-content .lm-Menu-itemLabel", has_text=item).first.click()

    def run_all(self) -> None:
        self.menu("Run", "Run All Cells")

    # JupyterLab 4 renders tracebacks as stderr text: an error is stderr with a traceback in it
    ERROR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    TRACEBACK = "Traceback (most recent call last)"

    def wait_idle(self, timeout: float = 120_000) -> None:
        """Every cell executed (no "[*]" or empty prompt left), or a cell failed and the run
        stopped there (see :meth:`errors`)."""
        self.page.wait_for_function(
            """([n, error, tb]) => {
                const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
                if (!nb) return false;
                const prompts = [...nb.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                if (prompts.length < n || prompts.some(p => p.textContent.includes('*'))) return false;
                if ([...nb.querySelectorAll(error)].some(o => o.textContent.includes(tb))) return true;
                return prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            arg=[self.n_cells, self.ERROR, self.TRACEBACK],
            timeout=timeout,
        )

    def errors(self) -> list[str]:
        """Tracebacks shown by any cell (stderr text such as warnings is not an error)."""
        texts = self.notebook.locator(self.ERROR).all_text_contents()
        return [t for t in texts if self.TRACEBACK in t]

    def run(self, code: str, timeout: float = 60_000) -> str:
        """Append a code cell with ``code`` below the last cell, run it, return its text output."""
        page = self.page
        last = self.cell(self.n_cells - 1)
        last.locator(".jp-InputPrompt").click()  # select the cell (command mode)
        page.keyboard.press("Escape")
        page.keyboard.press("b")  # insert a cell below
        new = self.cell(self.n_cells)
        new.wait_for()
        self.n_cells += 1
        new.locator(".cm-content").click()
        page.keyboard.insert_text(code)
        page.keyboard.press("Shift+Enter")
        page.wait_for_function(
            """(el) => /\\[\\d+\\]/.test(el.querySelector('.jp-InputPrompt').textContent)""",
            arg=new.element_handle(),
            timeout=timeout,
        )
        errors = [t for t in new.locator(self.ERROR).all_text_contents() if self.TRACEBACK in t]
        if errors:
            raise AssertionError(f"cell failed:\n{code}\n{errors[0]}")
        return "\n".join(new.locator(".jp-OutputArea-output").all_text_contents())

    def eval(self, expr: str):
        out = self.run(f"import json as _j; print('@@' + _j.dumps({expr}) + '@@')")
        start, end = out.index("@@") + 2, out.rindex("@@")
        return json.loads(out[start:end])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.page.close()
