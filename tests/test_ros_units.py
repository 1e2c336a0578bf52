"""The ROS layer's building blocks without DDS: images, messages, pairing, pipeline, worker."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CompressedImage

from motionvla_model.motion.registry_data import fetch
from motionvla_ros.approval import approve
from motionvla_ros.command_text import CommandTextError, clean_command, command_from_cdr
from motionvla_ros.generation_worker import GenerationWorker
from motionvla_ros.image_conversion import (
    ENCODINGS,
    MAX_ROW_PADDING_BYTES,
    FrameLimits,
    ImageConversionError,
    compressed_to_rgb8,
    imgmsg_to_numpy,
    imgmsg_to_rgb8,
    numpy_to_imgmsg,
)
from motionvla_ros.pairing import StampPairer
from motionvla_ros.pipeline import (
    CancelToken,
    ClipLibraryPipeline,
    GenerationCancelled,
    MotionRequest,
    PipelineError,
    make_pipeline,
)
from motionvla_ros.trajectory_messages import (
    TrajectoryMessageError,
    declared_length,
    msgs_to_trajectory,
    stamp_key,
    trajectory_to_msgs,
)
from retargeting.g1 import JOINT_NAMES, g1_description
from retargeting.trajectory import G1Trajectory, load_reference_clip

RNG = np.random.default_rng(0)


def _random_image(encoding: str, height: int = 9, width: int = 11) -> np.ndarray:
    enc = ENCODINGS[encoding]
    high = np.iinfo(enc.dtype).max
    shape = (height, width) if enc.channels == 1 else (height, width, enc.channels)
    return RNG.integers(0, high, size=shape, endpoint=True).astype(enc.dtype)


# --- image conversion -------------------------------------------------------------
@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("padding", [0, 3, 64])
@pytest.mark.parametrize("bigendian", [False, True])
def test_image_round_trip_every_encoding(encoding, padding, bigendian):
    image = _random_image(encoding)
    row = image.shape[1] * ENCODINGS[encoding].channels * image.dtype.itemsize
    msg = numpy_to_imgmsg(image, encoding, step=row + padding, is_bigendian=bigendian)
    assert msg.step == row + padding and len(msg.data) == msg.step * msg.height
    back = imgmsg_to_numpy(msg)
    assert back.dtype == image.dtype.newbyteorder("=") and back.shape == image.shape
    np.testing.assert_array_equal(back, image)


def test_big_endian_bytes_are_really_big_endian():
    msg = numpy_to_imgmsg(np.array([[0x0102]], np.uint16), "mono16", is_bigendian=True)
    assert bytes(msg.data) == b"\x01\x02"
    msg.is_bigendian = 0  # the same bytes read little-endian are another value
    assert imgmsg_to_numpy(msg)[0, 0] == 0x0201


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8", "8UC3"])
def test_colour_images_become_rgb(encoding):
    rgb = _random_image("rgb8")
    order = {"rgb8": [0, 1, 2], "rgba8": [0, 1, 2, 0]}.get(encoding, [2, 1, 0, 0])
    native = rgb[:, :, order[: ENCODINGS[encoding].channels]]
    np.testing.assert_array_equal(imgmsg_to_rgb8(numpy_to_imgmsg(native, encoding)), rgb)


def test_mono_images_become_grey_rgb_and_depth_is_refused():
    mono16 = _random_image("mono16")
    rgb = imgmsg_to_rgb8(numpy_to_imgmsg(mono16, "mono16", is_bigendian=True))
    np.testing.assert_array_equal(rgb[:, :, 1], (mono16 >> 8).astype(np.uint8))
    with pytest.raises(ImageConversionError, match="depth"):
        imgmsg_to_rgb8(numpy_to_imgmsg(mono16, "16UC1"))


def test_last_row_without_padding_is_accepted():
    image = _random_image("rgb8")
    msg = numpy_to_imgmsg(image, "rgb8", step=40)
    msg.data = bytes(msg.data)[: 40 * 8 + 33]
    np.testing.assert_array_equal(imgmsg_to_numpy(msg), image)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(encoding="yuv422"), "unsupported image encoding"),
        (dict(encoding="32FC1"), "unsupported image encoding"),
        (dict(height=0), "each side"),
        (dict(width=0), "each side"),
        (dict(step=5), "shorter than one row"),
        (dict(step=33 + MAX_ROW_PADDING_BYTES + 1), "pads a row"),
        (dict(step=1_000_000_000, data=b"\x00" * 30), "pads a row"),
        (dict(data=b"\x00" * 50), "truncated"),
        (dict(data=b""), "truncated"),
        (dict(data=b"\x00" * (33 * 9 + 1)), "longer than declared"),
        (dict(height=4, width=11, data=b"\x00" * 33 * 4), "each side"),
        (dict(height=1, width=4000, step=12000, data=b"\x00" * 12000), "each side"),
        (dict(height=8, width=800, step=2400, data=b"\x00" * 19200), "aspect ratio"),
    ],
)
def test_malformed_images_raise_typed_errors(change, message):
    msg = numpy_to_imgmsg(_random_image("rgb8"), "rgb8")
    for key, value in change.items():
        setattr(msg, key, value)
    with pytest.raises(ImageConversionError, match=message):
        imgmsg_to_rgb8(msg)


def test_frame_limits_refuse_before_converting():
    msg = numpy_to_imgmsg(_random_image("rgb8", 64, 64), "rgb8")
    imgmsg_to_rgb8(msg, FrameLimits(max_pixels=64 * 64))
    with pytest.raises(ImageConversionError, match="max_image_pixels"):
        imgmsg_to_rgb8(msg, FrameLimits(max_pixels=64 * 63))
    with pytest.raises(ValueError):
        FrameLimits(max_pixels=10)


def test_numpy_to_imgmsg_refuses_mismatched_arrays():
    with pytest.raises(ImageConversionError, match="channel"):
        numpy_to_imgmsg(np.zeros((4, 4, 3), np.uint8), "mono8")
    with pytest.raises(ImageConversionError, match="dtype"):
        numpy_to_imgmsg(np.zeros((4, 4), np.float32), "mono8")
    with pytest.raises(ImageConversionError, match="empty"):
        numpy_to_imgmsg(np.zeros((0, 4, 3), np.uint8), "rgb8")


def test_compressed_png_decodes_exactly_and_garbage_is_refused():
    rgb = _random_image("rgb8", 16, 24)
    ok, png = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    msg = CompressedImage(format="png", data=png.tobytes())
    np.testing.assert_array_equal(compressed_to_rgb8(msg), rgb)
    with pytest.raises(ImageConversionError, match="neither JPEG nor PNG"):
        compressed_to_rgb8(CompressedImage(format="jpeg", data=b"not a jpeg at all"))
    with pytest.raises(ImageConversionError, match="no data"):
        compressed_to_rgb8(CompressedImage(format="jpeg"))
    with pytest.raises(ImageConversionError, match="could not be decoded"):
        compressed_to_rgb8(CompressedImage(format="png", data=png.tobytes()[:60]))


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` and whose pixels are 8 x 8."""
    _, png = cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))
    data = bytearray(png.tobytes())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    return bytes(data)


