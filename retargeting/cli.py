"""``motionvla-retarget INPUT OUTPUT``: human motion file → G1 trajectory file.

Inputs (chosen by suffix and array shape):

- ``.npy`` ``[T, 22, 3]``: SMPL-22 joints, metres, Y up, at ``--fps`` (default 20);
- ``.npy`` ``[T, 263]``: HumanML3D features (20 fps), turned into joints first;
- ``.bvh``: motion capture, mapped onto SMPL-22 by :mod:`motionvla_model.motion.bvh`.

Outputs: ``.npz`` or ``.csv`` (see :class:`retargeting.trajectory.G1Trajectory`).
``--preview out.png`` also draws the human beside the G1 at a few frames.
Exit status 0 on success, 2 for unusable input (with a one-line reason).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from retargeting.config import RetargetConfig, RetargetConfigError
from retargeting.human_input import RetargetInputError
from retargeting.metrics import retarget_quality
from retargeting.retargeter import Retargeter

__all__ = ["load_human_motion", "main"]

HUMANML3D_FPS = 20.0
_FEATURE_WIDTH = 263


class HumanMotionFileError(ValueError):
    """A human motion file cannot be read as joints."""


def load_human_motion(path: Path, fps: float | None) -> tuple[np.ndarray, float]:
    """Joints ``[T, 22, 3]`` (Y up) and their rate from a ``.npy`` or ``.bvh`` file."""
    if not path.is_file():
        raise HumanMotionFileError(f"{path}: no such file")
    if path.suffix.lower() == ".bvh":
        # The BVH importer and the feature decoder live with the motion model; only
        # this command line needs them, the retargeting package itself does not.
        from motionvla_model.motion.bvh import BvhImportError, load_bvh

        try:
            motion = load_bvh(path)
        except BvhImportError as err:
            raise HumanMotionFileError(f"{path}: {err}") from err
        return motion.joints, fps or motion.fps
    if path.suffix.lower() != ".npy":
        raise HumanMotionFileError(f"{path}: unsupported input type (.npy joints/features, .bvh)")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise HumanMotionFileError(f"{path}: not a readable .npy array ({err})") from err
    if array.ndim == 2 and array.shape[1] == _FEATURE_WIDTH:
        from motionvla_model.motion.features import features_to_joints

        try:
            joints = features_to_joints(array)
        except ValueError as err:
            raise HumanMotionFileError(f"{path}: bad HumanML3D features: {err}") from err
        return joints, fps or HUMANML3D_FPS
    if array.ndim == 3 and array.shape[1:] == (22, 3):
        return array, fps or HUMANML3D_FPS
    raise HumanMotionFileError(
        f"{path}: array of shape {list(array.shape)} is neither joints [T, 22, 3] nor "
        f"HumanML3D features [T, {_FEATURE_WIDTH}]"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="motionvla-retarget",
        description="Retarget human motion (SMPL-22 joints, HumanML3D features or BVH) to "
        "the Unitree G1.",
    )
    p.add_argument("input", type=Path, help=".npy joints [T,22,3] or features [T,263], or .bvh")
    p.add_argument("output", type=Path, help="G1 trajectory file (.npz or .csv)")
    p.add_argument("--fps", type=float, default=None, help="input rate (default: 20 for .npy)")
    p.add_argument("--output-fps", type=float, default=50.0, help="output rate (default 50)")
    p.add_argument(
        "--iterations", type=int, default=2, help="IK steps per output frame (default 2)"
    )
    p.add_argument("--preview", type=Path, default=None, help="also write a PNG preview here")
    p.add_argument("--preview-frames", type=int, default=4, help="frames in the preview")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.output.suffix not in {".npz", ".csv"}:
        parser.error(f"output must end in .npz or .csv, got {args.output.name!r}")
    try:
        config = RetargetConfig(output_fps=args.output_fps, iterations_per_frame=args.iterations)
        joints, fps = load_human_motion(args.input, args.fps)
        result = Retargeter(config).retarget(joints, fps, progress=not args.quiet)
    except (HumanMotionFileError, RetargetInputError, RetargetConfigError) as err:
        print(f"motionvla-retarget: error: {err}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    result.trajectory.save(args.output)
    if args.preview is not None:
        from retargeting.preview import save_preview  # matplotlib only when asked for

        save_preview(args.preview, joints, fps, result, num_frames=max(1, args.preview_frames))
    if not args.quiet:
        quality = retarget_quality(result.trajectory, result.targets, result.contact)
        summary = {
            "output": str(args.output),
            "frames": result.trajectory.num_frames,
            "fps": result.trajectory.fps,
            **{k: round(v, 3) for k, v in quality.as_dict().items()},
        }
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
