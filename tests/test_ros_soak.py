"""Soak: 500 commands through motion_generator (clips) and sim_check; memory stays flat.

Commands arrive at ~25 per second, faster than the simulator judges them, so
sim_check exercises both its check path and its refusal path ("already wait").
The resident memory of both node processes is sampled every 100 commands and must
not grow with the number of commands; every command must end in a final status and
every published trajectory in a verdict.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String

from tests.ros_helpers import PARAMS_FILE, NodeProcess, Probe, ros_domain, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN = ros_domain(76)
COMMANDS = 500
# Resident memory is sampled every INTERVAL commands after the first. A leak grows
# with the number of commands, so it shows in every interval. The generator used to
# step up ~10 MB once in some runs, in one interval, at a different command each time.
# Its likeliest cause, DDS histories that keep every slot as large as the largest
# sample they held (rmw_fastrtps's PREALLOCATED_WITH_REALLOC: one 25 MB sample left a
# reader 41 MB larger in DDS), is gone with config/fastdds_shm.xml (DYNAMIC), and no
# step came in 7 runs since; but it came in none of 4 runs of the code before either,
# so its end is not proven. The test therefore sums the growth of all intervals but
# the largest: a leak of one trajectory message per command (~30 KB) adds ~9 MB over
# the three smaller intervals of 100 commands, a single step adds nothing.
INTERVAL = 100
RSS_GROWTH_LIMIT_MB = 5.0
TEXTS = ("walk forward", "jog backward", "turn around", "walk sideways left")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _growth_without_largest_step(samples: list[float]) -> float:
    steps = np.diff(samples)
    return float(steps.sum() - steps.max())


def test_500_commands_keep_memory_flat(tmp_path):
    generator = NodeProcess(
        "motionvla_ros.motion_generator", DOMAIN,
        ["--params-file", str(PARAMS_FILE), "-p", "backend:=clips", "-p", "duration_s:=1.0"],
        tmp_path / "generator.log",
    )  # fmt: skip
    sim = NodeProcess(
        "motionvla_ros.sim_check", DOMAIN,
        ["--params-file", str(PARAMS_FILE)], tmp_path / "sim.log",
    )  # fmt: skip
    probe = Probe(DOMAIN)
    try:
        status = probe.json_collect("/motion_generator/status")
        reports = probe.json_collect("/sim_check/report")
        commands = probe.node.create_publisher(
            String, "/command", QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        )
        # Matched as the publishers themselves see it: the graph seen from here can be
        # ahead of the generator's own matching, and trajectories published before its
        # writer has matched sim_check are never judged (the first 12-30 of a run, in 3
        # of 7 runs, which then waited in vain for "every verdict"). A heartbeat received
        # also means that the status path is matched.
        wait_for(
            lambda: (
                commands.get_subscription_count()
                and any(s.get("trajectory_subscribers", 0) >= 1 for s in status)
                and probe.matched_publishers("/sim_check/report")
            ),
            90,
            "both nodes",
        )
        processes = {"motion_generator": generator.process, "sim_check": sim.process}
        rss: dict[str, list[float]] = {name: [] for name in processes}
        for i in range(COMMANDS):
            commands.publish(String(data=f"{TEXTS[i % len(TEXTS)]} {i}"))
            time.sleep(0.04)
            if (i + 1) % INTERVAL == 0:
                for name, process in processes.items():
                    rss[name].append(_rss_mb(process.pid))
        finals = wait_for(
            lambda: (
                done := [s for s in status
                         if s.get("state") in ("done", "error", "cancelled", "rejected")]
            ) and len(done) >= COMMANDS and done,
            120,
            "a final status for every command",
        )  # fmt: skip
        published = {s["stamp_ns"] for s in finals if s["state"] == "done"}
        # Hundreds of trajectories each get a report; on a loaded 2-core machine the
        # checks behind them take minutes, not seconds.
        wait_for(lambda: published <= {r["stamp_ns"] for r in reports}, 180, "every verdict")
        growth = {name: _growth_without_largest_step(samples) for name, samples in rss.items()}
        print(f"RSS every {INTERVAL} commands (MB): {rss}; growth but the largest step: {growth}")
        assert all(g < RSS_GROWTH_LIMIT_MB for g in growth.values()), (growth, rss)
        assert len(published) > COMMANDS / 2  # most commands generated, not just refused
        checked = [r for r in reports if "already wait" not in r["reason"]]
        assert checked, "sim_check never checked anything"
        assert generator.alive() and sim.alive()
        generator.stop_cleanly()
        sim.stop_cleanly()
    finally:
        probe.close()
        for node in (generator, sim):
            if node.alive():
                node.stop()
