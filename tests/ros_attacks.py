"""The attack corpus: what a hostile or careless publisher sends the two nodes.

Shared by ``tests/test_ros_attacks.py`` and ``benchmarks/robustness.py``. An
:class:`AttackRig` runs ``motion_generator`` (clips) and ``sim_check`` as separate
processes on one ROS domain, with a probe node in this process that plays the
attacker. The generator's own trajectories go to ``/gen/...`` so that ``sim_check``
judges only what the corpus sends it.

Each case is sent, then its outcome is awaited (a heartbeat whose image counters
moved, the final status of the command, the report on the trajectory's stamp):
cases never depend on timing, only on the nodes' answers. A case's
:class:`Outcome` says whether the node answered as it must; ``unsafe`` counts
approved messages that carry anything a controller must not get (non-finite values,
positions outside the joint ranges, fields the gate did not check).
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from builtin_interfaces.msg import Time

from tests.ros_helpers import PARAMS_FILE, NodeProcess, Probe, send_frame, wait_for

FINAL = ("done", "error", "cancelled", "rejected")
MAX_IMAGE_PIXELS = 640 * 480
MAX_POINTS = 15_000


@dataclass
class Outcome:
    kind: str  # image, command, trajectory, burst
    name: str
    ok: bool
    detail: str = ""
    unsafe: int = 0  # approved messages with a field the gate could not vouch for


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


# --- the rig -----------------------------------------------------------------------
class AttackRig:
    def __init__(self, domain: int, log_dir: Path) -> None:
        from nav_msgs.msg import Path as PathMsg
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import CompressedImage, Image
        from std_msgs.msg import String
        from trajectory_msgs.msg import JointTrajectory

        params = ["--params-file", str(PARAMS_FILE)]
        self.generator = NodeProcess(
            "motionvla_ros.motion_generator", domain,
            [*params, "-p", "backend:=clips", "-p", "status_period_s:=0.05",
             "-p", "max_image_age_s:=0.0", "-p", "max_command_chars:=200",
             "-p", "on_busy:=queue", "-p", "queue_size:=100", "-p", "duration_s:=1.0",
             "-p", f"max_image_pixels:={MAX_IMAGE_PIXELS}",
             "-r", "joint_trajectory:=/gen/joint_trajectory", "-r", "root_path:=/gen/root_path"],
            log_dir / "generator.log",
        )
        self.sim = NodeProcess(
            "motionvla_ros.sim_check", domain,
            [*params, "-p", "pair_timeout_s:=1.0", "-p", f"max_points:={MAX_POINTS}"],
            log_dir / "sim_check.log",
        )
        self.probe = Probe(domain, "attacker")
        node = self.probe.node
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.status = self.probe.json_collect("/motion_generator/status")
        self.reports = self.probe.json_collect("/sim_check/report")
        self.approved = self.probe.collect(
            JointTrajectory, "/sim_check/approved_trajectory", reliable
        )
        self.approved_paths = self.probe.collect(
            PathMsg, "/sim_check/approved_root_path", reliable
        )
        self.commands = node.create_publisher(String, "/command", reliable)
        self.images = node.create_publisher(Image, "/camera/image", qos_profile_sensor_data)
        self.compressed = node.create_publisher(
            CompressedImage, "/camera/image/compressed", qos_profile_sensor_data
        )
        self.joints = node.create_publisher(JointTrajectory, "/joint_trajectory", reliable)
        self.paths = node.create_publisher(PathMsg, "/root_path", reliable)
        try:
            wait_for(
                lambda: (
                    self.commands.get_subscription_count()
                    and self.images.get_subscription_count()
                    and self.compressed.get_subscription_count()
                    and self.joints.get_subscription_count()
                    and self.paths.get_subscription_count()
                    and node.count_publishers("/sim_check/report")
                    and self.heartbeat()
                ),
                timeout_s=90,
                what="both nodes to come up",
            )
        except TimeoutError:
            self.close()
            raise
        self._stamps = 0

    # --- observation ---------------------------------------------------------------
    def heartbeat(self, after: float = 0.0) -> dict | None:
        return next(
            (s for s in reversed(self.status) if s.get("heartbeat") and s["time"] > after), None
        )

    def fresh_heartbeat(self) -> dict:
        now = time.time()
        return wait_for(lambda: self.heartbeat(now), 20, "a heartbeat")

    def final(self, request_id: int, timeout_s: float = 60.0) -> dict:
        return wait_for(
            lambda: next(
                (s for s in self.status
                 if s.get("request_id") == request_id and s["state"] in FINAL),
                None,
            ),
            timeout_s,
            f"a final status for request {request_id}",
        )

    def report(self, stamp_ns: int, timeout_s: float = 120.0) -> dict:
        return wait_for(
            lambda: next((r for r in self.reports if r["stamp_ns"] == stamp_ns), None),
            timeout_s,
            f"the report of {stamp_ns}",
        )

    def alive(self) -> dict[str, bool]:
        return {"motion_generator": self.generator.alive(), "sim_check": self.sim.alive()}

    def rss(self, field: str = "VmRSS") -> dict[str, float]:
        return {
            name: rss_mb(node.process.pid, field)
            for name, node in (("motion_generator", self.generator), ("sim_check", self.sim))
            if node.alive()
        }

    def next_stamp(self) -> Time:
        self._stamps += 1
        return Time(sec=2000 + self._stamps)

    def close(self) -> None:
        self.probe.close()
        for node in (self.generator, self.sim):
            if node.alive():
                node.stop()


# --- images --------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageCase:
    name: str
    build: Callable[[], object]  # -> sensor_msgs/Image or CompressedImage
    accepted: bool
    reason: str = ""  # in last_image_error when refused


def _rgb(rows: int = 24, cols: int = 32, **fields):
    """A valid rgb8 frame of ``rows`` x ``cols``, then ``fields`` set as they are given."""
    from motionvla_ros.image_conversion import numpy_to_imgmsg

    msg = numpy_to_imgmsg(np.full((rows, cols, 3), 100, np.uint8), "rgb8")
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


def _raw(**fields):
    from sensor_msgs.msg import Image

    msg = Image()
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


def _compressed(data: bytes, fmt: str = "png"):
    from sensor_msgs.msg import CompressedImage

    return CompressedImage(format=fmt, data=data)


def _png(height: int, width: int) -> bytes:
    return cv2.imencode(".png", np.zeros((height, width, 3), np.uint8))[1].tobytes()


def _jpeg(height: int, width: int) -> bytes:
    return cv2.imencode(".jpg", np.full((height, width, 3), 90, np.uint8))[1].tobytes()


def _png_declaring(width: int, height: int) -> bytes:
    data = bytearray(_png(8, 8))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    return bytes(data)


def _jpeg_declaring(width: int, height: int) -> bytes:
    data = bytearray(_jpeg(16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def image_cases() -> list[ImageCase]:
    row = 32 * 3
    return [
        ImageCase("good 24x32 rgb8", _rgb, True),
        ImageCase("good 480x640 rgb8", lambda: _rgb(480, 640), True),
        ImageCase("good 8x8 rgb8 (smallest)", lambda: _rgb(8, 8), True),
        ImageCase("good rgb8 with padded rows", lambda: _rgb(24, 32, step=row + 64,
                  data=b"\x05" * ((row + 64) * 24)), True),
        ImageCase("good last row unpadded", lambda: _rgb(24, 32, step=row + 4,
                  data=b"\x05" * ((row + 4) * 24 - 4)), True),
        ImageCase("good png", lambda: _compressed(_png(24, 32)), True),
        ImageCase("good jpeg", lambda: _compressed(_jpeg(48, 64), "jpeg"), True),
        ImageCase("1x10, step 1e9, 30 bytes (memory bomb)", lambda: _raw(
            height=1, width=10, encoding="rgb8", step=1_000_000_000, data=b"\x00" * 30),
            False, "each side"),
        ImageCase("8x10, step 1e9, 240 bytes", lambda: _raw(
            height=8, width=10, encoding="rgb8", step=1_000_000_000, data=b"\x00" * 240),
            False, "pads a row"),
        ImageCase("step 2**32-1", lambda: _rgb(step=2**32 - 1), False, "pads a row"),
        ImageCase("step shorter than a row", lambda: _rgb(step=10), False, "shorter than one row"),
        ImageCase("step off by one", lambda: _rgb(step=row - 1), False, "shorter than one row"),
        ImageCase("height 2**32-1", lambda: _rgb(height=2**32 - 1), False, "each side"),
        ImageCase("width 2**32-1", lambda: _rgb(width=2**32 - 1), False, "each side"),
        ImageCase("height 0", lambda: _rgb(height=0), False, "each side"),
        ImageCase("width 0, step 0", lambda: _rgb(width=0, step=0), False, "each side"),
        ImageCase("all zero", lambda: _raw(encoding="rgb8"), False, "each side"),
        ImageCase("1x1 frame", lambda: _rgb(1, 1), False, "each side"),
        ImageCase("4000x1 frame", lambda: _rgb(1, 4000), False, "each side"),
        ImageCase("800x8 aspect ratio 100", lambda: _rgb(8, 800), False, "aspect ratio"),
        ImageCase("800x600 over max_image_pixels", lambda: _rgb(600, 800), False,
                  "max_image_pixels"),
        ImageCase("16384x16384 declared, 1 KB data", lambda: _rgb(
            height=16384, width=16384, step=16384 * 3, data=b"\x00" * 1024), False,
            "max_image_pixels"),
        ImageCase("data truncated", lambda: _rgb(data=b"\x00" * 100), False, "truncated"),
        ImageCase("no data", lambda: _rgb(data=b""), False, "truncated"),
        ImageCase("data longer than declared", lambda: _rgb(data=b"\x00" * (row * 24 + 1)),
                  False, "longer than declared"),
        ImageCase("unknown encoding yuv422", lambda: _rgb(encoding="yuv422"), False,
                  "unsupported"),
        ImageCase("float encoding 32FC1", lambda: _rgb(encoding="32FC1"), False, "unsupported"),
        ImageCase("empty encoding", lambda: _rgb(encoding=""), False, "unsupported"),
        ImageCase("encoding with NUL and unicode", lambda: _rgb(encoding="rgb8\u00e9"), False,
                  "unsupported"),
        ImageCase("depth 16UC1", lambda: _raw(height=24, width=32, encoding="16UC1", step=64,
                  data=b"\x00" * 64 * 24), False, "depth"),
        ImageCase("rgb8 marked big-endian, odd step", lambda: _rgb(is_bigendian=1, step=row + 1,
                  data=b"\x00" * ((row + 1) * 24)), True),
        ImageCase("png declaring 100000x100000 (69-byte bomb)",
                  lambda: _compressed(_png_declaring(100_000, 100_000)), False, "each side"),
        ImageCase("png declaring 8000x8000", lambda: _compressed(_png_declaring(8000, 8000)),
                  False, "max_image_pixels"),
        ImageCase("real 8000x8000 png (decompression bomb)",
                  lambda: _compressed(_png(8000, 8000)), False, "max_image_pixels"),
        ImageCase("png declaring 1x1", lambda: _compressed(_png_declaring(1, 1)), False,
                  "each side"),
        ImageCase("png declaring 0x0", lambda: _compressed(_png_declaring(0, 0)), False,
                  "each side"),
        ImageCase("png header lies (16x16 over 8x8 data)",
                  lambda: _compressed(_png_declaring(16, 16)), False, "decode"),
        ImageCase("png truncated after the header", lambda: _compressed(_png(24, 32)[:40]),
                  False, "decode"),
        ImageCase("png signature only", lambda: _compressed(_png(8, 8)[:8]), False, "IHDR"),
        ImageCase("jpeg declaring 60000x60000", lambda: _compressed(
            _jpeg_declaring(60000, 60000), "jpeg"), False, "each side"),
        ImageCase("jpeg declaring height 0", lambda: _compressed(_jpeg_declaring(64, 0), "jpeg"),
                  False, "each side"),
        ImageCase("jpeg without a frame header", lambda: _compressed(b"\xff\xd8\xff\xd9", "jpeg"),
                  False, "frame header"),
        ImageCase("jpeg truncated", lambda: _compressed(_jpeg(48, 64)[:300], "jpeg"), False,
                  "decode"),
        ImageCase("garbage labelled jpeg", lambda: _compressed(b"garbage" * 10, "jpeg"), False,
                  "neither JPEG nor PNG"),
        ImageCase("bmp (not JPEG/PNG)", lambda: _compressed(
            cv2.imencode(".bmp", np.zeros((16, 16, 3), np.uint8))[1].tobytes(), "bmp"), False,
            "neither JPEG nor PNG"),
        ImageCase("empty compressed", lambda: _compressed(b"", "jpeg"), False, "no data"),
        ImageCase("1 MB of zeros labelled png", lambda: _compressed(b"\x00" * 1_000_000), False,
                  "neither JPEG nor PNG"),
    ]


def run_image_case(rig: AttackRig, case: ImageCase) -> Outcome:
    msg = case.build()
    if not (msg.header.stamp.sec or msg.header.stamp.nanosec):
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(time.time_ns(), 1_000_000_000)
    publisher = rig.images if type(msg).__name__ == "Image" else rig.compressed
    try:
        before, beat = send_frame(publisher, msg, rig.heartbeat)
    except TimeoutError as error:
        return Outcome("image", case.name, False, f"{error} (node alive: {rig.alive()})")
    received = beat["images_received"] - before["images_received"]
    rejected = beat["images_rejected"] - before["images_rejected"]
    if case.accepted:
        ok = received >= 1 and rejected == 0
        return Outcome("image", case.name, ok, f"received {received}, rejected {rejected}")
    error = beat["last_image_error"]
    ok = received == 0 and rejected >= 1 and case.reason in error
    return Outcome("image", case.name, ok, error)


# --- commands ------------------------------------------------------------------------
@dataclass(frozen=True)
class CommandCase:
    name: str
    payload: str | bytes  # bytes: a serialized std_msgs/String, sent as is
    state: str  # the final state it must reach
    reason: str = ""  # in the rejection's reason
    same_clip_as: str = ""  # done: the clips backend must choose what it chooses for this


def _cdr(text: bytes, declared: int | None = None) -> bytes:
    """A std_msgs/String in CDR: encapsulation header, length (with NUL), bytes, NUL."""
    body = text + b"\x00"
    return b"\x00\x01\x00\x00" + struct.pack("<I", len(body) if declared is None else declared) + (
        body
    )


def command_cases() -> list[CommandCase]:
    return [
        CommandCase("plain", "walk forward", "done"),
        CommandCase("empty", "", "rejected", "empty"),
        CommandCase("blank", " \t\n ", "rejected", "empty"),
        CommandCase("10 KB", "walk " * 2048, "rejected", "limit"),
        CommandCase("1 MB", "x" * 1_000_000, "rejected", "limit"),
        CommandCase("just over the limit", "w" * 201, "rejected", "limit"),
        CommandCase("at the limit", "walk forward " + "w" * 187, "done"),
        CommandCase("invalid UTF-8", _cdr(b"\xff\xfewalk\x80"), "rejected", "UTF-8"),
        CommandCase("overlong UTF-8 slash", _cdr(b"walk \xc0\xaf"), "rejected", "UTF-8"),
        CommandCase("UTF-16 surrogate in UTF-8", _cdr(b"walk \xed\xa0\x80"), "rejected", "UTF-8"),
        CommandCase("length field beyond the message", _cdr(b"walk", declared=1_000_000_000),
                    "rejected", "declares"),
        CommandCase("length field zero", _cdr(b"walk", declared=0), "rejected", "declares"),
        CommandCase("truncated message", b"\x00\x01\x00", "rejected", "too short"),
        CommandCase("NUL inside", _cdr(b"walk\x00forward"), "rejected", "U+0000"),
        CommandCase("literal U+FFFD", "walk \ufffd forward", "done", same_clip_as="walk forward"),
        CommandCase("ANSI colour", "\x1b[31mjog backward\x1b[0m", "done",
                    same_clip_as="jog backward"),
        CommandCase("OSC title sequence", "\x1b]0;title\x07turn around", "done",
                    same_clip_as="turn around"),
        CommandCase("lone ESC", "\x1bwalk forward", "rejected", "U+001B"),
        CommandCase("DEL", "walk\x7fforward", "rejected", "U+007F"),
        CommandCase("C1 control", "walk\x85forward", "rejected", "U+0085"),
        CommandCase("bell", "walk forward\x07", "rejected", "U+0007"),
        CommandCase("zero-width space in a word", "wa\u200blk backward", "done",
                    same_clip_as="walk backward"),
        CommandCase("bidi override", "\u202ejog forward", "done", same_clip_as="jog forward"),
        CommandCase("byte-order mark", "\ufeffturn around", "done", same_clip_as="turn around"),
        CommandCase("tabs and newlines", "walk\tsideways\nleft", "done",
                    same_clip_as="walk sideways left"),
        CommandCase("emoji", "\U0001f916 walk forward \U0001f44d", "done",
                    same_clip_as="walk forward"),
        CommandCase("CJK", "\u5411\u524d\u8d70", "done"),
        CommandCase("right-to-left script", "\u0627\u0645\u0634 \u0625\u0644\u0649", "done"),
        CommandCase("combining marks", "wa\u0301lk forward", "done"),
        CommandCase("only emoji within the limit", "\U0001f600" * 200, "done"),
        CommandCase("emoji over the limit", "\U0001f600" * 201, "rejected", "limit"),
        CommandCase("shell and JSON syntax", '"; rm -rf / #{"state": "done"}', "done"),
        CommandCase("format string", "%s%s%n {0} {__class__}", "done"),
    ]


def run_command_cases(rig: AttackRig, cases: list[CommandCase]) -> list[Outcome]:
    """Send every case at once (in order), then check each one's final status."""
    from std_msgs.msg import String

    base = rig.fresh_heartbeat()["commands"]
    for case in cases:
        if isinstance(case.payload, bytes):
            rig.commands.publish(case.payload)
        else:
            rig.commands.publish(String(data=case.payload))
    plain: dict[str, str] = {}
    for case in cases:  # the clip each reference text gets, once
        if case.same_clip_as and case.same_clip_as not in plain:
            rig.commands.publish(String(data=case.same_clip_as))
            plain[case.same_clip_as] = ""
    outcomes = []
    for i, case in enumerate(cases, start=base + 1):
        final = rig.final(i)
        ok = final["state"] == case.state and case.reason in final.get("reason", "")
        detail = f"{final['state']}: {final.get('reason') or final.get('source', '')}"
        outcomes.append(Outcome("command", case.name, ok, detail))
    for i, text in enumerate(plain, start=base + len(cases) + 1):
        plain[text] = rig.final(i).get("source", "")
    for case, outcome in zip(cases, outcomes, strict=True):
        if case.same_clip_as and outcome.ok:
            chosen = rig.final(base + 1 + cases.index(case)).get("source")
            if chosen != plain[case.same_clip_as]:
                outcome.ok = False
                outcome.detail = f"chose {chosen}, plain text chooses {plain[case.same_clip_as]}"
    return outcomes


