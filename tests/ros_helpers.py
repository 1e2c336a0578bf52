"""Shared helpers of the ROS tests (tests/test_ros_*.py): node processes and a probe node.

Every test module uses its own ROS_DOMAIN_ID (``ros_domain``) so modules running at
the same time on one machine do not see each other's topics; a second suite running
beside the first (another checkout) sets ``MOTIONVLA_TEST_DOMAIN_OFFSET`` to move all
of its domains at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from motionvla_ros.bringup import dds_environment

ROOT = Path(__file__).resolve().parents[1]
PARAMS_FILE = ROOT / "config" / "motionvla.yaml"


def ros_domain(base: int) -> int:
    """The ROS_DOMAIN_ID of a test module whose own number is ``base``."""
    return base + int(os.environ.get("MOTIONVLA_TEST_DOMAIN_OFFSET", "0"))


def ros_env(domain_id: int) -> dict[str, str]:
    """Environment of a node process on ``domain_id``, discovering on loopback only."""
    env = dict(os.environ)
    env.update(
        ROS_DOMAIN_ID=str(domain_id),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        **dds_environment(),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        PYTHONUNBUFFERED="1",
    )
    return env


def wait_for(predicate: Callable[[], object], timeout_s: float = 20.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what or predicate}")


def send_frame(publisher, msg, latest_heartbeat: Callable[[], dict | None]) -> tuple[dict, dict]:
    """Publish a best-effort camera frame until the generator's heartbeat has counted it
    (received or rejected); returns the heartbeats before and after.

    A frame can be lost on the way (sensor-data QoS, a loaded machine), so it is sent
    again until the counters move; only both copies arriving could count it twice.
    """

    def counted(beat: dict) -> int:
        return beat["images_received"] + beat["images_rejected"]

    now = time.time()
    before = wait_for(
        lambda: (b := latest_heartbeat()) and b["time"] > now and b, what="a heartbeat"
    )
    for _ in range(10):
        publisher.publish(msg)
        try:
            after = wait_for(
                lambda: (b := latest_heartbeat()) and counted(b) > counted(before) and b,
                3.0,
                "the image counters",
            )
        except TimeoutError:
            continue
        return before, after
    raise TimeoutError("the generator never counted the frame (10 sends)")


class NodeProcess:
    """``python -m <module> --ros-args ...`` in a subprocess, its output kept in a log."""

    def __init__(self, module: str, domain_id: int, ros_args: list[str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "--ros-args", *ros_args],
            env=ros_env(domain_id),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGINT, timeout_s: float = 15.0) -> int:
        if self.alive():
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout_s)
        finally:
            if self.alive():
                self.process.kill()
            self._log.close()

    def output(self) -> str:
        return self.log_path.read_text()

    def stop_cleanly(self, sig: int = signal.SIGINT) -> None:
        """Stop the node; fail with the end of its log (where a crash leaves its stack)
        unless it exits with status 0."""
        status = self.stop(sig)
        assert status == 0, f"{self.process.args[2]} exited with {status}:\n{self.output()[-4000:]}"


class Probe:
    """A node in the test process, spun on its own thread, in its own context."""

    def __init__(self, domain_id: int, name: str = "probe") -> None:
        os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        for name, value in dds_environment().items():
            os.environ.setdefault(name, value)
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def collect(self, msg_type, topic: str, qos=10) -> list:
        """Subscribe and return the list that received messages are appended to."""
        received: list = []
        self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def json_collect(self, topic: str) -> list[dict]:
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from std_msgs.msg import String

        received: list[dict] = []
        self.node.create_subscription(
            String,
            topic,
            lambda m: received.append(json.loads(m.data)),
            QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE),
        )
        return received

    def matched_publishers(self, topic: str) -> int:
        """Publishers matched by this node's own subscriptions to ``topic`` (the reader's
        view, which can lag the graph's)."""
        return sum(s.get_publisher_count() for s in self.node.subscriptions if s.topic == topic)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self._thread.join(5.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
