"""Kinematic check: replay a trajectory through ``qpos`` and measure what it asks of the G1.

Nothing is simulated here; every frame is posed exactly (``mj_kinematics`` then
``mj_collision``) and the motion is differentiated in time. Measured, per trajectory:

* joint position, velocity and acceleration against the G1's limits. The acceleration
  limit of joint *i* is ``a_i = tau_max_i / M_ii``: the acceleration its motor gives
  the joint's own inertia (the mass-matrix diagonal, armature included, at the
  standing pose) when nothing else loads it. No motion can beat it, so a frame with
  ``|qddot_i| > a_i`` asks for more than the motor has;
* jitter, the mean ``|qddot|`` over joints and frames;
* pelvis speed (linear, angular), height and tilt ``acos(z_pelvis · z_world)``;
* contacts: robot–robot pairs that are not neighbours in the kinematic tree
  (MuJoCo already drops parent–child pairs; bodies joined only through bodies without
  collision geometry, like the pelvis and torso through the waist links, count as
  neighbours too), robot–floor penetration and robot–object penetration;
* foot sliding: mean horizontal speed of a foot while its sole is within
  ``foot_contact_height_m`` of the floor in two consecutive frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from retargeting.g1 import BODY, SITE, g1_description, joint_acceleration_limits
from retargeting.trajectory import G1Trajectory
from sim.config import SimCheckConfig
from sim.report import CheckResult
from sim.scene import object_body_name

__all__ = ["ContactIndex", "joint_acceleration_limits", "kinematic_checks", "trajectory_checks"]

_FLOOR, _ROBOT, _OBJECT = 0, 1, 2


@dataclass(frozen=True)
class ContactIndex:
    """What each geom of a compiled scene is (floor, robot or object) and which robot
    body pairs are neighbours (their contacts are not self-collisions)."""

    kind: np.ndarray  # [ngeom] _FLOOR / _ROBOT / _OBJECT, -1 for geoms that never collide
    body: np.ndarray  # [ngeom] body id
    neighbours: np.ndarray  # [nbody, nbody] bool

    @classmethod
    def of(cls, model: mujoco.MjModel) -> ContactIndex:
        pelvis = model.body(BODY["pelvis"]).id
        root_of = model.body_rootid
        kind = np.full(model.ngeom, -1)
        colliding = (model.geom_contype != 0) | (model.geom_conaffinity != 0)
        for g in np.nonzero(colliding)[0]:
            b = model.geom_bodyid[g]
            if root_of[b] == pelvis:
                kind[g] = _ROBOT
            elif b == 0:
                kind[g] = _FLOOR
            elif model.body(b).name.startswith(object_body_name("")):
                kind[g] = _OBJECT
        has_geom = np.zeros(model.nbody, bool)
        has_geom[model.geom_bodyid[kind == _ROBOT]] = True
        neighbours = np.eye(model.nbody, dtype=bool)
        for b in range(1, model.nbody):
            if root_of[b] != pelvis:
                continue
            # Climb to the nearest ancestor that can collide: that pair is adjacent.
            parent = model.body_parentid[b]
            while parent != 0 and not has_geom[parent] and parent != pelvis:
                parent = model.body_parentid[parent]
            neighbours[b, parent] = neighbours[parent, b] = True
        return cls(kind, model.geom_bodyid.copy(), neighbours)


@dataclass
class _FrameContacts:
    self_depth: np.ndarray
    self_pair: list[tuple[int, int]]
    floor_depth: np.ndarray
    object_depth: np.ndarray


def _replay(model: mujoco.MjModel, qpos: np.ndarray, index: ContactIndex) -> tuple:
    """Pose every frame; return the deepest contact of each kind and the foot positions."""
    data = mujoco.MjData(model)
    frames = len(qpos)
    contacts = _FrameContacts(
        np.zeros(frames), [(0, 0)] * frames, np.zeros(frames), np.zeros(frames)
    )
    feet = [model.site(SITE[f"{s}_foot"]).id for s in ("left", "right")]
    foot_pos = np.zeros((frames, 2, 3))
    for t in range(frames):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        mujoco.mj_collision(model, data)
        foot_pos[t] = data.site_xpos[feet]
        if data.ncon == 0:
            continue
        geoms = data.contact.geom[: data.ncon]
        depth = -data.contact.dist[: data.ncon]
        kinds = np.sort(index.kind[geoms], axis=1)
        floor = (kinds[:, 0] == _FLOOR) & (kinds[:, 1] == _ROBOT)
        obj = (kinds[:, 0] == _ROBOT) & (kinds[:, 1] == _OBJECT)
        bodies = index.body[geoms]
        robot_pair = (kinds[:, 0] == _ROBOT) & (kinds[:, 1] == _ROBOT)
        robot_pair &= ~index.neighbours[bodies[:, 0], bodies[:, 1]]
        if floor.any():
            contacts.floor_depth[t] = depth[floor].max()
        if obj.any():
            contacts.object_depth[t] = depth[obj].max()
        if robot_pair.any():
            worst = np.nonzero(robot_pair)[0][np.argmax(depth[robot_pair])]
            contacts.self_depth[t] = depth[worst]
            contacts.self_pair[t] = (int(bodies[worst, 0]), int(bodies[worst, 1]))
    return contacts, foot_pos


def _angular_speed(quat: np.ndarray, dt: float) -> np.ndarray:
    """Angle between consecutive orientations over ``dt`` (rad/s), [T-1]."""
    dots = np.abs(np.sum(quat[1:] * quat[:-1], axis=1)).clip(0.0, 1.0)
    return 2.0 * np.arccos(dots) / dt


def _tilt_deg(quat: np.ndarray) -> np.ndarray:
    """Angle between the pelvis' up axis and world up, from (w, x, y, z)."""
    x, y = quat[:, 1], quat[:, 2]
    up_z = 1.0 - 2.0 * (x * x + y * y)
    return np.degrees(np.arccos(up_z.clip(-1.0, 1.0)))