def test_compressed_sizes_are_read_from_the_header_before_decoding():
    with pytest.raises(ImageConversionError, match="max_image_pixels"):
        compressed_to_rgb8(CompressedImage(format="png", data=_png_declaring(8000, 8000)))
    for side in (1, 100_000):
        with pytest.raises(ImageConversionError, match="each side"):
            compressed_to_rgb8(CompressedImage(format="png", data=_png_declaring(side, side)))
    rgb = _random_image("rgb8", 40, 56)
    _, jpeg = cv2.imencode(".jpg", rgb)
    assert compressed_to_rgb8(CompressedImage(format="jpeg", data=jpeg.tobytes())).shape == (
        40, 56, 3
    )  # fmt: skip
    with pytest.raises(ImageConversionError, match="max_image_pixels"):
        compressed_to_rgb8(CompressedImage(data=jpeg.tobytes()), FrameLimits(max_pixels=1000))
    with pytest.raises(ImageConversionError, match="frame header"):
        compressed_to_rgb8(CompressedImage(format="jpeg", data=jpeg.tobytes()[:20]))


# --- trajectory messages and pairing ------------------------------------------------
@pytest.fixture(scope="module")
def walk():
    return load_reference_clip(fetch("amp/walk_forward_loop_002__A022"))


def test_trajectory_messages_round_trip_a_real_clip(walk):
    stamp = Time(sec=1_700_000_000, nanosec=123_456_789)
    joints, path = trajectory_to_msgs(walk, stamp, "world")
    assert joints.joint_names == list(JOINT_NAMES)
    assert stamp_key(joints.header.stamp) == stamp_key(path.header.stamp) == stamp_key(stamp)
    assert len(joints.points) == len(path.poses) == walk.num_frames
    last = joints.points[-1].time_from_start
    assert last.sec + last.nanosec * 1e-9 == pytest.approx(walk.duration_s, abs=1e-9)
    np.testing.assert_allclose(
        [p.velocities for p in joints.points], walk.joint_velocities(), atol=1e-12
    )
    back = msgs_to_trajectory(joints, path)
    assert back.fps == pytest.approx(walk.fps)
    np.testing.assert_allclose(back.qpos(), walk.qpos(), atol=1e-12)


