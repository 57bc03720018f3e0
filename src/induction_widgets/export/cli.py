"""``induction-widgets`` command line: ``report`` and ``export``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="induction-widgets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("report", help="write the offline Argument-4 report for a model")
    rep.add_argument(
        "--model", default="smollm2", help="'tiny', 'smollm2', a HF name or a local path"
    )
    rep.add_argument("--out", "-o", default="report.html", help="output HTML file")
    rep.add_argument(
        "--problems", type=int, default=20, help="pattern-matching problems (default 20)"
    )
    rep.add_argument(
        "--no-beyond",
        action="store_true",
        help="leave out the sections beyond Argument 4 (ICL score, ablation, partners, phase change)",
    )

    exp = sub.add_parser(
        "export", help="export a notebook to offline HTML in which the views render"
    )
    exp.add_argument("notebook")
    exp.add_argument("--out", "-o", default=None, help="output HTML file (default: NOTEBOOK.html)")
    exp.add_argument("--execute", action="store_true", help="run the notebook first (nbclient)")

    args = parser.parse_args(argv)
    if args.command == "report":
        from ..models import load_model
        from .report import report

        model = load_model(args.model)
        out = report(model, args.out, n_problems=args.problems, beyond=not args.no_beyond)
    else:
        from .notebook import export_notebook

        out = export_notebook(args.notebook, args.out, execute=args.execute)
    print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
