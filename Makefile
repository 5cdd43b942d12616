# gilbench: `make bench` and `make test` each set up .venv on first use (only python3 >= 3.11 and make needed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUN ?= results/latest
# Extra options for `gilbench run`, e.g. make bench BENCH_ARGS="--size quick --workers 1,2,4"
BENCH_ARGS ?=
PYTEST_ARGS ?=
# make test runs the tests in parallel (pytest-xdist): TEST_WORKERS=0 for one process. Tests sharing a
# module-scoped run share a worker; tests marked quiet wait until nothing else runs (tests/conftest.py).
TEST_WORKERS ?= auto

# make bench-ft PYTHON_FT=/path/to/python3.13t [PYTHON_TWIN=/path/to/python3.13]: GIL against no GIL.
# PYTHON_TWIN is the GIL twin of PYTHON_FT: the same version built the same way, with the GIL (docs/free-threaded.md).
# Given, the run compares the twin pair. Not given, `gilbench env --twin-of` looks for one beside PYTHON_FT (a sibling
# in its folder or in a prefix beside its own, as uv and the docs' source builds install them): found, it runs
# alongside this project's Python and PYTHON_FT (three interpreters). PYTHON_TWIN=none: no twin, as before the twins.
PYTHON_FT ?=
PYTHON_TWIN ?=
# (Not PYTHON_GIL: CPython reads that name, 0 or 1, from the environment at startup; gilbench's --gil sets it.)
FT_VENV ?= .venv-ft
GIL_VENV ?= .venv-gil
FT_ARGS ?= --workloads count,mandelbrot,hashing,thumbnail --variants serial,threading,thread-pool,process-pool,ceiling

# make reference LABEL=my-machine [PYTHON_FT=/path/to/python3.13t [PYTHON_TWIN=its GIL twin]]: every reference part in
# sequence (scripts/reference.py; docs/reference-results.md), each into REFERENCE_ROOT/LABEL[-part]. REFERENCE_PARTS:
# all, or a comma list (matrix, native, ft, weak, trace, pyperformance). REFERENCE_ARGS: more `gilbench run` options,
# last on every part's command line; a rehearsal: REFERENCE_ROOT=/tmp/refroot REFERENCE_ARGS="--size smoke --repeat 2"
LABEL ?= $(shell hostname)-$(shell nproc)cpu
REFERENCE_ROOT ?= results/reference
REFERENCE_PARTS ?= all
REFERENCE_PRECISION ?= 0.10
REFERENCE_ARGS ?=

.PHONY: reference-pyperformance lint test-platforms lesson lesson-refresh help install bench bench-all bench-ft bench-pytest reference plot report test clean ft-bundle reference-16-rehearsal

help:
	@echo "make bench    run the default matrix (standard size), write CSV + charts + report under results/"
	@echo "make bench-all   every variant available here, dask and joblib included (installs them)"
	@echo "make bench-ft PYTHON_FT=/path/to/python3.13t [PYTHON_TWIN=its GIL twin]   GIL vs free-threaded, on one chart"
	@echo "make reference LABEL=name [PYTHON_FT=... [PYTHON_TWIN=...]]   every reference, in results/reference/name* (commit them)"
	@echo "make bench-pytest   the same cells through pytest-benchmark; JSON imported into results/"
	@echo "make plot     redraw the charts of $(RUN)"
	@echo "make report   rewrite the report of $(RUN)"
	@echo "make lesson   install Jupyter, run the lesson notebook (docs/lesson.ipynb) here into results/lesson/"
	@echo "make test     the linters and type checker (make lint), then the test suite"
	@echo "make test-platforms   the core tests with the portable platform layer forced, and under spawn"
	@echo "make lint     ruff check, ruff format --check, mypy and lint-imports (the package's layers)"
	@echo "make clean    remove the virtual environment and local runs (results/runs)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gilbench needs Python >= 3.11; this is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	@touch $(STAMP)