def test_joint_order_is_repaired_and_bad_pairs_are_refused(walk):
    joints, path = trajectory_to_msgs(walk, Time(sec=5), "world")
    order = list(reversed(range(len(JOINT_NAMES))))
    joints.joint_names = [JOINT_NAMES[i] for i in order]
    for point in joints.points:
        point.positions = [point.positions[i] for i in order]
    np.testing.assert_allclose(msgs_to_trajectory(joints, path).joint_pos, walk.joint_pos)

    joints.joint_names = [*joints.joint_names[:-1], "tail_joint"]
    with pytest.raises(TrajectoryMessageError, match="tail_joint"):
        msgs_to_trajectory(joints, path)
    joints, path = trajectory_to_msgs(walk, Time(sec=5), "world")
    path.poses.pop()
    with pytest.raises(TrajectoryMessageError, match="poses"):
        msgs_to_trajectory(joints, path)
    joints, path = trajectory_to_msgs(walk, Time(sec=5), "world")
    joints.points[3].time_from_start.nanosec += 7_000_000
    with pytest.raises(TrajectoryMessageError, match="fixed rate"):
        msgs_to_trajectory(joints, path)
    joints, path = trajectory_to_msgs(walk, Time(sec=5), "world")
    joints.points[2].positions[0] = float("nan")
    with pytest.raises(TrajectoryMessageError, match="non-finite"):
        msgs_to_trajectory(joints, path)


def test_empty_and_shifted_trajectories_are_refused_by_name(walk):
    joints, path = trajectory_to_msgs(walk, Time(sec=5), "world")
    joints.points, path.poses = [], []
    with pytest.raises(TrajectoryMessageError, match="at least two points"):
        msgs_to_trajectory(joints, path)
    joints, path = trajectory_to_msgs(walk, Time(sec=5), "world")
    for point in joints.points:
        point.time_from_start.sec += 100
    with pytest.raises(TrajectoryMessageError, match="start at 0"):
        msgs_to_trajectory(joints, path)


def test_declared_length_reads_the_serialized_header(walk):
    from nav_msgs.msg import Path
    from rclpy.serialization import serialize_message
    from trajectory_msgs.msg import JointTrajectory

    joints, path = trajectory_to_msgs(walk, Time(sec=-3, nanosec=9), "w\u00f6rld")
    key = stamp_key(joints.header.stamp)
    assert declared_length(serialize_message(joints), JointTrajectory) == (key, walk.num_frames)
    assert declared_length(serialize_message(path), Path) == (key, walk.num_frames)
    with pytest.raises(TrajectoryMessageError, match="ends inside"):
        declared_length(serialize_message(joints)[:30], JointTrajectory)


