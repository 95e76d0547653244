# Kilowatch: `make demo` runs it, `make test` tests it. Both set everything up first.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PORT ?= 8000

.PHONY: setup system-deps venv db demo serve test test-fast lint bench clean db-down i18n

setup: system-deps venv

system-deps:
	@bash scripts/install-system-deps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

db: setup
	$(BIN)/kilowatch db up

demo: db
	$(BIN)/kilowatch demo --serve --port $(PORT)

serve: db
	$(BIN)/kilowatch serve --port $(PORT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy core

test: setup lint
	$(BIN)/kilowatch db up --no-migrate
	$(BIN)/pytest -q

test-fast: venv
	$(BIN)/pytest -q -m "not e2e and not worker"

# Languages: extract every `_("...")` of the code and templates (babel.cfg), merge the new
# msgids into core/locales/{fr,en,pt}/LC_MESSAGES/messages.po (old ones dropped, no fuzzy
# guesses); then translate the empty msgstr. tests/ops/test_catalogues.py checks it was done.
I18N_PACKAGES := core gis customers meters billing field fraud revenue_protection mobile_sync api kilowatch

i18n: venv
	$(BIN)/pybabel extract -F babel.cfg -k NavItem --no-location --sort-output --omit-header \
		-o core/locales/messages.pot $(I18N_PACKAGES)
	$(BIN)/pybabel update -i core/locales/messages.pot -d core/locales \
		--no-fuzzy-matching --ignore-obsolete --no-wrap
	rm core/locales/messages.pot

bench: db
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b; done

db-down:
	$(BIN)/kilowatch db down

clean:
	-$(BIN)/kilowatch db down
	rm -rf $(VENV) .kilowatch test-output
