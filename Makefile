# Two commands on a fresh machine (Python 3.11, pip, make): `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8

.PHONY: install demo test test-unit test-integration lint ui lock clean bench portal browser wheel

install: $(VENV)/.installed

# uv installs exactly the pinned set in requirements.lock (the lock file); re-done when either file changes.
$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || (echo "Python 3.11 is required (python3.11 or python3 on PATH)"; exit 1)
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	# --compile-bytecode: every Airflow task is a fresh process; without .pyc files each one re-parses pandas,
	# Great Expectations and Airflow from source (GX import 19 s -> 8 s here, docs/benchmarks.md)
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

demo: install
	$(BIN)/python -m supervision_dev demo

test: install browser
	$(BIN)/python -m pytest

# The portal's browser tests drive Debian's Chromium through Playwright (never `playwright install`, which
# downloads a browser) with a CJK font for the screenshots: installed here when missing and we are root.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium and a CJK font for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	  else echo "chromium missing and not root: the browser tests will be skipped (sudo apt-get install chromium fonts-wqy-microhei)"; fi; \
	fi

test-unit: install
	$(BIN)/python -m pytest tests/unit tests/dags

lint: install
	$(BIN)/ruff check .

ui: install
	$(BIN)/supervision ui

# The supervisors' portal on http://127.0.0.1:8000/ (sign in with a login of `make demo` or `supervision supervisor create`).
portal: install
	$(BIN)/supervision portal

# Throughput of one county file (ours vs dlt merge vs pandas to_sql vs the floor and raw COPY), per stage and peak
# memory: docs/benchmarks.md. The benchmarks, the simulator and the demo are the dev package include/supervision_dev
# (on the path of this venv, not in the product wheel or the image).
ROWS ?= 1000000
bench: install
	$(BIN)/python -m supervision_dev.bench --rows $(ROWS) $(BENCH_ARGS)

# The product wheel in dist/: the supervision package with its data files, without the dev package
# (tests/integration/test_wheel.py checks both). The Dockerfile builds the same wheel.
wheel: install
	$(BIN)/uv build --wheel -o dist

# Re-resolve the pins after editing pyproject.toml dependencies.
lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	-$(BIN)/supervision db stop
	rm -rf data .pytest_cache
