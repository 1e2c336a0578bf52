"""The nodes under attack: the corpus of ``tests/ros_attacks.py`` over DDS, live nodes.

One ``motion_generator`` (clips) and one ``sim_check`` serve every case (module
fixture); cases go one after another, each awaiting the node's answer. What must
hold: no node dies, every bad input ends in a refusal that names it, a refused frame
never replaces a usable one, nothing unchecked reaches ``~/approved_trajectory``, and
no bad message costs a node more than 50 MB.
"""

from __future__ import annotations

import time

import pytest

from tests.ros_attacks import (
    AttackRig,
    Outcome,
    _rgb,
    command_cases,
    image_cases,
    run_bursts,
    run_command_cases,
    run_image_case,
    run_trajectory_case,
    trajectory_cases,
    walk_clip,
    warm_up,
)
from tests.ros_helpers import ros_domain

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN = ros_domain(80)
RSS_PER_BAD_MESSAGE_MB = 50.0


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = AttackRig(DOMAIN, tmp_path_factory.mktemp("attacks"))
    try:
        rig.walk = walk_clip(1.0)
        rig.normal = warm_up(rig, rig.walk)
    except BaseException:
        rig.close()
        raise
    yield rig
    rig.close()


def _failures(outcomes: list[Outcome]) -> list[str]:
    return [f"{o.name}: {o.detail}" for o in outcomes if not o.ok]


def test_bad_frames_are_refused_on_arrival_and_good_ones_taken(rig):
    outcomes = [run_image_case(rig, case) for case in image_cases()]
    assert not _failures(outcomes)
    assert len(outcomes) >= 40 and rig.generator.alive()


def test_a_refused_frame_never_replaces_a_usable_one(rig):
    from std_msgs.msg import String

    from tests.ros_attacks import ImageCase

    good = _rgb()
    good.header.stamp.sec, good.header.stamp.nanosec = divmod(time.time_ns(), 1_000_000_000)
    good_stamp = good.header.stamp.sec * 1_000_000_000 + good.header.stamp.nanosec
    assert run_image_case(rig, ImageCase("good", lambda: good, True)).ok
    assert run_image_case(rig, ImageCase("1x1", lambda: _rgb(1, 1), False, "each side")).ok
    request_id = rig.fresh_heartbeat()["commands"] + 1
    rig.commands.publish(String(data="walk forward"))
    assert rig.final(request_id)["state"] == "done"
    generating = next(
        s for s in rig.status if s.get("request_id") == request_id and s["state"] == "generating"
    )
    assert generating["image_stamp_ns"] == good_stamp


def test_bad_commands_are_refused_and_odd_text_is_served(rig):
    outcomes = run_command_cases(rig, command_cases())
    assert not _failures(outcomes)
    assert rig.generator.alive()


def test_the_gate_forwards_only_what_it_checked(rig):
    outcomes = [run_trajectory_case(rig, case, rig.walk) for case in trajectory_cases()]
    assert not _failures(outcomes)
    assert sum(o.unsafe for o in outcomes) == 0
    assert rig.sim.alive()


def test_rapid_bursts_each_get_an_answer(rig):
    assert not _failures(run_bursts(rig))


def test_no_node_died_grew_or_left_a_traceback(rig):
    assert all(rig.alive().values()), rig.alive()
    now = {"rss": rig.rss(), "peak": rig.rss("VmHWM")}
    grown = {
        f"{name} {kind}": round(now[kind][name] - rig.normal[kind][name], 1)
        for kind in now
        for name in now[kind]
    }
    print(f"memory above normal (MB): {grown}")
    assert all(g <= RSS_PER_BAD_MESSAGE_MB for g in grown.values()), grown
    rig.generator.stop_cleanly()
    rig.sim.stop_cleanly()
    for node in (rig.generator, rig.sim):
        assert "Traceback" not in node.output(), node.output()[-3000:]
