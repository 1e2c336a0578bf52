"""Differential inverse kinematics of the G1 towards landmark targets (mink + a QP).

Each IK step solves, for a tangent displacement ``Δq`` of the floating base and the
29 joints,

    min_Δq  Σ_i ‖W_i (J_i Δq + e_i)‖² + ‖W_p (Δq − (q_stand ⊖ q))‖² + λ‖Δq‖²
    s.t.    q_min ≤ q ⊕ Δq ≤ q_max                           (mink ConfigurationLimit)
            L_j ≤ d_j + Δq_j ≤ U_j  for every joint j        (speed and acceleration)
            −n_c · (J_c2 − J_c1) Δq ≤ ξ (d_c − d_min)         (self-collision, per close pair)

where ``e_i``/``J_i`` are the pose errors and Jacobians of the landmark tasks
(pelvis, torso, head, knees, feet, elbows, wrists), ``W_p`` a weak posture pull and
``λ`` Levenberg–Marquardt damping. ``d_j`` is how far joint ``j`` has already moved
in this output frame, so the bounds hold for the frame's whole displacement
``D_j`` whatever the number of steps: with ``Δt`` the output period, ``D⁻`` the
previous frame's displacement, ``v`` Unitree's velocity limits at margin ``m``, ``a``
the motor-torque/inertia accelerations (:func:`retargeting.g1.joint_acceleration_limits`)
times ``k = acceleration_limit_ratio``,

    [L, U] = [D⁻ − a Δt², D⁻ + a Δt²]  ∩  [−m v Δt, m v Δt]  ∩  braking,

so the output's second difference ``(D − D⁻)/Δt²`` never exceeds ``a``: the bound the
simulation check applies (at 4×) is honoured by construction instead of being left to
chance. ``braking`` caps the speed towards a position limit at ``√(a · gap)``, so a joint
can always stop before its limit without braking harder than ``a``. When two bounds
cannot both hold, the speed bound wins over acceleration, acceleration over braking,
and position limits over all. Self-collision rows come from
:mod:`retargeting.self_collision`; should they make the QP infeasible against the box
bounds, the step is solved without them.

All bounds on single coordinates are handed to the QP solver as box bounds rather
than as general inequality rows, which DAQP handles several times faster. Each frame
warm-starts from the previous solution, so two steps suffice for motion sampled at
50 Hz. After the steps the joints are clipped to their limits (a last guarantee
against the solver's tolerances) and the body is raised if a sole would be below the
floor.
"""

from __future__ import annotations

import ctypes
from functools import lru_cache

import daqp
import mink
import mujoco
import numpy as np
import qpsolvers

from retargeting.config import RetargetConfig
from retargeting.g1 import g1_description, joint_acceleration_limits, load_g1_model
from retargeting.scaling import LANDMARKS, G1Proportions, LandmarkTargets
from retargeting.self_collision import SelfCollisionRows, self_collision_model

__all__ = ["BoxBounds", "G1PoseSolver"]

# DAQP's "unbounded" (qpsolvers passes infinities through as this magnitude).
_UNBOUNDED = 1e30

_IDENTITY = mink.SO3.identity()
# Sole spheres closer to the floor than this get a row that keeps them above it.
_FLOOR_WATCH_M = 0.05


class BoxBounds:
    """Bounds ``lower ≤ Δq ≤ upper`` equivalent to a mink limit whose rows are ``±e_i``.

    The rows' structure (which coordinate, which sign) is read once from the limit
    at construction; each call only turns the limit's current right-hand side ``h``
    into bounds. Raises ``ValueError`` for a limit that couples coordinates or
    bounds one coordinate twice in the same direction.
    """

    def __init__(self, limit: mink.Limit, configuration: mink.Configuration, dt: float) -> None:
        self.limit = limit
        self._nv = configuration.nv
        G = limit.compute_qp_inequalities(configuration, dt).G
        if G is None:
            G = np.zeros((0, self._nv))
        if np.any(np.count_nonzero(G, axis=1) != 1):
            raise ValueError(f"{type(limit).__name__} couples coordinates: not a box")
        column = np.argmax(np.abs(G), axis=1)
        coefficient = G[np.arange(len(G)), column]
        self._up, self._down = coefficient > 0, coefficient < 0
        self._up_columns, self._down_columns = column[self._up], column[self._down]
        for columns in (self._up_columns, self._down_columns):
            if len(np.unique(columns)) != len(columns):
                raise ValueError(f"{type(limit).__name__} bounds a coordinate twice")
        self._coefficient = coefficient

    def __call__(
        self, configuration: mink.Configuration, dt: float
    ) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = np.full(self._nv, -_UNBOUNDED), np.full(self._nv, _UNBOUNDED)
        h = self.limit.compute_qp_inequalities(configuration, dt).h
        if h is not None:
            bound = h / self._coefficient
            upper[self._up_columns] = bound[self._up]
            lower[self._down_columns] = bound[self._down]
        return lower, upper


