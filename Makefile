# Two commands for a fresh clone:  `make book`  and  `make test`.
# Both create the environment (.venv, from requirements.txt) when it is absent or out of date.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test env browser bench clean site serve lint

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

env: $(STAMP)

## Build the book into static HTML under _build/html (executes every chapter).
book: env
	$(BIN)/review build

## The publishable site in _build/site: the current book, every release under v/VERSION/, versions.json.
site: env
	$(BIN)/review site

## Build, serve _build/html on localhost and rebuild on every edit (Ctrl-C stops).
serve: env
	$(BIN)/review serve

## Headless Chromium for the browser tests: Debian's package, installed under CI (root, apt).
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ -n "$${CI:-}" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

## Run the whole test suite (builds the book first: the browser tests read _build/html).
test: lint book browser
	$(BIN)/python -m pytest

## Lint and format check (ruff, pinned in requirements.txt; configured in pyproject.toml)
lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Benchmarks (not timed tests): writes BENCHMARKS.md and _build/bench/results.json
bench: env
	$(BIN)/python -m benchmarks

clean:
	rm -rf _build

## Regenerate constraints.txt (every transitive pin) from the current environment.
constraints: env
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^sarcoma-review' > constraints.txt
