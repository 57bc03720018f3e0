"""Memory in a kernel that stays up (#16), measured in a real IPython kernel driven by nbclient.

One kernel loads SmolLM2 once, then:

* runs the same view cell (``v = iw.TokenView(model, ids, 18, 6); v``) on a 1,024-token text once,
  then 9 more times: the kernel's RSS growth after 10 runs is at most 1.3× that after one run;
* opens a token view, a matrix and an explorer of that text: one activations object between them;
* with a budget of 2 views' worth, opens 5 views on 5 other texts (256 tokens each): the held
  activations never exceed the budget, the kernel's RSS growth stays within budget + 10%, and every
  view answers head switches (evicted ones read their text again) with TransformerLens's own
  ``hook_pattern`` of its text.

RSS is read after ``gc.collect()`` and glibc's ``malloc_trim`` with a fixed
``MALLOC_MMAP_THRESHOLD_``, so it counts live memory rather than heap pages kept for reuse.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("psutil")
from kernelkit import MEMORY_SETUP, run_cells

SETUP = (
    MEMORY_SETUP.replace("__MODEL__", '"smollm2"')
    + """
from induction_widgets.compute._model import run_with_hooks
from induction_widgets.payload import decode

def hook_pattern(ids, layer, head):
    out = {}
    def grab(p, hook):
        out["p"] = p[0, head].detach().float().cpu()
    name = f"blocks.{layer}.attn.hook_pattern"
    run_with_hooks(model, ids[None], [(name, grab)], stop_at=name)
    return out["p"]

def shown(view):
    n = len(view.tokens)
    return torch.from_numpy(decode(view.attention).reshape(n, n).astype("float32"))

ids = text_ids(1024)
rss0 = rss()
"""
)

VIEW_CELL = "v = iw.TokenView(model, ids, 18, 6); v"


THREE_VIEWS = """\
scores = iw.head_scores(model, n_examples=2, progress=False)
tv = iw.TokenView(model, ids, 18, 6)
am = iw.AttentionMatrix(model, ids, 5, 1)
ex = iw.InductionExplorer(model, ids, scores=scores, layer=23, head=0)
objects = {id(w.activations) for w in (v, tv, am, ex.token_view, ex.matrix)}
three = {"objects": len(objects), "info": iw.memory_info()}
"""

BUDGET = """\
iw.close_all()
texts = [text_ids(256, salt=f"Chapter {i}. ") for i in range(5)]
size = iw.TextActivations(model, texts[0], progress=False).nbytes
budget = iw.set_memory_budget(2 * size)
base = rss()
held, peak_rss, views = [], [], []
for t in texts:
    views.append(iw.TokenView(model, t, 18, 6))
    held.append(iw.memory_info()["held"])
    peak_rss.append(rss() - base)
errors, reread = [], []
for view, t in zip(views, texts):
    for layer, head in ((3, 4), (23, 0)):  # neither is the head it opened on
        was = view._handle.resident
        view.layer, view.head = layer, head
        reread.append(not was)
        errors.append(float((shown(view) - hook_pattern(t, layer, head)).abs().max()))
        held.append(iw.memory_info()["held"])
        peak_rss.append(rss() - base)
budget_result = {"size": size, "budget": budget, "held": held, "rss": peak_rss,
                 "errors": errors, "reread": reread, "messages": [v.message for v in views]}
"""


@pytest.fixture(scope="module")
def kernel_results() -> dict[str, Any]:
    cells = [SETUP, VIEW_CELL, "rss1 = rss() - rss0"]
    cells += [VIEW_CELL] * 9
    cells += ["rss10 = rss() - rss0", THREE_VIEWS, BUDGET]
    cells += [
        'print("@@" + json.dumps({"rss1": rss1, "rss10": rss10, "three": three, '
        '"budget": budget_result}))'
    ]
    (out,) = run_cells(cells)
    print("kernel measurements:", out)  # shown with -s
    return out


@pytest.mark.smollm2
def test_rerunning_a_view_cell_does_not_grow_memory(kernel_results):
    rss1, rss10 = kernel_results["rss1"], kernel_results["rss10"]
    assert rss1 > 50e6  # the first run read the text's activations (~165 MB at 1,024 tokens)
    assert rss10 <= 1.3 * rss1, f"10 runs: {rss10 / 1e6:.0f} MB vs one run {rss1 / 1e6:.0f} MB"


@pytest.mark.smollm2
def test_three_views_of_one_text_hold_one_activations_object(kernel_results):
    three = kernel_results["three"]
    assert three["objects"] == 1
    assert three["info"]["resident"] == 1 and three["info"]["reads"] == 1


@pytest.mark.smollm2
def test_budget_of_two_views_holds_for_five_texts(kernel_results):
    b = kernel_results["budget"]
    budget = b["budget"]
    assert budget == 2 * b["size"]
    assert max(b["held"]) <= budget
    assert max(b["rss"]) <= 1.1 * budget, [round(r / 1e6) for r in b["rss"]]
    assert any(b["reread"])  # some views had been evicted and read their text again
    assert max(b["errors"]) < 1e-3  # float16 payload of TL's own hook_pattern
    assert b["messages"] == [""] * 5
