"""sim_check in its own process: real G1 clips in, verdicts and approved trajectories out."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from nav_msgs.msg import Path
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from motionvla_model.motion.registry_data import fetch
from motionvla_model.plan import ScenePlan
from motionvla_ros.plan_check import plan_message
from motionvla_ros.trajectory_messages import stamp_key, trajectory_to_msgs
from retargeting.trajectory import G1Trajectory, load_reference_clip
from tests.ros_helpers import PARAMS_FILE, NodeProcess, Probe, ros_domain, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN = ros_domain(72)
HAS_SIM_CHECKER = importlib.util.find_spec("sim.checker") is not None
_stamps = itertools.count(1)


class Rig:
    def __init__(self, tmp_path_factory) -> None:
        self.node = NodeProcess(
            "motionvla_ros.sim_check",
            DOMAIN,
            ["--params-file", str(PARAMS_FILE), "-p", "pair_timeout_s:=1.0"],
            tmp_path_factory.mktemp("sim_check") / "node.log",
        )
        self.probe = Probe(DOMAIN)
        reliable = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
        self.reports = self.probe.json_collect("/sim_check/report")
        self.approved = self.probe.collect(
            JointTrajectory, "/sim_check/approved_trajectory", reliable
        )
        self.joints = self.probe.node.create_publisher(
            JointTrajectory, "/joint_trajectory", reliable
        )
        self.paths = self.probe.node.create_publisher(Path, "/root_path", reliable)
        self.plans = self.probe.node.create_publisher(String, "/motion_plan", reliable)
        try:
            wait_for(
                lambda: (
                    self.joints.get_subscription_count()
                    and self.paths.get_subscription_count()
                    and self.plans.get_subscription_count()
                    and self.probe.node.count_publishers("/sim_check/report")
                ),
                timeout_s=60,
                what="sim_check to come up",
            )
        except TimeoutError:  # no node outlives a failed start
            self.probe.close()
            self.node.stop()
            raise

    def send(self, trajectory: G1Trajectory, joints=True, path=True, edit=None, stamp=None) -> int:
        stamp = stamp or Time(sec=1000 + next(_stamps))
        joint_msg, path_msg = trajectory_to_msgs(trajectory, stamp)
        if edit is not None:
            edit(joint_msg, path_msg)
        if path:
            self.paths.publish(path_msg)
        if joints:
            self.joints.publish(joint_msg)
        return stamp_key(stamp)

    def report(self, stamp_ns: int, timeout_s: float = 60.0) -> dict:
        return wait_for(
            lambda: next((r for r in self.reports if r["stamp_ns"] == stamp_ns), None),
            timeout_s,
            f"the report of {stamp_ns}",
        )

    def was_forwarded(self, stamp_ns: int) -> bool:
        return any(stamp_key(t.header.stamp) == stamp_ns for t in self.approved)


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = Rig(tmp_path_factory)
    yield rig
    rig.probe.close()
    if rig.node.alive():
        rig.node.stop()


@pytest.fixture(scope="module")
def walk() -> G1Trajectory:
    clip = load_reference_clip(fetch("amp/walk_forward_loop_002__A022"))
    frames = slice(0, 101)  # two seconds keep the simulation short
    return G1Trajectory(clip.fps, clip.root_pos[frames], clip.root_quat[frames],
                        clip.joint_pos[frames])  # fmt: skip


@pytest.mark.skipif(not HAS_SIM_CHECKER, reason="sim.checker is not in this tree yet")
def test_real_clip_passes_and_is_forwarded(rig, walk):
    stamp = rig.send(walk)
    report = rig.report(stamp)
    assert report["passed"] and report["forwarded"], report.get("reason")
    assert report["report"]["num_frames"] == walk.num_frames
    wait_for(lambda: rig.was_forwarded(stamp), 10, "the approved trajectory")


@pytest.mark.skipif(not HAS_SIM_CHECKER, reason="sim.checker is not in this tree yet")
def test_a_plan_is_reported_with_its_trajectory_and_a_malformed_one_is_not(rig, walk):
    # A malformed plan first: counted and logged, the node keeps serving.
    rig.plans.publish(String(data='{"stamp_ns": 1, "text": "RED BOX!!"}'))
    stamp = 1000 + next(_stamps)
    plan = ScenePlan("red box", 2.4, 30.0)
    rig.plans.publish(String(data=plan_message(stamp * 10**9, plan)))
    wait_for(lambda: rig.node.alive(), 5, "sim_check alive")
    reported = rig.report(rig.send(walk, stamp=Time(sec=stamp)))
    # The bare floor holds no red box: the plan is reported, not scored, and not a verdict.
    assert reported["plan"]["text"] == plan.text() and not reported["plan"]["target_in_scene"]
    assert reported["passed"] and reported["forwarded"]
    unplanned = rig.report(rig.send(walk))
    assert unplanned["plan"] is None


def test_corrupted_clip_is_withheld(rig, walk):
    joint_pos = np.array(walk.joint_pos)
    joint_pos[40:45, 3] += 3.0  # the left knee snaps by 3 rad for five frames
    corrupted = G1Trajectory(walk.fps, walk.root_pos, walk.root_quat, joint_pos)
    stamp = rig.send(corrupted)
    report = rig.report(stamp)
    assert not report["passed"] and not report["forwarded"]
    assert report["reason"]
    if HAS_SIM_CHECKER:
        assert report["report"]["checks"]
    assert not rig.was_forwarded(stamp)


def test_trajectory_without_its_path_is_withheld_after_the_timeout(rig, walk):
    stamp = rig.send(walk, path=False)
    report = rig.report(stamp, timeout_s=10)
    assert not report["passed"] and "no root path" in report["reason"]
    lonely_path = rig.send(walk, joints=False)
    assert "no joint trajectory" in rig.report(lonely_path, timeout_s=10)["reason"]
    assert not rig.was_forwarded(stamp)


def _drop_a_joint(joints, _path):
    joints.joint_names = joints.joint_names[1:]
    for point in joints.points:
        point.positions = point.positions[1:]


def _nan_root(_joints, path):
    path.poses[5].pose.position.z = float("nan")


def _wrong_frame(joints, _path):
    joints.header.frame_id = "camera"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [(_drop_a_joint, "joint_names"), (_nan_root, "non-finite"), (_wrong_frame, "frame_id")],
    ids=["missing-joint", "nan-root", "wrong-frame"],
)
def test_malformed_messages_are_withheld_with_reasons(rig, walk, edit, reason):
    stamp = rig.send(walk, edit=edit)
    report = rig.report(stamp)
    assert not report["forwarded"] and reason in report["reason"]
    assert rig.node.alive()


def test_node_stops_cleanly_on_sigint(rig):
    rig.node.stop_cleanly()
    assert "Traceback" not in rig.node.output()
