"""Real human motion clips from public registry packages, as SMPL-22 joints (Y up, metres).

Sources (fetched by :mod:`motionvla_model.motion.registry_data`, never committed):

* ``omomo/sub3_largebox_003``, ``omomo/sub10_largebox_049``: OMOMO clips as shipped by
  ``holosoma-retargeting`` (InterMimic layout, 30 fps). Each frame is a 591-wide row;
  columns ``162:318`` are the 52 SMPL-H joint positions (Z up, metres) in the
  depth-first order Pelvis, L_Hip, L_Knee, L_Ankle, L_Toe, R_Hip, …, Torso, Spine,
  Chest, Neck, Head, L_Thorax, L_Shoulder, L_Elbow, L_Wrist, (15 left-hand joints),
  R_Thorax, R_Shoulder, R_Elbow, R_Wrist, (15 right-hand joints). The 22 body joints
  map one to one onto SMPL-22.
* ``climb/seq_0`` … ``climb/seq_4``: climbing mocap (53 joints, 120 fps, Z up,
  metres) in the joint order of the package's "mocap" format (Hips, Spine, Spine1,
  Neck, Head, arms with fingers, legs, two foot markers). The skeleton has two spine
  joints where SMPL has three: ``spine1 = Spine``, ``spine3 = Spine1`` and ``spine2``
  is their midpoint; ``left_foot`` is ``LeftToeBase`` and ``left_collar`` is
  ``LeftShoulder`` (the same on the right).
* BVH files (``bvh/test`` …), see :mod:`motionvla_model.motion.bvh`.

Z-up sources are turned Y-up with the proper rotation ``(x, y, z) -> (x, z, -y)``
(-90° about X), which keeps left and right (a plain axis swap would mirror the body).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motionvla_model.motion import registry_data
from motionvla_model.motion.bvh import load_bvh
from motionvla_model.motion.skeleton import MotionShapeError, validate_joints, z_up_to_y_up

__all__ = [
    "CLIMB_FPS",
    "CLIMB_TO_SMPL22",
    "OMOMO_FPS",
    "OMOMO_NAMES",
    "OMOMO_TO_SMPL22",
    "HumanClip",
    "HumanClipError",
    "load_bvh_clip",
    "load_climb",
    "load_omomo",
]


class HumanClipError(ValueError):
    """A clip name is unknown or its file does not hold what the loader expects."""


@dataclass(frozen=True, eq=False)
class HumanClip:
    """A human motion: ``joints float32 [T, 22, 3]`` (metres, Y up, SMPL-22) at ``fps``."""

    name: str
    joints: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        joints = validate_joints(self.joints, what=f"clip {self.name!r} joints")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"clip {self.name!r}: fps must be positive, got {self.fps}")
        object.__setattr__(self, "joints", joints.astype(np.float32))
        object.__setattr__(self, "fps", float(self.fps))

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (``(T - 1) / fps``)."""
        return (self.num_frames - 1) / self.fps


OMOMO_FPS = 30.0
OMOMO_NAMES: tuple[str, ...] = ("omomo/sub3_largebox_003", "omomo/sub10_largebox_049")
_OMOMO_ROW = 591
_OMOMO_JOINT_COLUMNS = slice(162, 162 + 52 * 3)
# SMPL-22 joint i is column OMOMO_TO_SMPL22[i] of the 52 SMPL-H joints.
OMOMO_TO_SMPL22: tuple[int, ...] = (
    0,  # pelvis      <- Pelvis
    1,  # left_hip    <- L_Hip
    5,  # right_hip   <- R_Hip
    9,  # spine1      <- Torso
    2,  # left_knee   <- L_Knee
    6,  # right_knee  <- R_Knee
    10,  # spine2     <- Spine
    3,  # left_ankle  <- L_Ankle
    7,  # right_ankle <- R_Ankle
    11,  # spine3     <- Chest
    4,  # left_foot   <- L_Toe
    8,  # right_foot  <- R_Toe
    12,  # neck       <- Neck
    14,  # left_collar  <- L_Thorax
    33,  # right_collar <- R_Thorax
    13,  # head         <- Head
    15,  # left_shoulder  <- L_Shoulder
    34,  # right_shoulder <- R_Shoulder
    16,  # left_elbow   <- L_Elbow
    35,  # right_elbow  <- R_Elbow
    17,  # left_wrist   <- L_Wrist
    36,  # right_wrist  <- R_Wrist
)