# --- trajectories --------------------------------------------------------------------
@dataclass(frozen=True)
class TrajectoryCase:
    name: str
    edit: Callable | None  # (joints, path) -> None, or None for the walk unchanged
    forwarded: bool
    reason: str = ""  # in the report's reason
    send_joints: bool = True
    send_path: bool = True
    clamped: bool = False  # forwarded with a joint clamped back into its range


def _every_point(field: str, value) -> Callable:
    def edit(joints, _path) -> None:
        for point in joints.points:
            setattr(point, field, value(len(point.positions)))

    return edit


def _set_position(frame: int, joint: int, value: float) -> Callable:
    def edit(joints, _path) -> None:
        joints.points[frame].positions[joint] = value

    return edit


def _shift_time(seconds: int) -> Callable:
    def edit(joints, _path) -> None:
        for point in joints.points:
            point.time_from_start.sec += seconds

    return edit


def _truncate(count: int) -> Callable:
    def edit(joints, path) -> None:
        joints.points = joints.points[:count]
        path.poses = path.poses[:count]

    return edit


def _many_points(count: int) -> Callable:
    from builtin_interfaces.msg import Duration
    from trajectory_msgs.msg import JointTrajectoryPoint

    def edit(joints, _path) -> None:
        zeros = [0.0] * 29
        joints.points = [
            JointTrajectoryPoint(positions=zeros, time_from_start=Duration(nanosec=i * 20_000_000))
            for i in range(count)
        ]

    return edit


