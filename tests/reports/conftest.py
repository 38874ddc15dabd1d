"""The fixtures of the report tests; their run files are written by `run_fixtures`, a module with a
name of its own (a `from conftest import` finds whichever test folder's conftest came first)."""

from run_fixtures import reps_dir, run_dir, run_with_drift  # noqa: F401
