# Two commands on a fresh machine: `make demo` (run the app with demo data) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo demo-reset serve migrate lint format test worker checks-worker notifications-worker retraining-worker beat clean

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is needed"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create a virtual environment: on Debian/Ubuntu run 'sudo apt-get install python3-venv'"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[dev]"
	@touch $(INSTALLED)

install: $(INSTALLED)

migrate: $(INSTALLED)
	$(BIN)/python manage.py migrate --no-input

# The links the app prints and e-mails point at the address it is served on.
SITE_URL ?= http://$(HOST):$(PORT)

demo: migrate
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py seed_demo
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

demo-reset:
	rm -rf var
	$(MAKE) demo

serve: migrate
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

worker: $(INSTALLED)
	$(BIN)/celery -A governance worker --loglevel=INFO

checks-worker: $(INSTALLED)
	$(BIN)/celery -A governance worker -Q checks --prefetch-multiplier 1 --concurrency 2 -n checks@%h --loglevel=INFO

notifications-worker: $(INSTALLED)
	$(BIN)/celery -A governance worker -Q notifications --concurrency 2 -n notifications@%h --loglevel=INFO

retraining-worker: $(INSTALLED)
	$(BIN)/celery -A governance worker -Q retraining --prefetch-multiplier 1 --concurrency 1 -n retraining@%h --loglevel=INFO

beat: $(INSTALLED)
	$(BIN)/celery -A governance beat --loglevel=INFO

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Two phases: everything that can share the machine on every core (pytest-xdist, one test
# database per process), then what must run alone (real workers, the browser, timing tests:
# the `serial` marker, set in tests/conftest.py). Exit code 5 means a phase found no tests.
TEST_PROCESSES ?= auto
test: lint
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) -m "not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
