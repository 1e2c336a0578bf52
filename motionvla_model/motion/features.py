r"""Joint positions ⇄ HumanML3D 263-d features, following the published processing method.

Forward (:func:`joints_to_features`), for joints :math:`p \in \mathbb{R}^{T\times22\times3}`:

1. **Uniform skeleton.** Every bone keeps its direction and gets the reference length
   :math:`\ell_j`: :math:`p'_j = p'_{parent(j)} + \ell_j \hat d_j`, with
   :math:`\hat d_j = (p_j - p_{parent(j)}) / \lVert\cdot\rVert`; the root trajectory is
   scaled by the leg-length ratio (thigh + shin of the right leg at frame 0).
2. **Floor and origin.** Subtract the lowest joint height of the clip from Y and the
   frame-0 root XZ from every frame.
3. **Facing.** Rotate about Y so that frame 0 faces +Z, where "forward" is
   :math:`f = \hat y \times \widehat{(r_{hip} - l_{hip}) + (r_{sh} - l_{sh})}`.
4. **Heading.** Per frame, the forward direction smoothed over time (Gaussian, 1 s)
   defines the root yaw :math:`r_t` (quaternion mapping :math:`f_t` to +Z).
5. **Features** (rows ``t = 0 … T-2``):
   ``[0]`` :math:`\arcsin` of the Y component of :math:`r_{t+1} r_t^{-1}` (the *half*
   yaw step, as published); ``[1:3]`` XZ of :math:`r_{t+1}(root_{t+1} - root_t)`;
   ``[3]`` root height; ``[4:67]`` ric: :math:`r_t(p_{t,j} - root^{xz}_t)`, j ≥ 1;
   ``[67:193]`` cont6d: first two columns of each joint's rotation, found by aligning
   the rest directions with the bones along ``KINEMATIC_CHAINS``; ``[193:259]``
   :math:`r_t(p_{t+1} - p_t)` for all joints; ``[259:263]`` foot contacts: squared
   per-frame displacement of ankle/toe below a threshold.

Inverse (:func:`features_to_joints`, HumanML3D's ``recover_from_ric``): integrate the
yaw steps and the heading-frame root velocities, take the root height, and rotate the
ric positions back into the world.

**Alignment.** ``features_to_joints(joints_to_features(p))`` equals
``canonicalize_joints(p)[:-1]`` (to float32 precision), where ``canonicalize_joints``
applies steps 1–3 and then the constant yaw :math:`r_0` that the inverse assumes for
frame 0. Two deliberate departures from the published code, both needed for an exact
round trip: the yaw step quaternion is sign-fixed to ``w ≥ 0`` (the published code
flips the turn direction when the heading crosses ±180°), and antiparallel bone/rest
pairs get a well-defined 180° rotation instead of NaN.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.ndimage import gaussian_filter1d

from motionvla_model.motion.layouts import HUMANML3D
from motionvla_model.motion.skeleton import (
    FACE_JOINTS,
    KINEMATIC_CHAINS,
    LEFT_FOOT_JOINTS,
    NUM_JOINTS,
    REFERENCE_BONE_LENGTHS,
    REST_DIRECTIONS,
    RIGHT_FOOT_JOINTS,
    SMPL22_PARENTS,
    MotionShapeError,
    NonFiniteMotionError,
    validate_joints,
)

__all__ = [
    "FEATURE_DIM",
    "HUMANML3D_FPS",
    "MotionShapeError",
    "NonFiniteMotionError",
    "canonicalize_joints",
    "features_to_joints",
    "joints_to_features",
    "recover_root",
    "uniform_skeleton",
]

FEATURE_DIM = HUMANML3D.dim
HUMANML3D_FPS = 20.0
# Published foot-contact threshold on the squared per-frame displacement at 20 fps
# (≈ 0.89 m/s); rescaled for other frame rates so contacts mean the same speed.
_CONTACT_THRESHOLD_20FPS = 0.002
# Published heading smoothing: a Gaussian of sigma 20 frames at 20 fps (1 second).
_HEADING_SIGMA_SECONDS = 1.0
_EPS = 1e-8
_UP = np.array([0.0, 1.0, 0.0])


# --- quaternions (w, x, y, z), vectorised over leading axes -------------------------


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def _qinv(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    # v' = v + 2w (u × v) + 2 u × (u × v), u the vector part: no matrices per frame.
    w, u = q[..., :1], q[..., 1:]
    uv = np.cross(u, v)
    return v + 2.0 * (w * uv + np.cross(u, uv))


def _qbetween(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest-arc unit quaternion rotating direction ``u`` onto direction ``v``."""
    u = np.broadcast_to(u, np.broadcast_shapes(u.shape, v.shape))
    norm = np.sqrt((u * u).sum(-1) * (v * v).sum(-1))
    q = np.concatenate([(norm + (u * v).sum(-1))[..., None], np.cross(u, v)], axis=-1)
    # Antiparallel: any axis normal to u works; take the one from the least aligned
    # basis vector so the result is deterministic.
    opposite = q[..., 0] <= 1e-9 * np.maximum(norm, _EPS)
    if opposite.any():
        uo = u[opposite]
        basis = np.eye(3)[np.argmin(np.abs(uo), axis=-1)]
        q[opposite] = np.concatenate([np.zeros((len(uo), 1)), np.cross(uo, basis)], axis=-1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _yaw_to_forward(forward: np.ndarray) -> np.ndarray:
    """Quaternion about +Y mapping horizontal ``forward`` onto +Z (``w ≥ 0``)."""
    half = -0.5 * np.arctan2(forward[..., 0], forward[..., 2])
    zeros = np.zeros_like(half)
    return np.stack([np.cos(half), zeros, np.sin(half), zeros], axis=-1)


def _quat_to_cont6d(q: np.ndarray) -> np.ndarray:
    """First two columns of the rotation matrix, ``[r00, r10, r20, r01, r11, r21]``."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    col0 = np.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)], -1)
    col1 = np.stack([2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)], -1)
    return np.concatenate([col0, col1], axis=-1)


# --- forward processing ---------------------------------------------------------------


def _check_bone_lengths(bone_lengths: np.ndarray) -> np.ndarray:
    lengths = np.asarray(bone_lengths, dtype=np.float64)
    if lengths.shape != (NUM_JOINTS,):
        raise MotionShapeError(
            f"bone_lengths must have shape ({NUM_JOINTS},) (by child joint), got {lengths.shape}"
        )
    if not np.all(np.isfinite(lengths)) or np.any(lengths[1:] <= 0):
        raise ValueError("bone_lengths must be finite and positive for joints 1..21")
    return lengths


def uniform_skeleton(
    joints: np.ndarray, bone_lengths: np.ndarray = REFERENCE_BONE_LENGTHS
) -> np.ndarray:
    """Give a ``[T, 22, 3]`` motion the reference bone lengths, keeping bone directions.

    The root trajectory scales by ``(ℓ_rknee + ℓ_rankle) / (source thigh + shin at
    frame 0)``. A zero-length source bone takes its rest direction.
    """
    p = validate_joints(joints)
    lengths = _check_bone_lengths(bone_lengths)
    src_leg = np.linalg.norm(p[0, 5] - p[0, 2]) + np.linalg.norm(p[0, 8] - p[0, 5])
    if src_leg < _EPS:
        raise MotionShapeError("the right leg has zero length at frame 0; cannot scale it")
    out = np.empty_like(p)
    out[:, 0] = p[:, 0] * ((lengths[5] + lengths[8]) / src_leg)
    # Parents precede children in SMPL order, so one pass places every joint.
    for j in range(1, NUM_JOINTS):
        parent = SMPL22_PARENTS[j]
        bone = p[:, j] - p[:, parent]
        norm = np.linalg.norm(bone, axis=-1, keepdims=True)
        direction = np.where(norm > _EPS, bone / np.maximum(norm, _EPS), REST_DIRECTIONS[j])
        out[:, j] = out[:, parent] + lengths[j] * direction
    return out


def _forward_directions(p: np.ndarray) -> np.ndarray:
    r_hip, l_hip, r_sh, l_sh = FACE_JOINTS
    across = (p[..., r_hip, :] - p[..., l_hip, :]) + (p[..., r_sh, :] - p[..., l_sh, :])
    across = across / np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), _EPS)
    return np.cross(_UP, across)


def _normalize_floor_origin_facing(p: np.ndarray) -> np.ndarray:
    p = p.copy()
    p[..., 1] -= p[..., 1].min()
    p -= p[0, 0] * np.array([1.0, 0.0, 1.0])
    return _qrot(_yaw_to_forward(_forward_directions(p[0])), p)


def _heading(p: np.ndarray, fps: float) -> np.ndarray:
    forward = _forward_directions(p)
    sigma = _HEADING_SIGMA_SECONDS * fps
    if len(forward) > 1:
        forward = gaussian_filter1d(forward, sigma, axis=0, mode="nearest")
    return _yaw_to_forward(forward)


def _check_fps(fps: float) -> float:
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    return float(fps)


def canonicalize_joints(
    joints: np.ndarray,
    fps: float = HUMANML3D_FPS,
    *,
    bone_lengths: np.ndarray | None = REFERENCE_BONE_LENGTHS,
) -> np.ndarray:
    """The motion exactly as the features encode it, ``float32 [T, 22, 3]``.

    Uniform skeleton (skipped when ``bone_lengths`` is ``None``), floor at Y = 0,
    frame-0 root at the XZ origin, frame 0 facing +Z, then the constant yaw of the
    smoothed frame-0 heading, which :func:`features_to_joints` takes as its frame 0.
    """
    p = validate_joints(joints)
    fps = _check_fps(fps)
    if bone_lengths is not None:
        p = uniform_skeleton(p, bone_lengths)
    p = _normalize_floor_origin_facing(p)
    return _qrot(_heading(p, fps)[0], p).astype(np.float32)


def _local_rotations(p: np.ndarray, root_quat: np.ndarray) -> np.ndarray:
    """Per-joint rotations ``[T, 22, 4]`` aligning rest directions with the bones.

    As published, every chain starts from the root yaw (also the arm chains that
    branch at spine3) and each joint stores its bone's rotation relative to the
    accumulated rotation of its chain.
    """
    quats = np.zeros((*p.shape[:2], 4))
    quats[:, 0] = root_quat
    for chain in KINEMATIC_CHAINS:
        accumulated = root_quat
        for parent, child in itertools.pairwise(chain):
            bone = p[:, child] - p[:, parent]
            bone = bone / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), _EPS)
            global_rot = _qbetween(REST_DIRECTIONS[child], bone)
            local = _qmul(_qinv(accumulated), global_rot)
            quats[:, child] = local
            accumulated = _qmul(accumulated, local)
    return quats


def joints_to_features(
    joints: np.ndarray,
    fps: float = HUMANML3D_FPS,
    *,
    bone_lengths: np.ndarray | None = REFERENCE_BONE_LENGTHS,
    contact_threshold: float = _CONTACT_THRESHOLD_20FPS,
) -> np.ndarray:
    """HumanML3D features ``float32 [T-1, 263]`` of joints ``[T, 22, 3]`` (metres, Y up).

    ``fps`` only sets time constants (heading smoothing, contact threshold); the
    velocities are per frame, as in HumanML3D, so resample to 20 fps first for
    features comparable with HumanML3D data. ``contact_threshold`` is the squared
    per-frame foot displacement (m²) at 20 fps below which a foot joint is in contact.
    ``bone_lengths=None`` keeps the source skeleton.

    Raises :class:`MotionShapeError` (wrong shape, fewer than 2 frames) and
    :class:`NonFiniteMotionError` (NaN/inf, naming frames and joints).
    """
    p = validate_joints(joints, min_frames=2)
    fps = _check_fps(fps)
    if bone_lengths is not None:
        p = uniform_skeleton(p, bone_lengths)
    p = _normalize_floor_origin_facing(p)
    num = len(p)

    displacement = p[1:] - p[:-1]  # [T-1, 22, 3], world frame
    threshold = contact_threshold * (HUMANML3D_FPS / fps) ** 2
    squared = (displacement[:, [*LEFT_FOOT_JOINTS, *RIGHT_FOOT_JOINTS]] ** 2).sum(-1)
    contacts = (squared < threshold).astype(np.float64)

    heading = _heading(p, fps)  # [T, 4]
    cont6d = _quat_to_cont6d(_local_rotations(p, heading))

    step = _qmul(heading[1:], _qinv(heading[:-1]))
    step *= np.where(step[:, :1] < 0, -1.0, 1.0)  # w ≥ 0 keeps the turn direction
    root_rot_velocity = np.arcsin(np.clip(step[:, 2:3], -1.0, 1.0))
    root_velocity = _qrot(heading[1:], displacement[:, 0])[:, [0, 2]]

    centred = p - p[:, :1] * np.array([1.0, 0.0, 1.0])
    ric = _qrot(heading[:, None], centred)
    local_velocity = _qrot(heading[:-1, None], displacement)

    features = np.concatenate(
        [
            root_rot_velocity,
            root_velocity,
            ric[:-1, 0, 1:2],
            ric[:-1, 1:].reshape(num - 1, -1),
            cont6d[:-1, 1:].reshape(num - 1, -1),
            local_velocity.reshape(num - 1, -1),
            contacts,
        ],
        axis=-1,
    )
    return features.astype(np.float32)


# --- inverse ------------------------------------------------------------------------


def _validate_features(features: np.ndarray) -> np.ndarray:
    x = np.asarray(features)
    if x.ndim < 2 or x.shape[-1] != FEATURE_DIM:
        raise MotionShapeError(
            f"features must have shape [..., T, {FEATURE_DIM}] (HumanML3D layout), got "
            f"{tuple(x.shape)}"
        )
    if x.shape[-2] < 1:
        raise MotionShapeError(f"features need at least 1 frame, got shape {tuple(x.shape)}")
    if not np.issubdtype(x.dtype, np.number):
        raise MotionShapeError(f"features must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        index = np.argwhere(bad)
        frames = np.unique(index[:, -2])[:10].tolist()
        dims = np.unique(index[:, -1])[:10].tolist()
        raise NonFiniteMotionError(
            f"features hold {bad.sum()} NaN/inf values in frames {frames} at dims {dims}"
        )
    return x


def recover_root(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root yaw quaternions ``[..., T, 4]`` and positions ``[..., T, 3]`` from features.

    Frame 0 has identity yaw and the root at the XZ origin; later frames integrate the
    half-angle yaw steps and the heading-frame XZ velocities of the previous frame.
    """
    x = _validate_features(features)
    angle = np.zeros(x.shape[:-1])
    angle[..., 1:] = x[..., :-1, 0]
    angle = np.cumsum(angle, axis=-1)
    zeros = np.zeros_like(angle)
    yaw = np.stack([np.cos(angle), zeros, np.sin(angle), zeros], axis=-1)
    step = np.zeros((*x.shape[:-1], 3))
    step[..., 1:, 0] = x[..., :-1, 1]
    step[..., 1:, 2] = x[..., :-1, 2]
    position = np.cumsum(_qrot(_qinv(yaw), step), axis=-2)
    position[..., 1] = x[..., 3]
    return yaw, position


def features_to_joints(features: np.ndarray) -> np.ndarray:
    """Joint positions ``float32 [..., T, 22, 3]`` from HumanML3D features ``[..., T, 263]``.

    Works on any leading batch axes. Only the root channels and the ric positions
    are used (the 6-D rotations, local velocities and contacts are redundant here).
    """
    x = _validate_features(features)
    yaw, root = recover_root(x)
    ric = x[..., HUMANML3D["ric_positions"]].reshape(*x.shape[:-1], NUM_JOINTS - 1, 3)
    body = _qrot(_qinv(yaw)[..., None, :], ric)
    body[..., 0] += root[..., None, 0]
    body[..., 2] += root[..., None, 2]
    return np.concatenate([root[..., None, :], body], axis=-2).astype(np.float32)
