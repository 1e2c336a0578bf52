"""Real human clips from the registry, converted to SMPL-22 joints (Y up, metres)."""

import numpy as np
import pytest

from motionvla_model.motion.human_clips import (
    OMOMO_NAMES,
    HumanClip,
    HumanClipError,
    load_climb,
    load_omomo,
)
from motionvla_model.motion.skeleton import NonFiniteMotionError, bone_lengths, joint_index


def _facing_consistency(joints: np.ndarray) -> float:
    """Fraction of frames whose toes point along the hip-derived forward direction.

    With Y up and the body's left on +X, forward is up × (right hip - left hip)… here
    (left - right) × up; a mirrored conversion would make this close to 0.
    """
    across = joints[:, joint_index("left_hip")] - joints[:, joint_index("right_hip")]
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))
    toes = joints[:, joint_index("left_foot")] - joints[:, joint_index("left_ankle")]
    return float(np.mean(np.sum(toes * forward, axis=1) > 0))


def _check_human(clip: HumanClip, frames: int, fps: float) -> None:
    j = clip.joints
    assert j.dtype == np.float32 and j.shape == (frames, 22, 3)
    assert clip.fps == fps
    # Y up: head mostly above the pelvis, feet close to the floor.
    assert np.mean(j[:, joint_index("head"), 1] > j[:, 0, 1]) > 0.8  # box pick-ups bend over
    assert np.min(j[:, [10, 11], 1]) < 0.1
    head_over_feet = j[:, joint_index("head"), 1] - j[:, [10, 11], 1].min(axis=1)
    assert 1.2 < np.median(head_over_feet) < 1.9
    lengths = bone_lengths(j).mean(axis=0)
    assert np.all(lengths[1:] > 0.03) and np.all(lengths[1:] < 0.6)
    # Left and right symmetric within 6 cm (thigh, shin, upper arm).
    for left, right in [(4, 5), (7, 8), (18, 19)]:
        assert abs(lengths[left] - lengths[right]) < 0.06
    assert _facing_consistency(j) > 0.9


@pytest.mark.parametrize("name,frames", [(OMOMO_NAMES[0], 196), (OMOMO_NAMES[1], 222)])
def test_omomo_clips_are_human_sized_and_not_mirrored(name, frames):
    clip = load_omomo(name)
    assert clip.name == name
    _check_human(clip, frames, 30.0)


def test_climb_clip():
    clip = load_climb(1)
    _check_human(clip, 2423, 120.0)
    assert clip.duration == pytest.approx(2422 / 120.0)
    # spine2 is the midpoint of the two mocap spine joints.
    np.testing.assert_allclose(
        clip.joints[:, 6], 0.5 * (clip.joints[:, 3] + clip.joints[:, 9]), atol=1e-5
    )


def test_bad_names_and_indices():
    with pytest.raises(HumanClipError, match="known"):
        load_omomo("omomo/sub1_nothing")
    with pytest.raises(HumanClipError, match=r"0\.\.4"):
        load_climb(5)
    with pytest.raises(HumanClipError, match="int"):
        load_climb("0")  # type: ignore[arg-type]


def test_human_clip_validates():
    with pytest.raises(ValueError, match="fps"):
        HumanClip("x", np.zeros((3, 22, 3)), 0.0)
    bad = np.zeros((3, 22, 3))
    bad[1, 0, 0] = np.inf
    with pytest.raises(NonFiniteMotionError, match="frame 1 pelvis"):
        HumanClip("x", bad, 30.0)