def _limit_check(
    name: str, value: float, threshold: float, unit: str, frame: int | None, what: str
) -> CheckResult:
    passed = bool(value <= threshold)
    reason = "" if passed else f"{what} {value:.3g} {unit} exceeds {threshold:.3g} {unit}"
    if not passed and frame is not None:
        reason += f" (frame {frame})"
    return CheckResult(name, passed, float(value), float(threshold), unit, reason, frame)


def trajectory_checks(
    traj: G1Trajectory, config: SimCheckConfig
) -> tuple[list[CheckResult], dict[str, float]]:
    """The kinematic checks that need no scene: joint limits, speeds and accelerations,
    jitter, and the pelvis' speed, height and tilt (what a generator can check of its
    own output without building the scene)."""
    desc = g1_description()
    names = desc.joint_names
    dt = 1.0 / traj.fps
    q = traj.joint_pos
    checks: list[CheckResult] = []
    metrics: dict[str, float] = {}

    low, high = desc.position_limits.T
    excess = np.maximum(low - q, q - high)  # [T, 29], > 0 outside the range
    t, j = np.unravel_index(np.argmax(excess), excess.shape)
    checks.append(
        _limit_check(
            "joint_position_limits", max(excess[t, j], 0.0), config.joint_limit_margin_rad,
            "rad", int(t), f"{names[j]} goes past its limit by",
        )
    )  # fmt: skip

    # Plain frame differences: a central gradient applied twice cancels the fastest
    # (frame-to-frame) oscillation, exactly the chatter a motor cannot follow.
    qd = np.diff(q, axis=0) / dt
    qdd = np.diff(q, n=2, axis=0) / dt**2 if len(q) > 2 else np.zeros((1, q.shape[1]))
    for name, values, limits, what, threshold in (
        ("joint_velocity_limits", qd, desc.velocity_limits, "speed", config.velocity_limit_ratio),
        (
            "joint_acceleration_limits",
            qdd,
            joint_acceleration_limits(),
            "acceleration",
            config.acceleration_limit_ratio,
        ),
    ):
        ratio = np.abs(values) / limits
        t, j = np.unravel_index(np.argmax(ratio), ratio.shape)
        unit = "rad/s" if what == "speed" else "rad/s²"
        checks.append(
            _limit_check(
                name, ratio[t, j], threshold, "x its limit", int(t),
                f"{names[j]} {what} {abs(values[t, j]):.3g} {unit} =",
            )
        )  # fmt: skip
        metrics[f"max_{name}_ratio"] = float(ratio[t, j])
    jitter = float(np.mean(np.abs(qdd)))
    metrics["jitter_rad_s2"] = jitter
    checks.append(
        _limit_check("jitter", jitter, config.jitter_rad_s2, "rad/s²", None, "mean |qddot|")
    )

    root_v = np.linalg.norm(np.diff(traj.root_pos, axis=0), axis=1) / dt
    root_w = _angular_speed(traj.root_quat, dt)
    for name, speeds, threshold, unit in (
        ("root_speed", root_v, config.root_speed_m_s, "m/s"),
        ("root_angular_speed", root_w, config.root_angular_speed_rad_s, "rad/s"),
    ):
        t = int(np.argmax(speeds))
        metrics[f"max_{name}"] = float(speeds[t])
        checks.append(_limit_check(name, speeds[t], threshold, unit, t, "pelvis moves at"))

    height = traj.root_pos[:, 2]
    low_h, high_h = config.root_height_range_m
    outside = np.maximum(low_h - height, height - high_h)
    t = int(np.argmax(outside))
    passed = bool(outside[t] <= 0)
    checks.append(
        CheckResult(
            "root_height", passed, float(height[t]), high_h if height[t] > high_h else low_h, "m",
            "" if passed else
            f"pelvis height {height[t]:.3g} m is outside [{low_h:g}, {high_h:g}] m (frame {t})",
            t,
        )
    )  # fmt: skip
    tilt = _tilt_deg(traj.root_quat)
    t = int(np.argmax(tilt))
    metrics["max_tilt_deg"] = float(tilt[t])
    checks.append(_limit_check("root_tilt", tilt[t], config.max_tilt_deg, "deg", t, "pelvis tilts"))
    return checks, metrics


