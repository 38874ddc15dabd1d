PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/purity run experiments/default.toml --force

test: $(STAMP)
	$(BIN)/python -m pytest

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

bench: $(STAMP)
	$(BIN)/python bench/commons_speed.py
	$(BIN)/python bench/matrix_speed.py
	$(BIN)/python bench/default_experiment.py
	$(BIN)/python bench/engine_scaling.py
	$(BIN)/python bench/invasion_speed.py

clean:
	rm -rf $(VENV) runs
