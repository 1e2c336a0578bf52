"""``motionvla-bringup``: the nodes of ``launch/motionvla.launch.py``, without ``launch``.

Where the ``ros2`` CLI and the ``launch`` packages are absent (rclpy from PyPI
wheels), this starts ``motion_generator``, with ``use_sim`` ``sim_check`` and with
``use_voice`` ``voice_command`` as separate processes with the same parameter file
and the same arguments::

    motionvla-bringup model_path:=/models/motionvla device:=cuda use_sim:=true scene:=3
    motionvla-bringup --backend clips --use-sim false
    motionvla-bringup backend:=clips scene:=25 head_camera_hz:=10 video_dir:=outputs/videos
    motionvla-bringup backend:=clips use_voice:=true    # then: motionvla-say --speak "sit down"

Arguments may be written as launch arguments (``name:=value``) or as options
(``--name value``). SIGINT and SIGTERM are forwarded to every node; a node that
has not stopped ``stop_timeout_s`` later is terminated, then killed. When one node
exits on its own, the others are stopped too, and the exit status says which.
Unless ``FASTDDS_DEFAULT_PROFILES_FILE`` is already set, the nodes get the
shipped Fast DDS profile (:func:`dds_environment`: a 16 MB shared-memory segment,
without which camera frames are lost, and histories that free delivered samples;
see ``config/fastdds_shm.xml``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONSOLE_SCRIPTS",
    "NODES",
    "NodeSpec",
    "build_commands",
    "dds_environment",
    "find_share_file",
    "main",
    "parse_args",
]

PACKAGE = "motionvla_ros"


@dataclass(frozen=True)
class NodeSpec:
    """One node: its console script (launch ``executable``) and its Python entry point."""

    executable: str
    module: str
    function: str = "main"


NODES: dict[str, NodeSpec] = {
    "motion_generator": NodeSpec("motion_generator", "motionvla_ros.motion_generator"),
    "sim_check": NodeSpec("sim_check", "motionvla_ros.sim_check"),
    "voice_command": NodeSpec("voice_command", "motionvla_ros.voice_command"),
}


# The console scripts of this package (setup.py ``entry_points``), by name.
CONSOLE_SCRIPTS: dict[str, str] = {
    **{spec.executable: f"{spec.module}:{spec.function}" for spec in NODES.values()},
    "motionvla-bringup": "motionvla_ros.bringup:main",
    "motionvla-say": "motionvla_ros.say:main",
    "motionvla-demo": "motionvla_ros.demo:main",
}


def find_share_file(relative: str) -> Path:
    """A file of the package's share directory: the source tree first, then the install.

    An install is either a Python environment (``<sys.prefix>/share/motionvla_ros``)
    or a colcon install space, whose prefix lies four levels above this module
    (``<prefix>/lib/pythonX.Y/site-packages/motionvla_ros/``).
    """
    here = Path(__file__).resolve()
    candidates = [
        here.parents[1] / relative,
        Path(sys.prefix) / "share" / PACKAGE / relative,
        *(prefix / "share" / PACKAGE / relative for prefix in here.parents[4:5]),
    ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{relative} not found in {[str(c) for c in candidates]}")


def dds_environment() -> dict[str, str]:
    """The environment that gives a process the shipped Fast DDS profile.

    ``RMW_FASTRTPS_USE_QOS_FROM_XML`` makes rmw_fastrtps take the history memory
    policy from the profile (see ``config/fastdds_shm.xml``); it is set only together
    with the profile, so that another profile keeps rmw's own defaults.
    """
    return {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(find_share_file("config/fastdds_shm.xml")),
        "RMW_FASTRTPS_USE_QOS_FROM_XML": "1",
    }


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="motionvla-bringup", description=__doc__.split("\n")[0])
    parser.add_argument("--model-path", default="", help="MotionVLA checkpoint directory")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--use-sim", type=_bool, default=True, help="start sim_check too")
    parser.add_argument("--scene", type=int, default=-1, help="sim scene seed (-1: bare)")
    parser.add_argument("--backend", default="", help="model | clips (default: parameter file)")
    parser.add_argument(
        "--max-image-pixels",
        default="",
        help="larger camera frames are refused (default: parameter file)",
    )
    parser.add_argument(
        "--head-camera-hz", type=float, default=0.0,
        help="publish sim_check's simulated head camera on camera/image (0: off)",
    )  # fmt: skip
    parser.add_argument("--video-dir", default="", help="sim_check writes an MP4 per check here")
    parser.add_argument("--use-voice", type=_bool, default=False,
                        help="start voice_command too (speech on 'audio' -> command)")
    parser.add_argument("--params-file", type=Path, default=None, help="ROS parameter YAML")
    parser.add_argument("--stop-timeout-s", type=float, default=10.0)
    # Launch-style `name:=value` arguments become `--name value`.
    converted: list[str] = []
    for token in sys.argv[1:] if argv is None else argv:
        match = re.fullmatch(r"(\w+):=(.*)", token)
        converted += [f"--{match[1].replace('_', '-')}", match[2]] if match else [token]
    return parser.parse_args(converted)


def build_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each node process."""
    params_file = args.params_file or find_share_file("config/motionvla.yaml")
    overrides = {
        "motion_generator": {
            "model_path": args.model_path,
            "device": args.device,
            "backend": args.backend,
            "max_image_pixels": args.max_image_pixels,
        },
        "sim_check": {
            "scene_seed": str(args.scene),
            "head_camera_rate_hz": str(args.head_camera_hz) if args.head_camera_hz else "",
            "video_dir": args.video_dir,
        },
        "voice_command": {},
    }
    commands = {}
    for name, spec in NODES.items():
        if (name == "sim_check" and not args.use_sim) or (
            name == "voice_command" and not args.use_voice
        ):
            continue
        command = [sys.executable, "-m", spec.module, "--ros-args", "--params-file",
                   str(params_file)]  # fmt: skip
        for key, value in overrides[name].items():
            if value != "":  # an empty launch argument leaves the parameter file's value
                command += ["-p", f"{key}:={value}"]
        commands[name] = command
    return commands


