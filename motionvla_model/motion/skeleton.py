"""The SMPL-22 body skeleton that every human motion in the project is expressed on.

Human motion is ``float32 [T, 22, 3]``: joint positions in metres, Y up, in the SMPL
joint order that HumanML3D uses (0 pelvis … 21 right wrist). This module holds the
names, the tree, the kinematic chains and the rest-pose directions of that skeleton,
a reference set of bone lengths, and the validation every motion entry point shares.

The tree is given twice, as HumanML3D does: as ``SMPL22_PARENTS`` (one parent per
joint) and as ``KINEMATIC_CHAINS`` (five root-to-leaf chains). A bone is named by its
child joint ``j``; it runs from ``SMPL22_PARENTS[j]`` to ``j``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FACE_JOINTS",
    "FOOT_JOINTS",
    "KINEMATIC_CHAINS",
    "LEFT_FOOT_JOINTS",
    "MIRROR_JOINTS",
    "NUM_JOINTS",
    "REFERENCE_BONE_LENGTHS",
    "REST_DIRECTIONS",
    "RIGHT_FOOT_JOINTS",
    "SMPL22_JOINT_NAMES",
    "SMPL22_PARENTS",
    "MotionShapeError",
    "NonFiniteMotionError",
    "bone_lengths",
    "joint_index",
    "mirror_joints",
    "validate_joints",
    "z_up_to_y_up",
]


class MotionShapeError(ValueError):
    """A motion array has the wrong shape (the message names found and expected)."""


class NonFiniteMotionError(ValueError):
    """A motion array holds NaN or infinity (the message names frames and joints)."""


SMPL22_JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip",
    "right_hip",
    "spine1",
    "left_knee",
    "right_knee",
    "spine2",
    "left_ankle",
    "right_ankle",
    "spine3",
    "left_foot",
    "right_foot",
    "neck",
    "left_collar",
    "right_collar",
    "head",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
)
NUM_JOINTS = len(SMPL22_JOINT_NAMES)

# -1 marks the root.
SMPL22_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
)  # fmt: skip

# HumanML3D ("t2m") chains: right leg, left leg, spine to head, right arm, left arm.
# The order matters: the 6-D rotation features are accumulated along these chains.
KINEMATIC_CHAINS: tuple[tuple[int, ...], ...] = (
    (0, 2, 5, 8, 11),
    (0, 1, 4, 7, 10),
    (0, 3, 6, 9, 12, 15),
    (9, 14, 17, 19, 21),
    (9, 13, 16, 18, 20),
)

# Rest-pose direction of each bone (child joint index), the HumanML3D "raw offsets":
# +X is the body's left, +Y up, +Z forward; legs and arms hang down, feet and head
# point forward. Row 0 (the root has no bone) is zero.
REST_DIRECTIONS: np.ndarray = np.array(
    [
        [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0],
        [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1],
        [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, -1, 0], [0, -1, 0],
        [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
    ],
    dtype=np.float64,
)  # fmt: skip
REST_DIRECTIONS.setflags(write=False)

# Bone lengths (metres, by child joint) of the reference body that the uniform-skeleton
# step maps every motion onto: an adult of about 1.70 m with SMPL-neutral proportions
# (pelvis about 0.93 m above the floor when standing). HumanML3D uses the bone lengths
# of one of its own clips instead; pass those to the feature functions to match it.
REFERENCE_BONE_LENGTHS: np.ndarray = np.array(
    [
        0.0,  # pelvis (root)
        0.110, 0.110,  # hips
        0.120,  # spine1
        0.380, 0.380,  # knees (thighs)
        0.140,  # spine2
        0.400, 0.400,  # ankles (shins)
        0.060,  # spine3
        0.140, 0.140,  # feet (ankle to toe)
        0.210,  # neck
        0.130, 0.130,  # collars
        0.100,  # head
        0.110, 0.110,  # shoulders
        0.260, 0.260,  # elbows (upper arms)
        0.250, 0.250,  # wrists (forearms)
    ],
    dtype=np.float64,
)  # fmt: skip
REFERENCE_BONE_LENGTHS.setflags(write=False)

# Joints whose positions define the facing direction: right hip, left hip,
# right shoulder, left shoulder (HumanML3D's face_joint_indx).
FACE_JOINTS: tuple[int, int, int, int] = (2, 1, 17, 16)
# Ankle and toe of each foot; foot contacts are detected on these.
LEFT_FOOT_JOINTS: tuple[int, int] = (7, 10)
RIGHT_FOOT_JOINTS: tuple[int, int] = (8, 11)
FOOT_JOINTS: tuple[int, int, int, int] = (*LEFT_FOOT_JOINTS, *RIGHT_FOOT_JOINTS)


def joint_index(name: str) -> int:
    """Index of SMPL-22 joint ``name``; raises ``KeyError`` naming the known joints."""
    try:
        return SMPL22_JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown SMPL-22 joint {name!r}; known: {SMPL22_JOINT_NAMES}") from None


def validate_joints(joints: np.ndarray, *, min_frames: int = 1, what: str = "joints") -> np.ndarray:
    """Check a ``[T, 22, 3]`` motion and return it as a float64 array.

    Raises :class:`MotionShapeError` for another shape or fewer than ``min_frames``
    frames, and :class:`NonFiniteMotionError` naming the first frames and joints that
    hold NaN or infinity.
    """
    array = np.asarray(joints)
    if array.ndim != 3 or array.shape[1:] != (NUM_JOINTS, 3):
        raise MotionShapeError(
            f"{what} must have shape [T, {NUM_JOINTS}, 3] (SMPL-22 positions), got "
            f"{tuple(array.shape)}"
        )
    if array.shape[0] < min_frames:
        raise MotionShapeError(
            f"{what} needs at least {min_frames} frame(s), got {array.shape[0]} "
            f"(shape {tuple(array.shape)})"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise MotionShapeError(f"{what} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array).all(axis=-1)
    if bad.any():
        frames, joint_ids = np.nonzero(bad)
        shown = ", ".join(
            f"frame {f} {SMPL22_JOINT_NAMES[j]}"
            for f, j in zip(frames[:5], joint_ids[:5], strict=True)
        )
        raise NonFiniteMotionError(
            f"{what} hold NaN/inf at {bad.sum()} (frame, joint) pairs in frames "
            f"{np.unique(frames)[:10].tolist()}: {shown}{' …' if len(frames) > 5 else ''}"
        )
    return array


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Bone lengths ``[T, 22]`` (metres, by child joint; column 0 is zero) of a motion."""
    array = np.asarray(joints, dtype=np.float64)
    parents = np.array(SMPL22_PARENTS[1:])
    lengths = np.zeros(array.shape[:-1])
    lengths[..., 1:] = np.linalg.norm(array[..., 1:, :] - array[..., parents, :], axis=-1)
    return lengths


