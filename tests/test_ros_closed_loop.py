"""The loop closed in MuJoCo: sim_check's head camera feeds motion_generator; MP4s of checks.

Two node processes over DDS: ``sim_check`` in a seeded scene with one red box ahead
publishes its simulated head camera, ``motion_generator`` (clips backend) takes those
frames as its camera, and every checked trajectory is rendered to an MP4.
"""

from __future__ import annotations

import math

import imageio.v2 as imageio
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import String

from motionvla_ros.image_conversion import imgmsg_to_rgb8
from motionvla_ros.trajectory_messages import stamp_key
from tests.ros_helpers import PARAMS_FILE, NodeProcess, Probe, ros_domain, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN = ros_domain(75)
SCENE_WITH_A_RED_BOX = 34  # SceneDescription.random(34): one red box 2.3 m straight ahead
VIDEO_FPS = 10.0
DURATION_S = 2.0


class Rig:
    def __init__(self, tmp_path_factory) -> None:
        logs = tmp_path_factory.mktemp("closed_loop")
        self.video_dir = logs / "videos"
        self.sim = NodeProcess(
            "motionvla_ros.sim_check", DOMAIN,
            ["--params-file", str(PARAMS_FILE), "-p", f"scene_seed:={SCENE_WITH_A_RED_BOX}",
             "-p", "head_camera_rate_hz:=10.0", "-p", f"video_dir:={self.video_dir}",
             "-p", f"video_fps:={VIDEO_FPS}"],
            logs / "sim_check.log",
        )  # fmt: skip
        self.generator = NodeProcess(
            "motionvla_ros.motion_generator", DOMAIN,
            ["--params-file", str(PARAMS_FILE), "-p", "backend:=clips",
             "-p", f"duration_s:={DURATION_S}"],
            logs / "generator.log",
        )  # fmt: skip
        self.probe = Probe(DOMAIN)
        self.frames = self.probe.collect(Image, "/camera/image", qos_profile_sensor_data)
        self.status = self.probe.json_collect("/motion_generator/status")
        self.reports = self.probe.json_collect("/sim_check/report")
        self.videos = self.probe.json_collect("/sim_check/video")
        self.commands = self.probe.node.create_publisher(String, "/command", 10)
        try:
            # The generator's own publisher must have matched sim_check: the graph seen
            # from here can be ahead of it, and a trajectory published before the match
            # never reaches sim_check (one fresh-clone run lost its first command so).
            wait_for(
                lambda: (
                    self.commands.get_subscription_count()
                    and self.probe.node.count_publishers("/sim_check/video")
                    and self.frames
                    and any(s.get("heartbeat") and s.get("trajectory_subscribers", 0) >= 1
                            for s in self.status)
                ),
                timeout_s=90,
                what="both nodes matched and the first head-camera frame",
            )  # fmt: skip
        except TimeoutError:  # no node outlives a failed start
            self.close()
            raise

    def close(self) -> None:
        self.probe.close()
        for node in (self.generator, self.sim):
            if node.alive():
                node.stop()

    def first(self, messages: list[dict], what: str, timeout_s: float = 60.0, **match) -> dict:
        return wait_for(
            lambda: next(
                (m for m in messages if all(m.get(k) == v for k, v in match.items())), None
            ),
            timeout_s,
            what,
        )


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = Rig(tmp_path_factory)
    yield rig
    rig.close()


@pytest.fixture(scope="module")
def checked(rig):
    """One command through both nodes: its final status and sim_check's report."""
    text = "walk to the red box"
    rig.commands.publish(String(data=text))
    done = rig.first(rig.status, "the generator's result", command=text, state="done")
    report = rig.first(rig.reports, "the report", stamp_ns=done["stamp_ns"])
    return text, done, report


def test_head_camera_shows_the_red_box(rig):
    frame = rig.frames[-1]
    assert (frame.width, frame.height, frame.encoding) == (320, 240, "rgb8")
    assert frame.header.frame_id == "head_camera"
    rgb = imgmsg_to_rgb8(frame).astype(int)
    red = (rgb[..., 0] > 120) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)
    # The box 2.3 m ahead covers a patch of the image; the bare floor has no red at all.
    assert red.sum() > 200, red.sum()
    columns = np.nonzero(red.any(axis=0))[0]
    assert abs(columns.mean() - frame.width / 2) < frame.width / 4  # straight ahead


def test_generator_uses_the_simulated_frames(rig, checked):
    text, _done, _report = checked
    generating = rig.first(rig.status, "generating", command=text, state="generating")
    seen = {stamp_key(f.header.stamp) for f in rig.frames}
    assert generating["image_stamp_ns"] in seen
    # The newest heartbeat to arrive may predate the first frame on a loaded machine:
    # wait for one that has counted frames (none ever doing so fails the test).
    beat = wait_for(
        lambda: next(
            (s for s in reversed(rig.status) if s.get("heartbeat") and s["images_received"]),
            None,
        ),
        what="a heartbeat that counted the simulated frames",
    )
    assert beat["images_rejected"] == 0


