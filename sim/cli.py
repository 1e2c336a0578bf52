"""``motionvla-sim``: check a G1 trajectory file in simulation from the command line.

    motionvla-sim check TRAJ.npz --report out.json --video out.mp4 \\
        [--contact-sheet out.png] [--scene scene.yaml] [--config thresholds.yaml] \\
        [--max-duration 300] [--time-budget 300]
    motionvla-sim scene --seed 7 --out scene.yaml [--head-image view.png]

``check`` prints the one-line verdict and exits 0 when the trajectory passed, 1 when
it failed a check, 2 when the command itself was misused (unreadable files) and 3
when the checker refused the work (longer than the duration limit, or physics past
the time budget): a refused motion was not judged, so it neither passed nor failed.
``--max-duration`` raises the 60-s limit that protects the ROS node, for judging long
recordings; the time budget then grows in proportion unless ``--time-budget`` is
given. ``scene`` writes a random scene description (and what the head camera sees).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

__all__ = ["main"]

# Off-screen rendering picks its OpenGL back end when mujoco is first imported.
os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import yaml
from PIL import Image

from retargeting.g1 import g1_description
from retargeting.trajectory import G1Trajectory, InvalidTrajectoryError
from sim.checker import SimChecker
from sim.config import InvalidSimConfigError, SimCheckConfig
from sim.render import SceneRenderer
from sim.scene import InvalidSceneError, SceneDescription


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="motionvla-sim", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="judge a trajectory (.npz or .csv) in MuJoCo")
    check.add_argument("trajectory", type=Path)
    check.add_argument("--report", type=Path, help="write the SimReport as JSON here")
    check.add_argument("--video", type=Path, help="write an MP4 of the motion here")
    check.add_argument("--contact-sheet", type=Path, help="write a PNG of key frames here")
    check.add_argument("--scene", type=Path, help="scene description (YAML)")
    check.add_argument("--config", type=Path, help="threshold overrides (YAML mapping)")
    check.add_argument("--fps", type=float, help="frame rate, if the file does not carry one")
    check.add_argument(
        "--max-duration", type=float, metavar="S",
        help="longest motion judged, seconds (default 60; longer is refused)",
    )  # fmt: skip
    check.add_argument(
        "--time-budget", type=float, metavar="S",
        help="wall-clock limit of the check, seconds (default 30, scaled with --max-duration)",
    )  # fmt: skip
    check.add_argument("--video-fps", type=float, default=10.0)
    check.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"))
    scene = sub.add_parser("scene", help="write a random scene from a seed")
    scene.add_argument("--seed", type=int, required=True)
    scene.add_argument("--out", type=Path, required=True, help="scene YAML to write")
    scene.add_argument("--head-image", type=Path, help="PNG of the standing robot's view")
    scene.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    return parser


_EXIT = {"passed": 0, "failed": 1, "refused": 3}


def _config(args: argparse.Namespace) -> SimCheckConfig:
    config = SimCheckConfig.from_dict(yaml.safe_load(args.config.read_text()) or {}) if (
        args.config
    ) else SimCheckConfig()  # fmt: skip
    limits = {}
    if args.max_duration is not None:
        limits["max_duration_s"] = args.max_duration
        if args.time_budget is None:
            scale = max(1.0, args.max_duration / config.max_duration_s)
            limits["time_budget_s"] = config.time_budget_s * scale
    if args.time_budget is not None:
        limits["time_budget_s"] = args.time_budget
    return replace(config, **limits)


def _check(args: argparse.Namespace) -> int:
    config = _config(args)
    scene = SceneDescription.from_yaml(args.scene) if args.scene else None
    trajectory = G1Trajectory.load(args.trajectory, fps=args.fps)
    report = SimChecker(config, scene).check(trajectory)
    print(report.summary())
    if args.report:
        args.report.write_text(report.to_json())
        print(f"report: {args.report}")
    if args.video or args.contact_sheet:
        with SceneRenderer(scene, *args.size) as renderer:
            if args.video:
                renderer.video(trajectory, args.video, fps=args.video_fps)
                print(f"video: {args.video}")
            if args.contact_sheet:
                renderer.contact_sheet(trajectory, args.contact_sheet)
                print(f"contact sheet: {args.contact_sheet}")
    return _EXIT[report.state]


def _scene(args: argparse.Namespace) -> int:
    scene = SceneDescription.random(args.seed)
    scene.to_yaml(args.out)
    for obj in scene.objects:
        print(f"{obj.name}: {obj.label} at {np.round(obj.position, 2).tolist()}")
    if args.head_image:
        with SceneRenderer(scene, *args.size) as renderer:
            Image.fromarray(renderer.head_view(g1_description().stand_qpos)).save(args.head_image)
        print(f"head camera: {args.head_image}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _check(args) if args.command == "check" else _scene(args)
    except (
        OSError,
        InvalidTrajectoryError,
        InvalidSceneError,
        InvalidSimConfigError,
        ValueError,
        yaml.YAMLError,
    ) as err:
        print(f"motionvla-sim: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
