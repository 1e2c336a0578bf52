"""From a human pose to G1-sized landmark targets (per-segment scaling).

The G1 is shorter than most people and proportioned differently, so human joint
positions are not used as targets directly. Instead:

- the **root path** is scaled by ``s = H_g1 / H_human``, the ratio of standing
  pelvis heights, each the sum of the pelvis→hip drop, thigh, shin and ankle
  height. The pelvis target is ``s · (p_pelvis − floor)``: stride length and
  crouch depth come out in G1 proportion;
- **orientations** of pelvis, torso and feet come from
  :mod:`retargeting.human_frames`;
- **rigid parts** (hips in the pelvis, shoulders and head in the torso) sit at their
  G1 offsets in those frames;
- **limbs** keep the human's segment *directions* with the G1's segment *lengths*:
  ``target_child = target_parent + L_g1 · unit(p_child − p_parent)``. The G1 can
  reach such targets exactly unless a joint limit stops it, which is what keeps the
  keypoint error small.

The feet's height and orientation, and their pinning during contact, are set
afterwards by :mod:`retargeting.contact` from the human foot's lift above its
standing height. Calibration (floor, standing foot heights, scale) is
taken from the first frame, which must have at least one foot on the floor; the
same calibration serves a live stream and a whole clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import mujoco
import numpy as np

from retargeting.g1 import BODY, SITE, g1_description, load_g1_model
from retargeting.human_frames import foot_pitch, pelvis_rotation, torso_rotation
from retargeting.human_input import J

__all__ = [
    "LANDMARKS",
    "SIDES",
    "FeetState",
    "G1Proportions",
    "HumanCalibration",
    "LandmarkTargets",
    "g1_proportions",
    "landmark_targets",
]

# Landmarks the IK tracks and the metrics compare: name -> (MuJoCo object, type).
LANDMARKS: dict[str, tuple[str, str]] = {
    "pelvis": (BODY["pelvis"], "body"),
    "torso": (BODY["torso"], "body"),
    "head": (SITE["head"], "site"),
    "left_knee": (BODY["left_knee"], "body"),
    "right_knee": (BODY["right_knee"], "body"),
    "left_foot": (BODY["left_foot"], "body"),
    "right_foot": (BODY["right_foot"], "body"),
    "left_elbow": (BODY["left_elbow"], "body"),
    "right_elbow": (BODY["right_elbow"], "body"),
    "left_wrist": (BODY["left_wrist"], "body"),
    "right_wrist": (BODY["right_wrist"], "body"),
}
_INDEX = {name: i for i, name in enumerate(LANDMARKS)}
SIDES = ("left", "right")


@dataclass(frozen=True)
class G1Proportions:
    """Segment lengths and rigid offsets of the G1, measured in its standing pose."""

    hip_in_pelvis: dict[str, np.ndarray]
    torso_in_pelvis: np.ndarray
    shoulder_in_torso: dict[str, np.ndarray]
    head_in_torso: np.ndarray
    thigh: float
    shin: float
    upper_arm: float
    forearm: float
    ankle_height: float  # ankle-roll body origin above the lowest point of the sole
    standing_pelvis_height: float
    foot_geoms: tuple[int, ...]  # sole contact spheres, for the ground check
    sole_points: np.ndarray  # [N, 3] sole sphere centres in the ankle-roll frame
    sole_radius: float

    def ankle_clearance(self, foot_rotation: np.ndarray) -> float:
        """Lowest ankle height at which a foot turned by ``foot_rotation`` clears the floor."""
        return float(self.sole_radius - np.min((self.sole_points @ foot_rotation.T)[:, 2]))


@lru_cache(maxsize=1)
def g1_proportions() -> G1Proportions:
    model = load_g1_model()
    data = mujoco.MjData(model)
    data.qpos[:] = g1_description().stand_qpos
    mujoco.mj_kinematics(model, data)

    def body(role: str) -> np.ndarray:
        return data.body(BODY[role]).xpos.copy()

    def in_frame(role: str, point: np.ndarray) -> np.ndarray:
        b = data.body(BODY[role])
        return b.xmat.reshape(3, 3).T @ (point - b.xpos)

    def dist(a: str, b: str) -> float:
        return float(np.linalg.norm(body(a) - body(b)))

    foot_bodies = {model.body(BODY[f"{s}_foot"]).id for s in SIDES}
    foot_geoms = tuple(
        g
        for g in range(model.ngeom)
        if model.geom_bodyid[g] in foot_bodies and model.geom_contype[g] != 0
    )
    sole = min(data.geom_xpos[g][2] - model.geom_size[g][0] for g in foot_geoms)
    ankle_height = float(body("left_foot")[2] - sole)
    left_soles = [g for g in foot_geoms if model.geom_bodyid[g] == model.body(BODY["left_foot"]).id]
    radii = {float(model.geom_size[g][0]) for g in foot_geoms}
    if len(radii) != 1:
        raise ValueError(f"G1 sole spheres differ in radius: {sorted(radii)}")
    return G1Proportions(
        hip_in_pelvis={s: in_frame("pelvis", body(f"{s}_hip")) for s in SIDES},
        torso_in_pelvis=in_frame("pelvis", body("torso")),
        shoulder_in_torso={s: in_frame("torso", body(f"{s}_shoulder")) for s in SIDES},
        head_in_torso=in_frame("torso", data.site(SITE["head"]).xpos.copy()),
        thigh=dist("left_hip", "left_knee"),
        shin=dist("left_knee", "left_foot"),
        upper_arm=dist("left_shoulder", "left_elbow"),
        forearm=dist("left_elbow", "left_wrist"),
        ankle_height=ankle_height,
        standing_pelvis_height=float(body("pelvis")[2] - sole),
        foot_geoms=foot_geoms,
        # Both feet are mirror images about the sagittal plane; the left one stands in.
        sole_points=np.stack([in_frame("left_foot", data.geom_xpos[g]) for g in left_soles]),
        sole_radius=radii.pop(),
    )


def _length(frame: np.ndarray, a: str, b: str) -> float:
    return float(np.linalg.norm(frame[J[a]] - frame[J[b]]))


@dataclass(frozen=True)
class HumanCalibration:
    """Per-performer constants, taken from one frame with a foot on the floor."""

    floor: float  # height of the floor (lowest foot joint in the calibration frame)
    ankle_rest: float  # ankle joint height above the floor when standing on the foot
    toe_rest: float  # toe joint height above the floor when standing on the foot
    rest_foot_pitch: float  # ankle → toe slope of a foot standing flat (rad)
    root_scale: float  # G1 / human standing pelvis height

    @classmethod
    def from_frame(cls, frame: np.ndarray, g1: G1Proportions) -> HumanCalibration:
        feet = [J[f"{s}_{j}"] for s in SIDES for j in ("ankle", "foot")]
        floor = float(frame[feet, 2].min())
        # The lower foot is the standing one; its joint heights are the rest heights.
        side = min(SIDES, key=lambda s: frame[[J[f"{s}_ankle"], J[f"{s}_foot"]], 2].min())
        ankle_rest = float(frame[J[f"{side}_ankle"], 2] - floor)
        toe_rest = float(frame[J[f"{side}_foot"], 2] - floor)
        up = frame[J["spine1"]] - frame[J["pelvis"]]
        up /= np.linalg.norm(up)
        hip_drop = float(
            np.mean([-np.dot(frame[J[f"{s}_hip"]] - frame[J["pelvis"]], up) for s in SIDES])
        )
        leg = np.mean(
            [
                _length(frame, f"{s}_hip", f"{s}_knee") + _length(frame, f"{s}_knee", f"{s}_ankle")
                for s in SIDES
            ]
        )
        human_pelvis_height = max(hip_drop, 0.0) + float(leg) + ankle_rest
        return cls(
            floor=floor,
            ankle_rest=ankle_rest,
            toe_rest=toe_rest,
            rest_foot_pitch=foot_pitch(frame, side),
            root_scale=g1.standing_pelvis_height / human_pelvis_height,
        )

    def foot_lift(self, frame: np.ndarray, side: str) -> float:
        """How far the foot's lowest joint is above where it rests when standing (m)."""
        return min(
            float(frame[J[f"{side}_ankle"], 2]) - self.floor - self.ankle_rest,
            float(frame[J[f"{side}_foot"], 2]) - self.floor - self.toe_rest,
        )


