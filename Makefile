# The README's two commands: `make run` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
BROKER_URL ?=

.PHONY: help install run test test-pg test-asgiref-oldest matrix lint format migrate superuser bench clean

help:
	@echo "make run    - set up the venv, migrate SQLite, serve the bookstore on 127.0.0.1:8000"
	@echo "             with its task worker and relay (Ctrl-C stops all)"
	@echo "make test   - set up the venv, run ruff, mypy and pytest with the coverage gate"
	@echo "make test-pg - the same tests against PostgreSQL ($(PG_URL))"
	@echo "make lint   - ruff and mypy only"
	@echo "make matrix - every supported Django x Python, PostgreSQL, the package (nox; slow)"
	@echo "make bench  - the benchmarks (not part of make test)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip learned dependency groups (PEP 735) in 25.1.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e . --group dev
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report

# The suite on PostgreSQL; the RabbitMQ tests run too when BROKER_URL is set
# (.ci/run sets it).
test-pg: $(STAMP)
	$(BIN)/coverage erase
	DATABASE_URL=$(PG_URL) BROKER_URL=$(BROKER_URL) $(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report

# docs/design.md: the bridge relies on asgiref internals; test the oldest release
# pyproject.toml allows, too (the newest is what `make test` installs).
ASGIREF_OLDEST := 3.8.1
test-asgiref-oldest: $(STAMP)
	rm -rf .asgiref-oldest
	$(BIN)/python -m pip install --quiet --no-deps --target .asgiref-oldest "asgiref==$(ASGIREF_OLDEST)"
	PYTHONPATH=.asgiref-oldest $(BIN)/python -m pytest -q -p no:randomly \
		tests/django/test_bridge.py tests/django/test_dispatch.py \
		tests/django/test_asgi.py tests/django/test_sync_handlers.py \
		tests/django/test_bridge_fallback.py

# noxfile.py: the supported Django x Python pairs, the suite on PostgreSQL and
# RabbitMQ (DATABASE_URL, BROKER_URL) and the package checks. nox looks for
# python3.11/3.12/3.13 on PATH; pyenv's installed versions are added.
PYENV_BINS := $(subst $(eval) ,:,$(wildcard $(HOME)/.pyenv/versions/3.1[123]*/bin))
matrix: $(STAMP)
	PATH="$(PYENV_BINS):$$PATH" $(BIN)/nox $(NOX_ARGS)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

# `make run PORT=8001` for another port. DEBUG on for this local server only:
# the settings keep it off everywhere else. bookstore_project/run.py starts the
# site, the task worker (db_worker) and the relay; one Ctrl-C stops them all.
PORT ?= 8000
run: migrate
	DJANGO_DEBUG=1 $(BIN)/python -m bookstore_project.run 127.0.0.1:$(PORT)

superuser: migrate
	$(BIN)/python manage.py createsuperuser

# The bench group (the messagebus library it compares against...), on top of dev.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --group bench
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .pytest_cache db.sqlite3 .asgiref-oldest \
		build dist *.egg-info .nox

# make soak: the bookstore under gunicorn and uvicorn with load and faults
# (soak/; not part of make test). PostgreSQL too when DATABASE_URL is set.
SOAK_STAMP := $(VENV)/.installed-soak
$(SOAK_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --group soak
	@touch $(SOAK_STAMP)

.PHONY: soak
soak: $(SOAK_STAMP)
	$(BIN)/python -m soak $(SOAK_ARGS)