def _names(names: Callable) -> Callable:
    def edit(joints, _path) -> None:
        joints.joint_names = names(list(joints.joint_names))

    return edit


def _reorder(joints, _path) -> None:
    order = list(reversed(range(len(joints.joint_names))))
    joints.joint_names = [joints.joint_names[i] for i in order]
    for point in joints.points:
        point.positions = [point.positions[i] for i in order]


def _root(field: Callable) -> Callable:
    def edit(_joints, path) -> None:
        for pose in path.poses[10:12]:
            field(pose.pose)

    return edit


def _everything_unchecked(joints, path) -> None:
    """Every field the simulation does not look at, poisoned at once."""
    _every_point("velocities", lambda n: [math.nan] * n)(joints, path)
    _every_point("accelerations", lambda n: [math.inf] * n)(joints, path)
    _every_point("effort", lambda n: [1e9] * n)(joints, path)
    for pose in path.poses:
        pose.header.frame_id = "\u202e" * 1000
        pose.header.stamp.sec = -(2**31)


def _frame_id(value: str) -> Callable:
    def edit(joints, _path) -> None:
        joints.header.frame_id = value

    return edit


def _nanosecond_steps(step_ns: int, at: int | None = None) -> Callable:
    """Every point ``step_ns`` after the last; with ``at``, only that point moves by it."""

    def edit(joints, _path) -> None:
        for i, point in enumerate(joints.points):
            if at is None:
                point.time_from_start.sec, point.time_from_start.nanosec = 0, i * step_ns
            elif i == at:
                point.time_from_start.nanosec += step_ns

    return edit