CLIMB_FPS = 120.0
CLIMB_SEQUENCES = 5
_CLIMB_JOINTS = 53
# SMPL-22 joint i is the mean of the climbing-mocap joints CLIMB_TO_SMPL22[i].
CLIMB_TO_SMPL22: tuple[tuple[int, ...], ...] = (
    (0,),  # pelvis <- Hips
    (43,),  # left_hip <- LeftUpLeg
    (47,),  # right_hip <- RightUpLeg
    (1,),  # spine1 <- Spine
    (44,),  # left_knee <- LeftLeg
    (48,),  # right_knee <- RightLeg
    (1, 2),  # spine2 <- midpoint of Spine and Spine1
    (45,),  # left_ankle <- LeftFoot
    (49,),  # right_ankle <- RightFoot
    (2,),  # spine3 <- Spine1
    (46,),  # left_foot <- LeftToeBase
    (50,),  # right_foot <- RightToeBase
    (3,),  # neck <- Neck
    (5,),  # left_collar <- LeftShoulder
    (24,),  # right_collar <- RightShoulder
    (4,),  # head <- Head
    (6,),  # left_shoulder <- LeftArm
    (25,),  # right_shoulder <- RightArm
    (7,),  # left_elbow <- LeftForeArm
    (26,),  # right_elbow <- RightForeArm
    (8,),  # left_wrist <- LeftHand
    (27,),  # right_wrist <- RightHand
)

def _omomo_rows(name: str) -> np.ndarray:
    import torch  # heavy; only this loader needs it

    path = registry_data.fetch(name)
    data = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(data, torch.Tensor) or data.ndim != 2 or data.shape[1] != _OMOMO_ROW:
        shape = tuple(data.shape) if isinstance(data, torch.Tensor) else type(data).__name__
        raise HumanClipError(f"{path} should hold a [T, {_OMOMO_ROW}] tensor, got {shape}")
    return data.detach().to(torch.float64).numpy()


def load_omomo(name: str) -> HumanClip:
    """Load an OMOMO clip (``"omomo/sub3_largebox_003"`` or ``"omomo/sub10_largebox_049"``)."""
    if name not in OMOMO_NAMES:
        raise HumanClipError(f"unknown OMOMO clip {name!r}; known: {list(OMOMO_NAMES)}")
    rows = _omomo_rows(name)
    smplh = rows[:, _OMOMO_JOINT_COLUMNS].reshape(len(rows), 52, 3)
    return HumanClip(name, z_up_to_y_up(smplh[:, OMOMO_TO_SMPL22]), OMOMO_FPS)


def load_climb(index: int) -> HumanClip:
    """Load climbing mocap sequence ``index`` (0–4) at its native 120 fps."""
    if isinstance(index, bool) or not isinstance(index, int | np.integer):
        raise HumanClipError(f"climb index must be an int in 0..4, got {index!r}")
    if not 0 <= index < CLIMB_SEQUENCES:
        raise HumanClipError(f"climb index must be in 0..{CLIMB_SEQUENCES - 1}, got {index}")
    name = f"climb/seq_{index}"
    raw = np.load(registry_data.fetch(name), allow_pickle=False)
    if raw.ndim != 3 or raw.shape[1:] != (_CLIMB_JOINTS, 3):
        raise MotionShapeError(f"{name} should be [T, {_CLIMB_JOINTS}, 3], got {raw.shape}")
    raw = raw.astype(np.float64)
    joints = np.stack([raw[:, list(group)].mean(axis=1) for group in CLIMB_TO_SMPL22], axis=1)
    return HumanClip(name, z_up_to_y_up(joints), CLIMB_FPS)


def load_bvh_clip(name: str, target_fps: float | None = None) -> HumanClip:
    """Load a catalogued BVH clip (e.g. ``"bvh/test"``) through :func:`bvh.load_bvh`."""
    if not name.startswith("bvh/") or name not in registry_data.CATALOGUE:
        raise HumanClipError(f"unknown BVH clip {name!r}; known: {registry_data.names('bvh/')}")
    motion = load_bvh(registry_data.fetch(name), target_fps=target_fps)
    return HumanClip(name, motion.joints, motion.fps)
