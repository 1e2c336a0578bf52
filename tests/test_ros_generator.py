"""motion_generator in its own process, driven over DDS from this one.

The node runs the clip-library backend paced at 4x real time, so a request
generates for about two seconds: long enough to cancel, preempt and load it.
"""

from __future__ import annotations

import struct
import time

import cv2
import numpy as np
import pytest
from nav_msgs.msg import Path
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from motionvla_ros.image_conversion import ENCODINGS, numpy_to_imgmsg
from motionvla_ros.trajectory_messages import stamp_key
from retargeting.g1 import JOINT_NAMES
from tests.ros_helpers import PARAMS_FILE, NodeProcess, Probe, ros_domain, send_frame, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN = ros_domain(71)
FINAL = ("done", "error", "cancelled", "rejected")


class Rig:
    def __init__(self, tmp_path_factory) -> None:
        self.node = NodeProcess(
            "motionvla_ros.motion_generator",
            DOMAIN,
            ["--params-file", str(PARAMS_FILE), "-p", "backend:=clips",
             "-p", "clip_realtime_factor:=4.0", "-p", "status_period_s:=0.2",
             "-p", "max_image_age_s:=0.0", "-p", "max_command_chars:=200"],
            tmp_path_factory.mktemp("generator") / "node.log",
        )  # fmt: skip
        self.probe = Probe(DOMAIN)
        node = self.probe.node
        reliable = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self.status = self.probe.json_collect("/motion_generator/status")
        self.trajectories = self.probe.collect(JointTrajectory, "/joint_trajectory", reliable)
        self.paths = self.probe.collect(Path, "/root_path", reliable)
        self.commands = node.create_publisher(String, "/command", reliable)
        self.images = node.create_publisher(Image, "/camera/image", qos_profile_sensor_data)
        self.compressed = node.create_publisher(
            CompressedImage, "/camera/image/compressed", qos_profile_sensor_data
        )
        self.cancel = node.create_client(Trigger, "/motion_generator/cancel")
        try:
            wait_for(
                lambda: (
                    self.commands.get_subscription_count()
                    and self.images.get_subscription_count()
                    and self.compressed.get_subscription_count()
                    and self.cancel.service_is_ready()
                    and self.heartbeat()
                ),
                timeout_s=60,
                what="motion_generator to come up",
            )
        except TimeoutError:  # no node outlives a failed start
            self.probe.close()
            self.node.stop()
            raise

    def heartbeat(self) -> dict | None:
        beats = [s for s in self.status if s.get("heartbeat")]
        return beats[-1] if beats else None

    def fresh_heartbeat(self, after: float) -> dict:
        return wait_for(
            lambda: next(
                (s for s in reversed(self.status) if s.get("heartbeat") and s["time"] > after),
                None,
            ),
            what="a heartbeat",
        )

    def say(self, text: str) -> None:
        self.commands.publish(String(data=text))

    def final(self, text: str, timeout_s: float = 30.0) -> dict:
        return wait_for(
            lambda: next(
                (s for s in self.status if s.get("command") == text and s["state"] in FINAL),
                None,
            ),
            timeout_s,
            f"a final status for {text!r}",
        )

    def state_of(self, text: str, state: str) -> dict:
        return wait_for(
            lambda: next(
                (s for s in self.status if s.get("command") == text and s["state"] == state),
                None,
            ),
            what=f"{state} for {text!r}",
        )

    def call_cancel(self) -> Trigger.Response:
        future = self.cancel.call_async(Trigger.Request())
        wait_for(future.done, 10, "the cancel service")
        return future.result()


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = Rig(tmp_path_factory)
    yield rig
    rig.probe.close()
    if rig.node.alive():
        rig.node.stop()


def test_command_yields_trajectory_and_path_with_one_stamp(rig):
    rig.say("jog forward")
    done = rig.final("jog forward")
    assert done["state"] == "done", done
    assert done["source"].startswith("amp/jog_forward")
    joints = wait_for(
        lambda: next(
            (t for t in rig.trajectories if stamp_key(t.header.stamp) == done["stamp_ns"]), None
        ),
        what="the trajectory",
    )
    path = wait_for(
        lambda: next((p for p in rig.paths if stamp_key(p.header.stamp) == done["stamp_ns"]), None),
        what="the root path",
    )
    assert joints.joint_names == list(JOINT_NAMES)
    assert len(joints.points) == len(path.poses) == done["frames"]
    assert all(len(p.positions) == len(p.velocities) == 29 for p in joints.points)
    end = joints.points[-1].time_from_start
    assert end.sec + end.nanosec * 1e-9 == pytest.approx(done["duration_s"], abs=1e-3)
    assert 0.5 < path.poses[0].pose.position.z < 1.2  # a standing pelvis height
    states = [s["state"] for s in rig.status if s.get("command") == "jog forward"]
    assert states[:2] == ["queued", "generating"] and "progress" in states


