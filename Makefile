# Developer interface. Every target builds the environment on first use (`setup` is idempotent).
# All caches and state live under $(MMUPT_HOME) (default .mmupt/), never in the home folder.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmupt-installed
N ?= 3
RUN ?= default
CONFIG ?= conf/tiny.yaml
SET ?=

export MMUPT_HOME ?= $(CURDIR)/.mmupt
export HF_HOME := $(MMUPT_HOME)/hf
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export PREFECT_HOME := $(MMUPT_HOME)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_MEMO_STORE_PATH := $(MMUPT_HOME)/prefect/memo_store.toml
export MPLCONFIGDIR := $(MMUPT_HOME)/matplotlib
export TMPDIR := $(MMUPT_HOME)/tmp
export PIP_CACHE_DIR := $(MMUPT_HOME)/pip-cache
export TOKENIZERS_PARALLELISM := false

.PHONY: setup test test-all lint format round bootstrap bench runs clean

$(STAMP): pyproject.toml constraints/cpu.txt
	@mkdir -p $(MMUPT_HOME)/tmp
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/cpu.txt -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)
	@mkdir -p $(MMUPT_HOME)/tmp

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q -m ''

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bootstrap: setup
	$(VENV)/bin/mmupt bootstrap --config $(CONFIG) $(SET)

round: setup
	$(PY) -m flows.improve --config $(CONFIG) --rounds $(N) --run $(RUN) $(SET)

runs: setup
	$(VENV)/bin/mmupt runs

bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(MMUPT_HOME)
