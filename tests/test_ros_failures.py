"""What the nodes do when a part fails: no model, a corrupt checkpoint, sim_check gone.

Each case runs real node processes in its own namespace on one ROS domain.
"""

from __future__ import annotations

import signal

import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String
from trajectory_msgs.msg import JointTrajectory

from tests.ros_helpers import PARAMS_FILE, NodeProcess, Probe, ros_domain, wait_for

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN = ros_domain(77)
RELIABLE = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)


@pytest.fixture(scope="module")
def probe():
    probe = Probe(DOMAIN)
    yield probe
    probe.close()


def _generator(namespace: str, log, *params: str) -> NodeProcess:
    ros_args = ["-r", f"__ns:=/{namespace}", "--params-file", str(PARAMS_FILE),
                "-p", "status_period_s:=0.2"]  # fmt: skip
    for param in params:
        ros_args += ["-p", param]
    return NodeProcess("motionvla_ros.motion_generator", DOMAIN, ros_args, log)


def _final(status: list[dict], text: str, timeout_s: float = 60.0) -> dict:
    return wait_for(
        lambda: next(
            (s for s in status if s.get("command") == text
             and s["state"] in ("done", "error", "cancelled", "rejected")),
            None,
        ),
        timeout_s,
        f"a final status for {text!r}",
    )  # fmt: skip


def _corrupt_checkpoint(directory):
    directory.mkdir()
    (directory / "config.json").write_text('{"model_type": "motionvla", "hidden_size": ')
    (directory / "model.safetensors").write_bytes(b"\x00\x01 not a safetensors file" * 40)
    return directory


@pytest.mark.parametrize("case", ["missing", "corrupt"])
def test_unloadable_model_is_reported_and_the_node_keeps_serving(probe, tmp_path, case):
    model_dir = tmp_path / "no-such-model" if case == "missing" else _corrupt_checkpoint(
        tmp_path / "corrupt-model"
    )  # fmt: skip
    node = _generator(case, tmp_path / "node.log", "backend:=model",
                      f"model_path:={model_dir}", "device:=cpu")  # fmt: skip
    status = probe.json_collect(f"/{case}/motion_generator/status")
    commands = probe.node.create_publisher(String, f"/{case}/command", RELIABLE)
    try:
        beat = wait_for(
            lambda: next((s for s in status if s.get("heartbeat") and s["pipeline_error"]), None),
            90,
            "a heartbeat that names the load failure",
        )
        assert str(model_dir) in beat["pipeline_error"], beat
        wait_for(commands.get_subscription_count, 30, "the command subscription")
        for text in ("walk forward", "turn around"):  # every command answers, none hangs
            commands.publish(String(data=text))
            final = _final(status, text)
            assert final["state"] == "error" and str(model_dir) in final["reason"], final
        assert node.alive()
        node.stop_cleanly()
        assert "Traceback" not in node.output()
    finally:
        if node.alive():
            node.stop(signal.SIGKILL)


def test_generator_keeps_serving_when_sim_check_is_down(probe, tmp_path):
    generator = _generator("simdown", tmp_path / "generator.log", "backend:=clips",
                           "duration_s:=1.0")  # fmt: skip
    sim = NodeProcess(
        "motionvla_ros.sim_check", DOMAIN,
        ["-r", "__ns:=/simdown", "--params-file", str(PARAMS_FILE)], tmp_path / "sim.log",
    )  # fmt: skip
    status = probe.json_collect("/simdown/motion_generator/status")
    reports = probe.json_collect("/simdown/sim_check/report")
    approved = probe.collect(JointTrajectory, "/simdown/sim_check/approved_trajectory", RELIABLE)
    commands = probe.node.create_publisher(String, "/simdown/command", RELIABLE)
    try:
        # The generator's own writer must have matched sim_check (its heartbeat says so):
        # the graph seen from here can be ahead, and a trajectory published before the
        # match is never judged.
        wait_for(
            lambda: (
                commands.get_subscription_count()
                and any(s.get("trajectory_subscribers", 0) >= 1 for s in status)
                and probe.matched_publishers("/simdown/sim_check/report")
            ),
            90,
            "both nodes",
        )
        commands.publish(String(data="walk forward"))
        first = _final(status, "walk forward")
        wait_for(lambda: any(r["stamp_ns"] == first["stamp_ns"] for r in reports), 60, "a verdict")
        sim.process.send_signal(signal.SIGKILL)  # the simulator dies without a word
        sim.process.wait(10)
        forwarded_before = len(approved)
        for text in ("jog forward", "turn around", "walk backward"):
            commands.publish(String(data=text))
            final = _final(status, text)
            assert final["state"] == "done", final  # generation does not depend on sim_check
        assert generator.alive()
        wait_for(lambda: probe.node.count_subscribers("/simdown/joint_trajectory") == 0, 30,
                 "DDS to notice that sim_check is gone")  # fmt: skip
        assert len(approved) == forwarded_before  # nothing reaches the robot unchecked
        assert len(reports) == 1
        generator.stop_cleanly()
    finally:
        for node in (generator, sim):
            if node.alive():
                node.stop(signal.SIGKILL)


def test_model_past_its_time_limit_ends_in_an_error_and_the_next_command_runs(probe, tmp_path):
    from motionvla_model.modeling import build_tiny_motionvla

    model = build_tiny_motionvla(seed=0)
    model_dir = model.save_pretrained(tmp_path / "tiny")
    # The longest motion the model allows (12 s, ~320 tokens) is seconds of work for the tiny
    # model: the limit is met whatever length the random model would choose on its own.
    longest = f"duration_s:={model.config.max_duration_s}"
    node = _generator("slow", tmp_path / "node.log", "backend:=model", f"model_path:={model_dir}",
                      "device:=cpu", "generation_timeout_s:=0.3", longest)  # fmt: skip
    status = probe.json_collect("/slow/motion_generator/status")
    commands = probe.node.create_publisher(String, "/slow/command", RELIABLE)
    try:
        wait_for(commands.get_subscription_count, 90, "the command subscription")
        for text in ("walk forward", "jog backward"):
            commands.publish(String(data=text))
            final = _final(status, text, timeout_s=120)  # the first one waits for the load
            assert final["state"] == "error" and "timed out after 0.3 s" in final["reason"], final
            # The model gets the deadline as its budget and stops itself close to it.
            assert final["elapsed_ms"] < 5000, final
        assert node.alive()
        node.stop_cleanly()
        assert "Traceback" not in node.output()
    finally:
        if node.alive():
            node.stop(signal.SIGKILL)


def test_sigint_while_the_model_loads_exits_cleanly(probe, tmp_path):
    # The model loads on the generation thread right after start; a SIGINT then meets a
    # thread that cannot be cancelled. The process must still exit with 0, within the
    # 15 s that stop() waits.
    node = _generator("early", tmp_path / "node.log", "backend:=model", "device:=cpu")
    wait_for(lambda: "ready:" in node.output(), 60, "the node to start")
    node.stop_cleanly()