def _node_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("MUJOCO_GL", "egl")  # sim_check renders off-screen
    if "FASTDDS_DEFAULT_PROFILES_FILE" not in env:
        env.update(dds_environment())
    # Run the same package the bring-up itself was imported from.
    source_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
    return env


class _Processes:
    def __init__(self, commands: dict[str, list[str]], stop_timeout_s: float) -> None:
        env = _node_environment()
        self.stop_timeout_s = stop_timeout_s
        # Own sessions: a terminal's Ctrl-C reaches the nodes once, through us.
        self.running = {
            name: subprocess.Popen(command, env=env, start_new_session=True)
            for name, command in commands.items()
        }

    def first_exit(self) -> tuple[str, int] | None:
        for name, process in self.running.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop(self) -> dict[str, int]:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + self.stop_timeout_s
        codes = {}
        for name, process in self.running.items():
            try:
                codes[name] = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"[bringup] {name} ignored SIGINT; terminating", file=sys.stderr)
                process.terminate()
                try:
                    codes[name] = process.wait(3.0)
                except subprocess.TimeoutExpired:
                    process.kill()
                    codes[name] = process.wait()
        return codes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    commands = build_commands(args)
    stop_requested: list[int] = []

    def request_stop(signum: int, _frame) -> None:
        stop_requested.append(signum)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    processes = _Processes(commands, args.stop_timeout_s)
    print(f"[bringup] started {', '.join(commands)}", file=sys.stderr, flush=True)
    status = 0
    try:
        while not stop_requested:
            exited = processes.first_exit()
            if exited is not None:
                name, code = exited
                print(f"[bringup] {name} exited with {code}; stopping", file=sys.stderr)
                status = code or 1
                break
            time.sleep(0.1)
    finally:
        codes = processes.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    print(f"[bringup] stopped: {codes}", file=sys.stderr, flush=True)
    if status == 0 and any(code not in (0, -signal.SIGINT) for code in codes.values()):
        status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
