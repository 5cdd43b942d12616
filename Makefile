# gilbench: `make bench` and `make test` each set up .venv on first use (only python3 >= 3.11 and make needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUN ?= results/latest
# Extra options for `gilbench run`, e.g. make bench BENCH_ARGS="--size quick --workers 1,2,4"
BENCH_ARGS ?=
PYTEST_ARGS ?=

# make bench-ft PYTHON_FT=/path/to/python3.13t: the same matrix under this and a free-threaded Python
PYTHON_FT ?=
FT_VENV ?= .venv-ft
FT_ARGS ?= --workloads count,mandelbrot,hashing,thumbnail --variants serial,threading,thread-pool,process-pool,ceiling

.PHONY: help install bench bench-ft plot report test clean

help:
	@echo "make bench    run the default matrix (standard size), write CSV + charts + report under results/"
	@echo "make bench-ft PYTHON_FT=/path/to/python3.13t   GIL vs free-threaded, on one chart"
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

# An isolated environment for the free-threaded interpreter, with what the workloads import.
$(FT_VENV)/.installed-stamp:
	@test -n "$(PYTHON_FT)" || { echo "usage: make bench-ft PYTHON_FT=/path/to/python3.13t (build one with ../shared/tools/build-python-ft.sh, or: uv python install 3.14t)"; exit 2; }
	$(PYTHON_FT) -c 'import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else "$(PYTHON_FT) is not a free-threaded build")'
	$(PYTHON_FT) -m venv $(FT_VENV)
	$(FT_VENV)/bin/python -m pip install --quiet Pillow
	@touch $@

bench-ft: $(STAMP) $(FT_VENV)/.installed-stamp
	$(BIN)/gilbench run --python $(BIN)/python --python $(FT_VENV)/bin/python $(FT_ARGS) $(BENCH_ARGS)
	$(BIN)/gilbench compare results/latest --out results/latest/compare

plot: $(STAMP)
	$(BIN)/gilbench plot $(RUN)

report: $(STAMP)
	$(BIN)/gilbench report $(RUN)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(FT_VENV) results/runs results/latest .pytest_cache
