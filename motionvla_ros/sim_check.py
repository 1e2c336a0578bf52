"""The ``sim_check`` node: simulate each generated trajectory, forward only what passes.

Topics (relative names, remappable):

===========================  ================================  =============================
``joint_trajectory``         trajectory_msgs/JointTrajectory   in: from motion_generator
``root_path``                nav_msgs/Path                     in: floating base, same stamp
``~/report``                 std_msgs/String (JSON)            out: one verdict per trajectory
``~/approved_trajectory``    trajectory_msgs/JointTrajectory   out: only trajectories that pass
``~/approved_root_path``     nav_msgs/Path                     out: their floating-base paths
===========================  ================================  =============================

A trajectory and its path are paired by ``header.stamp``
(:mod:`motionvla_ros.pairing`); a half whose partner does not arrive within
``pair_timeout_s`` is reported as failed and never forwarded. Checks run one at
a time on a worker thread, so the executor keeps receiving while MuJoCo runs; at
most ``max_pending`` trajectories wait, later ones are refused with a report.
Every path that does not end in a passing check ends in a report that says why,
and nothing is forwarded: unpaired halves, malformed messages, a failing check,
an exception in the simulator, a simulator that is not installed.

To drive a ``joint_trajectory_controller`` with approved motions only, remap the
output onto the controller's input::

    --ros-args -r sim_check/approved_trajectory:=/joint_trajectory_controller/joint_trajectory
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Any

from nav_msgs.msg import Path
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from motionvla_ros.node_main import run_node
from motionvla_ros.pairing import StampPairer
from motionvla_ros.parameters import declare_config, param
from motionvla_ros.trajectory_messages import (
    TrajectoryMessageError,
    msgs_to_trajectory,
    stamp_key,
)

__all__ = ["SimCheckNode", "SimCheckNodeConfig", "main"]


@dataclass(frozen=True)
class SimCheckNodeConfig:
    scene_seed: int = param(
        -1, "-1: the bare G1 scene; otherwise a seeded random scene.", (-1, 2**31 - 1)
    )
    thresholds_file: str = param("", "JSON file of simulation-check thresholds ('' : defaults).")
    pair_timeout_s: float = param(
        5.0, "How long half of a trajectory waits for its partner, seconds.", (0.1, 600.0)
    )
    max_pending: int = param(4, "Trajectories that may wait for a check.", (1, 100))
    frame_id: str = param("world", "frame_id expected on trajectories (others are refused).")

    def __post_init__(self) -> None:
        if self.thresholds_file and not FilePath(self.thresholds_file).is_file():
            raise ValueError(f"thresholds_file {self.thresholds_file!r} does not exist")


def _make_checker(config: SimCheckNodeConfig):
    """The simulation checker, or the reason there is none."""
    # Imported here so that the node still starts (and withholds everything, saying
    # why) where the simulator cannot be imported.
    try:
        from sim import checker, scene
        from sim import config as sim_config
    except ImportError as error:
        return None, f"simulation check unavailable: {error}"
    thresholds = sim_config.SimCheckConfig()
    if config.thresholds_file:
        values = json.loads(FilePath(config.thresholds_file).read_text())
        thresholds = sim_config.SimCheckConfig.from_dict(values)
    description = (
        None if config.scene_seed < 0 else scene.SceneDescription.random(config.scene_seed)
    )
    return checker.SimChecker(thresholds, scene=description), ""


class SimCheckNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("sim_check", **kwargs)
        self.config = declare_config(self, SimCheckNodeConfig)
        self._checker, self._unavailable = _make_checker(self.config)
        if self._checker is None:
            self.get_logger().error(f"{self._unavailable}; every trajectory will be withheld")
        self._pairer: StampPairer[JointTrajectory, Path] = StampPairer(
            timeout_s=self.config.pair_timeout_s, capacity=4 * self.config.max_pending
        )
        self._lock = threading.Lock()
        self._pending = 0
        self._checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-check")
        self.stats = {"checked": 0, "passed": 0, "withheld": 0}

        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self._report_pub = self.create_publisher(
            String, "~/report", QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        )
        self._approved_pub = self.create_publisher(
            JointTrajectory, "~/approved_trajectory", reliable
        )
        self._approved_path_pub = self.create_publisher(Path, "~/approved_root_path", reliable)
        self.create_subscription(JointTrajectory, "joint_trajectory", self._on_joints, reliable)
        self.create_subscription(Path, "root_path", self._on_path, reliable)
        self.create_timer(min(0.5, self.config.pair_timeout_s / 2), self._expire)
        self.get_logger().info(f"ready: scene_seed={self.config.scene_seed}")

    # --- inputs --------------------------------------------------------------------
    def _on_joints(self, msg: JointTrajectory) -> None:
        with self._lock:
            pair = self._pairer.add_first(stamp_key(msg.header.stamp), msg, time.monotonic())
        if pair is not None:
            self._submit(*pair)

    def _on_path(self, msg: Path) -> None:
        with self._lock:
            pair = self._pairer.add_second(stamp_key(msg.header.stamp), msg, time.monotonic())
        if pair is not None:
            self._submit(*pair)

    def _expire(self) -> None:
        with self._lock:
            dropped = self._pairer.expire(time.monotonic())
        for key, half in dropped:
            partner = "root path" if half == "trajectory" else "joint trajectory"
            self._withhold(key, f"no {partner} with this stamp arrived in time (only the {half})")

    # --- checking ------------------------------------------------------------------
    def _publish_report(self, stamp_ns: int, passed: bool, **fields: Any) -> None:
        if not self.context.ok():  # shutting down: nobody is left to tell
            return
        report = {"node": self.get_name(), "stamp_ns": stamp_ns, "passed": passed, **fields}
        self._report_pub.publish(String(data=json.dumps(report)))

    def _withhold(self, stamp_ns: int, reason: str, **fields: Any) -> None:
        self.stats["withheld"] += 1
        self.get_logger().warning(f"trajectory {stamp_ns} withheld: {reason}")
        self._publish_report(stamp_ns, False, forwarded=False, reason=reason, **fields)

    def _submit(self, joints: JointTrajectory, path: Path) -> None:
        stamp_ns = stamp_key(joints.header.stamp)
        with self._lock:
            if self._pending >= self.config.max_pending:
                busy = True
            else:
                busy = False
                self._pending += 1
        if busy:
            self._withhold(stamp_ns, f"{self.config.max_pending} trajectories already wait")
            return
        self._checks.submit(self._check, joints, path)

    def _check(self, joints: JointTrajectory, path: Path) -> None:
        stamp_ns = stamp_key(joints.header.stamp)
        started = time.perf_counter()
        try:
            self._check_and_forward(stamp_ns, joints, path, started)
        except Exception as error:  # a simulator bug must not end the node or pass a motion
            traceback.print_exc()
            self._withhold(stamp_ns, f"simulation check raised {type(error).__name__}: {error}")
        finally:
            with self._lock:
                self._pending -= 1

    def _check_and_forward(
        self, stamp_ns: int, joints: JointTrajectory, path: Path, started: float
    ) -> None:
        if joints.header.frame_id != self.config.frame_id:
            self._withhold(
                stamp_ns,
                f"frame_id {joints.header.frame_id!r} is not {self.config.frame_id!r}",
            )
            return
        try:
            trajectory = msgs_to_trajectory(joints, path)
        except TrajectoryMessageError as error:
            self._withhold(stamp_ns, f"malformed trajectory: {error}")
            return
        if self._checker is None:
            self._withhold(stamp_ns, self._unavailable)
            return
        report = self._checker.check(trajectory)
        self.stats["checked"] += 1
        elapsed_ms = round((time.perf_counter() - started) * 1e3, 1)
        if not report.passed:
            self._withhold(stamp_ns, report.summary(), report=report.to_dict(), check_ms=elapsed_ms)
            return
        self._approved_path_pub.publish(path)
        self._approved_pub.publish(joints)
        self.stats["passed"] += 1
        self._publish_report(
            stamp_ns,
            True,
            forwarded=True,
            reason=report.summary(),
            report=report.to_dict(),
            check_ms=elapsed_ms,
        )

    def close(self) -> None:
        self._checks.shutdown(wait=True, cancel_futures=True)


def main(args: list[str] | None = None) -> int:
    return run_node(SimCheckNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
