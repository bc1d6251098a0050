# gpucredit — developer entry points (GNU make, POSIX sh; Linux and macOS).
#
#   make test        venv + LibreOffice Calc (the test oracle), the layer and type checks, then pytest
#                    (PYTEST_ARGS="-k oracle -x")
#   make check       only the checks: import-linter (layers) and mypy (types)
#   make demo        convert the sample lender template with the h100-stress preset into out/
#   make bench       run benchmarks/convert.py
#   make libreoffice install LibreOffice Calc if soffice is missing (apt-get on Debian/Ubuntu)
#   make clean       remove outputs and caches;  make distclean  also removes the venv

SHELL := /bin/sh

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: help test check demo bench libreoffice clean distclean

help:
	@sed -n 's/^#   //p' Makefile

# The venv is rebuilt whenever pyproject.toml changes (new dependency, new entry point).
$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	    echo "error: gpucredit needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1)." \
	         "Run e.g. make PYTHON=python3.12 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	$(PY) -m compileall -q engine models
	touch $@

# Benchmarks compare against IronCalc, an optional extra.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test,bench]"
	touch $@

# The import rules of docs/architecture.md and the types, before any test runs.
check: $(VENV)/.installed
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

test: $(VENV)/.installed libreoffice check
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: $(VENV)/.installed
	mkdir -p out
	$(VENV)/bin/gpucredit convert templates/dc_lease_annual.xlsx -o out/dc_lease_annual.gpu.xlsx --preset h100-stress --force

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/convert.py

# soffice is LibreOffice's command; the macOS app bundle does not put it on PATH.
MACOS_SOFFICE = /Applications/LibreOffice.app/Contents/MacOS/soffice

libreoffice:
	@if { command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1 \
	    || [ -x "$(MACOS_SOFFICE)" ]; } && command -v pdftoppm >/dev/null 2>&1; then \
	    exit 0; \
	fi; \
	if command -v apt-get >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; \
	    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	    else SUDO=none; fi; \
	    if [ "$$SUDO" != none ]; then \
	        echo "soffice or pdftoppm not found: installing libreoffice-calc and poppler-utils with apt-get"; \
	        $$SUDO apt-get update && \
	        $$SUDO env DEBIAN_FRONTEND=noninteractive \
	            apt-get install -y --no-install-recommends libreoffice-calc poppler-utils && \
	        command -v soffice >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 && exit 0; \
	        echo "error: installing libreoffice-calc failed" >&2; exit 1; \
	    fi; \
	fi; \
	echo "error: the tests need LibreOffice Calc (soffice) and pdftoppm (poppler) on PATH. Install them, then re-run:" >&2; \
	echo "  Debian/Ubuntu: sudo apt-get install --no-install-recommends libreoffice-calc poppler-utils" >&2; \
	echo "  Fedora:        sudo dnf install libreoffice-calc poppler-utils" >&2; \
	echo "  macOS:         brew install --cask libreoffice && brew install poppler" >&2; \
	echo "  Windows:       the installer from libreoffice.org, then add its program folder to PATH" >&2; \
	exit 1

clean:
	rm -rf out build dist .pytest_cache .mypy_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
