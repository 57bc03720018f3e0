"""Calibrate the copying measures: the table of docs/scores.md ("Calibration").

Each measure of :func:`induction_widgets.head_scores` that speaks about copying — the paper's
literal ``copying``, ``copying_accuracy``, the source-only ``copying_source`` and ``ov_copying`` —
on heads whose answer is known or expected:

* a hand-built exact-copy head (OV circuit ``+I``) and anti-copy head (``−I``) (tests/handmade.py);
* random OV circuits: the tiny model with its layer-1 ``W_O`` replaced by Gaussian noise (attention
  untouched, so prefix matching stays high), ten seeds;
* the tiny model's heads (layer 0: previous-token heads; layer 1: induction heads);
* SmolLM2-135M's ten best prefix matchers.

The verdict column is the default verdict (prefix matching ≥ 0.3 and copying rank ≥ 0.65); the
last column the paper-literal one of earlier versions (copying ≥ −0.4).

Run (about a minute with SmolLM2 on a 2-core machine)::

    PYTHONPATH=src .venv/bin/python scripts/calibrate_copying.py            # print the table
    PYTHONPATH=src .venv/bin/python scripts/calibrate_copying.py --write    # and update docs/scores.md
    PYTHONPATH=src .venv/bin/python scripts/calibrate_copying.py --no-smollm2
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import torch

import induction_widgets as iw

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- calibration:begin -->", "<!-- calibration:end -->"
MEASURES = (
    "prefix_matching", "copying", "copying_accuracy", "copying_rank", "copying_source", "ov_copying",
)  # fmt: skip


def random_ov(model: Any, layer: int, seed: int) -> Any:
    """A copy of the bundled tiny model whose ``layer`` output matrix ``W_O`` is Gaussian noise of
    the same standard deviation: attention (and so prefix matching) unchanged, a random OV circuit."""
    out = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if hasattr(out, "original_model"):  # TransformerBridge
            params = out.original_model.state_dict(keep_vars=True)
            key = f"layers.{layer}.attn.o._original_component.weight"
            t = params[key]
            t.copy_(torch.randn(t.shape, generator=gen) * t.std())
        else:  # HookedTransformer
            w = out.blocks[layer].attn.W_O
            w.copy_(torch.randn(w.shape, generator=gen) * w.std())
    return out


def rows(args: argparse.Namespace) -> list[tuple[str, str, dict[str, float]]]:
    """``(group, head, {measure: value})`` for every calibration head."""
    out: list[tuple[str, str, dict[str, float]]] = []

    def add(group: str, name: str, s: iw.HeadScores, l: int, h: int) -> None:
        values = {m: float(s.get(m)[l, h]) for m in MEASURES}
        values["rank_sd"] = float(s.std("copying_rank")[l, h])
        values["verdict"] = s.verdict(l, h)  # type: ignore[assignment]
        values["old verdict"] = s.verdict(l, h, measure="copying", copying_threshold=-0.4)  # type: ignore[assignment]
        out.append((group, name, values))

    sys.path.insert(0, str(ROOT / "tests"))
    from handmade import build  # type: ignore[import-not-found]

    for sign, name in ((1.0, "exact copy (OV = +I)"), (-1.0, "anti-copy (OV = −I)")):
        s = iw.head_scores(build(sign), n_examples=4, seq_len=5, repeats=2, seed=0)
        add("hand-built", name, s, 0, 0)

    tiny = iw.load_model("tiny")
    for seed in range(args.random_seeds):
        s = iw.head_scores(random_ov(tiny, 1, seed), progress=False)
        for h in range(tiny.cfg.n_heads):
            add("random OV (tiny, layer 1)", f"seed {seed} L1H{h}", s, 1, h)
    s = iw.head_scores(tiny, progress=False)
    for l in range(tiny.cfg.n_layers):
        for h in range(tiny.cfg.n_heads):
            add("tiny", f"L{l}H{h}", s, l, h)
    if args.smollm2:
        model = iw.load_model("smollm2", progress=False)
        s = iw.head_scores(model, progress=False)
        for r in s.top(10, by="prefix_matching"):
            add("SmolLM2 top-10 prefix matching", f"L{r.layer}H{r.head}", s, r.layer, r.head)
    return out


def table(data: list[tuple[str, str, dict[str, float]]]) -> str:
    """Markdown: one row per head, except random OV, summarised as min … max over its heads;
    ``copying_rank`` with its standard deviation over the protocol's examples."""
    head = (
        "| heads | head | " + " | ".join(MEASURES) + " | verdict | old verdict (copying ≥ −0.4) |"
    )
    lines = [head, "|" + "---|" * (len(MEASURES) + 4)]
    groups: dict[str, list[tuple[str, dict[str, float]]]] = {}
    for g, n, v in data:
        groups.setdefault(g, []).append((n, v))
    for g, items in groups.items():
        if g.startswith("random OV"):
            cells = []
            for m in MEASURES:
                xs = [float(v[m]) for _, v in items]
                cells.append(f"{min(xs):.2f} … {max(xs):.2f}")
            verdicts = sorted({str(v["verdict"]) for _, v in items})
            old = sorted({str(v["old verdict"]) for _, v in items})
            lines.append(
                f"| {g} | {len(items)} heads | "
                + " | ".join(cells)
                + f" | {'; '.join(verdicts)} | {'; '.join(old)} |"
            )
            continue
        for n, v in items:
            cells = [f"{float(v[m]):.2f}" for m in MEASURES]
            sd = float(v["rank_sd"])
            if sd == sd:  # not NaN
                cells[MEASURES.index("copying_rank")] += f" ± {sd:.2f}"
            lines.append(
                f"| {g} | {n} | "
                + " | ".join(cells)
                + f" | {v['verdict'] or '—'} | {v['old verdict'] or '—'} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="update the table in docs/scores.md")
    parser.add_argument("--no-smollm2", dest="smollm2", action="store_false")
    parser.add_argument("--random-seeds", type=int, default=10)
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    text = table(rows(args))
    print(text)
    if args.write:
        doc = ROOT / "docs" / "scores.md"
        old = doc.read_text(encoding="utf-8")
        a, b = old.index(BEGIN) + len(BEGIN), old.index(END)
        doc.write_text(old[:a] + "\n" + text + "\n" + old[b:], encoding="utf-8")
        print(f"wrote {doc}")


if __name__ == "__main__":
    main()
