"""Dynamic check: track the trajectory in physics and measure how much help it needed.

The G1's 29 position actuators (the Menagerie PD servos, clamped at each joint's
``actuatorfrcrange``) follow the reference joint angles and velocities: a servo's
torque is ``k_p (ctrl - q) - k_v qdot``, so the target is set to
``ctrl = q_ref + (k_v / k_p) qdot_ref``, which makes it ``k_p (q_ref - q) + k_v (qdot_ref -
qdot)``; without it the servo's own damping fights every fast motion (a walking hip
then saturates its motor just to move). A free-floating humanoid
under joint PD alone falls on almost any motion, because nothing balances it; so,
as motion-imitation work does with residual forces, a virtual *assist* wrench on the
pelvis pulls the root along the reference, and its size says how plausible the
motion is: a motion whose feet carry the robot needs almost no assist, one that
floats, slides or leans impossibly needs a lot.

The assist is a PD wrench on the pelvis, scaled by the whole robot's mass ``m`` and
rotational inertia ``I`` (pelvis frame, standing pose):

    F   = m (k_p (p_ref - p) + k_d (v_ref - v))
    tau = R I (k_p rotvec(R^T R_ref) + k_d (R^T R_ref w_ref - w))     (w in the pelvis frame)

It has no gravity feed-forward. The damping part ``-k_d m v`` / ``-k_d I w`` is
MuJoCo damping on the root's six degrees of freedom, which the ``implicitfast``
integrator treats implicitly; the rest is applied through ``xfrc_applied`` at every
physics step. Explicit damping is not enough here: the pelvis alone is light, so
gains sized for the whole robot make an explicit damper ring and diverge. The
assist is reported as a fraction of body weight (force) and of ``m g h`` (torque,
``h`` the standing pelvis height), mean and peak over the rollout.

A second rollout without assist answers "would the robot have fallen
without help": it stops when the pelvis is ``fall_height_m`` lower than the reference
or tilted ``fall_tilt_deg`` away from it.

Contacts between robot bodies are switched off in these rollouts (the kinematic check
judges them, and mesh–mesh collisions dominate the cost); the floor and scene objects
collide as usual. A rollout that produces non-finite or runaway states, or makes
MuJoCo warn, fails the ``simulation_stable`` check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import mujoco
import numpy as np

from retargeting.g1 import BODY, NUM_JOINTS, g1_description
from retargeting.trajectory import G1Trajectory
from sim.config import SimCheckConfig
from sim.report import CheckResult
from sim.scene import SceneDescription, scene_spec

__all__ = ["BudgetExceededError", "PhysicsScene", "ReferenceSamples", "dynamic_checks"]

_GRAVITY = 9.81
# m/s or rad/s: no G1 state comes near it unless the solver diverged (or the reference
# itself asks for it: the bound is raised to twice the reference's fastest speed).
_RUNAWAY_SPEED = 100.0
_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADQACC,
    mujoco.mjtWarning.mjWARN_BADQVEL,
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_CONTACTFULL,
    mujoco.mjtWarning.mjWARN_CNSTRFULL,
)


class BudgetExceededError(RuntimeError):
    """A rollout ran past its wall-clock budget."""


@dataclass(frozen=True)
class PhysicsScene:
    """A scene compiled for tracking: robot self-contacts off, the check's time step, and
    the robot's mass and rotational inertia that scale the assist."""

    model: mujoco.MjModel
    mass: float  # kg
    inertia: np.ndarray  # [3] principal-axis diagonal about the pelvis, pelvis frame

    @classmethod
    def build(cls, scene: SceneDescription | None, config: SimCheckConfig) -> PhysicsScene:
        spec = scene_spec(scene)
        spec.option.timestep = config.physics_timestep_s
        model = spec.compile()
        pelvis = model.body(BODY["pelvis"]).id
        robot = model.body_rootid[model.geom_bodyid] == pelvis
        # Contact needs contype(a) & conaffinity(b) or the reverse: with conaffinity 0
        # on every robot geom, robot-robot pairs never collide; floor and objects do.
        model.geom_conaffinity[robot] = 0
        desc = g1_description()
        data = mujoco.MjData(model)
        data.qpos[: len(desc.stand_qpos)] = desc.stand_qpos
        mujoco.mj_forward(model, data)
        full = np.zeros((model.nv, model.nv))
        mujoco.mj_fullM(model, data, full)
        return cls(model, desc.total_mass, np.diag(full)[3:6].copy())


