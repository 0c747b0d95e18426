# Two commands for a newcomer: `make run` and `make test`. Only Python 3.11+ and make are needed.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite lint schema install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/mitid-gateway migrate
	$(BIN)/mitid-gateway seed-demo --if-empty
	PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(BIN)/mitid-gateway tokens
	PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(BIN)/mitid-gateway serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check app tests

test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The dashboard benchmark (issue 7) from a fresh clone: installs, generates the data, prints the table.
bench: $(STAMP)
	$(BIN)/python -m bench.dashboard $(BENCH_ARGS)

schema: $(STAMP)
	$(BIN)/mitid-gateway export-schema > schema.graphql
	mkdir -p docs && $(BIN)/mitid-gateway roles-doc > docs/roles.md

clean:
	rm -rf $(VENV) var