def _limit_excursion(joints, _path) -> None:
    """The left wrist yaw shifted so that its peak lies 0.015 rad past its range: inside
    the check's joint_limit_margin_rad, and a shift changes no velocity."""
    from retargeting.g1 import g1_description

    joint = 21  # left_wrist_yaw_joint: a shift moves no mass that balance depends on
    high = g1_description().position_limits[joint, 1]
    shift = high + 0.015 - max(p.positions[joint] for p in joints.points)
    for point in joints.points:
        point.positions[joint] += shift


def trajectory_cases() -> list[TrajectoryCase]:
    nan, inf = math.nan, math.inf
    return [
        TrajectoryCase("unchanged walk", None, True),
        TrajectoryCase("velocities NaN", _every_point("velocities", lambda n: [nan] * n), True),
        TrajectoryCase("velocities of length 7", _every_point("velocities", lambda n: [1.0] * 7),
                       True),
        TrajectoryCase("velocities 1e6 rad/s", _every_point("velocities", lambda n: [1e6] * n),
                       True),
        TrajectoryCase("accelerations Inf", _every_point("accelerations", lambda n: [inf] * n),
                       True),
        TrajectoryCase("effort 1e9", _every_point("effort", lambda n: [1e9] * n), True),
        TrajectoryCase("every unchecked field poisoned", _everything_unchecked, True),
        TrajectoryCase("joints in reverse order", _reorder, True),
        TrajectoryCase("wrist 0.015 rad past its range", _limit_excursion, True, clamped=True),
        TrajectoryCase("time_from_start +100 s", _shift_time(100), False, "start at 0"),
        TrajectoryCase("time_from_start -100 s", _shift_time(-100), False, "start at 0"),
        TrajectoryCase("uneven time_from_start", _nanosecond_steps(7_000_000, at=5), False,
                       "fixed rate"),
        TrajectoryCase("all points at time 0", _nanosecond_steps(0), False, "fixed rate"),
        TrajectoryCase("empty trajectory", _truncate(0), False, "at least two points"),
        TrajectoryCase("one point", _truncate(1), False, "at least two points"),
        TrajectoryCase("100,000 points", _many_points(100_000), False, "max_points"),
        TrajectoryCase("position NaN", _set_position(7, 0, nan), False, "non-finite"),
        TrajectoryCase("position +Inf", _set_position(7, 0, inf), False, "non-finite"),
        TrajectoryCase("position -Inf", _set_position(7, 0, -inf), False, "non-finite"),
        TrajectoryCase("position 1e300", _set_position(7, 0, 1e300), False),
        TrajectoryCase("knee 3 rad past its range", _set_position(20, 3, 6.0), False),
        TrajectoryCase("ragged point", lambda j, _p: setattr(j.points[3], "positions",
                       j.points[3].positions[:28]), False, "one position per joint"),
        TrajectoryCase("missing joint", lambda j, _p: (_names(lambda n: n[1:])(j, _p), [
            setattr(p, "positions", p.positions[1:]) for p in j.points]), False,
            "joint_names"),
        TrajectoryCase("duplicated joint", _names(lambda n: [n[0], *n[:-1]]), False,
                       "joint_names"),
        TrajectoryCase("unknown joint", _names(lambda n: [*n[:-1], "tail_joint"]), False,
                       "tail_joint"),
        TrajectoryCase("no joint names", _names(lambda n: []), False, "joint_names"),
        TrajectoryCase("30 joint names", _names(lambda n: [*n, "extra_joint"]), False,
                       "joint_names"),
        TrajectoryCase("joint names of 10 KB", _names(lambda n: ["j" * 10_000] * 29), False,
                       "joint_names"),
        TrajectoryCase("root NaN", _root(lambda p: setattr(p.position, "z", nan)), False,
                       "non-finite"),
        TrajectoryCase("root 1e9 m away", _root(lambda p: setattr(p.position, "x", 1e9)), False),
        TrajectoryCase("zero quaternion", _root(lambda p: setattr(p.orientation, "w", 0.0)),
                       False, "quat"),
        TrajectoryCase("quaternion of norm 2", _root(lambda p: setattr(p.orientation, "w", 2.0)),
                       False, "quat"),
        TrajectoryCase("path one pose short", lambda _j, p: p.poses.pop(), False, "poses"),
        TrajectoryCase("frame_id camera", _frame_id("camera"), False, "frame_id"),
        TrajectoryCase("frame_id empty", _frame_id(""), False, "frame_id"),
        TrajectoryCase("frame_id of 100 KB unicode", _frame_id("\u00e9" * 50_000), False,
                       "frame_id"),
        TrajectoryCase("1 ns between points", _nanosecond_steps(1), False, "fps"),
        TrajectoryCase("trajectory without its path", None, False, "no root path",
                       send_path=False),
        TrajectoryCase("path without its trajectory", None, False, "no joint trajectory",
                       send_joints=False),
    ]


