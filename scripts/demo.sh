#!/usr/bin/env bash
# The end-to-end demo from a fresh clone: set up .venv (first time only), then run
# motionvla-demo (both nodes, a seeded MuJoCo scene, a few commands, verdicts, MP4s).
# Arguments go to motionvla-demo, e.g. `scripts/demo.sh --quick --output-dir /tmp/demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[demo] setting up .venv (scripts/setup.sh; minutes the first time, instant after)"
scripts/setup.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m motionvla_ros.demo "$@"