def test_cancel_service_stops_generation(rig):
    rig.say("walk backward")
    rig.state_of("walk backward", "generating")
    response = rig.call_cancel()
    assert response.success, response.message
    final = rig.final("walk backward")
    assert final["state"] == "cancelled" and "~/cancel" in final["reason"]
    assert not rig.call_cancel().success


def test_burst_of_commands_preempts_all_but_the_last(rig):
    texts = [f"walk forward {i}" for i in range(100)]
    published_before = len(rig.trajectories)
    for text in texts:
        rig.say(text)
    finals = [rig.final(text, timeout_s=60) for text in texts]
    assert finals[-1]["state"] == "done"
    assert all(f["state"] == "cancelled" and "preempted" in f["reason"] for f in finals[:-1])
    time.sleep(0.3)
    assert len(rig.trajectories) == published_before + 1
    assert rig.node.alive()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("walk " * 2048, "limit"),  # 10 KB
        (b"\xff\xfewalk\x80", "UTF-8"),
    ],
    ids=["empty", "blank", "10KB", "invalid-utf8"],
)
def test_bad_commands_are_rejected_with_reasons(rig, payload, reason):
    before = len(rig.status)
    if isinstance(payload, bytes):
        # std_msgs/String in CDR: encapsulation header, length (with NUL), bytes, NUL.
        body = payload + b"\x00"
        rig.commands.publish(b"\x00\x01\x00\x00" + struct.pack("<I", len(body)) + body)
    else:
        rig.say(payload)
    rejected = wait_for(
        lambda: next((s for s in rig.status[before:] if s["state"] == "rejected"), None),
        what="a rejection",
    )
    assert reason in rejected["reason"]
    assert rig.node.alive()


def _stamped(msg, stamp_ns: int):
    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    return msg


def test_images_of_every_encoding_are_accepted_and_bad_ones_reported(rig):
    # One frame at a time, each until the node has counted it: a burst of best-effort
    # frames on a loaded machine loses some, and the counts would then never add up.
    rng = np.random.default_rng(1)
    frames = []
    for encoding, enc in ENCODINGS.items():
        shape = (24, 32) if enc.channels == 1 else (24, 32, enc.channels)
        image = rng.integers(0, 200, size=shape).astype(enc.dtype)
        for bigendian, step_pad in ((False, 0), (True, 8)):
            row = 32 * enc.channels * enc.dtype.itemsize
            msg = numpy_to_imgmsg(image, encoding, step=row + step_pad, is_bigendian=bigendian)
            frames.append((rig.images, msg, encoding != "16UC1"))  # depth is no model input
    _, jpeg = cv2.imencode(".jpg", np.zeros((24, 32, 3), np.uint8))
    frames.append((rig.compressed, CompressedImage(format="jpeg", data=jpeg.tobytes()), True))
    for change in ({"encoding": "yuv422"}, {"height": 0}, {"data": b"\x00" * 100}):
        msg = numpy_to_imgmsg(np.zeros((24, 32, 3), np.uint8), "rgb8")
        for key, value in change.items():
            setattr(msg, key, value)
        frames.append((rig.images, msg, False))
    frames.append((rig.compressed, CompressedImage(format="jpeg", data=b"garbage"), False))
    for publisher, msg, usable in frames:
        before, after = send_frame(publisher, _stamped(msg, time.time_ns()), rig.heartbeat)
        received = after["images_received"] - before["images_received"]
        rejected = after["images_rejected"] - before["images_rejected"]
        assert (received >= 1 and rejected == 0) if usable else (received == 0 and rejected >= 1), (
            msg.encoding if isinstance(msg, Image) else msg.format, after["last_image_error"]
        )
    assert sum(usable for *_, usable in frames) == 17 and len(frames) == 23
    assert rig.node.alive()


def test_only_the_latest_frame_is_used_and_the_node_stays_responsive_under_30hz(rig):
    frame = np.zeros((480, 640, 3), np.uint8)
    msg = numpy_to_imgmsg(frame, "rgb8")
    stamps = []
    for _ in range(10):
        stamps.append(time.time_ns())
        rig.images.publish(_stamped(msg, stamps[-1]))
        time.sleep(1 / 30)
    time.sleep(0.2)
    rig.say("walk sideways left")
    generating = rig.state_of("walk sideways left", "generating")
    assert generating["image_stamp_ns"] == stamps[-1]
    # Keep 30 Hz 640x480 frames coming while it generates; services still answer.
    started = time.monotonic()
    while time.monotonic() - started < 1.5:
        rig.images.publish(_stamped(msg, time.time_ns()))
        time.sleep(1 / 30)
    t0 = time.monotonic()
    response = rig.call_cancel()
    answered_cancel = time.monotonic() - t0
    assert response.success and answered_cancel < 2.0
    beat = rig.fresh_heartbeat(time.time())
    assert beat["image_latency_ms_p50"] is not None and beat["image_latency_ms_p50"] < 500
    assert rig.final("walk sideways left")["state"] == "cancelled"


def test_node_stops_cleanly_on_sigint(rig):
    rig.say("walk forward")
    rig.state_of("walk forward", "generating")
    rig.node.stop_cleanly()
    assert "Traceback" not in rig.node.output()