def _unsafe_fields(msg, path, limits: np.ndarray) -> list[str]:
    """What in an approved pair a controller must not get; empty when it is clean."""
    from retargeting.g1 import JOINT_NAMES

    problems = []
    if list(msg.joint_names) != list(JOINT_NAMES):
        problems.append("joint_names")
    positions = np.array([p.positions for p in msg.points], dtype=float)
    velocities = [list(p.velocities) for p in msg.points]
    if positions.ndim != 2 or positions.shape[1] != 29 or not np.isfinite(positions).all():
        return [*problems, "positions"]
    if (positions < limits[:, 0]).any() or (positions > limits[:, 1]).any():
        problems.append("positions outside the joint ranges")
    if any(len(v) not in (0, 29) for v in velocities) or not np.isfinite(
        np.array([v for v in velocities if v], dtype=float)
    ).all():
        problems.append("velocities")
    if any(len(p.accelerations) or len(p.effort) for p in msg.points):
        problems.append("accelerations/effort")
    times = np.array([p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points])
    steps = np.diff(times)
    if times[0] != 0 or (steps <= 0).any() or np.ptp(steps) > 1e-6:
        problems.append("time_from_start")
    if len(path.poses) != len(msg.points):
        problems.append("root path length")
    quats = np.array([[q.pose.orientation.w, q.pose.orientation.x, q.pose.orientation.y,
                       q.pose.orientation.z] for q in path.poses])
    if not np.isfinite(quats).all() or np.abs(np.linalg.norm(quats, axis=1) - 1).max() > 1e-6:
        problems.append("root orientation")
    return problems


