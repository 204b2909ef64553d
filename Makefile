# Simpul: the two commands a fresh machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
# tests/test_prefect_browser.py drives Prefect's UI in headless Chromium (Debian packages).
CHROMEDRIVER := /usr/bin/chromedriver

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: install demo test test-fast mutants bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/simpul demo

test: $(STAMP) $(CHROMEDRIVER)
	$(BIN)/python -m pytest -q

$(CHROMEDRIVER):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "make test needs Chromium for the browser test: run it as root, or: sudo apt-get install -y chromium chromium-driver" >&2; exit 1; \
	fi

# Benchmarks (bench/README.md): not part of `make test`. The quick run writes to bench/out/
# (git-ignored) so the committed bench/results.json stays the full run the README quotes.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench --quick --out bench/out/results.json

# Break each guarantee on purpose and check the tests catch it (tests/README.md); not part of `make test`.
mutants: $(STAMP)
	$(BIN)/python -m tests.mutants

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not prefect and not slow"

clean:
	rm -rf $(VENV) data .pytest_cache build *.egg-info