# dask and joblib: optional extras, installed for the tests and for bench-all
DIST_STAMP := $(VENV)/.installed-distributed-stamp
$(DIST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lint,distributed]'
	@touch $(DIST_STAMP)

install: $(STAMP)

# The lesson notebook: Jupyter as an optional extra, installed on first use.
LESSON_STAMP := $(VENV)/.installed-lesson-stamp
$(LESSON_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lint,lesson]'
	@touch $@

# LESSON_SIZE: smoke (seconds, what the tests use) or quick (the class)
LESSON_SIZE ?= quick
lesson: $(LESSON_STAMP)
	GILBENCH_PYTHON_FT=$(PYTHON_FT) GILBENCH_PYTHON_GIL=$(PYTHON_TWIN) $(BIN)/python scripts/lesson.py run docs/lesson.ipynb --out results/lesson/lesson.ipynb --size $(LESSON_SIZE)
	@echo "executed with this machine's numbers; open it with: $(BIN)/jupyter lab results/lesson/lesson.ipynb"

# The committed notebook's outputs (the project's 2-core VM): make lesson-refresh PYTHON_FT=/path/to/python3.13t
lesson-refresh: $(LESSON_STAMP)
	$(BIN)/python scripts/lesson.py write
	GILBENCH_PYTHON_FT=$(PYTHON_FT) GILBENCH_PYTHON_GIL=$(PYTHON_TWIN) $(BIN)/python scripts/lesson.py run docs/lesson.ipynb

bench: $(STAMP)
	$(BIN)/gilbench run $(BENCH_ARGS)

# An isolated environment for the free-threaded interpreter, with what the workloads import.
$(FT_VENV)/.installed-stamp:
	@test -n "$(PYTHON_FT)" || { echo "usage: make bench-ft PYTHON_FT=/path/to/python3.13t (get one with: uv python install 3.14t, a distribution package, or CPython built with ./configure --disable-gil)"; exit 2; }
	$(PYTHON_FT) -c 'import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") else "$(PYTHON_FT) is not a free-threaded build")'
	$(PYTHON_FT) -m venv $(FT_VENV)
	$(FT_VENV)/bin/python -m pip install --quiet Pillow
	@touch $@

# The twin's environment, remade when PYTHON_TWIN names another interpreter than the one it was made from.
bench-ft: $(STAMP) $(FT_VENV)/.installed-stamp
	@set -e; twin="$(PYTHON_TWIN)"; pythons="--python $(BIN)/python"; \
	case "$$twin" in none) twin= ;; "") twin=$$($(BIN)/gilbench env --twin-of "$(PYTHON_FT)") ;; *) pythons= ;; esac; \
	if [ -n "$$twin" ]; then \
	  echo "GIL twin of $(PYTHON_FT): $$twin"; \
	  if [ "$$(cat $(GIL_VENV)/.made-from 2>/dev/null)" != "$$twin" ]; then \
	    rm -rf $(GIL_VENV); "$$twin" -m venv $(GIL_VENV); $(GIL_VENV)/bin/python -m pip install --quiet Pillow; \
	    echo "$$twin" > $(GIL_VENV)/.made-from; \
	  fi; \
	  pythons="$$pythons --python $(GIL_VENV)/bin/python"; \
	else \
	  echo "no GIL twin of $(PYTHON_FT) (PYTHON_TWIN=$(PYTHON_TWIN)): this project's Python differs from it" \
	    "in more than the GIL (see docs/free-threaded.md)"; \
	fi; \
	echo "$(BIN)/gilbench run $$pythons --python $(FT_VENV)/bin/python $(FT_ARGS) $(BENCH_ARGS)"; \
	$(BIN)/gilbench run $$pythons --python $(FT_VENV)/bin/python $(FT_ARGS) $(BENCH_ARGS)
	@# compare the run just made: under BENCH_ARGS's --out where it gives one
	@out=$$(echo " $(BENCH_ARGS)" | sed -n 's/.* --out[ =]\([^ ]*\).*/\1/p'); out=$${out:-results}; \
	echo "$(BIN)/gilbench compare $$out/latest --out $$out/latest/compare"; \
	$(BIN)/gilbench compare $$out/latest --out $$out/latest/compare

