# LinkDo developer commands. Each target creates .venv and installs the project when missing or
# when pyproject.toml changed, so every target works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000

# Local development defaults; production sets these explicitly (see README, "Configuration").
export DJANGO_DEBUG ?= true
export PORT

.PHONY: install run migrate test test-fast test-citus lint bench fuzz load db-start db-stop citus-up citus-down clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "LinkDo needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

db-start: install
	$(BIN)/python -m linkdo.embedded_db start

db-stop: install
	$(BIN)/python -m linkdo.embedded_db stop

# A three-node Citus cluster under var/citus (Citus 14.0.1 built once from ../shared/citus, about
# 2-5 minutes), for the work of issue 35; `python deploy/citus/cluster.py url NAME` prints its
# DATABASE_URL after `python deploy/citus/cluster.py database NAME`.
citus-up: install
	$(BIN)/python deploy/citus/cluster.py start

citus-down: install
	$(BIN)/python deploy/citus/cluster.py stop

migrate: install
	$(BIN)/python manage.py migrate --noinput

# collectstatic: with DJANGO_DEBUG=false WhiteNoise serves the admin's and Swagger UI's assets from
# STATIC_ROOT only (the image runs it at build time; here, at every start).
# The web server and the job worker (background embeddings, the sweep, the purge) together; Ctrl-C
# stops both, and if one dies the command stops the other and fails (linkdo/serve.py).
run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python -m linkdo.serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -q tests/test_sql_names.py  # hand-written SQL names real tables and columns

test: lint
	$(BIN)/pytest

# The whole test suite on a three-node Citus cluster (docs/SCALING.md): starts it (Citus 14.0.1 is
# built from ../shared/citus on first use, about 2 minutes), makes test_linkdo_citus on every node
# and runs every test with DATABASE_URL at the coordinator; the migrations distribute the tenant
# tables. Tests that cannot apply there are skipped with their reason (pytest -rs prints them);
# tests/test_citus.py runs only there. About 13 minutes on 2 cores.
test-citus: install
	$(BIN)/python deploy/citus/cluster.py start
	$(BIN)/python deploy/citus/cluster.py drop test_linkdo_citus
	$(BIN)/python deploy/citus/cluster.py database test_linkdo_citus
	DATABASE_URL="$$($(BIN)/python deploy/citus/cluster.py url linkdo_citus)" LINKDO_CITUS=true \
		$(BIN)/pytest --reuse-db -rs

# The suite without the tests marked slow (gunicorn, subprocesses, hypothesis, schemathesis), for a
# quick loop while editing; `make test` (what CI runs) is the whole suite.
test-fast: install
	$(BIN)/pytest -m "not slow"

bench: migrate
	$(BIN)/python -m bench

# Schema fuzzing of a running server (schemathesis, 200 examples per operation, fixed seed).
fuzz: migrate
	$(BIN)/python -m bench.fuzz

# Load from a second process against gunicorn: rps, p50/p99, errors, worker memory growth.
load: migrate
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
