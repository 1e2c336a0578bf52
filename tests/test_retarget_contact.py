"""Foot contact in the retargeter: transitions between planted and free feet are smooth."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from retargeting.config import RetargetConfig
from retargeting.contact import FootContactTracker, smoothstep
from retargeting.human_frames import foot_pitch
from retargeting.human_input import to_z_up
from retargeting.scaling import LANDMARKS, HumanCalibration, g1_proportions, landmark_targets
from training.data.commands import Jump, Run, StepSideways, Turn, Walk
from training.data.synthetic_motion import synthesize

FPS = 50.0
FEET = [list(LANDMARKS).index("left_foot"), list(LANDMARKS).index("right_foot")]


def _track(joints_y_up: np.ndarray, config: RetargetConfig | None = None):
    """Foot targets ``[T, 2, 3]``, the chain's own foot positions, contacts and pitches."""
    g1 = g1_proportions()
    frames = to_z_up(joints_y_up.astype(np.float64))
    calibration = HumanCalibration.from_frame(frames[0], g1)
    tracker = FootContactTracker(config or RetargetConfig(), 1.0 / FPS)
    feet, chain, contact, pitch, lift = [], [], [], [], []
    for frame in frames:
        targets = landmark_targets(frame, calibration, g1)
        chain.append(targets.positions[FEET].copy())
        tracker.apply(frame, targets, calibration, g1)
        feet.append(targets.positions[FEET].copy())
        contact.append(targets.feet.contact.copy())
        lift.append(targets.feet.lift.copy())
        pitch.append([-np.arcsin(targets.foot_rotations[s][2, 0]) for s in ("left", "right")])
    return np.array(feet), np.array(chain), np.array(contact), np.array(pitch), np.array(lift)


def _free_height(lift: np.ndarray, scale: float, config: RetargetConfig) -> np.ndarray:
    """The free target's height above the ankle's standing height (retargeting.contact):
    ``s · r(l)``, ``r(l) = l² / h_c`` below the contact height ``h_c``, ``l`` above."""
    lift = np.maximum(lift, 0.0)
    h_c = config.contact_height_m
    return scale * np.where(lift < h_c, lift * lift / h_c, lift)


def _peak(x: np.ndarray) -> float:
    """Largest second difference (per frame², metres or radians) over frames and feet."""
    return float(np.abs(np.diff(x, n=2, axis=0)).max())


@settings(max_examples=12, deadline=None)
@given(
    kind=st.sampled_from(["walk", "run", "turn", "step", "jump"]),
    speed=st.floats(0.0, 1.0),
    turn=st.floats(-90.0, 90.0),
)
def test_contact_transitions_keep_the_foot_target_acceleration_bounded(kind, speed, turn):
    """Whatever the gait, the planted/free switches add at most a few mm/frame² to what
    the human foot's own path asks: no one-frame step in height, position or pitch."""
    command = {
        "walk": Walk(2.5, speed_mps=0.6 + speed, turn_deg=turn),
        "run": Run(4.0, speed_mps=1.8 + 1.2 * speed),
        "turn": Turn(turn if abs(turn) >= 1 else 45.0),
        "step": StepSideways("left" if turn > 0 else "right", 0.3 + speed),
        "jump": Jump(distance_m=0.8 * speed, height_m=0.1 + 0.2 * speed),
    }[kind]
    joints = synthesize([command], fps=FPS).joints
    feet, chain, contact, pitch, lift = _track(joints)
    assume(contact.any() and not contact.all())  # there are transitions to judge
    # Horizontal: the chain's own acceleration plus a little for the releases.
    assert _peak(feet[..., :2]) <= _peak(chain[..., :2]) + 0.008
    # Height: the larger of the human ankle's and toe's own vertical acceleration (scaled)
    # and the free target's (the human lift through the ramp that flattens the last h_c
    # above the floor, which stops a foot landing from a jump within two frames), plus
    # what a release starting at rest needs to catch up with a foot rising at speed v
    # within the blend time T (about 2 v / T), plus a little.
    human = to_z_up(joints.astype(np.float64))[:, [7, 8, 10, 11], 2]
    scale = HumanCalibration.from_frame(to_z_up(joints[0].astype(np.float64)), g1_proportions())
    free = _free_height(lift, scale.root_scale, RetargetConfig())
    rise = scale.root_scale * np.abs(np.diff(human, axis=0)).max()  # per frame
    catch_up = 2 * rise / (RetargetConfig().contact_blend_s * FPS)
    own = max(scale.root_scale * _peak(human), _peak(free))
    assert _peak(feet[..., 2]) <= own + catch_up + 0.01
    # Pitch: no faster than the human foot turns, plus the fade.
    human_pitch = np.array(
        [[foot_pitch(f, s) for s in ("left", "right")] for f in to_z_up(joints.astype(np.float64))]
    )
    assert np.abs(np.diff(pitch, axis=0)).max() <= np.abs(np.diff(human_pitch, axis=0)).max() + 0.06


def test_touch_down_plants_the_foot_within_the_blend_time_and_lift_off_leaves_gently():
    config = RetargetConfig()
    joints = synthesize([Walk(2.0, speed_mps=1.0)], fps=FPS).joints
    feet, _, contact, pitch, _ = _track(joints, config)
    ankle = g1_proportions().ankle_height
    blend = round(config.contact_blend_s * FPS)
    for foot in range(2):
        edges = np.diff(contact[:, foot].astype(int))
        for touch in np.flatnonzero(edges == 1) + 1:
            held = contact[touch : touch + blend + 2, foot]
            if held.all():
                # Flat and on the floor once the fade is over, not before.
                assert abs(pitch[touch + blend, foot]) < 1e-9
                assert abs(feet[touch + blend, foot, 2] - ankle) < 1e-6
                after = feet[touch + blend : touch + blend + 2, foot]
                step = np.linalg.norm(np.diff(after, axis=0))
                assert step < 1e-9  # then held still
        for lift in np.flatnonzero(edges == -1) + 1:
            # The first free frame is still (nearly) where the foot was planted.
            moved = np.linalg.norm(feet[lift, foot] - feet[lift - 1, foot])
            assert moved < 0.004
    assert smoothstep(0.0) == 0.0 and smoothstep(1.0) == 1.0 and smoothstep(0.5) == 0.5