def test_checked_trajectory_is_written_as_an_mp4(rig, checked):
    _text, done, report = checked
    assert report["video"], report
    event = rig.first(rig.videos, "the video", timeout_s=120, stamp_ns=done["stamp_ns"])
    assert event["written"], event
    assert event["path"] == report["video"]
    verdict = "passed" if report["passed"] else "failed"
    assert event["path"].endswith(f"trajectory_{done['stamp_ns']}_{verdict}.mp4")
    with imageio.get_reader(event["path"]) as reader:
        frames = np.stack(list(reader.iter_data()))
    expected = math.floor(done["duration_s"] * VIDEO_FPS + 1e-9) + 1
    assert frames.shape == (expected, 240, 320, 3)
    assert event["frames"] == expected
    assert frames.std() > 5  # a picture, not a blank buffer
    assert not list(rig.video_dir.glob(".*partial*"))
    assert rig.sim.alive() and rig.generator.alive()


def test_a_trajectory_beyond_the_work_limit_is_refused_without_a_video(rig):
    from builtin_interfaces.msg import Time
    from nav_msgs.msg import Path
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from trajectory_msgs.msg import JointTrajectory

    from motionvla_ros.trajectory_messages import trajectory_to_msgs
    from retargeting.g1 import g1_description
    from retargeting.trajectory import G1Trajectory
    from sim.config import SimCheckConfig

    frames = round(SimCheckConfig().max_duration_s * 50) + 51  # a second past the limit
    standing = G1Trajectory.from_qpos(np.tile(g1_description().stand_qpos, (frames, 1)), 50)
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    joints_pub = rig.probe.node.create_publisher(JointTrajectory, "/joint_trajectory", reliable)
    path_pub = rig.probe.node.create_publisher(Path, "/root_path", reliable)
    stamp = Time(sec=1_700_000_123)
    joints, path = trajectory_to_msgs(standing, stamp)
    wait_for(lambda: joints_pub.get_subscription_count() and path_pub.get_subscription_count(),
             what="sim_check subscribed")  # fmt: skip
    path_pub.publish(path)
    joints_pub.publish(joints)
    report = rig.first(rig.reports, "the report", stamp_ns=stamp_key(stamp))
    assert report["report"]["state"] == "refused" and not report["forwarded"], report
    assert report["video"] is None
    assert not list(rig.video_dir.glob(f"trajectory_{stamp_key(stamp)}_*"))


def test_a_plan_is_scored_against_the_scene(rig):
    from builtin_interfaces.msg import Time
    from nav_msgs.msg import Path
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from trajectory_msgs.msg import JointTrajectory

    from motionvla_model.motion.registry_data import fetch
    from motionvla_model.plan import ScenePlan
    from motionvla_ros.plan_check import plan_message
    from motionvla_ros.trajectory_messages import trajectory_to_msgs
    from retargeting.trajectory import G1Trajectory, load_reference_clip
    from sim.scene import SceneDescription

    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    plans = rig.probe.node.create_publisher(String, "/motion_plan", reliable)
    paths = rig.probe.node.create_publisher(Path, "/root_path", reliable)
    joints = rig.probe.node.create_publisher(JointTrajectory, "/joint_trajectory", reliable)
    wait_for(lambda: plans.get_subscription_count() and joints.get_subscription_count(), 30,
             "sim_check's subscriptions")  # fmt: skip
    clip = load_reference_clip(fetch("amp/walk_forward_loop_002__A022"))
    walk = G1Trajectory(clip.fps, clip.root_pos[:101], clip.root_quat[:101],
                        clip.joint_pos[:101])  # fmt: skip
    (box,) = SceneDescription.random(SCENE_WITH_A_RED_BOX).objects
    distance, bearing = box.seen_from_start()
    stamp = Time(sec=4242)
    plans.publish(String(data=plan_message(stamp_key(stamp), ScenePlan("red box", 2.0, 5.0))))
    joint_msg, path_msg = trajectory_to_msgs(walk, stamp)
    paths.publish(path_msg)
    joints.publish(joint_msg)
    report = rig.first(rig.reports, "the planned walk's report", stamp_ns=stamp_key(stamp))
    plan = report["plan"]
    assert plan["target_in_scene"], plan
    assert plan["distance_error_m"] == pytest.approx(abs(2.0 - distance), abs=1e-3)
    assert plan["bearing_error_deg"] == pytest.approx(abs(5.0 - bearing), abs=0.01)
    end = walk.root_pos[-1]
    assert plan["end_distance_m"] == pytest.approx(box.floor_distance(end[0], end[1]), abs=1e-3)


def test_nodes_stop_cleanly(rig):
    rig.generator.stop_cleanly()
    rig.sim.stop_cleanly()
    assert "Traceback" not in rig.sim.output() + rig.generator.output()