@dataclass(frozen=True)
class ReferenceSamples:
    """The reference resampled at the control rate: ``qpos [N,36]`` and ``qvel [N,35]``."""

    dt: float
    qpos: np.ndarray
    qvel: np.ndarray

    @classmethod
    def of(cls, traj: G1Trajectory, control_hz: float) -> ReferenceSamples:
        qpos = traj.qpos()
        frames = traj.num_frames
        times = np.arange(frames) / traj.fps
        # Root angular velocity in the pelvis frame (MuJoCo's free-joint convention).
        vel = np.zeros((frames, 6 + NUM_JOINTS))
        vel[:, :3] = np.gradient(qpos[:, :3], times, axis=0)
        vel[:, 6:] = np.gradient(qpos[:, 7:], times, axis=0)
        step = np.zeros(3)
        for t in range(frames - 1):
            mujoco.mju_subQuat(step, qpos[t + 1, 3:7], qpos[t, 3:7])
            vel[t, 3:6] = step * traj.fps
        vel[-1, 3:6] = vel[-2, 3:6]
        count = max(round(traj.duration_s * control_hz) + 1, 2)
        samples = np.linspace(0.0, traj.duration_s, count)
        lo = np.clip(np.searchsorted(times, samples, side="right") - 1, 0, frames - 2)
        w = ((samples - times[lo]) * traj.fps).clip(0.0, 1.0)[:, None]
        ref_qpos = (1 - w) * qpos[lo] + w * qpos[lo + 1]
        # Normalised lerp of neighbouring frames: their quaternions are close.
        signs = np.sign(np.sum(qpos[lo, 3:7] * qpos[lo + 1, 3:7], axis=1, keepdims=True))
        quat = (1 - w) * qpos[lo, 3:7] + w * signs * qpos[lo + 1, 3:7]
        ref_qpos[:, 3:7] = quat / np.linalg.norm(quat, axis=1, keepdims=True)
        ref_qvel = (1 - w) * vel[lo] + w * vel[lo + 1]
        return cls(float(samples[1] - samples[0]), ref_qpos, ref_qvel)


def _up_axis(quat: np.ndarray) -> np.ndarray:
    """Third column of the rotation matrix of (w, x, y, z)."""
    w, x, y, z = quat
    return np.array([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)])


@dataclass
class _Rollout:
    assist_force: np.ndarray  # [N] |F| in N
    assist_torque: np.ndarray  # [N] |tau| in N·m
    tracking_error: np.ndarray  # [N, 29] rad
    torque_ratio: np.ndarray  # [N, 29] |tau| / limit
    steps: int  # control samples simulated
    unstable: str = ""  # why the simulation diverged, if it did
    fell_at: int | None = None


