# The image the Kubernetes work pool runs (prefect.yaml, conf/k8s/gpu-pool.json): this project with the GPU pins.
# torch's CUDA wheels carry their CUDA libraries, so a plain Python base is enough; the node's NVIDIA device plugin
# provides the driver. Not built here (no container engine on the machines this project is developed on).
#   docker build -t $MMUPT_IMAGE . && docker push $MMUPT_IMAGE
FROM python:3.11-slim

# DeepSpeed compiles its ops just in time, which needs a compiler; git for hub downloads of some data sets.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mmupt
COPY pyproject.toml README.md ./
COPY constraints/ constraints/
COPY mmupt_core/ mmupt_core/
COPY flows/ flows/
COPY tasks/ tasks/
COPY conf/ conf/
# The GPU pins (vLLM 0.31: torch 2.13, transformers 5.17, prefect 3.7) with DeepSpeed for ZeRO-3.
RUN pip install --no-cache-dir -c constraints/gpu.txt '.[gpu]'

# The run store and the hub cache live on the pool's persistent volume (mounted at /data).
ENV MMUPT_HOME=/data/mmupt HF_HOME=/data/hf PREFECT_LOGGING_EXTRA_LOGGERS=mmupt_core TOKENIZERS_PARALLELISM=false
