#!/usr/bin/env bash
# `make gpu-smoke`: one self-contained command for a GPU machine with no network.
# Uses the machine's own python3 (with torch); packages it lacks are installed from wheels carried in .whl/
# (`make gpu-wheels` fetches them here). Figures go to $OUT (device tool) or bench/results.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
need="trl datasets pydantic math_verify latex2sympy2_extended dill multiprocess"
missing=$($PY - "$need" <<'PY'
import importlib.util, sys
print(" ".join(m for m in sys.argv[1].split() if importlib.util.find_spec(m) is None))
PY
)
if [ -n "$missing" ]; then
  if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "missing Python packages ($missing) and no wheels in .whl/; run 'make gpu-wheels' where pip works" >&2
    exit 2
  fi
  echo "installing carried wheels for: $missing"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/mmupt-site .whl/*.whl
  export PYTHONPATH=/tmp/mmupt-site${PYTHONPATH:+:$PYTHONPATH}
fi
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export MMUPT_HOME=${MMUPT_HOME:-/tmp/mmupt-home}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec timeout 470 $PY -m bench.gpu_smoke --out "${OUT:-bench/results}" "$@"
