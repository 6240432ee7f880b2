# The two commands a newcomer needs: `make up` and `make test`. Each builds .venv from the lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: up test install lint format check-types unit lock clean chromium docs-screenshot portal-screenshot assets

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

up: install
	$(BIN)/jitgate up $(ARGS)

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench migrations
	$(BIN)/ruff check --fix src tests bench migrations

test: install lint chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium (Playwright's own browser download is never used).
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else \
			echo "$(CHROMIUM) is missing: run 'sudo apt-get install chromium' (the browser tests skip without it)"; \
		fi; \
	fi

# Refresh docs/api-docs.png: /api/v1/docs as Chromium renders it, offline.
docs-screenshot: install chromium portal-screenshot
	JITGATE_DOCS_SCREENSHOT=$(CURDIR)/docs/api-docs.png $(BIN)/python -m pytest -q -p no:randomly \
		tests/browser/test_api_docs_browser.py

# docs/portal-sign-in.png and docs/portal-home.png: the real sign-in through the emulator.
portal-screenshot: install chromium
	JITGATE_PORTAL_SCREENSHOT=$(CURDIR)/docs $(BIN)/python -m pytest -q -p no:randomly \
		tests/browser/test_sign_in_browser.py

# Refresh the portal's vendored browser files from the npm lock (the copies are committed, so
# installing and running jitgate never needs npm): htmx, Pico CSS, and the tests' axe-core.
PORTAL_ASSETS := src/jitgate/server/portal/assets
assets: install
	cd $(PORTAL_ASSETS) && npm ci --no-audit --no-fund
	$(BIN)/python -m jitgate.server.portal.vendoring tests/browser/vendor

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
