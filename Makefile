# Two entry points: `make run` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JS     := tests/js
JSSTAMP := $(JS)/node_modules/.installed
WEB    := chatapp/web
WEBSTAMP := $(WEB)/static/vendor/.installed
NEXTJS := examples/nextjs
NEXTJSSTAMP := $(NEXTJS)/node_modules/.installed

.PHONY: run run-server test test-fast lint setup node chromium bench bench-smoke bench-chat bench-sqlite-search bench-chat-cluster soak clean

setup: $(STAMP) $(JSSTAMP) $(WEBSTAMP) $(NEXTJSSTAMP)

$(STAMP): pyproject.toml setup.py pyreverb/_speedups.pyx
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[chat,redis,dev,bench]'
	@touch $@

$(JSSTAMP): $(JS)/package.json
	cd $(JS) && npm install --no-audit --no-fund --silent
	@touch $@

node: $(JSSTAMP)

# The Next.js example site (examples/nextjs), built and driven by tests/browser/test_nextjs.py.
.PHONY: nextjs
nextjs: $(NEXTJSSTAMP)

$(NEXTJSSTAMP): $(NEXTJS)/package.json $(NEXTJS)/package-lock.json
	cd $(NEXTJS) && NEXT_TELEMETRY_DISABLED=1 npm ci --no-audit --no-fund --silent
	@touch $@

# `next build` of the example, skipped while .next/source-hash matches its sources and lock file.
.PHONY: nextjs-build
nextjs-build: $(STAMP) $(NEXTJSSTAMP)
	$(BIN)/python -m tests.browser.nextjs_site

# Debian's chromium for the browser tests; installed only when missing and we are root.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing Debian chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: browser tests will fail" >&2; fi; \
	fi

run: setup widget
	$(BIN)/python bin/run-demo

run-server: setup
	$(BIN)/pyreverb start --debug

# Coverage of the code the suite runs in-process (the servers it starts are separate
# processes and not measured): the total is printed, the reports go to test-output/.
COVERAGE := --cov --cov-report=xml --cov-report=html

# The suite on $(WORKERS) workers (one module stays on one worker), then the tests that assert a
# figure of time, speed or memory (the `alone` marker, tests/conftest.py) one at a time. Both
# parts run whatever the first one found; coverage adds them up.
WORKERS ?= 2

test: setup chromium widget nextjs-build
	@status=0; \
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile -m "not alone" --durations=25 $(COVERAGE) || status=$$?; \
	$(BIN)/pytest -q -m alone --durations=10 $(COVERAGE) --cov-append || status=$$?; \
	echo "coverage (pyreverb + chatapp, in-process): $$($(BIN)/coverage report --format=total)%"; \
	exit $$status

test-fast: setup
	$(BIN)/pytest -q -m "not browser and not slow"

# ruff and mypy strict (settings in pyproject.toml)
LINTED := pyreverb chatapp bench bin
lint: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy pyreverb chatapp

bench: setup
	$(BIN)/python -m bench.run

bench-smoke: setup
	$(BIN)/python -m bench.run --smoke

# chatapp under load: 100,000 preloaded rooms on SQLite and PostgreSQL (bench/chat.py).
bench-chat: setup
	$(BIN)/python -m bench.chat

# How long storing a message holds a 1,000,000-message SQLite history: FTS5 merging in the statement or in steps
bench-sqlite-search: setup
	$(BIN)/python -m bench.sqlite_fts_merge

# chatapp as a cluster: one instance direct, one and three behind nginx (needs Redis and PostgreSQL)
bench-chat-cluster: setup
	$(BIN)/python -m bench.chat_cluster

clean:
	rm -rf $(VENV) $(JS)/node_modules $(NEXTJS)/node_modules $(NEXTJS)/.next .pytest_cache

# constraints.txt: the versions the suite ran with, pinned for reproducible images (Dockerfile).
# Rerun after upgrading a dependency, then run the tests.
.PHONY: constraints
constraints: setup
	@echo "# pip constraints: the versions the test suite ran with (make constraints). The Docker image installs these." > constraints.txt
	$(BIN)/pip freeze --exclude-editable >> constraints.txt

# The long soak run (minutes; stops by itself). SOAK_SECONDS=600 make soak
soak: setup
	$(BIN)/python -m bench.soak --seconds $${SOAK_SECONDS:-300}

# The chat widget's and admin panel's browser libraries: pusher-js and laravel-echo from npm,
# copied where chatapp serves them (/static/vendor). No CDN at run time.
.PHONY: web
web: $(WEBSTAMP)

$(WEBSTAMP): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --silent
	mkdir -p $(WEB)/static/vendor
	cp $(WEB)/node_modules/pusher-js/dist/web/pusher.min.js $(WEB)/static/vendor/pusher.min.js
	cp $(WEB)/node_modules/pusher-js/LICENCE $(WEB)/static/vendor/LICENSE.pusher-js.txt
	cp $(WEB)/node_modules/laravel-echo/dist/echo.js $(WEB)/static/vendor/echo.js
	cp $(WEB)/node_modules/laravel-echo/LICENSE.md $(WEB)/static/vendor/LICENSE.laravel-echo.md
	cd $(WEB) && node build.mjs --force
	@touch $@

# The widget's bundle (chatapp/web/build): rebuilt only when a source is newer than it.
.PHONY: widget
widget: $(WEBSTAMP)
	cd $(WEB) && node build.mjs
