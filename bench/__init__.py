"""Simpul's benchmark suite: each figure is a ratio measured side by side in one run.

``python -m bench --help`` (or ``make bench`` / ``make bench-quick``); see bench/README.md.
"""
