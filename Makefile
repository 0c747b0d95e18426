# Two commands for a newcomer: `make run` and `make test`. Only Python 3.11+ and make are needed.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite lint schema install lock try-latest clean bench http-audit-deps

# The exact versions (runtime + test extra, with hashes) are in requirements/lock.txt, made from
# pyproject.toml's ranges by `make lock`; .venv (and so run, test, CI) installs that, then the project
# itself without dependencies. Re-runs when pyproject.toml or the lock changes.
LOCK := requirements/lock.txt
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Regenerates the lock from pyproject.toml with a pinned pip-tools in its own venv (var/pip-tools).
# Keeps the locked versions that still fit; `make lock LOCK_ARGS=--upgrade` takes the newest allowed,
# `LOCK_ARGS='--upgrade-package strawberry-graphql'` one package.
PIP_TOOLS_VERSION := 7.6.2
PIP_TOOLS_PIP_VERSION := 26.3
PIP_TOOLS := var/pip-tools
$(PIP_TOOLS)/.installed-$(PIP_TOOLS_VERSION):
	rm -rf $(PIP_TOOLS)
	$(PYTHON) -m venv $(PIP_TOOLS)
	$(PIP_TOOLS)/bin/pip install --quiet pip==$(PIP_TOOLS_PIP_VERSION) pip-tools==$(PIP_TOOLS_VERSION)
	touch $@

lock: $(PIP_TOOLS)/.installed-$(PIP_TOOLS_VERSION)
	mkdir -p $(dir $(LOCK))
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_TOOLS)/bin/pip-compile --quiet --extra test --generate-hashes \
	  --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --output-file $(LOCK) \
	  $(LOCK_ARGS) pyproject.toml

# The newest versions pyproject.toml's bounds allow, ignoring the lock, in a throwaway venv
# (var/latest-venv; .venv is not touched): prints what differs from the lock, then runs the tests
# there (PYTEST_ARGS passes through). Green: `make lock LOCK_ARGS=--upgrade` takes them.
LATEST := var/latest-venv
try-latest: http-audit-deps
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip
	$(LATEST)/bin/pip install --quiet --upgrade -e '.[test]'
	@$(LATEST)/bin/python -c 'import re, subprocess, sys; \
	  norm = lambda n: re.sub(r"[-_.]+", "-", n).lower(); \
	  lock = dict(l.split(" ")[0].split("==") for l in open("$(LOCK)") if re.match(r"[A-Za-z0-9]", l)); \
	  lock = {norm(k): v for k, v in lock.items()}; \
	  out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True).stdout; \
	  now = {norm(k): v for k, v in (l.split("==") for l in out.splitlines() if "==" in l)}; \
	  rows = [(n, lock.get(n, "-"), now.get(n, "-")) for n in sorted(set(lock) | set(now)) if lock.get(n) != now.get(n)]; \
	  print("newest allowed vs $(LOCK):" if rows else "newest allowed = $(LOCK)"); \
	  [print(f"  {n:28} {a:>14} -> {b}") for n, a, b in rows]'
	$(LATEST)/bin/python -m pytest $(PYTEST_ARGS)
	$(LATEST)/bin/lint-imports
	$(LATEST)/bin/ruff check app tests

run: $(STAMP) graphiql-assets console-assets
	$(BIN)/mitid-gateway migrate
	PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(BIN)/mitid-gateway seed-demo --if-empty
	PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(BIN)/mitid-gateway tokens
	PUBLIC_BASE_URL=http://127.0.0.1:$(PORT) $(BIN)/mitid-gateway serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check app tests

test: $(STAMP) lint http-audit-deps graphiql-assets console-assets
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

# GraphiQL's browser files (React, GraphiQL, its explorer plugin), pinned by web/graphiql/package-lock.json,
# into var/graphiql (again only when the lock changed); the gateway serves them itself (GET /graphql in
# a browser: no CDN, works offline). Without npm, or when the install fails, that page says how to
# install them, tests/test_graphiql_browser.py skips, and everything else works as before.
GRAPHIQL_DIR := var/graphiql
.PHONY: graphiql-assets
graphiql-assets:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "note: npm not found: GraphiQL's files are not installed (its page says how; the API works as usual)"; \
	elif ! cmp -s web/graphiql/package-lock.json $(GRAPHIQL_DIR)/package-lock.json \
	     || [ ! -f $(GRAPHIQL_DIR)/node_modules/graphiql/graphiql.min.js ]; then \
	  mkdir -p $(GRAPHIQL_DIR) && cp web/graphiql/package.json web/graphiql/package-lock.json $(GRAPHIQL_DIR)/ \
	  && (cd $(GRAPHIQL_DIR) && npm ci --silent --prefer-offline --no-audit --no-fund) \
	  || { rm -f $(GRAPHIQL_DIR)/package-lock.json; echo "note: GraphiQL's files could not be installed:" \
	       "its page says how; the API works as usual"; }; fi

# The admin console (issue 19): web/console (Vite + React + TypeScript, urql, operations typed from
# schema.graphql), pinned by web/console/package-lock.json, built into var/console, which the gateway
# serves at /console. `npm ci` again only when the lock changed, the build only when the lock, the
# sources or schema.graphql did. Without npm, or when the packages cannot be installed, /console says
# how to build it, tests/test_console_browser.py skips, and everything else works as before; when the
# build itself fails (e.g. an operation of the console no longer fits schema.graphql) that test fails
# with the build's log.
CONSOLE_DIR := var/console
CONSOLE_SOURCES := web/console/package.json web/console/package-lock.json web/console/index.html \
  web/console/vite.config.ts web/console/codegen.ts web/console/tsconfig.json schema.graphql \
  $(shell find web/console/src -path web/console/src/gql -prune -o -type f -print 2>/dev/null)
.PHONY: console-assets
console-assets:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "note: npm not found: the console is not built (/console says how; the API works as usual)"; \
	else $(MAKE) -s $(CONSOLE_DIR)/.built; fi

$(CONSOLE_DIR)/.built: $(CONSOLE_SOURCES)
	@mkdir -p $(CONSOLE_DIR) && cd web/console && { cmp -s package-lock.json node_modules/.console-lock \
	  || { npm ci --silent --prefer-offline --no-audit --no-fund && cp package-lock.json node_modules/.console-lock; }; } \
	  || { echo "note: the console's npm packages could not be installed: /console says how; the API works as usual"; \
	       exit 0; }; \
	if npm run --silent build >../../var/console-build.log 2>&1; then touch ../../$@; else \
	  rm -f ../../$(CONSOLE_DIR)/index.html; cp ../../var/console-build.log ../../$(CONSOLE_DIR)/build-failed.log; \
	  echo "note: the console did not build (var/console-build.log; an operation no longer fits schema.graphql?):" \
	       "tests/test_console_browser.py fails with the log"; fi

# The dashboard benchmark (issue 7) from a fresh clone: installs, generates the data, prints the table.
bench: $(STAMP)
	$(BIN)/python -m bench.dashboard $(BENCH_ARGS)

schema: $(STAMP)
	$(BIN)/mitid-gateway export-schema > schema.graphql
	mkdir -p docs && $(BIN)/mitid-gateway roles-doc > docs/roles.md

clean:
	rm -rf $(VENV) var
