# gilbench: `make bench` and `make test` each set up .venv on first use (only python3 >= 3.11 and make needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUN ?= results/latest
# Extra options for `gilbench run`, e.g. make bench BENCH_ARGS="--size quick --workers 1,2,4"
BENCH_ARGS ?=
PYTEST_ARGS ?=

.PHONY: help install bench plot report test clean

help:
	@echo "make bench    run the default matrix (standard size), write CSV + charts + report under results/"
	@echo "make plot     redraw the charts of $(RUN)"
	@echo "make report   rewrite the report of $(RUN)"
	@echo "make test     run the test suite"
	@echo "make clean    remove the virtual environment and local runs (results/runs)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gilbench needs Python >= 3.11; this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

bench: $(STAMP)
	$(BIN)/gilbench run $(BENCH_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) results/runs results/latest .pytest_cache