def run_trajectory_case(rig: AttackRig, case: TrajectoryCase, walk) -> Outcome:
    from motionvla_ros.trajectory_messages import stamp_key, trajectory_to_msgs
    from retargeting.g1 import g1_description

    stamp = rig.next_stamp()
    joints, path = trajectory_to_msgs(walk, stamp, "world")
    if case.edit is not None:
        case.edit(joints, path)
    if case.send_path:
        rig.paths.publish(path)
    if case.send_joints:
        rig.joints.publish(joints)
    key = stamp_key(stamp)
    report = rig.report(key)
    if not case.forwarded:
        ok = not report["forwarded"] and case.reason in report["reason"]
        leaked = any(stamp_key(t.header.stamp) == key for t in rig.approved)
        return Outcome("trajectory", case.name, ok and not leaked, report["reason"][:200],
                       unsafe=int(leaked))
    if not report["forwarded"]:
        return Outcome("trajectory", case.name, False, f"withheld: {report['reason'][:200]}")
    approved = wait_for(
        lambda: next((t for t in rig.approved if stamp_key(t.header.stamp) == key), None),
        20, "the approved trajectory",
    )
    approved_path = wait_for(
        lambda: next((p for p in rig.approved_paths if stamp_key(p.header.stamp) == key), None),
        20, "the approved root path",
    )
    problems = _unsafe_fields(approved, approved_path, g1_description().position_limits)
    clamped = report["approved"]["clamped_rad"]
    ok = not problems and bool(clamped) == case.clamped
    detail = f"unsafe: {problems}" if problems else f"approved: {report['approved']}"
    return Outcome("trajectory", case.name, ok, detail, unsafe=int(bool(problems)))