class _Tracker:
    """Runs rollouts of one reference in one physics scene."""

    def __init__(self, physics: PhysicsScene, ref: ReferenceSamples, config: SimCheckConfig):
        self.physics, self.ref, self.config = physics, ref, config
        self.desc = g1_description()
        self.substeps = max(round(ref.dt / physics.model.opt.timestep), 1)
        kd = config.assist_kd
        self.root_damping = np.concatenate([[physics.mass * kd] * 3, physics.inertia * kd])
        self.runaway_speed = max(_RUNAWAY_SPEED, 2.0 * float(np.abs(ref.qvel).max()))
        model = physics.model
        # Actuator i drives joint JOINT_NAMES[i] (Menagerie order); kv/kp turns a velocity
        # target into a position offset.
        joints = model.actuator_trnid[:, 0]
        lead = -model.actuator_biasprm[:, 2] / model.actuator_gainprm[:, 0]
        dof_of_joint = model.jnt_dofadr[joints]
        self.ctrl = ref.qpos[:, model.jnt_qposadr[joints]] + lead * ref.qvel[:, dof_of_joint]

    def run(self, assist: bool, deadline: float) -> _Rollout:
        physics, ref, config, desc = self.physics, self.ref, self.config, self.desc
        model = physics.model
        model.dof_damping[:6] = self.root_damping if assist else 0.0
        n = len(ref.qpos)
        out = _Rollout(np.zeros(n), np.zeros(n), np.zeros((n, 29)), np.zeros((n, 29)), n)
        data = mujoco.MjData(model)
        data.qpos[:] = ref.qpos[0]
        data.qvel[:] = ref.qvel[0]
        kp, kd = config.assist_kp, config.assist_kd
        mass, inertia = physics.mass, physics.inertia
        pelvis = model.body(BODY["pelvis"]).id
        cos_fall = np.cos(np.radians(config.fall_tilt_deg))
        rot, ref_rot, err, rel = np.zeros(9), np.zeros(9), np.zeros(3), np.zeros(4)
        inverse = np.zeros(4)
        # Raw states are recorded in the loop and turned into errors afterwards, in bulk.
        joint_qpos = np.zeros((n, model.nq))
        actuator_torque = np.zeros((n, model.nv))
        for k in range(n):
            if k % 100 == 0 and time.perf_counter() > deadline:
                raise BudgetExceededError(f"stopped at {k * ref.dt:.2f} s of motion")
            target = ref.qpos[k]
            data.ctrl[:] = self.ctrl[k]
            if assist:
                target_vel = ref.qvel[k]
                # Rotation from the current to the reference pelvis, in the pelvis frame.
                mujoco.mju_negQuat(inverse, data.qpos[3:7])
                mujoco.mju_mulQuat(rel, inverse, target[3:7])
                mujoco.mju_quat2Vel(err, rel, 1.0)
                mujoco.mju_quat2Mat(rot, data.qpos[3:7])
                mujoco.mju_quat2Mat(ref_rot, target[3:7])
                r = rot.reshape(3, 3)
                w_ref_local = r.T @ (ref_rot.reshape(3, 3) @ target_vel[3:6])
                # Spring and velocity feed-forward here; the -k_d v damping is implicit.
                force = mass * (kp * (target[:3] - data.qpos[:3]) + kd * target_vel[:3])
                torque_local = inertia * (kp * err + kd * w_ref_local)
                data.xfrc_applied[pelvis, :3] = force
                data.xfrc_applied[pelvis, 3:] = r @ torque_local
                out.assist_force[k] = np.linalg.norm(force - mass * kd * data.qvel[:3])
                out.assist_torque[k] = np.linalg.norm(torque_local - inertia * kd * data.qvel[3:6])
            mujoco.mj_step(model, data, nstep=self.substeps)
            joint_qpos[k] = data.qpos
            actuator_torque[k] = data.qfrc_actuator
            # Warnings are sticky counters and a runaway state stays runaway, so
            # looking every few steps finds a divergence as surely and costs less.
            if k % 10 == 0 or k == n - 1:
                out.unstable = self._instability(data)
            stop = bool(out.unstable)
            if not assist and not stop and k % 5 == 0 and self._fallen(data, target, cos_fall):
                out.fell_at, stop = k, True
            if stop:
                out.steps = k + 1
                break
        m = out.steps
        out.tracking_error[:m] = np.abs(joint_qpos[:m, desc.qpos_adr] - ref.qpos[:m, 7:])
        out.torque_ratio[:m] = np.abs(actuator_torque[:m, desc.dof_adr]) / desc.torque_limits
        return out

    def _fallen(self, data: mujoco.MjData, target: np.ndarray, cos_fall: float) -> bool:
        if target[2] - data.qpos[2] > self.config.fall_height_m:
            return True
        # cos of the angle between the pelvis' up axis now and in the reference.
        return float(_up_axis(data.qpos[3:7]) @ _up_axis(target[3:7])) < cos_fall

    def _instability(self, data: mujoco.MjData) -> str:
        for warning in _WARNINGS:
            if data.warning[warning].number > 0:
                return f"MuJoCo warned {mujoco.mjtWarning(warning).name} at t={data.time:.3f} s"
        if not (np.all(np.isfinite(data.qpos)) and np.all(np.isfinite(data.qvel))):
            return f"non-finite state at t={data.time:.3f} s"
        speed = np.max(np.abs(data.qvel[: 6 + NUM_JOINTS]))
        if speed > self.runaway_speed:
            return f"runaway velocity {speed:.3g} at t={data.time:.3f} s"
        return ""


