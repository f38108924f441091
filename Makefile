# HealthStack: `make demo` and `make test` are the two set-up commands (README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_SCALE ?= 0.002
export HEALTHSTACK_DATA_DIR ?= var
# `make demo PORT=8101 HOST=0.0.0.0`: where the demo listens; its base URL follows
# unless HEALTHSTACK_BASE_URL is set.
ifdef PORT
export HEALTHSTACK_PORT := $(PORT)
endif
# HOST from the command line only: some shells export HOST as the machine's name.
ifeq ($(origin HOST),command line)
export HEALTHSTACK_HOST := $(HOST)
endif

.PHONY: demo test test-pg lint typecheck bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: venv
	$(BIN)/healthstack db upgrade
	$(BIN)/healthstack seed --profile jk --scale $(DEMO_SCALE) --if-empty
	$(BIN)/healthstack demo

test: venv
	$(BIN)/pytest -q $(PYTEST_ARGS)

# The same suite against PostgreSQL (CI runs both).
test-pg: venv
	HEALTHSTACK_TEST_DATABASE_URL=$${HEALTHSTACK_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -q $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

bench: venv
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