@lru_cache(maxsize=4)
def _ik_model(collision_detection_m: float) -> mujoco.MjModel:
    # IK only reads the model (each solver has its own MjData), so streams share one
    # copy instead of paying ~0.1 s for a fresh one each. Its contact settings are the
    # self-collision check's (the IK never simulates contacts).
    model = load_g1_model()
    self_collision_model(model, collision_detection_m)
    return model


def _clamp_interval(
    lower: np.ndarray, upper: np.ndarray, hard_lower: np.ndarray, hard_upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``[lower, upper] ∩ [hard_lower, hard_upper]`` where they overlap; where they do
    not, the end of the hard interval nearest to the other (the hard one wins)."""
    return np.clip(lower, hard_lower, hard_upper), np.clip(upper, hard_lower, hard_upper)


class G1PoseSolver:
    """Warm-started IK on the Menagerie G1 for one motion stream."""

    def __init__(self, config: RetargetConfig, g1: G1Proportions, output_fps: float) -> None:
        self._config = config
        self._g1 = g1
        self._dt = 1.0 / output_fps
        desc = g1_description()
        self.model = _ik_model(config.collision_detection_m)
        self.configuration = mink.Configuration(self.model, desc.stand_qpos)
        w = config.weights
        position_cost = {
            "pelvis": w.pelvis_position,
            "torso": 0.0,
            "head": w.head_position,
            "left_knee": w.knee_position,
            "right_knee": w.knee_position,
            "left_foot": w.foot_position,
            "right_foot": w.foot_position,
            "left_elbow": w.elbow_position,
            "right_elbow": w.elbow_position,
            "left_wrist": w.wrist_position,
            "right_wrist": w.wrist_position,
        }
        orientation_cost = {
            "pelvis": w.pelvis_orientation,
            "torso": w.torso_orientation,
            "left_foot": w.foot_orientation,
            "right_foot": w.foot_orientation,
        }
        self._tasks: dict[str, mink.FrameTask] = {
            name: mink.FrameTask(
                frame, kind, position_cost[name], orientation_cost.get(name, 0.0), lm_damping=1.0
            )
            for name, (frame, kind) in LANDMARKS.items()
        }
        posture = mink.PostureTask(self.model, cost=w.posture)
        posture.set_target(desc.stand_qpos)
        self._all_tasks = [*self._tasks.values(), posture]
        self._position_bounds = BoxBounds(
            mink.ConfigurationLimit(self.model), self.configuration, self._dt
        )
        self._step_dt = self._dt / config.iterations_per_frame
        self._qpos_adr = desc.qpos_adr
        self._dof_adr = desc.dof_adr
        self._joint_lo = desc.position_limits[:, 0]
        self._joint_hi = desc.position_limits[:, 1]
        # Per output frame and tangent coordinate (floating base linear, angular, then
        # the joints): the largest displacement (speed) and change of displacement
        # (acceleration). The floating base has no speed limit of its own.
        nv = self.model.nv
        max_step = np.full(nv, _UNBOUNDED)
        max_step[self._dof_adr] = config.velocity_limit_margin * desc.velocity_limits * self._dt
        acceleration = np.empty(nv)
        acceleration[:3] = config.root_acceleration_limit_m_s2
        acceleration[3:6] = config.root_angular_acceleration_limit_rad_s2
        acceleration[self._dof_adr] = config.acceleration_limit_ratio * joint_acceleration_limits()
        self._max_step = max_step
        self._acceleration = acceleration
        self._max_change = np.minimum(acceleration * self._dt**2, _UNBOUNDED)
        self._braking = bool(np.isfinite(config.acceleration_limit_ratio))
        self._collisions = (
            SelfCollisionRows(self.model, config) if config.self_collision else None
        )
        self._step = np.zeros(nv)
        self._sole_geoms = np.array(g1.foot_geoms)
        self._sole_radius = self.model.geom_size[self._sole_geoms, 0]
        self._sole_bodies = self.model.geom_bodyid[self._sole_geoms]
        self._foot_bodies = tuple(dict.fromkeys(int(b) for b in self._sole_bodies))
        self._jacobian = np.zeros((3, nv))
        self._rotation_jacobian = np.zeros((3, nv))
        self.reset()

    def reset(self) -> None:
        self._started = False
        self._previous_step = np.zeros(self.model.nv)

    def _frame_bounds(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bounds ``[L, U]`` of this frame's tangent displacement (module docstring)."""
        lower, upper = _clamp_interval(
            self._previous_step - self._max_change,
            self._previous_step + self._max_change,
            -self._max_step,
            self._max_step,
        )
        if not self._braking:
            return lower, upper
        # Moving at sqrt(a * gap) towards a limit leaves room to stop with a / 2.
        joints, dofs = q[self._qpos_adr], self._dof_adr
        gap_up = np.maximum(self._joint_hi - joints, 0.0)
        gap_down = np.maximum(joints - self._joint_lo, 0.0)
        a = self._acceleration[dofs]
        lower[dofs], upper[dofs] = _clamp_interval(
            -self._dt * np.sqrt(a * gap_down), self._dt * np.sqrt(a * gap_up),
            lower[dofs], upper[dofs],
        )  # fmt: skip
        return lower, upper

    def _displacement(self, start: np.ndarray) -> np.ndarray:
        """Tangent displacement from ``start`` to the current configuration ``[nv]``."""
        mujoco.mj_differentiatePos(self.model, self._step, 1.0, start, self.configuration.q)
        return self._step.copy()

    def _set_targets(self, targets: LandmarkTargets) -> None:
        rotations = {
            "pelvis": targets.pelvis_rotation,
            "torso": targets.torso_rotation,
            "left_foot": targets.foot_rotations["left"],
            "right_foot": targets.foot_rotations["right"],
        }
        for i, (name, task) in enumerate(self._tasks.items()):
            # Position-only tasks ignore the rotation (zero orientation cost).
            rotation = mink.SO3.from_matrix(rotations[name]) if name in rotations else _IDENTITY
            task.set_target(mink.SE3.from_rotation_and_translation(rotation, targets.positions[i]))

    def _start_pose(self, targets: LandmarkTargets) -> np.ndarray:
        """Standing pose placed at the first pelvis target, facing its heading."""
        q = g1_description().stand_qpos.copy()
        forward = targets.pelvis_rotation[:, 0]
        yaw = np.arctan2(forward[1], forward[0])
        q[:3] = targets["pelvis"]
        q[3:7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
        return q

    def _floor_rows(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``G Δq ≤ h`` keeping the sole spheres within ``_FLOOR_WATCH_M`` of the floor
        from going below it: ``−J_z Δq ≤ z − r`` per sphere."""
        data = self.configuration.data
        height = data.geom_xpos[self._sole_geoms, 2] - self._sole_radius
        near = np.flatnonzero(height < _FLOOR_WATCH_M)
        if not near.size:
            return None
        G = np.empty((near.size, self.model.nv))
        bodies = self._sole_bodies[near]
        for body in self._foot_bodies:
            rows = bodies == body
            if not rows.any():
                continue
            # One Jacobian per foot: a sphere at r from the body origin moves up at
            # v_z + ω_x r_y − ω_y r_x.
            mujoco.mj_jacBody(self.model, data, self._jacobian, self._rotation_jacobian, body)
            r = data.geom_xpos[self._sole_geoms[near[rows]]] - data.xpos[body]
            G[rows] = -(
                self._jacobian[2]
                + r[:, 1:2] * self._rotation_jacobian[0]
                - r[:, 0:1] * self._rotation_jacobian[1]
            )
        return G, height[near]

    def _rows(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Inequality rows at the current configuration: floor, then self-collision."""
        collisions = None if self._collisions is None else self._collisions(self.configuration.data)
        return [r for r in (self._floor_rows(), collisions) if r is not None]

    def _solve_qp(
        self,
        objective: qpsolvers.Problem,
        lower: np.ndarray,
        upper: np.ndarray,
        rows: list[tuple[np.ndarray, np.ndarray]],
    ) -> np.ndarray:
        # Should the self-collision rows conflict with the bounds, they are dropped first.
        for count in range(len(rows), -1, -1):
            G = np.concatenate([r[0] for r in rows[:count]]) if count else None
            h = np.concatenate([r[1] for r in rows[:count]]) if count else None
            x = self._qp(objective.P, objective.q, G, h, lower, upper)
            if x is not None:
                return x
        raise mink.NoSolutionFound(self._config.solver)

    def _qp(
        self,
        P: np.ndarray,
        q: np.ndarray,
        G: np.ndarray | None,
        h: np.ndarray | None,
        lower: np.ndarray,
        upper: np.ndarray,
    ) -> np.ndarray | None:
        """``min ½ xᵀPx + qᵀx`` s.t. ``Gx ≤ h``, ``lower ≤ x ≤ upper``; None if infeasible."""
        if self._config.solver != "daqp":
            problem = qpsolvers.Problem(P, q, G, h, lb=lower, ub=upper)
            solution = qpsolvers.solve_problem(problem, solver=self._config.solver)
            return solution.x if solution.found else None
        # DAQP directly (what qpsolvers does for it, without building a Problem and a
        # Solution twice a frame): simple bounds first, then the rows.
        rows = 0 if G is None else len(G)
        A = np.zeros((0, len(q))) if G is None else G
        bupper = np.concatenate([upper, h]) if rows else upper
        blower = np.concatenate([lower, np.full(rows, -_UNBOUNDED)]) if rows else lower
        sense = np.zeros(len(bupper), dtype=ctypes.c_int)
        x, _, exitflag, _ = daqp.solve(P, q, A, bupper, blower, sense)
        return x if exitflag > 0 else None

    def solve(self, targets: LandmarkTargets) -> np.ndarray:
        """The G1 ``qpos [36]`` for these targets, warm-started from the last call."""
        self._set_targets(targets)
        cfg = self.configuration
        bounded = self._started
        start = cfg.q.copy()
        if bounded:
            steps, dt = self._config.iterations_per_frame, self._step_dt
            frame_lower, frame_upper = self._frame_bounds(start)
        else:
            # Nothing to be continuous with yet: converge from standing, no speed limit.
            cfg.update(self._start_pose(targets))
            steps = self._config.first_frame_iterations
            dt = self._dt / steps
        rows: list[tuple[np.ndarray, np.ndarray]] = []
        for step in range(steps):
            # mink's build_ik with no limits gives the objective (H, c); the limits go in
            # as bounds. (solve_ik would also re-check the limits, which the clip below
            # guarantees anyway.)
            objective = mink.build_ik(cfg, self._all_tasks, dt, self._config.damping, limits=[])
            lower, upper = self._position_bounds(cfg, dt)
            if bounded:
                done = self._displacement(start)
                lower, upper = _clamp_interval(
                    frame_lower - done, frame_upper - done, lower, upper
                )
            # The floor and collision rows are linearised once per frame (steps within a
            # frame are small); the first frame, converging from standing, relinearises.
            if step == 0 or not bounded:
                rows = self._rows()
            x = self._solve_qp(objective, lower, upper, rows)
            cfg.integrate_inplace(x, 1.0)
            rows = [(G, h - G @ x) for G, h in rows]
        q = cfg.q.copy()
        q[7:] = np.clip(q[7:], self._joint_lo, self._joint_hi)
        cfg.update(q)
        sole = float(np.min(cfg.data.geom_xpos[self._sole_geoms, 2] - self._sole_radius))
        if sole < 0.0:
            q[2] -= sole
            cfg.update(q)
        if bounded:
            self._previous_step = self._displacement(start)
        self._started = True
        return q
