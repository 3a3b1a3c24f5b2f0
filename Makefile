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

.PHONY: all venv book bars paper test test-fast lint mutants browser data clean-data

all: test

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[book,test]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

venv: $(VENV)/.installed

# The whole suite, as CI runs it (.ci/run). Installs the browser of the book's browser checks where
# it can (as root with apt-get); elsewhere those checks are skipped with one line saying how to
# run them, or fail under CI=true.
test: venv browser
	$(PY) -m pytest

# The inner loop: everything but the tests marked slow (see pyproject.toml), about 4 minutes on 2 cores.
test-fast: venv
	$(PY) -m pytest -m "not slow"

# ruff with the configuration in pyproject.toml; ruff is not a dependency (pip install ruff).
lint:
	@if $(PY) -c "import ruff" 2>/dev/null; then $(PY) -m ruff check .; \
	else echo "make lint: ruff is not installed for $(PY); install it with $(PY) -m pip install ruff"; fi

# The mutation check: each named mutant of the core (tools/mutants.py) applied to a copy of the
# tree must make the fast tests fail; prints the test that kills each one.
mutants: venv
	$(PY) tools/mutants.py

# The notebooks' accuracy bars (fsa/bars.json), derived from the groups the book reads from the results
# store: run after `make book` when a preset changed, and commit with the store. Not a step of the book:
# a rebuild that wrote its own bars would accept whatever it produced.
bars: venv
	$(PY) -m fsa bars --write

# The whole paper from the licensed data (fsa paper: prints its plan, then prep, the still-image stage,
# every table, the book in $(WORK)/book): make paper CKPLUS=... AFEW=... FER2013=... SFEW=... VGGFACE=...
# [NPROC=4: each run on 4 GPUs with torchrun]
WORK ?= paper
PAPER_PRESET ?= paper
NPROC ?= 1
paper: venv
	$(PY) -m fsa paper $(if $(CKPLUS),--ckplus $(CKPLUS)) $(if $(AFEW),--afew $(AFEW)) \
		$(if $(FER2013),--fer2013 $(FER2013)) $(if $(SFEW),--sfew $(SFEW)) $(if $(VGGFACE),--vggface $(VGGFACE)) \
		--work $(WORK) --preset $(PAPER_PRESET) -j $(JOBS) --nproc $(NPROC)

browser:
	@if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 \
		&& [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		.ci/install-browser || echo "make test: installing the browser failed; the browser checks will not run"; \
	fi

# Executes in place, with papermill, every notebook whose inputs changed (its code, the package, the
# records of results/ it reads: python -m fsa.book --plan says which), then renders the book. Runs
# already in results/ are read, not retrained; the cpu preset on the embedded data, made on first use.
# NO_TRAIN=1: never train (a page that needs a missing record keeps its committed version);
# FORCE=1: execute every notebook; WORKERS=N: runs trained N at a time (FSA_WORKERS, fsa/runs/pool.py).
book: venv
	$(if $(WORKERS),FSA_WORKERS=$(WORKERS)) $(PY) -m fsa.book $(if $(NO_TRAIN),--no-train) $(if $(FORCE),--force)
	$(VENV)/bin/jupyter-book build -W book/
	@echo "open $(CURDIR)/book/_build/html/index.html"