# --- bursts --------------------------------------------------------------------------
def run_bursts(rig: AttackRig, commands: int = 100, frames: int = 300, paths: int = 50):
    """Rapid bursts, each as deep as the topic's history (100): commands, bad frames and
    unmatched trajectory halves. Every command and every half gets its own answer."""
    from nav_msgs.msg import Path as PathMsg
    from std_msgs.msg import String

    from motionvla_ros.trajectory_messages import stamp_key

    outcomes = []
    base = rig.fresh_heartbeat()["commands"]
    for i in range(commands):
        rig.commands.publish(String(data=f"turn around {i}" if i % 3 else ""))
    finals = [rig.final(base + i + 1, timeout_s=120) for i in range(commands)]
    # Blanks are refused; the rest run, or find the queue full.
    ok = all(
        (f["state"] == "rejected" and "empty" in f["reason"]) if i % 3 == 0
        else f["state"] == "done" or "queue full" in f.get("reason", "")
        for i, f in enumerate(finals)
    ) and any(f["state"] == "done" for f in finals)
    outcomes.append(Outcome("burst", f"{commands} commands", ok, f"{len(finals)} final states"))

    bad = _rgb(1, 1)
    for _ in range(frames):
        rig.images.publish(bad)
    beat = rig.fresh_heartbeat()
    outcomes.append(Outcome("burst", f"{frames} bad frames", rig.generator.alive(),
                            f"rejected so far {beat['images_rejected']}"))

    stamps = []
    for _ in range(paths):
        lonely = PathMsg()
        lonely.header.stamp = rig.next_stamp()
        rig.paths.publish(lonely)
        stamps.append(stamp_key(lonely.header.stamp))
    reports = [rig.report(s, timeout_s=60) for s in stamps]
    ok = all(not r["forwarded"] for r in reports) and rig.sim.alive()
    outcomes.append(Outcome("burst", f"{paths} unmatched paths", ok, f"{len(reports)} reports"))
    return outcomes


