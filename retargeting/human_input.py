"""The human side of retargeting: the SMPL-22 skeleton, input checks and repairs.

Input contract: joints ``float [T, 22, 3]`` in metres, Y up, SMPL-22 order (as in
HumanML3D), with a frame rate. Everything downstream works Z up like the G1, so
:func:`to_z_up` maps ``(x, y, z)`` to ``(z, x, y)``: a cyclic permutation, hence a
proper rotation, that turns the SMPL facing direction (+Z) into the G1's (+X) and
the SMPL left (+X) into the G1's (+Y).

Checks raise :class:`RetargetInputError` naming the problem. One repair is made
and documented: a short run of non-finite values inside a clip (a dropped marker)
is filled by linear interpolation over time.
"""

from __future__ import annotations

import numpy as np

from retargeting.config import RetargetConfig

__all__ = [
    "HUMAN_JOINTS",
    "HUMAN_PARENTS",
    "J",
    "RetargetInputError",
    "check_bones",
    "check_calibration_frame",
    "check_fps",
    "check_shape",
    "human_height",
    "prepare_human_clip",
    "to_z_up",
]

HUMAN_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
    "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip
HUMAN_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
)  # fmt: skip
J: dict[str, int] = {name: i for i, name in enumerate(HUMAN_JOINTS)}

# A bone shorter than this is a broken skeleton (joints collapsed onto each other).
_MIN_BONE_M = 0.01


class RetargetInputError(ValueError):
    """Human motion given to the retargeter violates the input contract."""


def to_z_up(joints_y_up: np.ndarray) -> np.ndarray:
    """Y-up SMPL coordinates → Z-up G1 world coordinates (``[..., 3]``)."""
    return joints_y_up[..., [2, 0, 1]]


def human_height(frame_z_up: np.ndarray) -> float:
    """Standing height implied by one frame's bone lengths (pose independent), metres.

    Sums the leg (hip–knee–ankle), the spine chain pelvis–spine1–spine2–spine3–neck–
    head and the pelvis–hip drop; the top of the skull and the heel lie beyond the
    joints, so this underestimates a real body height by roughly 10 %.
    """
    f = frame_z_up

    def chain(*names: str) -> float:
        idx = [J[n] for n in names]
        return float(np.sum(np.linalg.norm(np.diff(f[idx], axis=0), axis=1)))

    leg = max(chain("left_hip", "left_knee", "left_ankle"), chain("right_hip", "right_knee",
              "right_ankle"))  # fmt: skip
    spine = chain("pelvis", "spine1", "spine2", "spine3", "neck", "head")
    hip_drop = float(np.linalg.norm(f[J["left_hip"]] - f[J["pelvis"]]))
    return leg + spine + 0.5 * hip_drop


def check_shape(joints: np.ndarray, what: str, single: bool) -> None:
    expected = "[22, 3]" if single else "[T, 22, 3]"
    ok = joints.shape == (22, 3) if single else joints.ndim == 3 and joints.shape[1:] == (22, 3)
    if not ok:
        raise RetargetInputError(
            f"{what} must have shape {expected} (SMPL-22 joints, metres, Y up), "
            f"got {list(joints.shape)}"
        )


def check_fps(fps: float) -> float:
    try:
        rate = float(fps)
    except (TypeError, ValueError) as err:
        raise RetargetInputError(f"fps must be a number, got {fps!r}") from err
    if not np.isfinite(rate) or rate <= 0 or rate > 1000:
        raise RetargetInputError(f"fps must be in (0, 1000], got {fps!r}")
    return rate


def check_bones(joints_z_up: np.ndarray, where: str) -> None:
    """Raise if any bone of ``[..., 22, 3]`` joints is (nearly) zero length."""
    parents = np.array(HUMAN_PARENTS[1:])
    bones = np.linalg.norm(joints_z_up[..., 1:, :] - joints_z_up[..., parents, :], axis=-1)
    short = bones < _MIN_BONE_M
    if short.any():
        flat = short.reshape(-1, 21)
        frames = np.nonzero(flat.any(axis=1))[0]
        names = sorted(
            {f"{HUMAN_JOINTS[parents[i]]}->{HUMAN_JOINTS[i + 1]}" for i in np.nonzero(flat)[1]}
        )
        at = f" at frames {frames[:10].tolist()}" if short.ndim > 1 else ""
        raise RetargetInputError(
            f"{where}: zero-length bone(s) {names[:5]} (< {_MIN_BONE_M * 100:.0f} cm){at}: "
            "the skeleton has collapsed joints"
        )


