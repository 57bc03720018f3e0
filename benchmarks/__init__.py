"""Benchmarks of induction_widgets against their baselines (``python -m benchmarks.run``).

Every case measures ours and its baseline in the same run, several repetitions each, and reports
the median with its spread; see ``benchmarks/README.md``.
"""
