"""The views outlive their Python side: the model being garbage-collected, and the kernel
restarting (issue "Hardening": "a clear message in the view, not a blank cell").

Its own notebook (own kernel): restarting the kernel of ``test_lab.py``'s notebook would break the
tests after it. Expected numbers come from the test process (same model, same text).
"""

from __future__ import annotations

import os
import re
import signal

import pytest
from labkit import LabNotebook, expect
from viewcheck import (
    TEXT,
    VIEW_CELLS,
    assert_shading,
    attention_dst,
    f16,
    head_arrays,
    read_tokens,
    wait_shading,
)

pytestmark = [pytest.mark.browser, pytest.mark.lab]

SETUP, TV, AM, HM = range(4)
CELLS = VIEW_CELLS
KINDS = {TV: "token-view", AM: "attention-matrix", HM: "head-map"}


@pytest.fixture(scope="module")
def acts(tiny_model):
    from induction_widgets import TextActivations

    return TextActivations(tiny_model, TEXT)


@pytest.fixture(scope="module")
def nb(lab, lab_context):
    notebook = LabNotebook(lab, lab_context, "restart", CELLS)
    notebook.open()
    assert not notebook.errors(), notebook.errors()
    yield notebook
    notebook.close()


def view(nb: LabNotebook, cell: int):
    return nb.output(cell).locator(f".iw-root.iw-{KINDS[cell]}").first


def hover_shades(nb, root, acts, layer: int, head: int, d: int) -> None:
    """Hovering token ``d`` shades exactly row ``d`` of head (layer, head)'s attention."""
    A = f16(head_arrays(acts, layer, head)[0])
    expected = attention_dst(A, d)
    nb.page.mouse.move(0, 0)
    root.locator(f'.iw-token[data-index="{d}"]').hover()
    wait_shading(nb.page, root, expected)
    assert_shading(read_tokens(root), expected, kind="attention")


def restart_kernel(nb: LabNotebook) -> None:
    nb.menu("Kernel", "Restart Kernel…")
    nb.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    nb.wait_kernel()


def test_view_survives_the_model_being_garbage_collected(nb, acts):
    """``del model``: the views keep working from their cached activations — no message."""
    nb.run("model_ref = tv.activations._model_ref\ndel model; gc.collect()")
    assert nb.eval("model_ref() is None") is True  # nothing else kept it alive
    root = view(nb, TV)
    root.locator(".iw-head-select").select_option("2")
    root.locator(".iw-layer-select").select_option("0")
    assert nb.eval("[tv.layer, tv.head, tv.message]") == [0, 2, ""]
    hover_shades(nb, root, acts, 0, 2, 40)
    expect(root.locator(".iw-message")).to_be_hidden()
    expect(root.locator(".iw-kernel-lost")).to_be_hidden()


def test_kernel_restart_shows_a_message_and_keeps_the_numbers(nb, acts, artifacts):
    tv, am, hm = view(nb, TV), view(nb, AM), view(nb, HM)
    for root in (tv, am, hm):
        expect(root.locator(".iw-kernel-lost")).to_be_hidden()
    restart_kernel(nb)

    for root in (tv, am, hm):  # still there, not a blank cell, and says why and what to do
        expect(root).to_be_visible()
        lost = root.locator(".iw-kernel-lost")
        expect(lost).to_be_visible()
        expect(lost).to_contain_text("The kernel was restarted, shut down or died")
        expect(lost).to_contain_text("Re-run the cell to reconnect")
        expect(root).to_have_class(re.compile(r"\biw-disconnected\b"))
    expect(tv.locator(".iw-kernel-lost")).to_contain_text("It still shows L0H2 as last computed")
    expect(am.locator(".iw-kernel-lost")).to_contain_text("It still shows L1H0 as last computed")
    for root in (tv, am):  # a head change could not reach the kernel: the selects say so
        expect(root.locator(".iw-layer-select")).to_be_disabled()
        expect(root.locator(".iw-head-select")).to_be_disabled()

    # what is on screen still works: hover shades the head it shows, the mode buttons switch
    hover_shades(nb, tv, acts, 0, 2, 33)
    tv.locator(".iw-mode-logit").click()
    expect(tv.locator(".iw-mode-logit")).to_have_class(re.compile(r"\biw-active\b"))
    tv.locator(".iw-mode-attention").click()
    hover_shades(nb, tv, acts, 0, 2, 45)
    tv.screenshot(path=str(artifacts / "kernel-lost-token-view.png"))
    plot = am.locator("canvas.iw-plot")
    expect(plot).to_have_attribute("data-n", str(acts.n_tokens))
    expect(hm.locator("table.iw-head-table tbody tr")).not_to_have_count(0)
    nb.problems.assert_clean()


def test_rerun_after_restart_reconnects(nb, acts):
    """Running the view's code again in the new kernel gives a live view: no banner, and the
    selects drive the new kernel."""
    nb.run(CELLS[SETUP] + "\n" + CELLS[TV].replace("\ntv", "\ntv.layer = 1"), timeout=120_000)
    nb.run("tv")
    root = nb.output(nb.n_cells - 1).locator(".iw-root.iw-token-view").first
    expect(root.locator(".iw-token")).to_have_count(acts.n_tokens)
    expect(root.locator(".iw-kernel-lost")).to_be_hidden()
    expect(root).not_to_have_class(re.compile(r"\biw-disconnected\b"))
    expect(root.locator(".iw-head-select")).to_be_enabled()
    root.locator(".iw-head-select").select_option("3")
    assert nb.eval("[tv.layer, tv.head]") == [1, 3]
    hover_shades(nb, root, acts, 1, 3, 40)
    # the old, disconnected views above still say so
    expect(view(nb, TV).locator(".iw-kernel-lost")).to_be_visible()
    nb.problems.assert_clean()


def test_kernel_that_dies_shows_the_same_banner(nb, acts):
    """The kernel process is killed and not restarted (the test Lab's ``restart_limit`` is 0, so
    the server reports it "dead"): the live view says so, as after a restart, keeps its numbers,
    and its selects are disabled."""
    root = nb.notebook.locator(".iw-root.iw-token-view").last  # the re-run's live view
    expect(root.locator(".iw-kernel-lost")).to_be_hidden()
    pid = nb.eval("__import__('os').getpid()")
    os.kill(pid, signal.SIGKILL)
    lost = root.locator(".iw-kernel-lost")
    expect(lost).to_be_visible(timeout=30_000)
    expect(lost).to_contain_text("The kernel was restarted, shut down or died")
    expect(lost).to_contain_text("It still shows L1H3 as last computed")
    expect(root).to_have_class(re.compile(r"\biw-disconnected\b"))
    expect(root.locator(".iw-head-select")).to_be_disabled()
    hover_shades(nb, root, acts, 1, 3, 40)
