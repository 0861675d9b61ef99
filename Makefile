# Campaign Console. Needs only Python 3.11+ and make: everything else goes into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench soak clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

# First run on the embedded server: seed the small demo and start its traffic (an SMTP sink,
# the tracking endpoint and the sender on 127.0.0.1; `campaigns simulate --stop` stops them). A database named by DATABASE_URL is never seeded.
run: $(STAMP)
	@if [ -z "$$DATABASE_URL" ]; then $(BIN)/campaigns demo --if-empty; fi
	$(BIN)/campaigns $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -n 2 --dist loadfile -q --durations=20 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/pytest -q -s -p no:xdist -o python_files='bench_*.py' tests/benchmarks $(PYTEST_ARGS)

soak: $(STAMP)
	CC_CONCURRENCY_SECONDS=60 $(BIN)/pytest -q -s -p no:xdist tests/reliability/test_concurrency.py $(PYTEST_ARGS)
	$(BIN)/pytest -q -s -p no:xdist -o python_files='soak_*.py' tests/soak $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
