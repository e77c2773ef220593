# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Where PYTHONDONTWRITEBYTECODE is set (these machines, the container image) Python never caches
# the editable install's bytecode, so every `logoff run` would compile bot/, storage/ and
# adapters/ from source (~0.25 s of its start). compileall writes it anyway and is incremental:
# after a `git pull` it rewrites only what changed (~0.1 s when nothing did). The dataclass code
# cache (bot/app/dataclass_cache.py) spares a start compiling its dataclasses' methods; it is
# rewritten (~1.5 s) only when the install or a source file is newer than its stamp.
SOURCES := $(shell find bot adapters storage -name '*.py' 2>/dev/null)
DATACLASS_CACHE := $(VENV)/.dataclass-cache
# ... and whenever the file itself is gone (a `git clean` of bot/__pycache__ keeps the stamp).
ifeq ($(wildcard bot/__pycache__/dataclass-code.*.bin),)
$(DATACLASS_CACHE): FORCE
endif
BYTECODE := $(BIN)/python -m compileall -q bot adapters storage

.PHONY: run test lint sandbox bench clean FORCE

FORCE:

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,e2e,metrics]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(DATACLASS_CACHE): $(STAMP) $(SOURCES)
	$(BIN)/python -m bot.app.dataclass_cache --write
	touch $(DATACLASS_CACHE)

run: $(STAMP) $(DATACLASS_CACHE)
	$(BYTECODE)
	$(BIN)/logoff migrate
	$(BIN)/logoff run

sandbox: $(STAMP)
	$(BIN)/logoff sandbox

test: $(STAMP) $(DATACLASS_CACHE)
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
