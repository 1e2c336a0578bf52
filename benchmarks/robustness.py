"""The nodes under attack, and the camera path under load: real nodes over DDS on loopback.

Two runs, each with fresh node processes:

1. The attack corpus of ``tests/ros_attacks.py`` (bad frames, commands, trajectories
   and bursts) against ``motion_generator`` (clips) and ``sim_check``, after one round
   of normal work. It reports ``cases``, ``failed`` (cases the nodes did not answer as
   they must, by name), ``node_deaths``, ``unsafe_forwarded`` (approved messages with
   anything the gate could not vouch for) and ``peak_rss_mb`` (VmHWM of each node
   over the run) with ``rss_above_normal_mb`` (VmRSS and VmHWM at the end, minus
   after the normal work).
2. ``benchmarks/e2e.py``'s clips session: a 640x480 rgb8 camera at 30 Hz from this
   process (the nodes are not pinned to cores), 20 commands one at a time through
   both nodes: ``images_dropped_fraction`` and ``command_to_trajectory_ms`` p50/p95
   (a node process that exits there counts in ``node_deaths`` too).

    .venv/bin/python benchmarks/robustness.py

The last line of output is one JSON object.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import e2e  # noqa: E402  (benchmarks/, the script's own directory)

from tests.ros_attacks import (  # noqa: E402  (needs ROOT on sys.path)
    AttackRig,
    command_cases,
    image_cases,
    run_bursts,
    run_command_cases,
    run_image_case,
    run_trajectory_case,
    trajectory_cases,
    walk_clip,
    warm_up,
)

DOMAIN = 81
CAMERA_COMMANDS = 20


def attack(log_dir: Path) -> dict:
    rig = AttackRig(DOMAIN, log_dir)
    try:
        walk = walk_clip(1.0)
        normal = warm_up(rig, walk)
        outcomes = [run_image_case(rig, case) for case in image_cases()]
        outcomes += run_command_cases(rig, command_cases())
        outcomes += [run_trajectory_case(rig, case, walk) for case in trajectory_cases()]
        outcomes += run_bursts(rig)
        alive = rig.alive()
        now = {"rss": rig.rss(), "peak": rig.rss("VmHWM")}
    finally:
        rig.close()
    return {
        "cases": len(outcomes),
        "failed": [f"{o.kind} {o.name}: {o.detail}" for o in outcomes if not o.ok],
        "node_deaths": sum(not up for up in alive.values()),
        "unsafe_forwarded": sum(o.unsafe for o in outcomes),
        "peak_rss_mb": {name: round(mb, 1) for name, mb in now["peak"].items()},
        "rss_above_normal_mb": {
            f"{name} {kind}": round(now[kind][name] - normal[kind][name], 1)
            for kind in now
            for name in now[kind]
        },
    }


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="robustness-") as logs:
        result = {"benchmark": "robustness", **attack(Path(logs))}
    print(f"attack corpus: {json.dumps(result)}", file=sys.stderr)
    camera = e2e.run_session("clips", "", "auto", CAMERA_COMMANDS, use_sim=True, timeout_s=120.0)
    result.update(
        node_deaths=result["node_deaths"] + camera["node_restarts"],
        camera_commands=CAMERA_COMMANDS,
        images_dropped_fraction=camera["images_dropped_fraction"],
        command_to_trajectory_ms=camera["command_to_trajectory_ms"],
        wall_s=round(time.perf_counter() - started, 1),
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
