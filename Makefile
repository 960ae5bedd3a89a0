# dphi-em: every target bootstraps what it needs on first use (a fresh machine needs Python >= 3.10,
# and Node.js/npm only for `make generate`, which runs the Swagger 2.0 -> OpenAPI 3 converter).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := openapi/node_modules/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: help venv generate check-generated test check lint format demo bench clean \
	docs docs-serve dist dist-check matrix

help:
	@echo "make demo             run the seed's examples against a throwaway local emulator"
	@echo "make test             run the test suite (unit + end-to-end against the emulator)"
	@echo "make check            _sync/ as scripts/unasync.py makes it, ruff, mypy --strict"
	@echo "make generate         vendor spec + overlay, and openapi/tlm-api.yaml -> generated/"
	@echo "make check-generated  regenerate into a temporary folder and fail on any difference"
	@echo "make bench            speed and memory figures against baselines measured in the same run"
	@echo "make docs             build the docs site into site/ (--strict: a broken link fails)"
	@echo "make docs-serve       serve the docs on http://127.0.0.1:8001/ while editing them"
	@echo "make dist             build the wheel and sdist into dist/"
	@echo "make dist-check       build, then install the wheel in a clean venv and run it; twine check"
	@echo "make matrix           unit + spec suites on Python 3.10-3.13 (nox; whole suite: make test)"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): openapi/package.json openapi/package-lock.json
	cd openapi && npm ci --no-audit --no-fund --silent
	@touch $@

generate: $(STAMP) $(NODE_STAMP)
	$(PY) openapi/build.py --out .

check-generated: $(STAMP) $(NODE_STAMP)
	$(PY) openapi/build.py --check

# three workers (pytest-xdist) on two cores: most tests wait (pods, subprocesses, sockets),
# and a third worker fills that time (tests/e2e: 66 s with two, 47 s with three, 49 s with
# four); the Docker engine tests share one worker (see tests/conftest.py)
PYTEST_ARGS ?= -n 3 --dist loadgroup

# PYTHONDONTWRITEBYTECODE emptied: where it is set, each worker would rewrite the asserts of
# every plugin module again (hypothesis, schemathesis: ~9 CPU s per worker) and each Python
# subprocess compile the package again, at every run
test: $(STAMP) $(NODE_STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(PY) scripts/unasync.py --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: $(STAMP)
	$(PY) examples/demo.py

bench: $(STAMP)
	$(PY) tests/bench/run.py

$(DOCS_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,docs]'
	@touch $@

# NO_MKDOCS_2_WARNING: Material's banner about its successor, printed on every build
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict
	$(PY) docs/check_site.py site

docs-serve: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --strict -a 127.0.0.1:8001

dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .

dist-check: dist
	.ci/dist-check

matrix: $(STAMP) $(NODE_STAMP)
	$(VENV)/bin/nox $(NOX_ARGS)

clean:
	rm -rf $(VENV) openapi/node_modules .pytest_cache .mypy_cache .ruff_cache site dist .nox
