# ECNN-FSA companion. `make book` builds the report from nothing; `make test` checks everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The PyTorch build this machine installs from its local wheel store; override for another platform,
# e.g. make TORCH_SPEC="torch torchvision --index-url <your CUDA index>".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
DATA ?= data
JOBS ?= 2

.PHONY: all venv book test data clean-data

all: test

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[book,test]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest

# Executes every notebook in place with papermill (cpu preset on the embedded data, made on first
# use; runs already in results/ are read, not retrained), then renders the book.
book: venv
	$(PY) -m fsa.book
	$(VENV)/bin/jupyter-book build -W book/
	@echo "open $(CURDIR)/book/_build/html/index.html"
