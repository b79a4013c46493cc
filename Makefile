# Two commands for a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(PY) -m flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
RUNTIME_STAMP := $(VENV)/.runtime-$(shell sha1sum requirements.txt | cut -c1-10)
DEV_STAMP := $(VENV)/.dev-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-10)
# PostgreSQL tests run when a server answers on 127.0.0.1:5432 (CI sets this explicitly).
TEST_DATABASE_URL ?= $(shell $(PY) -c "import socket; s=socket.socket(); s.settimeout(0.5); print('postgresql://postgres@127.0.0.1:5432/test' if s.connect_ex(('127.0.0.1', 5432)) == 0 else '')" 2>/dev/null)
# Tests run in parallel, one pytest-xdist worker per core (each with its own PostgreSQL
# schema, SQLite files and ports); `make test PYTEST_WORKERS=0` runs them in one process.
PYTEST_WORKERS ?= auto

.PHONY: run test install install-dev chromium bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	rm -f $(VENV)/.runtime-* && touch $@

# After the runtime packages (order only): two pip runs must never write one venv at once (make -j).
$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY) $(RUNTIME_STAMP)
	$(PIP) install -q -r requirements-dev.txt
	rm -f $(VENV)/.dev-* && touch $@

install: $(RUNTIME_STAMP)

install-dev: $(RUNTIME_STAMP) $(DEV_STAMP)

# Debian's chromium drives the browser tests (Playwright cannot download browsers here).
chromium:
	@test -x /usr/bin/chromium || { echo "Installing Debian's chromium for browser tests…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# HOST and PORT reach the app as settings too, so the address it prints and links to
# (APP_BASE_URL, unless set) is the one it serves: `make run PORT=5001`.
run: install
	$(FLASK) db upgrade
	HOST=$(HOST) PORT=$(PORT) $(FLASK) demo seed
	HOST=$(HOST) PORT=$(PORT) $(FLASK) serve --host $(HOST) --port $(PORT)

# The Python packages and Debian's chromium install side by side (-j2) before the tests start.
test:
	@$(MAKE) --no-print-directory -j2 install-dev chromium
	TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

bench: install-dev
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) instance/*.sqlite3*