def warm_up(rig: AttackRig, walk) -> dict[str, dict[str, float]]:
    """Normal work first (a camera frame, a command, a passing check), so that the
    memory a bad message costs is measured against a node that has done its job once:
    {"rss": VmRSS, "peak": VmHWM}, MB per node."""
    from std_msgs.msg import String

    assert run_image_case(rig, ImageCase("warm-up frame", lambda: _rgb(480, 640), True)).ok
    request_id = rig.fresh_heartbeat()["commands"] + 1
    rig.commands.publish(String(data="walk forward"))
    assert rig.final(request_id)["state"] == "done"
    assert run_trajectory_case(rig, TrajectoryCase("warm-up walk", None, True), walk).ok
    return {"rss": rig.rss(), "peak": rig.rss("VmHWM")}


def walk_clip(seconds: float = 1.0):
    """The first ``seconds`` of a recorded G1 walk: a trajectory that passes the check."""
    from motionvla_model.motion.registry_data import fetch
    from retargeting.trajectory import G1Trajectory, load_reference_clip

    clip = load_reference_clip(fetch("amp/walk_forward_loop_002__A022"))
    frames = slice(0, round(seconds * clip.fps) + 1)
    return G1Trajectory(clip.fps, clip.root_pos[frames], clip.root_quat[frames],
                        clip.joint_pos[frames])
