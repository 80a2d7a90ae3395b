# examgen: `make exam` sets everything up and builds the example exam into
# output/; `make test` runs the whole test suite (setting up what is missing).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-latex-extra \
  texlive-fonts-recommended texlive-pictures lmodern poppler-utils qpdf zbar-tools
# for the tests only: Moodle's cloze parser and tolerance rule run in PHP (tests/moodle/cloze.php)
TEST_APT_PACKAGES := php-cli chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: exam test setup tex python test-deps clean apt-packages test-apt-packages screenshots

exam: setup
	$(VENV)/bin/examgen build exams/in2346-endterm.yaml --variants 2 --out output/in2346-endterm
	$(VENV)/bin/examgen build exams/in2346-2019.yaml --variants 2 --out output/in2346-2019
	$(VENV)/bin/examgen build exams/quiz.yaml --variants 2 --out output/quiz
	$(VENV)/bin/examgen build exams/modern-dl.yaml --variants 2 --out output/modern-dl
	@echo "PDFs, answer keys and manifests are in output/; make test adds the test extras (pytest, torch) and runs the tests"

test: setup test-deps
	$(PY) -m pytest -q
	$(VENV)/bin/examgen check --draws 1000

setup: tex python

tex:
	@if ! $(PYTHON) -c 'import venv, ensurepip' 2>/dev/null; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv python3-pip; \
	fi
	@if ! command -v pdflatex >/dev/null || ! command -v pdftotext >/dev/null \
	   || ! kpsewhich needspace.sty >/dev/null; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

python: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

test-deps: $(VENV)/.test-installed
	@if ! command -v php >/dev/null || ! command -v chromedriver >/dev/null; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(TEST_APT_PACKAGES); \
	fi

# torch is pinned to the CPU build 2.13.0 (an unpinned torch pulls CUDA)
$(VENV)/.test-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# PNGs of the endterm for reviewers: cover, an MC page, a computation page and
# the additional-space page, student and solution (output/screenshots/)
SHOTS := output/screenshots
screenshots: setup
	$(VENV)/bin/examgen build exams/in2346-endterm.yaml --variants 1 --out $(SHOTS)/build
	@for v in student solution; do \
	  pdf=$(SHOTS)/build/E0001/$$v.pdf; n=$$(pdfinfo $$pdf | awk '/^Pages:/ {print $$2}'); \
	  pdftoppm -png -r 80 -f 1 -l 2 $$pdf $(SHOTS)/$$v; \
	  pdftoppm -png -r 80 -f 9 -l 9 $$pdf $(SHOTS)/$$v; \
	  pdftoppm -png -r 80 -f $$n -l $$n $$pdf $(SHOTS)/$$v; \
	done
	@ls $(SHOTS)/*.png

# what building needs (the exams workflow installs these) and what the tests add (.ci/run installs both)
apt-packages:
	@echo $(APT_PACKAGES)

test-apt-packages:
	@echo $(TEST_APT_PACKAGES)

clean:
	rm -rf output $(VENV) *.egg-info .pytest_cache build dist
