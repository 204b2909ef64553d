# Simpul: the two commands a fresh machine needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

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

test: $(STAMP)
	$(BIN)/python -m pytest -q

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