def check_calibration_frame(frame_z_up: np.ndarray, config: RetargetConfig, where: str) -> None:
    """The frame the retargeter calibrates on must be plausibly sized and upright."""
    height = human_height(frame_z_up)
    if not config.min_human_height_m <= height <= config.max_human_height_m:
        hint = " (centimetres instead of metres?)" if height > 50 else ""
        raise RetargetInputError(
            f"{where}: the skeleton is {height:.2f} m tall, outside "
            f"[{config.min_human_height_m}, {config.max_human_height_m}] m{hint}"
        )
    _check_upright(frame_z_up[None], where)


def _check_upright(joints_z_up: np.ndarray, where: str) -> None:
    # Handstands exist, so only a clip whose head is mostly below its pelvis is
    # rejected: that is a flipped up axis, not a motion.
    head_above = joints_z_up[:, J["head"], 2] - joints_z_up[:, J["pelvis"], 2]
    if np.median(head_above) < 0:
        raise RetargetInputError(
            f"{where}: the skeleton is upside down (head below pelvis): joints must be "
            "Y up; flip or rotate the clip first"
        )


def _repair_gaps(joints: np.ndarray, fps: float, config: RetargetConfig) -> np.ndarray:
    """Linearly interpolate short interior runs of non-finite frames, else raise."""
    bad_frames = ~np.all(np.isfinite(joints), axis=(1, 2))
    if not bad_frames.any():
        return joints
    frames = np.nonzero(bad_frames)[0]
    max_gap = int(np.floor(config.max_nan_gap_seconds * fps))
    # Runs of consecutive bad frames: [start, stop).
    edges = np.diff(np.concatenate([[0], bad_frames.astype(np.int8), [0]]))
    starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
    for start, stop in zip(starts, stops, strict=True):
        if start == 0 or stop == len(joints):
            raise RetargetInputError(
                f"non-finite (NaN/inf) joints at the {'start' if start == 0 else 'end'} of "
                f"the clip (frames {start}..{stop - 1}): nothing to interpolate from"
            )
        if stop - start > max_gap:
            raise RetargetInputError(
                f"non-finite (NaN/inf) joints in frames {start}..{stop - 1} "
                f"({stop - start} frames): longer than the {max_gap}-frame gap "
                f"(max_nan_gap_seconds={config.max_nan_gap_seconds}) that is interpolated"
            )
    repaired = joints.copy()
    good = np.nonzero(~bad_frames)[0]
    flat = repaired.reshape(len(joints), -1)
    for col in range(flat.shape[1]):
        flat[frames, col] = np.interp(frames, good, flat[good, col])
    return repaired


def prepare_human_clip(
    joints: np.ndarray, fps: float, config: RetargetConfig
) -> tuple[np.ndarray, float]:
    """Validate a whole clip; return it (float64, Y up, short gaps repaired) and its rate."""
    try:
        arr = np.asarray(joints, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise RetargetInputError(f"joints are not a numeric array: {err}") from err
    check_shape(arr, "joints", single=False)
    rate = check_fps(fps)
    if len(arr) < 2:
        raise RetargetInputError(
            f"a clip needs at least 2 frames, got {len(arr)} (stream single frames through "
            "StreamingRetargeter instead)"
        )
    duration = (len(arr) - 1) / rate
    if duration > config.max_clip_seconds:
        raise RetargetInputError(
            f"clip lasts {duration:.0f} s, more than max_clip_seconds="
            f"{config.max_clip_seconds:g}: split it, or raise the limit"
        )
    arr = _repair_gaps(arr, rate, config)
    z_up = to_z_up(arr)
    check_bones(z_up, "joints")
    _check_upright(z_up, "joints")
    check_calibration_frame(z_up[0], config, "frame 0")
    return arr, rate