# Each joint's left-right counterpart (itself on the midline).
MIRROR_JOINTS: tuple[int, ...] = tuple(
    SMPL22_JOINT_NAMES.index(n.replace("left", "#").replace("right", "left").replace("#", "right"))
    for n in SMPL22_JOINT_NAMES
)


def mirror_joints(joints: np.ndarray) -> np.ndarray:
    """Left-right mirror image of a motion ``[..., 22, 3]``, as HumanML3D augments its data.

    The body's left is +X, so mirroring negates X and swaps every left joint with its
    right counterpart; the result is again a valid motion (same bone lengths, same
    height), walking the mirrored path. Mirroring twice gives the motion back.
    """
    array = np.asarray(joints)
    if array.ndim < 2 or array.shape[-2:] != (NUM_JOINTS, 3):
        raise MotionShapeError(f"joints must be [..., {NUM_JOINTS}, 3], got {array.shape}")
    out = array[..., MIRROR_JOINTS, :].copy()
    out[..., 0] *= -1
    return out


# (x, y, z) Z-up -> (x, z, -y) Y-up: a rotation of -90° about X (determinant +1).
_Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def z_up_to_y_up(points: np.ndarray) -> np.ndarray:
    """Rotate ``[..., 3]`` points from a Z-up to a Y-up frame without mirroring."""
    return np.asarray(points) @ _Z_UP_TO_Y_UP.T
