"""Bring-up without launch, motionvla-say, parameter validation, and the launch file."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import json
import signal
import subprocess
import sys

import pytest
import yaml

from motionvla_ros.bringup import CONSOLE_SCRIPTS, NODES, build_commands, parse_args
from motionvla_ros.image_conversion import DEFAULT_MAX_PIXELS
from tests.ros_helpers import PARAMS_FILE, ROOT, ros_domain, ros_env

pytestmark = [pytest.mark.ros]

DOMAIN = ros_domain(73)
LAUNCH_FILE = ROOT / "launch" / "motionvla.launch.py"


def _launch_calls(name: str) -> list[ast.Call]:
    tree = ast.parse(LAUNCH_FILE.read_text())
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name
    ]


def _constants() -> dict[str, object]:
    """Module-level ``NAME = literal`` assignments of the launch file."""
    tree = ast.parse(LAUNCH_FILE.read_text())
    return {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
    }


def _keyword(call: ast.Call, name: str):
    value = next(k.value for k in call.keywords if k.arg == name)
    return _constants()[value.id] if isinstance(value, ast.Name) else ast.literal_eval(value)


def test_launch_file_starts_the_registered_executables():
    nodes = _launch_calls("Node")
    executables = {_keyword(call, "executable") for call in nodes}
    assert executables == {spec.executable for spec in NODES.values()}
    assert all(_keyword(call, "package") == "motionvla_ros" for call in nodes)
    for name, target in CONSOLE_SCRIPTS.items():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_launch_arguments_are_the_bringup_arguments():
    declared = {ast.literal_eval(call.args[0]) for call in _launch_calls("DeclareLaunchArgument")}
    assert declared == {"model_path", "device", "use_sim", "scene", "backend",
                        "max_image_pixels", "head_camera_hz", "video_dir",
                        "use_voice"}  # fmt: skip
    args = parse_args([f"{name}:={value}" for name, value in (
        ("model_path", "/m"), ("device", "cpu"), ("use_sim", "false"), ("scene", "3"),
        ("backend", "clips"), ("head_camera_hz", "10"), ("video_dir", "/v"))])  # fmt: skip
    parsed = (args.model_path, args.device, args.use_sim, args.scene, args.backend,
              args.head_camera_hz, args.video_dir)  # fmt: skip
    assert parsed == ("/m", "cpu", False, 3, "clips", 10.0, "/v")
    sim_command = build_commands(args)
    assert "sim_check" not in sim_command  # use_sim false
    args.use_sim = True
    sim_command = build_commands(args)["sim_check"]
    assert "head_camera_rate_hz:=10.0" in sim_command and "video_dir:=/v" in sim_command
    assert "voice_command" not in build_commands(args)  # use_voice defaults to false
    assert not any("max_image_pixels" in a for a in build_commands(args)["motion_generator"])
    limited = build_commands(parse_args(["max_image_pixels:=307200"]))["motion_generator"]
    assert "max_image_pixels:=307200" in limited
    # The launch file's default is the parameter file's value and the node's own default.
    pixels = next(c for c in _launch_calls("DeclareLaunchArgument")
                  if ast.literal_eval(c.args[0]) == "max_image_pixels")  # fmt: skip
    params = yaml.safe_load(PARAMS_FILE.read_text())["motion_generator"]["ros__parameters"]
    assert int(_keyword(pixels, "default_value")) == params["max_image_pixels"]
    assert params["max_image_pixels"] == DEFAULT_MAX_PIXELS
    assert "voice_command" in build_commands(parse_args(["use_voice:=true"]))


def test_setup_and_installed_entry_points_agree():
    tree = ast.parse((ROOT / "setup.py").read_text())
    registered = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    for line in ast.literal_eval(value):
                        name, target = (part.strip() for part in line.split("="))
                        registered[name] = target
    installed = {
        ep.name: ep.value
        for ep in importlib.metadata.entry_points(group="console_scripts")
        if ep.name in CONSOLE_SCRIPTS
    }
    for name, target in {**registered, **installed}.items():
        if name in CONSOLE_SCRIPTS:
            assert target == CONSOLE_SCRIPTS[name], name
    missing = sorted(set(CONSOLE_SCRIPTS) - set(registered))
    if missing:
        pytest.skip(f"setup.py does not register {missing} yet")


@pytest.mark.parametrize(
    ("override", "named"),
    [("on_busy:=sometimes", "on_busy"), ("queue_size:=1000", "queue_size"),
     ("device:=tpu", "device")],
    ids=["choice", "range", "pattern"],
)  # fmt: skip
def test_bad_parameter_stops_the_node_with_a_message(override, named):
    result = subprocess.run(
        [sys.executable, "-m", "motionvla_ros.motion_generator", "--ros-args",
         "-p", "backend:=clips", "-p", override],
        env=ros_env(DOMAIN), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr


def test_say_without_a_generator_times_out_with_status_2():
    result = subprocess.run(
        [sys.executable, "-m", "motionvla_ros.say", "walk", "--timeout", "2"],
        env=ros_env(DOMAIN + 1), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no motion_generator" in json.loads(result.stdout)["reason"]


@pytest.mark.slow
def test_bringup_serves_a_command_and_stops_cleanly(tmp_path):
    log = (tmp_path / "bringup.log").open("w")
    bringup = subprocess.Popen(
        [sys.executable, "-m", "motionvla_ros.bringup", "backend:=clips", "use_sim:=true",
         "use_voice:=true"],
        env=ros_env(DOMAIN), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        said = subprocess.run(
            [sys.executable, "-m", "motionvla_ros.say", "walk backward", "--timeout", "60"],
            env=ros_env(DOMAIN), cwd=ROOT, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        verdict = json.loads(said.stdout)
        # The verdict is sim_check's report on the generated trajectory; it is
        # forwarded exactly when it passed.
        assert verdict["node"] == "sim_check", verdict
        assert said.returncode == (0 if verdict["passed"] else 1)
        assert verdict["forwarded"] == verdict["passed"]
        # The same, spoken: eSpeak NG speech on 'audio' -> voice_command -> the generator.
        said = subprocess.run(
            [sys.executable, "-m", "motionvla_ros.say", "--speak", "wave with your right hand",
             "--timeout", "60"],
            env=ros_env(DOMAIN), cwd=ROOT, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        verdict = json.loads(said.stdout)
        assert verdict["transcript"]["heard"] == "wave with your right hand", verdict
        assert verdict["node"] == "sim_check" and said.returncode == (0 if verdict["passed"] else 1)
    finally:
        bringup.send_signal(signal.SIGTERM)
        code = bringup.wait(30)
        log.close()
    output = (tmp_path / "bringup.log").read_text()
    assert code == 0, output
    assert "stopped: {'motion_generator': 0, 'sim_check': 0, 'voice_command': 0}" in output
