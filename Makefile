PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium
BROWSER_STAMP := $(VENV)/.chromium-tried

.PHONY: run test test-slow test-lowest lint bench findings clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python scripts/compile_loops.py
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/purity run experiments/default.toml --force

# tests/reports/test_browser.py opens real reports in headless Chromium. On a fresh Debian machine,
# as root, try once to install it (the stamp records the try); never fail the build: without
# Chromium that test skips.
$(BROWSER_STAMP): | $(STAMP)
	@if [ ! -x "$(CHROMIUM)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the browser test (apt-get, once)"; \
		{ DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "could not install chromium: the browser test will skip"; \
	fi; touch $@

# Two test processes (pytest-xdist): the suite takes half the time on this 2-core machine kind.
# purity's modules are compiled to bytecode first (only those changed since; about 0.5 s for
# all): where PYTHONDONTWRITEBYTECODE is set, each of the suite's ~190 Python subprocesses would
# otherwise compile the ones it imports again, about 0.15 s of CPU each.
TEST_WORKERS ?= 2

test: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/python -m compileall -q purity
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# Ruff formats and lints; pylint's duplicate-code check (alone) fails on any block of 7 or more
# lines repeated across the source, imports, docstrings and signatures aside.
lint: $(STAMP)
	$(BIN)/ruff format --check --quiet .
	$(BIN)/ruff check --quiet .
	$(BIN)/pylint --disable=all --enable=duplicate-code --min-similarity-lines=7 --score=n purity

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# The suite on the oldest versions pyproject.toml allows: a second venv whose dependencies are
# pinned to their lower bounds (.ci/lowest.py writes the constraints; pip cannot resolve lowest).
LOWEST := .venv-lowest
$(LOWEST)/.installed: pyproject.toml .ci/lowest.py
	rm -rf $(LOWEST)
	$(PY) -m venv $(LOWEST)
	$(LOWEST)/bin/pip install --quiet --upgrade pip
	$(PY) .ci/lowest.py > $(LOWEST)/constraints.txt
	$(LOWEST)/bin/pip install --quiet -c $(LOWEST)/constraints.txt -e '.[test]'
	touch $@

# It plays the numpy core (PURITY_BACKEND=numpy), so the whole suite holds both backends to the
# same tables: `make test` the compiled default, this the numpy one.
test-lowest: $(LOWEST)/.installed
	$(LOWEST)/bin/python -m pip list --format=freeze | grep -iE '^(numpy|numba|polars|networkx|pettingzoo|gymnasium|ray|matplotlib)=='
	$(LOWEST)/bin/python -m compileall -q purity
	PURITY_BACKEND=numpy $(LOWEST)/bin/python -m pytest -n $(TEST_WORKERS)
	$(LOWEST)/bin/python -m pytest -m slow tests/test_install.py

# The arena figures compare each core with a plain-Python PettingZoo env of the same rules, and the
# commons with a fused numba loop.
bench: $(STAMP)
	$(BIN)/python bench/arena_speed.py
	$(BIN)/python bench/training_speed.py
	$(BIN)/python bench/default_experiment.py
	$(BIN)/python bench/engine_scaling.py
	$(BIN)/python bench/invasion_speed.py
	$(BIN)/python bench/reflection_speed.py
	$(BIN)/python bench/scaling.py
	$(BIN)/python bench/report_speed.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/mutation_speed.py

# docs/findings.md: every shipped experiment run as shipped, its verdicts copied into the page.
# Rewrites the sections whose experiment, profiles or purity version changed (long: every
# experiment at full size, sweeps included); `make findings FILES=experiments/x.toml` forces some.
findings: $(STAMP)
	$(BIN)/python scripts/findings.py $(FILES)

clean:
	rm -rf $(VENV) $(LOWEST) runs
