"""Foot-contact clean-up on HumanML3D features: planted feet hold still, others are left."""

import numpy as np
import pytest

from motionvla_model.motion.features import features_to_joints, joints_to_features
from motionvla_model.motion.foot_contact import FootPlanting, contact_runs, plant_feet
from motionvla_model.motion.layouts import HUMANML3D
from training.data.commands import Walk
from training.data.synthetic_motion import synthesize
from training.metrics import geometry_metrics

TOES, ANKLES = (10, 11), (7, 8)


@pytest.fixture(scope="module")
def walk() -> np.ndarray:
    return joints_to_features(synthesize([Walk(3.0)]).joints)


def _drifting(features: np.ndarray) -> np.ndarray:
    """The feet of ``features`` wander by up to 3 cm at 1 Hz, as decoding leaves them."""
    x = features.copy()
    ric = x[:, HUMANML3D["ric_positions"]].reshape(len(x), 21, 3)
    t = np.arange(len(x)) / 20.0
    for side, phase in ((0, 0.0), (1, 1.3)):
        wobble = 0.03 * np.sin(2 * np.pi * 1.0 * t + phase)
        for joint in (ANKLES[side], TOES[side]):
            ric[:, joint - 1, 0] += wobble
            ric[:, joint - 1, 2] += 0.5 * wobble
    x[:, HUMANML3D["ric_positions"]] = ric.reshape(len(x), -1)
    return x


def test_planted_feet_hold_still_and_nothing_else_moves(walk):
    drifting = _drifting(walk)
    cleaned = plant_feet(drifting)
    assert cleaned.dtype == np.float32 and cleaned.shape == walk.shape
    before, after = features_to_joints(drifting), features_to_joints(cleaned)
    # Only the ankles and toes move; root and every other joint are as decoded.
    others = [j for j in range(22) if j not in (*ANKLES, *TOES)]
    np.testing.assert_allclose(after[:, others], before[:, others], atol=1e-5)
    # In the clip's stances (contact channels, known from the clean walk) the toes hold
    # still; the drifting input slid there.
    for side, toe in enumerate(TOES):
        contact = walk[:, HUMANML3D["foot_contact"]][:, 2 * side : 2 * side + 2].mean(axis=1)
        for start, stop in contact_runs(contact > 0.5):
            if stop - start < 4:
                continue
            inner = slice(start + 1, stop - 1)
            assert np.ptp(after[inner, toe], axis=0).max() < 1e-4
            assert np.ptp(before[inner, toe], axis=0).max() > 5e-3
    # MBench's foot floating and sliding come back towards the clean walk's.
    clean = geometry_metrics(features_to_joints(walk))
    drift, fixed = (geometry_metrics(j) for j in (before, after))
    assert fixed["foot_sliding"] < 0.5 * drift["foot_sliding"]
    assert fixed["foot_floating"] <= max(2 * clean["foot_floating"], 0.02)
    # The local velocities agree with the new positions.
    velocity = cleaned[:, HUMANML3D["local_velocity"]].reshape(len(walk), 22, 3)
    assert np.abs(velocity[:-1, TOES[0]]).max() < np.abs(
        drifting[:, HUMANML3D["local_velocity"]].reshape(len(walk), 22, 3)[:-1, TOES[0]]
    ).max() + 0.1


def test_a_slow_foot_in_the_air_is_not_planted(walk):
    """HumanML3D labels a slowly moving foot as in contact whatever its height."""
    x = walk.copy()
    ric = x[:, HUMANML3D["ric_positions"]].reshape(len(x), 21, 3)
    lift = 0.25 * np.sin(np.linspace(0, np.pi, len(x)))  # the left foot rises 25 cm
    for joint in (ANKLES[0], TOES[0]):
        ric[:, joint - 1, 1] += lift
    x[:, HUMANML3D["ric_positions"]] = ric.reshape(len(x), -1)
    x[:, HUMANML3D["foot_contact"]] = 1.0
    raised = features_to_joints(plant_feet(x))
    middle = slice(len(x) // 3, 2 * len(x) // 3)
    np.testing.assert_allclose(raised[middle, TOES[0]], features_to_joints(x)[middle, TOES[0]],
                               atol=1e-5)  # fmt: skip


def test_edge_cases_and_settings(walk):
    one = walk[:1]
    np.testing.assert_array_equal(plant_feet(one), one)
    # Without contact channels the floor test alone still plants feet that rest on the
    # floor, and without either nothing changes.
    no_contact = _drifting(walk)
    no_contact[:, HUMANML3D["foot_contact"]] = 0.0
    floor_only = plant_feet(no_contact)
    assert np.abs(floor_only - no_contact).max() > 1e-3
    nothing = plant_feet(no_contact, FootPlanting(on_floor_m=1e-9))
    np.testing.assert_allclose(nothing, no_contact, atol=1e-6)
    for bad in ({"max_lift_m": 0.0}, {"blend_s": -1.0}, {"min_frames": 0}):
        with pytest.raises(ValueError):
            FootPlanting(**bad)
    with pytest.raises(ValueError, match="one clip"):
        plant_feet(np.stack([walk, walk]))
