# Playground: `make run` serves the app on SQLite with demo data; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export FLASK_APP := webapp
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

.DEFAULT_GOAL := help
.PHONY: help run test test-fast test-browser-loaded test-ops deploy-check lint format bench bench-quick bench-web bench-load migrate seed worker serve clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

migrate: $(VENV)/.runtime ## Apply database migrations (alembic upgrade head)
	$(VENV)/bin/alembic upgrade head

seed: migrate ## Create the demo account and demo data (safe to repeat)
	$(VENV)/bin/flask seed-demo

run: seed ## Set up and serve the app on http://127.0.0.1:5000 (PORT overrides; SQLite, demo data)
	@echo "Serving Playground on http://127.0.0.1:$(PORT)  (Ctrl+C to stop)"
	$(VENV)/bin/flask run --host 127.0.0.1 --port $(PORT)

serve: migrate ## Serve as in production: gunicorn with gunicorn.conf.py on $(PORT)
	PORT=$(PORT) $(VENV)/bin/gunicorn -c gunicorn.conf.py

worker: migrate ## Run a background-job worker (needs REDIS_URL; without it jobs run in the web process)
	$(VENV)/bin/flask worker

test: $(VENV)/.dev ## Install test tools and run the whole suite (unit, integration, end-to-end, ops)
	@$(PY) -m tests.browser_check
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.dev ## The suite without the browser and slow tests
	$(PY) -m pytest -m "not e2e and not slow"

test-browser-loaded: $(VENV)/.dev ## The browser suite RUNS times (default 10) on one busy CPU; pass/fail counts
	@$(PY) -m tests.browser_check
	$(PY) -m tests.e2e.loaded --runs $(or $(RUNS),10)

test-ops: $(VENV)/.dev ## Fault and scale-out tests: own PostgreSQL, Redis, gunicorn servers, workers
	@$(PY) -m tests.browser_check
	$(PY) -m pytest tests/ops -m ops

deploy-check: $(VENV)/.dev ## Validate the Kubernetes manifests (offline) and compose.yml
	$(VENV)/bin/kubernetes-validate --strict --quiet $(filter-out %/kustomization.yaml,$(wildcard deploy/k8s/*.yaml))
	SECRET_KEY=deploy-check $(COMPOSE) -f compose.yml config -q

lint: $(VENV)/.dev ## ruff check and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev ## Format and auto-fix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.dev ## mlcore against scikit-learn, side by side (several minutes)
	$(PY) -m bench.ml_vs_sklearn

bench-quick: $(VENV)/.dev ## The benchmark on small shapes
	$(PY) -m bench.ml_vs_sklearn --quick

bench-web: $(VENV)/.dev ## The web server against bare Flask with wrk (DATABASE_URL: a PostgreSQL database of its own; BENCH_ARGS=--quick for a smoke run)
	$(PY) -m bench.web $(BENCH_ARGS)

bench-load: $(VENV)/.dev ## 50 users at once for 2 minutes with locust (DATABASE_URL as for bench-web; BENCH_ARGS=--quick)
	$(PY) -m bench.load $(BENCH_ARGS)

clean: ## Remove the virtualenv, caches and the local database
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .hypothesis
