"""Benchmarks of induction_widgets against their baselines (``python -m benchmarks.run``).

Every case measures ours and its baseline in the same run, several repetitions each, and reports
the median with its spread; see ``benchmarks/README.md``.
"""

import sys
from pathlib import Path

#: ``tests/browser``: its ``labkit`` (the JupyterLab driver, Chromium's path and flags, offline
#: contexts; no pytest) serves the browser cases too, imported where needed (it loads Playwright).
BROWSER_TESTS = Path(__file__).resolve().parents[1] / "tests" / "browser"
if str(BROWSER_TESTS) not in sys.path:
    sys.path.append(str(BROWSER_TESTS))
