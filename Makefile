# The two commands of the README: `make demo` and `make test` (lint, then every test).
# Each creates the virtual environment on first use; nothing but python3 is needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean browser postgres

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pilotlift demo

# The browser tests drive Debian's Chromium (Playwright's own download does not work here).
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Storage tests also run on the machine's PostgreSQL (127.0.0.1:5432); start it if it is down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1

test: lint browser postgres
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check service stats jupyter_ext tests examples benchmarks
	$(BIN)/ruff format --check service stats jupyter_ext tests examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# The benchmark's own tools: the GrowthBook SDK (reference rate) and wrk (single-customer load).
bench: $(STAMP) postgres
	$(BIN)/python -m pip install --quiet growthbook psutil
	@command -v wrk >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) pilotlift.db pilotlift.db-wal pilotlift.db-shm pilotlift.db.writelock
