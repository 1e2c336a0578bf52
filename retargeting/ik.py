"""Differential inverse kinematics of the G1 towards landmark targets (mink + a QP).

Each IK step solves, for a tangent displacement ``Δq`` of the floating base and the
29 joints,

    min_Δq  Σ_i ‖W_i (J_i Δq + e_i)‖² + ‖W_p (Δq − (q_stand ⊖ q))‖² + λ‖Δq‖²
    s.t.    q_min ≤ q ⊕ Δq ≤ q_max                  (mink ConfigurationLimit)
            |Δq_j| ≤ m · v_max,j · Δt / n           (mink VelocityLimit)

where ``e_i``/``J_i`` are the pose errors and Jacobians of the landmark tasks
(pelvis, torso, head, knees, feet, elbows, wrists), ``W_p`` a weak posture pull,
``λ`` Levenberg–Marquardt damping, ``m`` the velocity-limit margin and ``n`` the
iterations per output frame: ``n`` steps together move no joint faster than
``m · v_max``. Both limits bound single coordinates, so they are handed to the QP
solver as box bounds rather than as general inequality rows, which DAQP handles
several times faster. Each frame warm-starts from the previous solution, so two steps
suffice for motion sampled at 50 Hz. After the steps the joints are clipped to
their limits (a last guarantee against the solver's tolerances) and the body is
raised if a sole would be below the floor.
"""

from __future__ import annotations

from functools import lru_cache

import mink
import mujoco
import numpy as np
import qpsolvers

from retargeting.config import RetargetConfig
from retargeting.g1 import JOINT_NAMES, g1_description, load_g1_model
from retargeting.scaling import LANDMARKS, G1Proportions, LandmarkTargets

__all__ = ["BoxBounds", "G1PoseSolver"]

# DAQP's "unbounded" (qpsolvers passes infinities through as this magnitude).
_UNBOUNDED = 1e30

_IDENTITY = mink.SO3.identity()


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


@lru_cache(maxsize=1)
def _shared_model() -> mujoco.MjModel:
    # IK only reads the model (each solver has its own MjData), so streams share one
    # copy instead of paying ~0.1 s for a fresh one each.
    return load_g1_model()


class G1PoseSolver:
    """Warm-started IK on the Menagerie G1 for one motion stream."""

    def __init__(self, config: RetargetConfig, g1: G1Proportions, output_fps: float) -> None:
        self._config = config
        self._g1 = g1
        self._dt = 1.0 / output_fps
        desc = g1_description()
        self.model = _shared_model()
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
        margin = config.velocity_limit_margin
        self._position_bounds = BoxBounds(
            mink.ConfigurationLimit(self.model), self.configuration, self._dt
        )
        velocity_limit = mink.VelocityLimit(
            self.model,
            {n: margin * v for n, v in zip(JOINT_NAMES, desc.velocity_limits, strict=True)},
        )
        # The velocity bounds depend only on the step length: compute them once.
        self._step_dt = self._dt / config.iterations_per_frame
        self._velocity_bounds = BoxBounds(velocity_limit, self.configuration, self._step_dt)(
            self.configuration, self._step_dt
        )
        self._joint_lo = desc.position_limits[:, 0]
        self._joint_hi = desc.position_limits[:, 1]
        self._started = False

    def reset(self) -> None:
        self._started = False

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

    def solve(self, targets: LandmarkTargets) -> np.ndarray:
        """The G1 ``qpos [36]`` for these targets, warm-started from the last call."""
        self._set_targets(targets)
        cfg = self.configuration
        if self._started:
            steps, dt = self._config.iterations_per_frame, self._step_dt
            speed_lower, speed_upper = self._velocity_bounds
        else:
            # Nothing to be continuous with yet: converge from standing, no speed limit.
            cfg.update(self._start_pose(targets))
            steps = self._config.first_frame_iterations
            dt = self._dt / steps
            speed_lower, speed_upper = -_UNBOUNDED, _UNBOUNDED
            self._started = True
        for _ in range(steps):
            # mink's build_ik with no limits gives the objective (H, c); the limits go in
            # as bounds. (solve_ik would also re-check the limits, which the clip below
            # guarantees anyway.)
            objective = mink.build_ik(cfg, self._all_tasks, dt, self._config.damping, limits=[])
            lower, upper = self._position_bounds(cfg, dt)
            problem = qpsolvers.Problem(
                objective.P,
                objective.q,
                lb=np.maximum(lower, speed_lower),
                ub=np.minimum(upper, speed_upper),
            )
            solution = qpsolvers.solve_problem(problem, solver=self._config.solver)
            if not solution.found:
                raise mink.NoSolutionFound(self._config.solver)
            cfg.integrate_inplace(solution.x, 1.0)
        q = cfg.q.copy()
        q[7:] = np.clip(q[7:], self._joint_lo, self._joint_hi)
        cfg.update(q)
        sole = min(
            cfg.data.geom_xpos[g][2] - self.model.geom_size[g][0] for g in self._g1.foot_geoms
        )
        if sole < 0.0:
            q[2] -= sole
            cfg.update(q)
        return q
