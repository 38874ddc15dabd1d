"""Benchmark scripts (run them as files: `.venv/bin/python bench/NAME.py`) and the plain-Python
baselines in `bench.plain`; nothing here is part of the installed package."""