def kinematic_checks(
    model: mujoco.MjModel,
    traj: G1Trajectory,
    config: SimCheckConfig,
    index: ContactIndex | None = None,
) -> tuple[list[CheckResult], dict[str, float]]:
    """All kinematic checks of ``traj`` in ``model`` (a scene from ``build_scene_model``):
    :func:`trajectory_checks`, then contacts and foot sliding."""
    checks, metrics = trajectory_checks(traj, config)
    dt = 1.0 / traj.fps
    index = index or ContactIndex.of(model)
    contacts, foot_pos = _replay(model, traj.qpos(), index)
    t = int(np.argmax(contacts.self_depth))
    pair = "/".join(model.body(b).name for b in contacts.self_pair[t])
    result = _limit_check(
        "self_collision", contacts.self_depth[t], config.self_collision_depth_m, "m", t,
        f"{pair} interpenetrate by",
    )  # fmt: skip
    checks.append(result)
    metrics["max_self_penetration_m"] = float(contacts.self_depth[t])
    for name, depths, threshold, what in (
        ("ground_penetration", contacts.floor_depth, config.ground_penetration_m, "floor"),
        ("object_collision", contacts.object_depth, config.object_penetration_m, "object"),
    ):
        t = int(np.argmax(depths))
        metrics[f"max_{name}_m"] = float(depths[t])
        checks.append(
            _limit_check(name, depths[t], threshold, "m", t, f"robot goes into the {what} by")
        )

    on_floor = foot_pos[:, :, 2] < config.foot_contact_height_m  # [T, 2]
    planted = on_floor[1:] & on_floor[:-1]
    slide = np.linalg.norm(np.diff(foot_pos[:, :, :2], axis=0), axis=2) / dt  # [T-1, 2]
    mean_slide = float(slide[planted].mean()) if planted.any() else 0.0
    metrics["foot_slide_m_s"] = mean_slide
    metrics["foot_contact_fraction"] = float(on_floor.mean())
    checks.append(
        _limit_check(
            "foot_sliding", mean_slide, config.foot_slide_m_s, "m/s", None,
            "feet in contact slide at a mean",
        )
    )  # fmt: skip
    return checks, metrics