def test_approved_messages_are_rebuilt_from_the_checked_trajectory(walk):
    limits = g1_description().position_limits
    joint_pos = np.array(walk.joint_pos[:20])
    joint_pos[5, 21] = limits[21, 1] + 0.015  # past the range, inside the check's margin
    checked = G1Trajectory(walk.fps, walk.root_pos[:20], walk.root_quat[:20], joint_pos)
    incoming, _ = trajectory_to_msgs(checked, Time(sec=7), "world")
    for point in incoming.points:
        point.velocities = [float("nan")] * 7
        point.effort = [1e9] * 29
    approval = approve(checked, incoming, limits, "world", Time(sec=7))
    assert approval.clamped_rad == {JOINT_NAMES[21]: pytest.approx(0.015)}
    assert approval.dropped == ("effort", "velocities")
    positions = np.array([p.positions for p in approval.joints.points])
    assert (positions <= limits[:, 1]).all() and (positions >= limits[:, 0]).all()
    assert all(len(p.velocities) == 29 and not len(p.effort) for p in approval.joints.points)
    assert np.isfinite([p.velocities for p in approval.joints.points]).all()
    assert approval.joints.points[0].time_from_start.sec == 0
    assert stamp_key(approval.path.header.stamp) == stamp_key(Time(sec=7))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("walk forward", "walk forward"),
        ("walk \ufffd forward", "walk \ufffd forward"),  # a literal U+FFFD is text
        ("\x1b[31mjog backward\x1b[0m", "jog backward"),
        ("\x1b]0;title\x07turn", "turn"),
        ("wa\u200blk\tleft\n", "walk left"),
    ],
)
def test_command_text_is_cleaned(text, expected):
    assert clean_command(text, 100) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00\x01\x00\x00\x06\x00\x00\x00\xff\xfewa\x80\x00", "not valid UTF-8"),
        (b"\x00\x01\x00\x00\x05\x00\x00\x00wa\x1bk\x00", "control character"),
        (b"\x00\x01\x00\x00\xff\xff\xff\x7fwalk\x00", "declares"),
        (b"\x00\x01", "too short"),
        (b"\x00\x01\x00\x00\x02\x00\x00\x00 \x00", "empty"),
        (b"\x00\x00\x00\x00\x00\x00\x00\x0c" + b"w" * 11 + b"\x00", "limit"),  # big endian
    ],
)
def test_command_bytes_that_are_no_plain_text_are_refused(raw, reason):
    with pytest.raises(CommandTextError, match=reason):
        command_from_cdr(raw, 10)


def test_pairer_matches_either_order_and_expires_orphans():
    pairer: StampPairer[str, str] = StampPairer(timeout_s=1.0, capacity=3)
    assert pairer.add_first(1, "j1", now=0.0) is None
    assert pairer.add_second(2, "p2", now=0.0) is None
    assert pairer.add_second(1, "p1", now=0.1) == ("j1", "p1")
    assert pairer.add_first(2, "j2", now=0.2) == ("j2", "p2")
    assert len(pairer) == 0
    pairer.add_first(3, "j3", now=0.0)
    assert pairer.expire(now=0.5) == []
    assert pairer.expire(now=1.5) == [(3, "trajectory")]
    for key in range(10, 16):
        pairer.add_second(key, "p", now=2.0)
    assert len(pairer.expire(now=2.0)) == 3 and len(pairer) == 3
    with pytest.raises(ValueError):
        StampPairer(timeout_s=0)


# --- pipeline and worker ------------------------------------------------------------
def test_clip_library_chooses_by_words_and_honours_duration():
    pipeline = ClipLibraryPipeline()
    assert pipeline.choose("walk backward please") == "amp/walk_backward_loop_001__A022"
    assert pipeline.choose("run forward").startswith("amp/jog_forward")
    assert pipeline.choose("sing a song") == ClipLibraryPipeline.DEFAULT_CLIP
    steps = []
    result = pipeline.run(
        MotionRequest(1, "jog backwards", duration_s=2.0),
        CancelToken(),
        lambda stage, fraction: steps.append(fraction),
    )
    assert result.source.startswith("amp/jog_backward")
    assert result.trajectory.num_frames == 101 and steps[-1] == 1.0


