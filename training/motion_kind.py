"""What a motion does, read off its joints: the check that a command's kind was obeyed.

:func:`classify_motion` names the main kind of a human motion (HumanML3D joints, Y up,
metres) with the vocabulary of the synthetic commands (:mod:`training.data.commands`):
``walk``, ``run``, ``turn``, ``step_sideways``, ``jump``, ``squat``, ``wave``,
``raise_arms``, ``sit_down``, or ``stand`` when nothing of those happens. It measures
what any viewer would look at, in the body's starting frame:

* the pelvis: how far it drops (``drop``: standing height minus the lowest), where it
  ends (``end_drop``), how far it travels on the floor and in which direction
  (forward / sideways of the starting heading), how fast;
* the feet: *flight* frames, where both feet are above the floor at once;
* the heading: how far the body turns (hips and shoulders);
* the wrists: raised (at or above the shoulders, or held out from the body at shoulder
  height) and, while raised, how often the forearm reverses its sideways sway (a wave).

The rules run in an order that resolves overlaps the way the commands do: a body that
ends low sat down; leaving the floor stride after stride, or travelling faster than
2 m/s, is a run, and leaving it once a jump; dropping and coming back up is a squat;
travelling is walking, or stepping when it goes mostly sideways; turning in place is a
turn; and with the body in place, arms that sway overhead wave and arms that are held up
are raised. The thresholds sit between
what each command produces at its mildest and what the other commands produce at their
strongest (measured on the synthetic generator: every single-command ground-truth clip
of the held-out set is classified as its command; ``tests/test_motion_kind.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.metrics import heading_deg

__all__ = ["KINDS", "MotionKindSummary", "classify_motion", "command_kind"]

KINDS = (
    "walk", "run", "turn", "step_sideways", "jump", "squat", "wave", "raise_arms", "sit_down",
    "stand",
)  # fmt: skip

_PELVIS, _L_HIP, _R_HIP, _L_ANKLE, _R_ANKLE, _L_FOOT, _R_FOOT = 0, 1, 2, 7, 8, 10, 11
_L_SHOULDER, _R_SHOULDER, _L_WRIST, _R_WRIST = 16, 17, 20, 21

SIT_END_DROP_M = 0.22
SQUAT_DROP_M = 0.08
FLIGHT_CLEARANCE_M = 0.04
RUN_SPEED_MPS = 2.0
TRAVEL_M = 0.15
TURN_DEG = 10.0
RAISED_S = 0.3
WAVE_REVERSALS = 3


@dataclass(frozen=True)
class MotionKindSummary:
    """The kind and the measurements it was decided from."""

    kind: str
    drop_m: float
    end_drop_m: float
    travel_m: float
    sideways_fraction: float
    speed_mps: float
    flight_phases: int
    turn_deg: float
    raised_s: float
    sway_reversals: int


def _flight_phases(joints: np.ndarray, fps: float) -> int:
    """Runs of at least two frames with both feet above the floor."""
    feet = joints[:, [_L_ANKLE, _R_ANKLE, _L_FOOT, _R_FOOT], 1]
    floor = np.percentile(feet.min(axis=1), 5)
    ankles_floor = feet[:, :2].min()
    lowest = np.minimum(feet[:, :2].min(axis=1) - ankles_floor, feet[:, 2:].min(axis=1) - floor)
    airborne = lowest > FLIGHT_CLEARANCE_M
    edges = np.diff(np.concatenate([[0], airborne.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int(np.sum(ends - starts >= max(2, round(0.08 * fps))))


def _arms(joints: np.ndarray, fps: float) -> tuple[float, int]:
    """Longest time a wrist is raised (s) and the most sway reversals of a raised forearm."""
    longest, reversals = 0.0, 0
    hips = joints[:, _L_HIP] - joints[:, _R_HIP]
    hips[:, 1] = 0.0
    lateral_axis = hips / np.maximum(np.linalg.norm(hips, axis=1, keepdims=True), 1e-9)
    for shoulder, wrist in ((_L_SHOULDER, _L_WRIST), (_R_SHOULDER, _R_WRIST)):
        rel = joints[:, wrist] - joints[:, shoulder]
        above = rel[:, 1] > -0.02
        held_out = (np.hypot(rel[:, 0], rel[:, 2]) > 0.42) & (rel[:, 1] > -0.15)
        raised = above | held_out
        longest = max(longest, float(raised.sum()) / fps)
        if raised.sum() >= 3:
            lateral = np.sum(rel * lateral_axis, axis=1)[raised]
            sway = np.diff(lateral)
            signs = np.sign(sway[np.abs(sway) > 0.004])
            reversals = max(reversals, int(np.sum(signs[1:] != signs[:-1])))
    return longest, reversals


def classify_motion(joints: np.ndarray, fps: float = 20.0) -> MotionKindSummary:
    """The main kind of ``joints`` (``[T, 22, 3]``, Y up, metres) at ``fps``."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim != 3 or joints.shape[1:] != (22, 3) or len(joints) < 2:
        raise ValueError(f"joints must be [T >= 2, 22, 3], got {joints.shape}")
    pelvis = joints[:, _PELVIS]
    standing = float(np.median(pelvis[: max(1, round(0.15 * fps)), 1]))
    drop = standing - float(pelvis[:, 1].min())
    end_drop = standing - float(pelvis[-max(1, round(0.1 * fps)) :, 1].mean())
    heading = heading_deg(joints)
    yaw0 = np.radians(heading[0])
    forward = np.array([np.sin(yaw0), np.cos(yaw0)])
    left = np.array([forward[1], -forward[0]])
    moved = pelvis[-1, [0, 2]] - pelvis[0, [0, 2]]
    travel = float(np.linalg.norm(moved))
    sideways = abs(float(moved @ left)) / max(travel, 1e-9)
    # Peak ground speed, over half a second so that one jerky frame does not count.
    window = max(1, round(0.5 * fps))
    window = min(window, len(pelvis) - 1)
    step = pelvis[window:, [0, 2]] - pelvis[:-window, [0, 2]]
    speed = float(np.linalg.norm(step, axis=1).max() * fps / window)
    flights = _flight_phases(joints, fps)
    turn = float(heading[-1] - heading[0])
    raised, reversals = _arms(joints, fps)

    if end_drop > SIT_END_DROP_M:
        kind = "sit_down"
    elif flights >= 3 or (travel >= TRAVEL_M and speed > RUN_SPEED_MPS):
        kind = "run"
    elif flights:
        kind = "jump"
    elif drop > SQUAT_DROP_M and end_drop < SQUAT_DROP_M / 2 and travel < TRAVEL_M:
        kind = "squat"
    elif travel >= TRAVEL_M:
        kind = "step_sideways" if sideways > 0.7 and abs(turn) < TURN_DEG else "walk"
    elif abs(turn) >= TURN_DEG:
        kind = "turn"
    elif raised >= RAISED_S:
        kind = "wave" if reversals >= WAVE_REVERSALS else "raise_arms"
    else:
        kind = "stand"
    return MotionKindSummary(
        kind=kind,
        drop_m=drop,
        end_drop_m=end_drop,
        travel_m=travel,
        sideways_fraction=sideways,
        speed_mps=speed,
        flight_phases=flights,
        turn_deg=turn,
        raised_s=raised,
        sway_reversals=reversals,
    )


def command_kind(params: dict) -> str | None:
    """The kind a sample's motion should have, from its dataset ``params``; ``None`` when
    it has several commands (a sequence has no single kind)."""
    if "scene_task" in params:
        return "walk" if params["scene_task"]["action"] == "walk_to" else "turn"
    commands = params.get("commands", [])
    if len(commands) != 1:
        return None
    return str(commands[0]["kind"])
