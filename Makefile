# Every target bootstraps .venv on first use, so a fresh clone needs only `make serve` / `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=
PYTEST_ARGS ?=

.PHONY: chromium serve test lint typecheck check clean bench fuzz refresh-test-data

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/mockserver serve $(ARGS)

# The dashboard's browser tests drive Debian's Chromium (never a downloaded browser): installed
# here when missing and we may (root with apt-get); otherwise they fail with one line saying so.
test: $(STAMP) chromium
	$(BIN)/pytest $(PYTEST_ARGS)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "make: no chromium and no root to install it: the browser tests will fail (apt-get install chromium)"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check mockserver tests scripts bench
	$(BIN)/ruff format --check mockserver tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

# 10,000 hostile requests against `mockserver serve` (bench/fuzz.py); ARGS="--requests N --seed S".
fuzz: $(STAMP)
	$(BIN)/python -m bench.fuzz $(ARGS)

# tests/data/ from the team's reference copies: `make refresh-test-data REF=<folder>`.
refresh-test-data: $(STAMP)
	@test -n "$(REF)" || { echo "usage: make refresh-test-data REF=<folder with contracts-ref/ and real-traffic/>"; exit 2; }
	$(BIN)/python scripts/refresh_test_data.py "$(REF)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