def test_cancel_token_deadline_and_reason():
    token = CancelToken(deadline=time.monotonic() + 0.05)
    with pytest.raises(GenerationCancelled, match="timeout"):
        token.wait(5.0)
    token = CancelToken()
    token.cancel("first")
    token.cancel("second")
    assert token.reason == "first"


def test_model_backend_without_model_path_takes_the_default_model(tmp_path, monkeypatch):
    from motionvla_model import bundled

    monkeypatch.setenv("MOTIONVLA_DEFAULT_MODEL", str(tmp_path / "not-built"))
    assert make_pipeline("model", model_path="").model_path == str(bundled.SHIPPED_MODEL_DIR)
    monkeypatch.setattr(bundled, "SHIPPED_MODEL_DIR", tmp_path / "not-shipped")
    with pytest.raises(PipelineError, match="no default model"):
        make_pipeline("model", model_path="")
    with pytest.raises(PipelineError, match="unknown backend"):
        make_pipeline("dance")


class _Recorder:
    def __init__(self) -> None:
        self.events: list[dict] = []
        self.results: list = []
        self.done = threading.Event()

    def on_event(self, event: dict) -> None:
        self.events.append(event)
        if event["state"] in ("done", "error", "cancelled", "rejected"):
            self.done.set()

    def on_result(self, request, result) -> dict:
        self.results.append((request.request_id, result))
        return {"published": True}

    def states(self, request_id: int) -> list[str]:
        return [e["state"] for e in self.events if e["request_id"] == request_id]

    def final(self, request_id: int) -> dict:
        return [e for e in self.events if e["request_id"] == request_id][-1]


def _worker(recorder, **kwargs):
    # Real clips at 20x real time: a ~4-8 s clip streams for 0.2-0.4 s.
    return GenerationWorker(
        ClipLibraryPipeline(realtime_factor=20.0), recorder.on_event, recorder.on_result, **kwargs
    )


def test_worker_preempts_and_reports_every_request():
    recorder = _Recorder()
    worker = _worker(recorder, policy="preempt")
    try:
        worker.submit(MotionRequest(1, "walk forward"))
        wait = time.monotonic() + 5
        while "generating" not in recorder.states(1) and time.monotonic() < wait:
            time.sleep(0.005)
        for i in range(2, 12):
            worker.submit(MotionRequest(i, "jog forward"))
        wait = time.monotonic() + 10
        while recorder.final(11)["state"] != "done" and time.monotonic() < wait:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert recorder.final(1)["state"] == "cancelled"
    assert "preempted" in recorder.final(1)["reason"]
    assert all(recorder.final(i)["state"] == "cancelled" for i in range(2, 11))
    assert recorder.final(11)["state"] == "done"
    assert recorder.final(11)["published"] is True
    assert [rid for rid, _ in recorder.results] == [11]


def test_worker_queue_policy_runs_in_order_and_rejects_overflow():
    recorder = _Recorder()
    worker = _worker(recorder, policy="queue", queue_size=2)
    try:
        worker.submit(MotionRequest(1, "walk forward", duration_s=1.0))
        wait = time.monotonic() + 5
        while "generating" not in recorder.states(1) and time.monotonic() < wait:
            time.sleep(0.005)
        for i in range(2, 5):
            worker.submit(MotionRequest(i, "walk forward", duration_s=1.0))
        wait = time.monotonic() + 10
        while len(recorder.results) < 3 and time.monotonic() < wait:
            time.sleep(0.01)
    finally:
        worker.stop()
    assert [rid for rid, _ in recorder.results] == [1, 2, 3]
    assert recorder.final(4)["state"] == "rejected" and "queue full" in recorder.final(4)["reason"]


def test_worker_timeout_and_cancel_are_reported_and_it_keeps_serving():
    recorder = _Recorder()
    worker = GenerationWorker(
        ClipLibraryPipeline(realtime_factor=1.0),
        recorder.on_event,
        recorder.on_result,
        timeout_s=0.2,
    )
    try:
        worker.submit(MotionRequest(1, "walk forward"))
        assert recorder.done.wait(5)
        assert recorder.final(1)["state"] == "error"
        assert "timed out" in recorder.final(1)["reason"]
        recorder.done.clear()
        worker.timeout_s = 60.0
        worker.submit(MotionRequest(2, "walk forward"))
        time.sleep(0.1)
        assert worker.cancel("stop") == 1
        assert recorder.done.wait(5)
        assert recorder.final(2) == {**recorder.final(2), "state": "cancelled", "reason": "stop"}
        assert worker.cancel() == 0
    finally:
        worker.stop()
    assert recorder.results == []


