# alliance-cohesion: the two commands of the README are `make run` and `make test`.
# Both create .venv with the Python chosen by .python-version (pyenv) and install the
# project with everything its tests need; nothing is downloaded at run time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := test,experiments,viz

.PHONY: setup run test lint bench bench-engine bench-validation calibrate hindcast schema clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "alliance-cohesion needs Python >= 3.12; found " + sys.version.split()[0] + " (pyenv: see .python-version)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

run: setup
	$(BIN)/cohesion run baseline

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/bench_run.py --against
	$(BIN)/python benchmarks/bench_latency.py

bench-engine: setup
	$(BIN)/python benchmarks/bench_engine.py

bench-validation: setup
	$(BIN)/python benchmarks/bench_validation.py

# Regenerate the shipped posterior and the committed validation report (docs/validation/).
calibrate: setup
	$(BIN)/cohesion calibrate --out data/posterior

hindcast: setup
	$(BIN)/cohesion hindcast --out docs/validation

schema: setup
	$(BIN)/cohesion schema --out scenarios/scenario.schema.json

clean:
	rm -rf $(VENV) results .pytest_cache .hypothesis .ruff_cache