@dataclass
class FeetState:
    """The per-foot part of a frame's targets that contact handling adjusts."""

    lift: np.ndarray  # [2] human foot lift above rest (m), left/right
    speed: np.ndarray  # [2] horizontal speed of the human foot (m/s)
    contact: np.ndarray  # [2] bool, set by contact handling


@dataclass
class LandmarkTargets:
    """Where each G1 landmark should be (``positions [K,3]``, order of LANDMARKS)."""

    positions: np.ndarray
    pelvis_rotation: np.ndarray
    torso_rotation: np.ndarray
    foot_rotations: dict[str, np.ndarray]
    feet: FeetState

    def __getitem__(self, name: str) -> np.ndarray:
        return self.positions[_INDEX[name]]

    def __setitem__(self, name: str, value: np.ndarray) -> None:
        self.positions[_INDEX[name]] = value


def _limb(parent: np.ndarray, frame: np.ndarray, a: str, b: str, length: float) -> np.ndarray:
    d = frame[J[b]] - frame[J[a]]
    return parent + length * d / np.linalg.norm(d)


def landmark_targets(
    frame: np.ndarray, calib: HumanCalibration, g1: G1Proportions
) -> LandmarkTargets:
    """G1 landmark targets for one Z-up human frame (feet before contact handling)."""
    s = calib.root_scale
    r_pelvis = pelvis_rotation(frame)
    r_torso = torso_rotation(frame)
    pelvis = frame[J["pelvis"]].copy()
    pelvis[2] -= calib.floor
    pelvis *= s
    torso = pelvis + r_pelvis @ g1.torso_in_pelvis
    positions = np.empty((len(LANDMARKS), 3))
    targets = LandmarkTargets(
        positions,
        r_pelvis,
        r_torso,
        {},
        FeetState(np.zeros(2), np.zeros(2), np.zeros(2, dtype=bool)),
    )
    targets["pelvis"] = pelvis
    targets["torso"] = torso
    targets["head"] = torso + r_torso @ g1.head_in_torso
    for i, side in enumerate(SIDES):
        hip = pelvis + r_pelvis @ g1.hip_in_pelvis[side]
        knee = _limb(hip, frame, f"{side}_hip", f"{side}_knee", g1.thigh)
        ankle = _limb(knee, frame, f"{side}_knee", f"{side}_ankle", g1.shin)
        lift = calib.foot_lift(frame, side)
        targets[f"{side}_knee"] = knee
        targets[f"{side}_foot"] = ankle
        targets.feet.lift[i] = lift
        shoulder = torso + r_torso @ g1.shoulder_in_torso[side]
        elbow = _limb(shoulder, frame, f"{side}_shoulder", f"{side}_elbow", g1.upper_arm)
        targets[f"{side}_elbow"] = elbow
        targets[f"{side}_wrist"] = _limb(elbow, frame, f"{side}_elbow", f"{side}_wrist", g1.forearm)
    return targets
