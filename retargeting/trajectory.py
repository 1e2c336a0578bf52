"""``G1Trajectory``: a floating-base pose and 29 joint angles per frame.

This is the contract between retargeting, the simulation check and the ROS nodes:
``root_pos [T,3]`` (metres, world frame, Z up), ``root_quat [T,4]`` (w, x, y, z),
``joint_pos [T,29]`` (radians, official Unitree order, see :mod:`retargeting.g1`)
and ``fps``. A trajectory is validated on construction: shapes, finite values, unit
quaternions (within 1e-3; they are then renormalised exactly).

Files: ``.npz`` (arrays + fps + joint names) and ``.csv`` (one row per frame:
root x y z, root qw qx qy qz, 29 joints; the form common humanoid-RL motion
loaders read; the rate is given as a ``# fps=`` comment line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retargeting.g1 import JOINT_NAMES, NUM_JOINTS

__all__ = ["G1Trajectory", "InvalidTrajectoryError", "load_reference_clip"]

_QUAT_TOLERANCE = 1e-3


class InvalidTrajectoryError(ValueError):
    """A trajectory's arrays do not describe a valid G1 motion."""


@dataclass(frozen=True)
class G1Trajectory:
    fps: float
    root_pos: np.ndarray  # [T, 3]
    root_quat: np.ndarray  # [T, 4] w, x, y, z
    joint_pos: np.ndarray  # [T, 29]

    def __post_init__(self) -> None:
        fps = float(self.fps)
        if not np.isfinite(fps) or fps <= 0:
            raise InvalidTrajectoryError(f"fps must be a positive number, got {self.fps!r}")
        arrays = {}
        for name, width in (("root_pos", 3), ("root_quat", 4), ("joint_pos", NUM_JOINTS)):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.ndim != 2 or value.shape[1] != width:
                raise InvalidTrajectoryError(
                    f"{name} must have shape [T, {width}], got {list(value.shape)}"
                )
            if not np.all(np.isfinite(value)):
                frames = np.unique(np.nonzero(~np.isfinite(value))[0])
                raise InvalidTrajectoryError(
                    f"{name} has non-finite values at frames {frames[:10].tolist()}"
                )
            arrays[name] = value
        lengths = {name: len(v) for name, v in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise InvalidTrajectoryError(f"arrays differ in frame count: {lengths}")
        if lengths["root_pos"] == 0:
            raise InvalidTrajectoryError("trajectory has no frames")
        norms = np.linalg.norm(arrays["root_quat"], axis=1)
        bad = np.nonzero(np.abs(norms - 1.0) > _QUAT_TOLERANCE)[0]
        if len(bad):
            raise InvalidTrajectoryError(
                f"root_quat is not unit at frames {bad[:10].tolist()} "
                f"(norms {np.round(norms[bad[:3]], 4).tolist()})"
            )
        arrays["root_quat"] = arrays["root_quat"] / norms[:, None]
        object.__setattr__(self, "fps", fps)
        for name, value in arrays.items():
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def num_frames(self) -> int:
        return len(self.root_pos)

    @property
    def duration_s(self) -> float:
        return (self.num_frames - 1) / self.fps

    @property
    def joint_names(self) -> tuple[str, ...]:
        return JOINT_NAMES

    def qpos(self) -> np.ndarray:
        """MuJoCo ``qpos`` rows ``[T, 36]``: root xyz, root wxyz, 29 joints."""
        return np.concatenate([self.root_pos, self.root_quat, self.joint_pos], axis=1)

    @classmethod
    def from_qpos(cls, qpos: np.ndarray, fps: float) -> G1Trajectory:
        qpos = np.asarray(qpos, dtype=np.float64)
        if qpos.ndim != 2 or qpos.shape[1] != 7 + NUM_JOINTS:
            raise InvalidTrajectoryError(
                f"qpos must have shape [T, {7 + NUM_JOINTS}], got {list(qpos.shape)}"
            )
        return cls(fps, qpos[:, :3], qpos[:, 3:7], qpos[:, 7:])

    def joint_velocities(self) -> np.ndarray:
        """Finite-difference joint velocities ``[T, 29]`` (rad/s); zero for one frame."""
        if self.num_frames < 2:
            return np.zeros_like(self.joint_pos)
        return np.gradient(self.joint_pos, 1.0 / self.fps, axis=0)

    # --- files -----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``.npz`` or ``.csv`` (chosen by the suffix)."""
        path = Path(path)
        if path.suffix == ".npz":
            np.savez(
                path,
                fps=np.array(self.fps),
                root_pos=self.root_pos,
                root_quat=self.root_quat,
                joint_pos=self.joint_pos,
                joint_names=np.array(JOINT_NAMES),
            )
        elif path.suffix == ".csv":
            header = ",".join(
                (
                    "root_x",
                    "root_y",
                    "root_z",
                    "root_qw",
                    "root_qx",
                    "root_qy",
                    "root_qz",
                    *JOINT_NAMES,
                )
            )
            np.savetxt(
                path, self.qpos(), delimiter=",", fmt="%.9g",
                header=f"fps={self.fps:g}\n{header}", comments="# ",
            )  # fmt: skip
        else:
            raise ValueError(f"unsupported trajectory file type {path.suffix!r} (.npz or .csv)")
        return path

    @classmethod
    def load(cls, path: str | Path, fps: float | None = None) -> G1Trajectory:
        """Read a file written by :meth:`save` (``fps`` overrides or supplies the rate)."""
        path = Path(path)
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "joint_names" in z.files and tuple(z["joint_names"]) != JOINT_NAMES:
                    raise InvalidTrajectoryError(
                        f"{path} uses a different joint order: {list(z['joint_names'])[:4]}…"
                    )
                return cls(
                    fps if fps is not None else float(z["fps"]),
                    z["root_pos"],
                    z["root_quat"],
                    z["joint_pos"],
                )
        if path.suffix == ".csv":
            file_fps = None
            with path.open() as f:
                first = f.readline()
            if first.startswith("# fps="):
                file_fps = float(first[len("# fps=") :])
            rate = fps if fps is not None else file_fps
            if rate is None:
                raise InvalidTrajectoryError(f"{path} has no '# fps=' line; pass fps=")
            rows = np.loadtxt(path, delimiter=",", comments="#", ndmin=2)
            return cls.from_qpos(rows, rate)
        raise ValueError(f"unsupported trajectory file type {path.suffix!r} (.npz or .csv)")


def load_reference_clip(path: str | Path) -> G1Trajectory:
    """Read a G1 motion clip in the tracking-dataset ``.npz`` form.

    Two variants exist: ``joint_pos [T,36]`` holding full ``qpos`` with
    ``joint_names`` (holosoma), and ``joint_pos [T,29]`` with world poses of every
    body in ``body_pos_w``/``body_quat_w`` whose body 0 is the pelvis (AMP clips).
    Registry-shipped clips: ``G1Trajectory`` of ``fetch("amp/…")`` or
    ``fetch("holosoma/…")`` from :mod:`motionvla_model.motion.registry_data`.
    """
    with np.load(path, allow_pickle=False) as z:
        fps = float(np.asarray(z["fps"]).ravel()[0])
        if "joint_names" in z.files and tuple(z["joint_names"]) != JOINT_NAMES:
            raise InvalidTrajectoryError(f"{path} uses a different joint order")
        joint_pos = z["joint_pos"]
        if joint_pos.shape[1] == 7 + NUM_JOINTS:
            return G1Trajectory.from_qpos(joint_pos, fps)
        if joint_pos.shape[1] == NUM_JOINTS and "body_pos_w" in z.files:
            return G1Trajectory(fps, z["body_pos_w"][:, 0], z["body_quat_w"][:, 0], joint_pos)
    raise InvalidTrajectoryError(
        f"{path}: joint_pos {list(joint_pos.shape)} is neither qpos [T,36] nor joints [T,29] "
        "with body_pos_w"
    )
