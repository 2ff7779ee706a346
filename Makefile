# The two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
N ?= 20
# Test files run in this many processes (pytest-xdist; a file's tests stay in one process,
# so module fixtures such as a private Ray cluster are started once).
TEST_PROCS ?= 2
# Installed modules are byte-compiled at install: with PYTHONDONTWRITEBYTECODE set (as on
# CI's machines) nothing is compiled later, and every process would compile torch again.
PIP := $(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt

.PHONY: run test test-fast bench loadtest lint worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements.txt requirements-nodeps.txt constraints.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -r requirements-nodeps.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.app-installed
	$(PIP) -r requirements-dev.txt
	touch $@

run: $(VENV)/.app-installed
	$(BIN)/python -m streamlit run app.py --server.port $(PORT)

worker: $(VENV)/.app-installed
	$(BIN)/python -m playground worker

test: $(VENV)/.dev-installed
	scripts/ensure-chromium
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports
	scripts/private-network $(BIN)/python -m pytest -n $(TEST_PROCS) --dist loadfile

# Day-to-day: the core's contracts and pure functions, no browser or real training.
test-fast: $(VENV)/.dev-installed
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m fast -n $(TEST_PROCS) --dist loadfile

bench: $(VENV)/.app-installed
	scripts/private-network $(BIN)/python -m playground.bench --out BENCHMARKS.md

# N browser sessions in one workshop against a fresh server; writes into BENCHMARKS.md.
loadtest: $(VENV)/.dev-installed
	scripts/ensure-chromium
	$(BIN)/python scripts/loadtest.py --n $(N) --out BENCHMARKS.md

clean:
	rm -rf $(VENV) .pytest_cache
