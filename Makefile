# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Where PYTHONDONTWRITEBYTECODE is set (these machines, the container image) Python never caches
# the editable install's bytecode, so every `logoff run` would compile bot/, storage/ and
# adapters/ from source (~0.25 s of its start). compileall writes it anyway and is incremental:
# after a `git pull` it rewrites only what changed (~0.1 s when nothing did). The dataclass code
# cache (bot/app/dataclass_cache.py) spares a start compiling its dataclasses' methods.
BYTECODE := $(BIN)/python -m compileall -q bot adapters storage \
	&& $(BIN)/python -m bot.app.dataclass_cache --write

.PHONY: run test lint sandbox bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,e2e,metrics]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BYTECODE)
	$(BIN)/logoff migrate
	$(BIN)/logoff run

sandbox: $(STAMP)
	$(BIN)/logoff sandbox

test: $(STAMP)
	$(BYTECODE)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