def dynamic_checks(
    physics: PhysicsScene,
    traj: G1Trajectory,
    config: SimCheckConfig,
    deadline: float | None = None,
) -> tuple[list[CheckResult], dict[str, float | bool]]:
    """Physics checks of ``traj`` in ``physics`` (built with the same ``config``).

    Raises :class:`BudgetExceededError` past ``deadline`` (a ``time.perf_counter()``).
    """
    deadline = deadline if deadline is not None else float("inf")
    ref = ReferenceSamples.of(traj, config.control_hz)
    tracker = _Tracker(physics, ref, config)
    assisted = tracker.run(assist=True, deadline=deadline)
    alone = tracker.run(assist=False, deadline=deadline)
    desc = g1_description()
    weight = desc.total_mass * _GRAVITY
    moment = weight * desc.stand_root_height
    n = assisted.steps
    force = assisted.assist_force[:n] / weight
    torque = assisted.assist_torque[:n] / moment
    saturated = assisted.torque_ratio[:n] >= 0.99  # [N, 29]
    worst_joint = int(np.argmax(saturated.mean(axis=0)))
    fell = alone.fell_at is not None
    metrics: dict[str, float | bool] = {
        "assist_force_mean": float(force.mean()),
        "assist_force_peak": float(force.max()),
        "assist_torque_mean": float(torque.mean()),
        "assist_torque_peak": float(torque.max()),
        "tracking_error_mean_rad": float(assisted.tracking_error[:n].mean()),
        "tracking_error_max_rad": float(assisted.tracking_error[:n].max()),
        "torque_peak_ratio": float(assisted.torque_ratio[:n].max()),
        "torque_saturation_fraction": float(saturated.mean()),
        "fell_without_assist": fell,
        "unassisted_time_to_fall_s": float((alone.fell_at if fell else alone.steps - 1) * ref.dt),
    }

    def limit(name: str, value: float, threshold: float, unit: str, what: str) -> CheckResult:
        passed = bool(value <= threshold)
        reason = "" if passed else f"{what} {value:.3g} {unit} exceeds {threshold:.3g} {unit}"
        return CheckResult(name, passed, float(value), float(threshold), unit, reason)

    unstable = assisted.unstable or alone.unstable
    checks = [
        CheckResult(
            "simulation_stable", not unstable, float(bool(unstable)), 0.0, "",
            f"simulation diverged: {unstable}" if unstable else "",
        ),
        limit("assist_mean", max(metrics["assist_force_mean"], metrics["assist_torque_mean"]),
              config.assist_mean_max, "x body weight", "mean assist needed to follow the root"),
        limit("assist_peak", max(metrics["assist_force_peak"], metrics["assist_torque_peak"]),
              config.assist_peak_max, "x body weight", "peak assist needed to follow the root"),
        limit("tracking_error", metrics["tracking_error_mean_rad"], config.tracking_error_rad,
              "rad", "mean joint tracking error"),
        limit("torque_limits", metrics["torque_saturation_fraction"],
              config.torque_saturation_max, "of motor-samples",
              f"motors at their torque limit ({desc.joint_names[worst_joint]} most often) in"),
    ]  # fmt: skip
    if config.require_unassisted_balance:
        checks.append(
            CheckResult(
                "unassisted_balance", not fell, float(fell), 0.0, "",
                f"the robot falls without assist after {metrics['unassisted_time_to_fall_s']:.2f} s"
                if fell else "",
            )
        )  # fmt: skip
    return checks, metrics
