# dphi-em: every target bootstraps what it needs on first use (a fresh machine needs Python >= 3.10,
# and Node.js/npm only for `make generate`, which runs the Swagger 2.0 -> OpenAPI 3 converter).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := openapi/node_modules/.installed

.PHONY: help venv generate check-generated test check lint format demo bench clean

help:
	@echo "make demo             run the seed's examples against a throwaway local emulator"
	@echo "make test             run the test suite (unit + end-to-end against the emulator)"
	@echo "make check            _sync/ as scripts/unasync.py makes it, ruff, mypy --strict"
	@echo "make generate         vendor spec + overlay -> openapi/em-api.openapi3.json -> generated/"
	@echo "make check-generated  regenerate into a temporary folder and fail on any difference"
	@echo "make bench            speed and memory figures against baselines measured in the same run"

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

# two workers (pytest-xdist); the Docker engine tests share one (see tests/conftest.py)
PYTEST_ARGS ?= -n 2 --dist loadgroup

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

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

clean:
	rm -rf $(VENV) openapi/node_modules .pytest_cache .mypy_cache .ruff_cache