def test_model_backend_reports_a_missing_checkpoint(tmp_path):
    pipeline = make_pipeline("model", model_path=str(tmp_path / "absent"), device="cpu")
    with pytest.raises(PipelineError, match="cannot load model"):
        pipeline.load()
    with pytest.raises(PipelineError, match="cannot load model"):
        pipeline.run(MotionRequest(1, "walk"), CancelToken(), lambda *_: None)


def test_model_backend_takes_attempts_from_one_to_ten():
    assert make_pipeline("model", model_path="", attempts=1).attempts == 1
    for attempts in (0, 11, 2.5):
        with pytest.raises(ValueError, match="attempts"):
            make_pipeline("model", model_path="", attempts=attempts)


@pytest.mark.slow
def test_model_candidate_the_gate_would_refuse_is_sampled_again():
    # The bundled model's greedy motion for this command collapses the left upper arm
    # in one frame (docs/sim.md), which the retargeter refuses.
    from sim.checker import SimChecker

    request = MotionRequest(1, "Raise your right arm to the side.", seed=0)
    pipeline = make_pipeline("model", model_path="", device="cpu", attempts=1)
    with pytest.raises(PipelineError, match="zero-length bone"):
        pipeline.run(request, CancelToken(), lambda *_: None)
    pipeline.attempts, stages = 3, []
    result = pipeline.run(request, CancelToken(), lambda stage, _fraction: stages.append(stage))
    assert result.source.endswith("candidate 2)"), result.source
    assert any(r.startswith("candidate 1 not sent: retargeting refused it") for r in result.repairs)
    assert stages.count("generate") >= 2 and stages[-1] == "retarget"
    assert SimChecker().check(result.trajectory).passed


class _HeldLoadPipeline(ClipLibraryPipeline):
    """The clip library, whose load waits until the test lets it finish (a slow model)."""

    def __init__(self) -> None:
        super().__init__(realtime_factor=20.0)
        self.release = threading.Event()

    def load(self) -> None:
        self.release.wait(10)
        super().load()


def test_worker_stop_says_whether_its_thread_ended():
    recorder = _Recorder()
    pipeline = _HeldLoadPipeline()
    worker = GenerationWorker(pipeline, recorder.on_event, recorder.on_result)
    worker.submit(MotionRequest(1, "walk forward"))
    assert worker.stop(timeout_s=0.2) is False  # still loading: it cannot be pulled out
    assert recorder.final(1)["state"] == "cancelled"
    pipeline.release.set()
    assert worker.stop(timeout_s=5) is True
    assert recorder.results == []  # the cancelled request never ran


_LARGE_BUFFERS_SCRIPT = """
import sys
from motionvla_ros.node_main import fix_mmap_threshold
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
fixed = sys.argv[1] == "fixed" and fix_mmap_threshold(128 * 1024)
first = bytearray(30_000_000)  # one large message, freed: glibc then raises its threshold
del first
before = rss_mb()
kept = [bytearray(2_000_000) for _ in range(12)]  # the next ones, in a 24 MB heap ...
small = bytearray(1000)  # ... topped by something that lives on
del kept
print(fixed, rss_mb() - before)
"""


@pytest.mark.parametrize("threshold", ["fixed", "glibc default"])
def test_a_fixed_mmap_threshold_gives_large_buffers_back(threshold):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _LARGE_BUFFERS_SCRIPT, threshold],
                            capture_output=True, text=True, check=True)
    fixed, kept_mb = result.stdout.split()
    if threshold == "fixed":
        assert fixed == "True" and float(kept_mb) < 4, result.stdout
    else:  # what the fix is for: the freed buffers stay resident
        assert float(kept_mb) > 20, result.stdout
