# The README's two commands: `make run` and `make test`. Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PORT ?= 5000
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# Debian packages the suite and the app use (PDF/DOCX checks, browser tests, Cyrillic fonts).
DEB_PACKAGES ?= fonts-dejavu-core fonts-liberation2 poppler-utils chromium libreoffice-writer-nogui

.PHONY: run test bench install assets system-deps lint clean api-fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Third-party front-end code is never committed: it comes from the npm registry and is copied here.
erp_crm/static/vendor/.copied: node_modules/.installed
	rm -rf erp_crm/static/vendor && mkdir -p erp_crm/static/vendor/bootstrap erp_crm/static/vendor/bootstrap-icons
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js erp_crm/static/vendor/bootstrap/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts erp_crm/static/vendor/bootstrap-icons/
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/sortablejs/Sortable.min.js erp_crm/static/vendor/
	mkdir -p erp_crm/static/vendor/fullcalendar
	cp node_modules/fullcalendar/index.global.min.js node_modules/@fullcalendar/core/locales/ru.global.min.js erp_crm/static/vendor/fullcalendar/
	mkdir -p erp_crm/static/vendor/tom-select
	cp node_modules/tom-select/dist/js/tom-select.complete.min.js node_modules/tom-select/dist/css/tom-select.bootstrap5.min.css erp_crm/static/vendor/tom-select/
	mkdir -p erp_crm/static/vendor/chartjs
	cp node_modules/chart.js/dist/chart.umd.min.js erp_crm/static/vendor/chartjs/
	touch $@

# Installs missing Debian packages when we may (root, as on CI and the dev machines).
system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "Please install: sudo apt-get install $$missing"; exit 1; fi; \
	fi

install: $(VENV)/.installed assets system-deps
assets: erp_crm/static/vendor/.copied

# The demo runs end to end: the app, the job worker (huey on instance/jobs.sqlite3: client
# imports, batch printing, the 1C exchange every 15 s, reminders every minute, expired holds,
# the daily backup), the 1C emulator (payments entered on its page come back to the app) and the
# SMTP catcher; the helpers stop with the app. No other service is needed.
EMULATOR_PORT ?= 8081
run: export ACCOUNTING_URL ?= http://127.0.0.1:$(EMULATOR_PORT)/buh/ws/ExpoExchange.1cws
run: export ACCOUNTING_USER ?= Обмен
run: export ACCOUNTING_PASSWORD ?= demo-exchange-2026

run: install
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty
	@echo "Эмулятор 1С: http://127.0.0.1:$(EMULATOR_PORT)/emulator/ ($(ACCOUNTING_USER) / $(ACCOUNTING_PASSWORD))"
	@echo "Фоновые задания: instance/jobs-worker.log, страница «Фоновые задания» (администратор)"
	@echo "Письма (напоминания, рассылки, документы) из приложения: instance/mail/*.eml (SMTP-ловушка на 127.0.0.1:8025)"
	@$(FLASK) accounting emulator --port $(EMULATOR_PORT) > instance/emulator.log 2>&1 & emu=$$!; \
	$(FLASK) jobs worker > instance/jobs-worker.log 2>&1 & worker=$$!; \
	$(FLASK) activities smtp-catcher --port 8025 > instance/mail.log 2>&1 & mail=$$!; \
	trap 'kill $$emu $$worker $$mail 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The client base (search, list pages, import) and the deals side (kanban, hall plan, plan vs
# actual); figures are printed and saved under bench/results/.
bench: install
	$(MAKE) system-deps DEB_PACKAGES="wkhtmltopdf"
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.deals $(BENCH_DEALS_ARGS)
	$(BIN)/python -m bench.documents $(BENCH_DOCUMENTS_ARGS)
	$(BIN)/python -m bench.activities $(BENCH_ACTIVITIES_ARGS)
	$(BIN)/python -m bench.mailing $(BENCH_MAILING_ARGS)
	$(BIN)/python -m bench.reports $(BENCH_REPORTS_ARGS)
	$(BIN)/python -m bench.jobs $(BENCH_JOBS_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) node_modules erp_crm/static/vendor .pytest_cache

# A longer schemathesis run against /api/v1/openapi.json than the suite's (3 examples per
# operation): no 500, every answer fits the document. API_FUZZ_ONLY=/halls narrows it.
API_FUZZ_EXAMPLES ?= 30
api-fuzz: install
	API_FUZZ_EXAMPLES=$(API_FUZZ_EXAMPLES) $(BIN)/python -m pytest -q tests/api/test_schemathesis.py
