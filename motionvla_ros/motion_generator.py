"""The ``motion_generator`` node: camera frame + text command -> G1 trajectory.

Topics (relative names, remappable with ``--ros-args -r old:=new``):

========================  =====================================  ==========================
``camera/image``          sensor_msgs/Image (sensor-data QoS)    in: latest frame kept
``camera/image/compressed`` sensor_msgs/CompressedImage          in: JPEG/PNG, same slot
``command``               std_msgs/String                        in: one command per message
``joint_trajectory``      trajectory_msgs/JointTrajectory        out: 29 joints, official order
``root_path``             nav_msgs/Path                          out: floating base, same stamp
``motion_plan``           std_msgs/String (JSON)                 out: the model's plan, same stamp
``~/status``              std_msgs/String (JSON)                 out: request states, 1 Hz beat
``~/cancel``              std_srvs/Trigger                       service: stop current + pending
========================  =====================================  ==========================

Only the newest frame is kept (a single slot that each frame overwrites; the
sensor-data subscription is best effort and holds at most 5 frames), so a 30 Hz
camera never builds a backlog while the model runs. A frame is checked before it is
converted (its layout, and a size the model can use within ``max_image_pixels``:
:class:`FrameLimits`); a refused
frame never replaces a usable one. Generation runs on a :class:`GenerationWorker`
thread; the executor only converts frames, accepts commands and answers services.
Commands arrive serialized and are decoded here (:mod:`motionvla_ros.command_text`).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from nav_msgs.msg import Path
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from motionvla_ros.command_text import CommandTextError, command_from_cdr
from motionvla_ros.generation_worker import POLICIES, GenerationWorker
from motionvla_ros.image_conversion import (
    DEFAULT_MAX_PIXELS,
    FrameLimits,
    ImageConversionError,
    compressed_to_rgb8,
    imgmsg_to_rgb8,
)
from motionvla_ros.node_main import run_node
from motionvla_ros.parameters import declare_config, param
from motionvla_ros.pipeline import MotionRequest, MotionResult, make_pipeline
from motionvla_ros.plan_check import plan_message
from motionvla_ros.trajectory_messages import stamp_key, trajectory_to_msgs

__all__ = ["GeneratorConfig", "MotionGeneratorNode", "main"]

BACKENDS = ("model", "clips")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class GeneratorConfig:
    backend: str = param("model", "Motion source: 'model' (MotionVLA) or 'clips' (recorded G1).")
    model_path: str = param(
        "", "Directory of the MotionVLA checkpoint (backend 'model'); empty: the default model."
    )
    device: str = param("auto", "Where the model runs: auto (GPU when present), cpu, cuda[:N].")
    on_busy: str = param("preempt", "A command while generating: 'preempt' or 'queue'.")
    queue_size: int = param(8, "Commands that may wait with on_busy 'queue'.", (1, 100))
    generation_timeout_s: float = param(
        60.0, "Wall-clock limit of one request, seconds.", (0.1, 3600.0)
    )
    duration_s: float = param(0.0, "Requested motion length in seconds; 0 lets the model choose.",
                              (0.0, 60.0))  # fmt: skip
    seed: int = param(-1, "Sampling seed; -1 draws a new one per request.", (-1, 2**31 - 1))
    max_command_chars: int = param(1000, "Longer commands are rejected.", (1, 100_000))
    max_image_pixels: int = param(
        DEFAULT_MAX_PIXELS, "Larger frames (width x height) are refused on arrival.",
        (64, 16384 * 16384),
    )  # fmt: skip
    max_image_age_s: float = param(
        2.0, "A frame older than this is not given to the model (0: any age).", (0.0, 3600.0)
    )
    frame_id: str = param("world", "frame_id of the published trajectory and path.")
    model_attempts: int = param(
        3, "Candidates the model may make per command: one that the gate's scene-free checks "
        "refuse is sampled again (see ModelPipeline); 1 sends the first.", (1, 10))
    clip_realtime_factor: float = param(
        0.0, "Backend 'clips': pace streaming at this multiple of real time (0: instant).",
        (0.0, 1000.0),
    )  # fmt: skip
    status_period_s: float = param(1.0, "Period of the status heartbeat, seconds.", (0.05, 60.0))

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.on_busy not in POLICIES:
            raise ValueError(f"on_busy must be one of {POLICIES}, got {self.on_busy!r}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")


@dataclass
class _Frame:
    rgb: np.ndarray
    stamp_ns: int
    received: float  # time.monotonic()


class MotionGeneratorNode(Node):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("motion_generator", **kwargs)
        self.config = declare_config(self, GeneratorConfig)
        self._limits = FrameLimits(max_pixels=self.config.max_image_pixels)
        self._frame: _Frame | None = None
        self._frame_lock = threading.Lock()
        self._request_counter = 0
        self._stats = {"images_received": 0, "images_rejected": 0, "commands": 0, "published": 0}
        self._last_image_error = ""
        self._pipeline_error = ""  # why the pipeline could not load, until a request succeeds
        self._image_latency_ms: deque[float] = deque(maxlen=300)

        # Deep enough that a burst of trajectories reaches sim_check whole.
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self._trajectory_pub = self.create_publisher(JointTrajectory, "joint_trajectory", reliable)
        self._path_pub = self.create_publisher(Path, "root_path", reliable)
        self._plan_pub = self.create_publisher(String, "motion_plan", reliable)
        self._status_pub = self.create_publisher(
            String, "~/status", QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        )
        self.create_subscription(Image, "camera/image", self._on_image, qos_profile_sensor_data)
        self.create_subscription(
            CompressedImage, "camera/image/compressed", self._on_compressed, qos_profile_sensor_data
        )
        self.create_subscription(
            String, "command", self._on_command, QoSProfile(depth=100, reliability=1), raw=True
        )
        self.create_service(Trigger, "~/cancel", self._on_cancel)
        self.create_timer(self.config.status_period_s, self._heartbeat)

        pipeline = make_pipeline(
            self.config.backend,
            model_path=self.config.model_path,
            device=self.config.device,
            realtime_factor=self.config.clip_realtime_factor,
            attempts=self.config.model_attempts,
        )
        self._worker = GenerationWorker(
            pipeline,
            self._on_worker_event,
            self._publish_result,
            policy=self.config.on_busy,
            queue_size=self.config.queue_size,
            timeout_s=self.config.generation_timeout_s,
        )
        self.get_logger().info(
            f"ready: backend={self.config.backend} device={self.config.device} "
            f"on_busy={self.config.on_busy}"
        )

    # --- status --------------------------------------------------------------------
    def _publish_status(self, fields: dict[str, Any]) -> None:
        if not self.context.ok():  # shutting down (e.g. SIGINT): nobody is left to tell
            return
        fields = {"node": self.get_name(), "time": time.time(), **fields}
        self._status_pub.publish(String(data=json.dumps(fields)))

    def _on_worker_event(self, event: dict[str, Any]) -> None:
        if event["state"] == "error":
            self.get_logger().warning(f"request {event['request_id']}: {event['reason']}")
            if event["request_id"] is None:  # loading failed; requests retry the load
                self._pipeline_error = event["reason"]
        elif event["state"] == "done":
            self._pipeline_error = ""
        self._publish_status(event)

    def image_stats(self) -> dict[str, Any]:
        latencies = np.array(self._image_latency_ms)
        return {
            **self._stats,
            "image_latency_ms_p50": round(float(np.median(latencies)), 3)
            if len(latencies)
            else None,
            "last_image_error": self._last_image_error,
            "pipeline_error": self._pipeline_error,
        }

    def _heartbeat(self) -> None:
        state = "generating" if self._worker.busy else "idle"
        # Matched readers as this node's publisher sees them: a client that waits for
        # sim_check knows from this that a trajectory published now will reach it
        # (the graph seen from elsewhere can be ahead of this node's matching).
        matched = self._trajectory_pub.get_subscription_count()
        self._publish_status({"state": state, "heartbeat": True,
                              "trajectory_subscribers": matched, **self.image_stats()})  # fmt: skip

    # --- inputs --------------------------------------------------------------------
    def _store_frame(self, decode, msg) -> None:
        received = time.monotonic()
        stamp_ns = stamp_key(msg.header.stamp)
        try:
            rgb = decode(msg, self._limits)
        except ImageConversionError as error:
            self._stats["images_rejected"] += 1
            self._last_image_error = str(error)
            self.get_logger().warning(f"image rejected: {error}", throttle_duration_sec=5.0)
            return
        self._stats["images_received"] += 1
        if stamp_ns > 0:
            self._image_latency_ms.append((time.time_ns() - stamp_ns) / 1e6)
        with self._frame_lock:
            self._frame = _Frame(rgb, stamp_ns, received)

    def _on_image(self, msg: Image) -> None:
        self._store_frame(imgmsg_to_rgb8, msg)

    def _on_compressed(self, msg: CompressedImage) -> None:
        self._store_frame(compressed_to_rgb8, msg)

    def _latest_frame(self) -> _Frame | None:
        with self._frame_lock:
            frame = self._frame
        max_age = self.config.max_image_age_s
        if frame is not None and max_age > 0 and time.monotonic() - frame.received > max_age:
            return None
        return frame

    def _on_command(self, raw: bytes) -> None:
        self._request_counter += 1
        self._stats["commands"] += 1
        request_id = self._request_counter
        try:
            text = command_from_cdr(raw, self.config.max_command_chars)
        except CommandTextError as error:
            self._publish_status(
                {"state": "rejected", "request_id": request_id, "command": error.preview,
                 "reason": str(error)}
            )  # fmt: skip
            return
        frame = self._latest_frame()
        self._worker.submit(
            MotionRequest(
                request_id=request_id,
                text=text,
                image=None if frame is None else frame.rgb,
                image_stamp_ns=None if frame is None else frame.stamp_ns,
                duration_s=self.config.duration_s or None,
                seed=None if self.config.seed < 0 else self.config.seed,
            )
        )

    def _on_cancel(self, _request: Trigger.Request, response: Trigger.Response):
        cancelled = self._worker.cancel("cancelled by ~/cancel")
        response.success = cancelled > 0
        response.message = f"cancelled {cancelled} request(s)" if cancelled else "nothing to cancel"
        return response

    # --- output --------------------------------------------------------------------
    def _publish_result(self, request: MotionRequest, result: MotionResult) -> dict[str, Any]:
        stamp = self.get_clock().now().to_msg()
        joints, path = trajectory_to_msgs(result.trajectory, stamp, self.config.frame_id)
        if result.plan is not None:  # before the trajectory, so the gate has it when it checks
            self._plan_pub.publish(String(data=plan_message(stamp_key(stamp), result.plan)))
        # The path goes first: a receiver that pairs by stamp then holds the joint
        # trajectory, the larger of the two, for the shortest time.
        self._path_pub.publish(path)
        self._trajectory_pub.publish(joints)
        self._stats["published"] += 1
        return {"stamp_ns": stamp_key(stamp)}

    def close(self) -> bool:
        """Stop the generation thread; False when it is still busy (see :func:`run_node`)."""
        stopped = self._worker.stop()
        if not stopped:
            self.get_logger().warning("the generation thread is still busy (loading the model)")
        return stopped


def main(args: list[str] | None = None) -> int:
    return run_node(MotionGeneratorNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
