"""The documentation gallery: every view saved as an offline page, made from the bundled tiny model.

    python scripts/gallery.py OUT_DIR     # writes OUT_DIR/<name>.html for every entry of VIEWS

``docs/hooks.py`` calls :func:`write_gallery` while ``mkdocs build`` runs, so the site always shows
the views as the current code draws them; the accessibility tests (tests/docs/) open the same
pages. Nothing here needs the network or a GPU: the tiny model and its training checkpoints ship in
the wheel.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One gallery page: ``name`` (its file stem), a ``title`` (the page's and the iframe's) and a
    ``caption`` saying what the view shows and how to drive it."""

    name: str
    title: str
    caption: str
    height: int


VIEWS: tuple[Entry, ...] = (
    Entry(
        "explorer",
        "Explorer: head map, token view and attention matrix",
        "`iw.InductionExplorer(model, text)`: click a head on the map (or focus the map and use the "
        "arrow keys, Enter to select), hover or lock a token, read the matrix beside it.",
        900,
    ),
    Entry(
        "token_view",
        "Token view: attention of layer 1, head 1",
        "`iw.TokenView(model, text)`: hover a token to see where the head looks from it; click "
        "to lock, arrow keys to step, Esc to unlock; switch to logit attribution.",
        520,
    ),
    Entry(
        "attention_matrix",
        "Attention matrix of layer 1, head 1",
        "`iw.AttentionMatrix(model, text, layer, head)`: the `[dst, src]` pattern; wheel to zoom, "
        "drag to pan, arrow keys move the focused cell, Enter locks it.",
        640,
    ),
    Entry(
        "head_map",
        "Head map: prefix matching of every head",
        "`iw.HeadMap(scores)`: the layer × head grid and the paper-style table; arrow keys move "
        "over heads, Enter selects.",
        620,
    ),
    Entry(
        "scatter",
        "Verdict scatter: prefix matching against copying",
        "`iw.VerdictScatter(scores)`: every head as a point, the induction-head thresholds drawn.",
        560,
    ),
    Entry(
        "loss_curve",
        "Loss curve: loss against token index",
        "`iw.LossCurve(iw.icl_score(model))`: the in-context-learning score's two indices marked.",
        460,
    ),
    Entry(
        "partners",
        "Previous-token partners of head 1.1",
        "`iw.PartnerBars(iw.previous_token_partners(model, 1, 1))`: earlier heads ranked by "
        "K-composition.",
        360,
    ),
    Entry(
        "phase_change",
        "Phase change over the tiny model's training",
        "`iw.PhaseChangeCurves(iw.checkpoint_scores('tiny'))`: head scores and the ICL score along "
        "training, the biggest jump shaded.",
        520,
    ),
)


#: A sentence and its repeat: the tiny model's induction head (layer 1, head 1) copies the second half.
TEXT = (
    "Mr. Bingley had soon made himself acquainted with all the principal people in the room. "
    "Mr. Bingley had soon made himself acquainted with all the principal people in the room."
)


#: The checkpoints the phase-change page shows (of the 23 the wheel ships).
PHASE_STEPS = (0, 200, 400, 450, 500, 600, 1000, 1900)


def _makers(model: Any) -> dict[str, Callable[[], Any]]:
    import induction_widgets as iw

    text = TEXT
    acts = iw.TextActivations(model, text)
    scores = iw.head_scores(model, progress=False)
    return {
        "explorer": lambda: iw.InductionExplorer(model, text, scores=scores, layer=1, head=1),
        "token_view": lambda: iw.TokenView(model, text, 1, 1, activations=acts),
        "attention_matrix": lambda: iw.AttentionMatrix(model, text, 1, 1, activations=acts),
        "head_map": lambda: iw.HeadMap(scores),
        "scatter": lambda: iw.VerdictScatter(scores),
        "loss_curve": lambda: iw.LossCurve(iw.icl_score(model, n_contexts=6, progress=False)),
        "partners": lambda: iw.PartnerBars(iw.previous_token_partners(model, 1, 1)),
        # 8 of the 23 shipped checkpoints (the jump lies between steps 450 and 500) and 32 ICL
        # contexts instead of 128: the same picture in a fifth of the build time
        "phase_change": lambda: iw.PhaseChangeCurves(
            iw.checkpoint_scores(
                "tiny",
                steps=PHASE_STEPS,
                n_examples=4,
                icl_tokens=iw.copy_task_tokens(model, 32, n_tokens=56, length=64),
                progress=False,
            )
        ),
    }


def write_gallery(
    out: Path, log: Callable[[str], None] = lambda s: None
) -> list[tuple[Entry, Path]]:
    """Save every view of :data:`VIEWS` under ``out`` (created) and return ``(entry, path)`` pairs."""
    import induction_widgets as iw

    out.mkdir(parents=True, exist_ok=True)
    makers = _makers(iw.load_model("tiny"))
    written = []
    for entry in VIEWS:
        t0 = time.perf_counter()
        view = makers[entry.name]()
        path = view.save_html(out / f"{entry.name}.html", title=entry.title)
        written.append((entry, Path(path)))
        view.close()
        log(f"gallery: {entry.name} in {time.perf_counter() - t0:.1f} s")
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__)
        return 2
    for entry, path in write_gallery(Path(args[0]), print):
        print(f"{entry.name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
