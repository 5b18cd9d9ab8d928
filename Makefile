# The two commands: `make run` and `make test`. Everything else is for developers and CI.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STREAM_PORT ?= $(shell echo $$(( $(PORT) + 1 )))
# Where the pages open /ws/stream: the stream server's port on the host the page came from.
STREAM_URL ?= ws://{host}:$(STREAM_PORT)/ws/stream
HOST ?= 127.0.0.1
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt package-lock.json | sha1sum | cut -c1-12)
EMBEDDED := $(PY) -m exchange.embedded
# Values that only `make lint` uses to check the production settings (never used to serve).
DEPLOY_ENV := DEBUG=0 ALLOWED_HOSTS=exchange.example.com \
	SECRET_KEY=lint-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ

.PHONY: run serve test lint audit install stop status help bench

help:
	@echo "make run     install, start PostgreSQL + Redis (embedded unless DATABASE_URL / REDIS_URL), run everything"
	@echo "             (with the demo market maker; DEMO_MARKET_MAKER=0 leaves it out)"
	@echo "make test    the whole test suite (PYTEST_ARGS=... to pass options to pytest)"
	@echo "make lint    ruff, mypy, import layers, makemigrations --check, check --deploy, bandit"
	@echo "make audit   pip-audit of the pinned packages"
	@echo "make status  the embedded servers;  make stop  stops them"
	@echo "make bench   the benchmarks in bench/ (each rewrites its section of docs/performance.md)"

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed (PYTHON=python3.12 make ... picks another)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python packages into $(VENV) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# The browser packages (the trade page's chart), served from node_modules as static files.
	@if command -v npm >/dev/null; then \
		echo "Installing browser packages into node_modules ..."; npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the pages work, the trade page has no chart (apt-get install npm, then make install)"; fi
	@rm -f $(VENV)/.installed-*
	@touch $@

## make run: install, start PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL are set),
## migrate, load demo data and run web, engine, worker and beat. Ctrl-C stops all of it.
run: install
	@# manage.py and celery run by hand in this checkout take the same development settings.
	@mkdir -p var; if [ "$${DEBUG:-1}" = 1 ]; then \
		printf '# Written by make run: manage.py and celery here use these unless the environment sets them.\nDEBUG=1\n' \
		> var/make-run.env; else rm -f var/make-run.env; fi
	@DEBUG=$${DEBUG:-1} $(EMBEDDED) exec -- $(MAKE) --no-print-directory serve

serve:
	@$(PY) manage.py migrate --noinput
	@$(PY) manage.py bootstrap
	@printf '\n  Exchange running at http://%s:%s/\n  Demo logins: alice / alice-demo-pass, bob / bob-demo-pass, admin / admin-demo-pass (staff)\n  API docs: http://%s:%s/api/docs    Health: http://%s:%s/healthz\n  Streams: ws://%s:%s/ws/stream\n  Ctrl-C stops everything.\n\n' $(HOST) $(PORT) $(HOST) $(PORT) $(HOST) $(PORT) $(HOST) $(STREAM_PORT)
	@# honcho exits 130/143 when Ctrl-C or SIGTERM stops it: that is a clean stop, not an error.
	@# The demo market maker runs too, unless DEMO_MARKET_MAKER=0.
	@# The stream server takes the next port; the pages open /ws/stream there (STREAM_URL).
	@WEB_HOST=$(HOST) WEB_PORT=$(PORT) STREAM_HOST=$(HOST) STREAM_PORT=$(STREAM_PORT) \
		STREAM_URL='$(STREAM_URL)' \
		$(VENV)/bin/honcho start -f Procfile web stream engine worker beat \
		$$([ "$${DEMO_MARKET_MAKER:-1}" = 0 ] || echo market) || case $$? in 130|143) exit 0;; *) exit 1;; esac

## make test: the whole suite against real PostgreSQL and Redis (embedded by default).
test: install
	@$(EMBEDDED) exec -- $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=exchange.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	@# bandit: every exception is a `# nosec BNNN (why)` comment at the line it concerns.
	$(VENV)/bin/bandit -q -r accounts apikeys exchange kyc trading wallets manage.py -x '*/tests/*,*/migrations/*'

## make audit: known vulnerabilities in the pinned packages (pip-audit). Its service may be out of
## reach (no internet but the package registries): then it says so and does not fail.
audit: install
	@out=$$($(VENV)/bin/pip-audit -r requirements.txt --progress-spinner off 2>&1); status=$$?; echo "$$out"; \
	if [ $$status -eq 1 ] && echo "$$out" | grep -q "Found [0-9]* known vulnerabilit"; then exit 1; fi; \
	skipped=$$(echo "$$out" | grep -c "could not be audited"); \
	if [ $$status -ne 0 ] || [ $$skipped -gt 0 ]; then \
		echo "make audit: the vulnerability service did not answer for $$skipped packages (exit $$status):"; \
		echo "            those were NOT checked. Run it where PyPI's JSON API answers."; fi

stop:
	@$(EMBEDDED) stop

status:
	@$(EMBEDDED) status

## make bench: the benchmarks, one recipe line per script in bench/; peers from bench/requirements.txt.
BENCH_STAMP := $(VENV)/.bench-$(shell sha1sum bench/requirements.txt | cut -c1-12)

bench: install $(BENCH_STAMP)
	$(PY) bench/bench_core.py
	$(PY) bench/bench_engine.py
	$(PY) bench/bench_streams.py
	$(PY) bench/bench_rest.py

$(BENCH_STAMP): bench/requirements.txt
	@$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@rm -f $(VENV)/.bench-*
	@touch $@
