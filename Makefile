# One task runner for people and CI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install Shoal with its test tools

run: $(STAMP)  ## serve on http://127.0.0.1:8080 with embedded defaults
	$(BIN)/shoal serve

test: $(STAMP)  ## the whole test suite, on real engines and a real server
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff and mypy (strict on src/)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP)  ## performance figures, each beside a baseline measured in the same run
	$(BIN)/python bench/tts.py
	$(BIN)/python bench/asr.py
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/gateway.py
	$(BIN)/python bench/tasks.py
	$(BIN)/python bench/voices.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
