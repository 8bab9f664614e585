# Two commands do everything on a fresh machine (Python 3.11+ with venv is all it needs):
#   make run    install, start the embedded broker, the worker and a demo feed, show reports flowing
#   make test   install and run the whole suite (what CI runs, through .ci/run)
# Other targets: make bench (router bench and the bench/ scripts; prints figures), make lint,
# make schemas, make clean.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast bench lint schemas install native clean

$(STAMP): pyproject.toml schemas/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "router needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing the router and its test tools into $(VENV) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,native]'
	@touch $(STAMP)

install: $(STAMP) native

# intake's pure modules compiled with mypyc (router/native.py), again whenever their sources change;
# without a C compiler the router runs its Python sources (ROUTER_PURE_PYTHON=1 makes it do so anyway)
native: $(STAMP)
	@$(VENV)/bin/router native build --if-stale || echo "(the router runs its Python sources)"

run: $(STAMP) native
	$(VENV)/bin/router dev

test: $(STAMP) native
	$(PY) -m pytest -q

test-fast: $(STAMP) native
	$(PY) -m pytest -q -m "not integration and not reliability"

bench: $(STAMP) native
	$(VENV)/bin/router bench
	$(PY) bench/bench_enrichment.py
	$(PY) bench/bench_sla.py
	$(PY) bench/bench_groups.py --quick
	$(PY) bench/bench_origins.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

schemas: $(STAMP)
	$(VENV)/bin/router schemas export

clean:
	-@test -x $(VENV)/bin/router && $(VENV)/bin/router native clean
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis var build *.egg-info
