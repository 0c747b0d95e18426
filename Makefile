# Two commands for a newcomer: `make run` and `make test`. Only Python 3.11+ and make are needed.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite lint schema install clean bench http-audit-deps

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

test: $(STAMP) lint http-audit-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# graphql-http's serverAudits for tests/test_http_audit.py, pinned by tests/http_audit/package-lock.json,
# into var/graphql-http (again only when the lock changed). Without npm that one test skips, saying so.
AUDIT_DIR := var/graphql-http
http-audit-deps:
	@if ! command -v npm >/dev/null 2>&1; then echo "note: npm not found: tests/test_http_audit.py will skip"; \
	elif ! cmp -s tests/http_audit/package-lock.json $(AUDIT_DIR)/package-lock.json \
	     || [ ! -d $(AUDIT_DIR)/node_modules/graphql-http ]; then \
	  mkdir -p $(AUDIT_DIR) && cp tests/http_audit/package.json tests/http_audit/package-lock.json $(AUDIT_DIR)/ \
	  && (cd $(AUDIT_DIR) && npm ci --silent --no-audit --no-fund) \
	  || echo "note: graphql-http could not be installed: tests/test_http_audit.py will fail"; fi

# The dashboard benchmark (issue 7) from a fresh clone: installs, generates the data, prints the table.
bench: $(STAMP)
	$(BIN)/python -m bench.dashboard $(BENCH_ARGS)

schema: $(STAMP)
	$(BIN)/mitid-gateway export-schema > schema.graphql
	mkdir -p docs && $(BIN)/mitid-gateway roles-doc > docs/roles.md

clean:
	rm -rf $(VENV) var