# dask and joblib installed: --variants all runs them. Every part runs, whatever another did; the exit status is 1
# when one failed. (PYTHON_TWIN, not PYTHON_GIL: see bench-ft.)
reference: $(DIST_STAMP)
	$(BIN)/python scripts/reference.py --label $(LABEL) --root $(REFERENCE_ROOT) --parts $(REFERENCE_PARTS) \
		--precision $(REFERENCE_PRECISION) --ft "$(PYTHON_FT)" --twin "$(PYTHON_TWIN)" -- $(REFERENCE_ARGS)

# pyperformance's CPU-bound benchmarks, the GIL twin against the free-threaded one: one part of make reference
reference-pyperformance:
	$(MAKE) reference REFERENCE_PARTS=pyperformance

# pytest-benchmark front door: the same cells, saved as pytest-benchmark JSON, then imported.
PYTEST_BENCH_SIZE ?= standard
bench-pytest: $(STAMP)
	$(BIN)/python -m pytest tests/test_benchmarks.py --benchmark-enable --benchmark-only \
		--gilbench-size $(PYTEST_BENCH_SIZE) --benchmark-autosave --benchmark-json results/pytest-benchmark.json $(PYTEST_ARGS)
	$(BIN)/gilbench import results/pytest-benchmark.json

plot: $(STAMP)
	$(BIN)/gilbench plot $(RUN)

report: $(STAMP)
	$(BIN)/gilbench report $(RUN)

bench-all: $(DIST_STAMP)
	$(BIN)/gilbench run --variants all $(BENCH_ARGS)

# ruff (lint, then formatting), mypy and import-linter (the package's layers), as configured in pyproject.toml.
# lint, test and test-platforms are scripts/tasks.py's (Windows has no make: `python scripts/tasks.py test` there).
lint: $(STAMP)
	$(BIN)/python scripts/tasks.py lint

test: $(DIST_STAMP)
	TEST_WORKERS=$(TEST_WORKERS) $(BIN)/python scripts/tasks.py test $(PYTEST_ARGS)

# The core tests again as macOS and Windows run them (.ci/run calls it after make test): once with the portable
# platform layer forced (GILBENCH_PORTABLE=1: psutil's process trees and CPU times, the watchdog process), once
# under spawn (docs/development.md, "Linux, macOS and Windows"); the tests are listed in scripts/tasks.py.
test-platforms: $(DIST_STAMP)
	TEST_WORKERS=$(TEST_WORKERS) $(BIN)/python scripts/tasks.py test-platforms $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(FT_VENV) $(GIL_VENV) results/runs results/latest .pytest_cache

# The 16-core reference (issue: one prepared command on a lent machine). Here: the bundle and a rehearsal.
# make ft-bundle PYTHON_FT_PREFIX=/prefix/of/a/free-threaded/cpython (its --prefix, holding bin/python3.1Xt)
PYTHON_FT_PREFIX ?=
ft-bundle:
	@test -n "$(PYTHON_FT_PREFIX)" || { echo "usage: make ft-bundle PYTHON_FT_PREFIX=DIR (the --prefix of a free-threaded CPython build)"; exit 2; }
	scripts/make_ft_bundle.sh $(PYTHON_FT_PREFIX) .carry/python-ft.tar.xz
	$(BIN)/python -m pip wheel --quiet --no-deps -w .carry .
reference-16-rehearsal: $(STAMP)
	$(BIN)/python scripts/reference_16core.py --out results/.reference-16-rehearsal --ft $(PYTHON_FT) \
		--workers 1,2 --ft-workers 1,2 --threading-workers 2 --thread-pool-workers 1,2 --task-s 0.05 --budget 120
