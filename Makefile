# deeprelax: build the book (make book) and run the tests (make test).
#   make book                         CPU-fast chapters, HTML in _build/html
#   make book PRESET=paper DEVICE=cuda   the paper's settings on a GPU
#   make test                         unit tests + book build (-W) + nbval on every chapter
#                                     + checks on the built HTML (scripts/measure_book.py)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
PRESET ?= fast
DEVICE ?= cpu
JOBS ?= 2
BIN := $(VENV)/bin
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
CHAPTERS := $(patsubst notebooks/%.ipynb,book/chapters/%.ipynb,$(NOTEBOOKS))
SOURCES := $(shell find deeprelax results -name "*.py" -o -name "*.json" -o -name "*.csv" 2>/dev/null)
MATHJAX := book/_vendor/mathjax/tex-chtml.js
CONFIG := book/chapters/.config-$(PRESET)-$(DEVICE)
export DEEPRELAX_PROGRESS ?= 0
# JOBS processes share the cores: one BLAS/torch thread each avoids oversubscription.
export OMP_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test env chapters unit nbval clean
.DELETE_ON_ERROR:

env: $(VENV)/.installed
# constraints.txt: the exact verified set (pyproject.toml has only compatible ranges)
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[book,test,download]'
	@touch $@

$(MATHJAX):
	bash scripts/vendor_mathjax.sh book/_vendor/mathjax

$(CONFIG):
	@mkdir -p book/chapters && rm -f book/chapters/.config-* && touch $@

book/chapters/%.ipynb: notebooks/%.ipynb $(SOURCES) $(CONFIG) $(VENV)/.installed
	@echo "executing $< (preset=$(PRESET), device=$(DEVICE))"
	$(BIN)/papermill --no-progress-bar --log-level WARNING -k python3 \
	  -p preset $(PRESET) -p device $(DEVICE) $< $@
	$(BIN)/python scripts/hide_injected.py $@

chapters: $(CHAPTERS)

book: env $(MATHJAX)
	$(MAKE) --no-print-directory -j$(JOBS) chapters
	$(BIN)/python scripts/scorecard.py book/chapters book/_generated/scorecard.md
	$(BIN)/jupyter-book build book --config $(CURDIR)/_config.yml --toc $(CURDIR)/book/_toc.yml \
	  --path-output . -W -n --keep-going --quiet
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

unit: env
	$(BIN)/python -m pytest -n $(JOBS) tests

nbval: book
	$(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(CHAPTERS)

test: env
	$(BIN)/python -m pytest -n $(JOBS) tests
	$(MAKE) --no-print-directory book
	$(BIN)/python -m pytest -p no:cacheprovider --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(CHAPTERS)
	$(BIN)/python -m pytest tests/test_book.py --built-book _build/html
	$(BIN)/python scripts/measure_book.py _build/html --check

clean:
	rm -rf _build book/chapters book/_vendor book/_generated
