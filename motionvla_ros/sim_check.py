"""The ``sim_check`` node: simulate each generated trajectory, forward only what passes.

Topics (relative names, remappable):

===========================  ================================  =============================
``joint_trajectory``         trajectory_msgs/JointTrajectory   in: from motion_generator
``root_path``                nav_msgs/Path                     in: floating base, same stamp
``motion_plan``              std_msgs/String (JSON)            in: the model's plan, same stamp
``~/report``                 std_msgs/String (JSON)            out: one verdict per trajectory
``~/approved_trajectory``    trajectory_msgs/JointTrajectory   out: only trajectories that pass
``~/approved_root_path``     nav_msgs/Path                     out: their floating-base paths
===========================  ================================  =============================

Both inputs are received serialized: a message's stamp and number of points are read
first (:func:`declared_length`), and one longer than ``max_points`` is refused before
it is deserialized. A trajectory and its path are paired by ``header.stamp``
(:mod:`motionvla_ros.pairing`); a half whose partner does not arrive within
``pair_timeout_s`` is reported as failed and never forwarded. Checks run one at
a time on a worker thread, so the executor keeps receiving while MuJoCo runs; at
most ``max_pending`` trajectories wait, later ones are refused with a report.
Every path that does not end in a passing check ends in a report that says why,
and nothing is forwarded: unpaired halves, malformed messages, a failing check,
an exception in the simulator, a simulator that is not installed.

What goes out on ``~/approved_trajectory`` is never the incoming message: it is
rebuilt from the trajectory the simulator checked (:mod:`motionvla_ros.approval`:
positions clamped into the joint ranges, velocities recomputed from them,
``time_from_start`` from 0 at the checked rate, no accelerations or effort), and the
report's ``approved`` entry says what was clamped, dropped and recomputed.

A trajectory that comes with the model's grounded plan (``motion_plan``, e.g.
``red box: 2.4 m, 30° left``) has the plan scored against the scene the node simulates
(:mod:`motionvla_ros.plan_check`): the report's ``plan`` entry gives the plan, whether the
named object is in the scene, the plan's distance and bearing errors and how far from
that object the robot ends. A plan is information for a person, not a verdict: it does
not change what is forwarded. A malformed plan is counted and logged, never scored.

To drive a ``joint_trajectory_controller`` with approved motions only, remap the
output onto the controller's input::

    --ros-args -r sim_check/approved_trajectory:=/joint_trajectory_controller/joint_trajectory

Closing the loop in simulation: with ``head_camera_rate_hz`` > 0 the node also
publishes what the G1's head camera sees in its scene on ``camera/image``
(sensor_msgs/Image, rgb8, sensor-data QoS), the topic the generator reads, so the
model sees the simulated objects. With ``video_dir`` set, every trajectory the
simulator judged is rendered to ``video_dir/trajectory_<stamp>_<passed|failed>.mp4``
(one refused unplayed, beyond the check's work limits, has none)
on a separate rendering thread (:mod:`motionvla_ros.scene_rendering`); the report
names the file and goes out first, and ``~/video`` (JSON) says when it is written.
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
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from motionvla_model.plan import PlanFormatError
from motionvla_ros.approval import approve
from motionvla_ros.image_conversion import numpy_to_imgmsg
from motionvla_ros.node_main import run_node
from motionvla_ros.pairing import StampPairer
from motionvla_ros.parameters import declare_config, param
from motionvla_ros.plan_check import RecentPlans, parse_plan_message, score_plan
from motionvla_ros.scene_rendering import RenderSettings, SceneRenderWorker
from motionvla_ros.trajectory_messages import (
    TrajectoryMessageError,
    declared_length,
    msgs_to_trajectory,
)

__all__ = ["HEAD_CAMERA_FRAME", "SimCheckNode", "SimCheckNodeConfig", "main"]

HEAD_CAMERA_FRAME = "head_camera"


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
    max_points: int = param(
        15_000, "Longer trajectories are refused before they are decoded.", (2, 1_000_000)
    )
    frame_id: str = param("world", "frame_id expected on trajectories (others are refused).")
    head_camera_rate_hz: float = param(
        0.0, "Publish the simulated head camera on camera/image at this rate (0: off).",
        (0.0, 60.0),
    )  # fmt: skip
    head_camera_width: int = param(320, "Head-camera image width, pixels.", (16, 4096))
    head_camera_height: int = param(240, "Head-camera image height, pixels.", (16, 4096))
    video_dir: str = param("", "Write an MP4 of every checked trajectory here ('' : none).")
    video_fps: float = param(10.0, "Frame rate of the videos.", (1.0, 120.0))
    video_width: int = param(320, "Video width, pixels.", (16, 4096))
    video_height: int = param(240, "Video height, pixels.", (16, 4096))
    max_videos_pending: int = param(
        2, "Videos that may wait for rendering; later ones are skipped.", (1, 100)
    )

    def __post_init__(self) -> None:
        if self.thresholds_file and not FilePath(self.thresholds_file).is_file():
            raise ValueError(f"thresholds_file {self.thresholds_file!r} does not exist")
        if (
            self.video_dir
            and FilePath(self.video_dir).exists()
            and not FilePath(self.video_dir).is_dir()
        ):
            raise ValueError(f"video_dir {self.video_dir!r} exists and is not a directory")

    @property
    def render_settings(self) -> RenderSettings:
        return RenderSettings(
            head_width=self.head_camera_width,
            head_height=self.head_camera_height,
            video_width=self.video_width,
            video_height=self.video_height,
            video_fps=self.video_fps,
        )

    @property
    def renders(self) -> bool:
        return self.head_camera_rate_hz > 0 or bool(self.video_dir)


@dataclass(frozen=True)
class _Simulator:
    checker: Any  # sim.checker.SimChecker, or None where it cannot be imported
    position_limits: Any  # [29, 2] joint ranges the approved positions are clamped into
    unavailable: str = ""  # why there is no checker


@dataclass(frozen=True)
class _Refused:
    """A half of a trajectory refused on arrival; it still pairs, for one report."""

    reason: str


def _make_simulator(config: SimCheckNodeConfig) -> _Simulator:
    """The simulation checker, or the reason there is none."""
    # Imported here so that the node still starts (and withholds everything, saying
    # why) where the simulator cannot be imported.
    try:
        from retargeting.g1 import g1_description
        from sim import checker
        from sim import config as sim_config
    except ImportError as error:
        return _Simulator(None, None, f"simulation check unavailable: {error}")
    thresholds = sim_config.SimCheckConfig()
    if config.thresholds_file:
        values = json.loads(FilePath(config.thresholds_file).read_text())
        thresholds = sim_config.SimCheckConfig.from_dict(values)
    simulator = checker.SimChecker(thresholds, scene=_scene(config))
    return _Simulator(simulator, g1_description().position_limits)


def _scene(config: SimCheckNodeConfig):
    from sim.scene import SceneDescription

    return None if config.scene_seed < 0 else SceneDescription.random(config.scene_seed)


class SimCheckNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("sim_check", **kwargs)
        self.config = declare_config(self, SimCheckNodeConfig)
        self._simulator = _make_simulator(self.config)
        if self._simulator.checker is None:
            self.get_logger().error(
                f"{self._simulator.unavailable}; every trajectory will be withheld"
            )
        self._pairer: StampPairer[JointTrajectory | _Refused, Path | _Refused] = StampPairer(
            timeout_s=self.config.pair_timeout_s, capacity=4 * self.config.max_pending
        )
        self._lock = threading.Lock()
        self._pending = 0
        self._checks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-check")
        self.stats = {"checked": 0, "passed": 0, "withheld": 0, "plans_refused": 0}
        self._scene = _scene(self.config)
        self._plans = RecentPlans(capacity=4 * self.config.max_pending)

        # Deep enough for a burst of trajectories: a sample overwritten before it is
        # delivered would never get a verdict.
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self._report_pub = self.create_publisher(
            String, "~/report", QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)
        )
        self._approved_pub = self.create_publisher(
            JointTrajectory, "~/approved_trajectory", reliable
        )
        self._approved_path_pub = self.create_publisher(Path, "~/approved_root_path", reliable)
        self.create_subscription(
            JointTrajectory, "joint_trajectory", self._on_joints, reliable, raw=True
        )
        self.create_subscription(Path, "root_path", self._on_path, reliable, raw=True)
        self.create_subscription(String, "motion_plan", self._on_plan, reliable)
        self.create_timer(min(0.5, self.config.pair_timeout_s / 2), self._expire)
        self._renders = self._start_rendering() if self.config.renders else None
        self.get_logger().info(
            f"ready: scene_seed={self.config.scene_seed} "
            f"head_camera_rate_hz={self.config.head_camera_rate_hz} "
            f"video_dir={self.config.video_dir!r}"
        )

    # --- pictures ------------------------------------------------------------------
    def _start_rendering(self) -> SceneRenderWorker | None:
        if self._simulator.checker is None:  # no simulator: nothing to render either
            return None
        self._video_pub = self.create_publisher(
            String, "~/video", QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        )
        video_dir = FilePath(self.config.video_dir) if self.config.video_dir else None
        renders = SceneRenderWorker(
            self._scene,
            self.config.render_settings,
            video_dir,
            self._publish_video_event,
            max_pending=self.config.max_videos_pending,
        )
        if self.config.head_camera_rate_hz > 0:
            self._head_image: Image | None = None
            self._camera_pub = self.create_publisher(Image, "camera/image", qos_profile_sensor_data)
            renders.head_view().add_done_callback(self._on_head_view)
            self.create_timer(1.0 / self.config.head_camera_rate_hz, self._publish_head_camera)
        return renders

    def _on_head_view(self, future) -> None:
        error = future.exception()
        if error is not None:
            self.get_logger().error(f"head camera cannot be rendered: {error}")
            return
        self._head_image = numpy_to_imgmsg(future.result(), "rgb8", frame_id=HEAD_CAMERA_FRAME)

    def _publish_head_camera(self) -> None:
        image = self._head_image
        if image is None or not self.context.ok():
            return
        image.header.stamp = self.get_clock().now().to_msg()
        self._camera_pub.publish(image)

    def _publish_video_event(self, event: dict[str, Any]) -> None:
        if not self.context.ok():
            return
        self._video_pub.publish(String(data=json.dumps({"node": self.get_name(), **event})))

    # --- inputs --------------------------------------------------------------------
    def _decode(self, raw: bytes, msg_type: type) -> tuple[int | None, Any]:
        """(stamp key, message) of a serialized half, or a :class:`_Refused` in its place;
        the key is None when not even the header can be read."""
        try:
            stamp_ns, length = declared_length(raw, msg_type)
        except TrajectoryMessageError as error:
            return None, _Refused(f"malformed {msg_type.__name__}: {error}")
        if length > self.config.max_points:
            return stamp_ns, _Refused(
                f"{msg_type.__name__} has {length} points; the limit (max_points) is "
                f"{self.config.max_points}"
            )
        try:
            return stamp_ns, deserialize_message(raw, msg_type)
        except Exception as error:  # rclpy raises plain exceptions for broken CDR
            return stamp_ns, _Refused(f"malformed {msg_type.__name__}: {error}")

    def _on_joints(self, raw: bytes) -> None:
        stamp_ns, msg = self._decode(raw, JointTrajectory)
        if stamp_ns is None:  # nothing to pair it by
            self._withhold(0, msg.reason)
            return
        with self._lock:
            pair = self._pairer.add_first(stamp_ns, msg, time.monotonic())
        if pair is not None:
            self._submit(stamp_ns, *pair)

    def _on_path(self, raw: bytes) -> None:
        stamp_ns, msg = self._decode(raw, Path)
        if stamp_ns is None:  # nothing to pair it by
            self._withhold(0, msg.reason)
            return
        with self._lock:
            pair = self._pairer.add_second(stamp_ns, msg, time.monotonic())
        if pair is not None:
            self._submit(stamp_ns, *pair)

    def _on_plan(self, msg: String) -> None:
        try:
            stamp_ns, plan = parse_plan_message(msg.data)
        except PlanFormatError as error:
            self.stats["plans_refused"] += 1
            self.get_logger().warning(f"motion_plan refused: {error}", throttle_duration_sec=5.0)
            return
        with self._lock:
            self._plans.add(stamp_ns, plan)

    def _plan_score(self, stamp_ns: int, trajectory: Any) -> dict[str, Any] | None:
        with self._lock:
            plan = self._plans.pop(stamp_ns)
        if plan is None:
            return None
        end = trajectory.root_pos[-1]
        return score_plan(plan, self._scene, end_xy=(float(end[0]), float(end[1]))).to_dict()

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

    def _submit(
        self, stamp_ns: int, joints: JointTrajectory | _Refused, path: Path | _Refused
    ) -> None:
        refused = [half.reason for half in (joints, path) if isinstance(half, _Refused)]
        if refused:
            self._withhold(stamp_ns, "; ".join(refused))
            return
        with self._lock:
            if self._pending >= self.config.max_pending:
                busy = True
            else:
                busy = False
                self._pending += 1
        if busy:
            self._withhold(stamp_ns, f"{self.config.max_pending} trajectories already wait")
            return
        self._checks.submit(self._check, stamp_ns, joints, path)

    def _check(self, stamp_ns: int, joints: JointTrajectory, path: Path) -> None:
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
        if self._simulator.checker is None:
            self._withhold(stamp_ns, self._simulator.unavailable)
            return
        report = self._simulator.checker.check(trajectory)
        self.stats["checked"] += 1
        elapsed_ms = round((time.perf_counter() - started) * 1e3, 1)
        video = None
        if self._renders is not None and report.state != "refused":  # refused: never played
            video = self._renders.submit_video(stamp_ns, trajectory, report.passed)
        details = {"report": report.to_dict(), "check_ms": elapsed_ms,
                   "video": None if video is None else str(video),
                   "plan": self._plan_score(stamp_ns, trajectory)}  # fmt: skip
        if not report.passed:
            self._withhold(stamp_ns, report.summary(), **details)
            return
        approval = approve(trajectory, joints, self._simulator.position_limits,
                           self.config.frame_id, joints.header.stamp)  # fmt: skip
        self._approved_path_pub.publish(approval.path)
        self._approved_pub.publish(approval.joints)
        self.stats["passed"] += 1
        self._publish_report(stamp_ns, True, forwarded=True, reason=report.summary(),
                             approved=approval.summary(), **details)  # fmt: skip

    def close(self) -> None:
        self._checks.shutdown(wait=True, cancel_futures=True)
        if self._renders is not None:
            self._renders.close()


def main(args: list[str] | None = None) -> int:
    # Trajectories of up to max_points arrive serialized, tens of MB for a hostile one:
    # mapped on their own, they leave nothing behind in the heap (see node_main).
    return run_node(SimCheckNode, args, mmap_threshold_bytes=128 * 1024)


if __name__ == "__main__":
    raise SystemExit(main())
