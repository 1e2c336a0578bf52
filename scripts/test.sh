#!/usr/bin/env bash
# Sets up (first time only) and runs the whole test suite, linters included.
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/dsft/test_tokenizer.py -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
