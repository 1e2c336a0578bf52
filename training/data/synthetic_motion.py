"""Procedural human motion on the SMPL-22 body: locomotion, jumps, squats, arm gestures.

The bundled default model learns from these clips because no captioned text-motion
dataset can be downloaded here. A clip is built from a list of commands
(:mod:`training.data.commands`) in three layers:

1. **Plan.** Each command becomes per-frame channels: the pelvis' ground-plane
   position and heading, a desired pelvis height, trunk pitch, both ankles' world
   positions and both arms' pose parameters. Locomotion places footsteps: a foot
   lifts, swings along a minimum-jerk arc and lands where the pelvis will be at the
   middle of that foot's next stance, then stays exactly where it landed until it
   lifts again, so planted feet never slide.
2. **Reach.** The pelvis may not rise above the height at which a leg could still
   reach its ankle target. For hip ``H`` (at pelvis height ``h``), ankle ``A`` and
   usable leg length ``L = 0.98 (l_thigh + l_shin)``, ``|H - A| <= L`` gives
   ``h <= A_y - o_y + sqrt(L² - |H - A|²_xz)`` with ``o_y`` the hip's height below the
   pelvis. The bound is eroded then smoothed so the pelvis dips smoothly at long
   strides, as a walking body does.
3. **Body.** Forward kinematics from joint rotations (scipy ``Rotation``) places
   pelvis, spine, head and arms; each leg is solved with two-bone inverse kinematics
   (knee in the plane of hip, ankle and the foot's forward direction), which keeps
   every bone at its rest length.

Frames: human motion is Y up and metres; a body with heading ``yaw`` faces
``(sin yaw, 0, cos yaw)`` and its left is ``(cos yaw, 0, -sin yaw)``, so the rest
pose faces +Z with its left on +X (HumanML3D's canonical frame) and a positive yaw
change is a turn to the left. See :mod:`training.data.frames` for the map to the
simulator's Z-up world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d, minimum_filter1d
from scipy.spatial.transform import Rotation

from motionvla_model.motion.skeleton import NUM_JOINTS, REFERENCE_BONE_LENGTHS, SMPL22_PARENTS
from training.data.commands import (
    Command,
    Jump,
    RaiseArms,
    Run,
    SitDown,
    Squat,
    StepSideways,
    Turn,
    Walk,
    Wave,
)

__all__ = [
    "DEFAULT_FPS",
    "Body",
    "SyntheticClip",
    "heading_vector",
    "left_vector",
    "synthesize",
]

DEFAULT_FPS = 20.0
GRAVITY = 9.81
LEFT, RIGHT = 0, 1
# Ankle (7, 8), toe (10, 11), hip (1, 2) joints of the left and right leg.
ANKLES, TOES, HIPS, KNEES = (7, 8), (10, 11), (1, 2), (4, 5)
SHOULDERS, ELBOWS = (16, 17), (18, 19)

# Rest-pose bone directions of an SMPL-like T-pose (by child joint, +X left, +Y up,
# +Z forward). Unlike the axis-aligned HumanML3D "raw offsets", the hips sit below
# and beside the pelvis and the foot points down to the toe, so a planted foot has
# its ankle above the floor. Lengths come from the skeleton's reference body.
_REST_DIRECTIONS = np.array(
    [
        [0, 0, 0], [0.61, -0.79, 0], [-0.61, -0.79, 0], [0, 1, -0.2],
        [0.09, -1, 0], [-0.09, -1, 0], [0, 1, 0.2], [-0.04, -1, -0.1],
        [0.04, -1, -0.1], [0, 1, 0], [0.2, -0.55, 1], [-0.2, -0.55, 1],
        [0, 1, -0.15], [0.55, 0.8, -0.2], [-0.55, 0.8, -0.2], [0, 0.8, 0.6],
        [1, 0.3, 0], [-1, 0.3, 0], [1, -0.05, -0.05], [-1, -0.05, -0.05],
        [1, 0, 0], [-1, 0, 0],
    ],
    dtype=np.float64,
)  # fmt: skip
_TOE_HEIGHT = 0.01  # a planted toe joint sits this far above the floor (m)
_ARM_REST = np.array([0.15, 0.0, 0.0, 0.25])  # elevation, forward raise, twist, elbow flex


def heading_vector(yaw: np.ndarray | float) -> np.ndarray:
    """Ground-plane ``(x, z)`` facing direction of heading ``yaw`` (0 faces +Z)."""
    yaw = np.asarray(yaw, dtype=np.float64)
    return np.stack([np.sin(yaw), np.cos(yaw)], axis=-1)


def left_vector(yaw: np.ndarray | float) -> np.ndarray:
    """Ground-plane ``(x, z)`` direction to the body's left at heading ``yaw``."""
    yaw = np.asarray(yaw, dtype=np.float64)
    return np.stack([np.cos(yaw), -np.sin(yaw)], axis=-1)


def _xz_to_3d(xz: np.ndarray, y: np.ndarray | float = 0.0) -> np.ndarray:
    xz = np.asarray(xz, dtype=np.float64)
    out = np.empty((*xz.shape[:-1], 3))
    out[..., 0], out[..., 1], out[..., 2] = xz[..., 0], y, xz[..., 1]
    return out


def _min_jerk(tau: np.ndarray) -> np.ndarray:
    """0→1 with zero velocity and acceleration at both ends."""
    tau = np.clip(tau, 0.0, 1.0)
    return tau**3 * (10 - 15 * tau + 6 * tau**2)


@dataclass(frozen=True)
class Body:
    """The rest skeleton: each joint's offset from its parent (metres, T-pose)."""

    offsets: np.ndarray

    @classmethod
    def from_bone_lengths(cls, lengths: np.ndarray = REFERENCE_BONE_LENGTHS) -> Body:
        """SMPL-like rest directions scaled to ``lengths`` ``[22]`` (by child joint)."""
        lengths = np.asarray(lengths, dtype=np.float64)
        if lengths.shape != (NUM_JOINTS,) or np.any(lengths[1:] <= 0):
            raise ValueError(f"bone lengths must be [22] and positive, got {lengths.shape}")
        norms = np.linalg.norm(_REST_DIRECTIONS, axis=1, keepdims=True)
        norms[0] = 1.0  # the root has no bone
        return cls(_REST_DIRECTIONS / norms * lengths[:, None])

    @classmethod
    def from_joints(cls, joints: np.ndarray) -> Body:
        """A body with the median bone lengths of a real motion ``[T, 22, 3]``."""
        joints = np.asarray(joints, dtype=np.float64)
        parents = np.array(SMPL22_PARENTS[1:])
        lengths = np.zeros(NUM_JOINTS)
        lengths[1:] = np.median(np.linalg.norm(joints[:, 1:] - joints[:, parents], axis=-1), axis=0)
        return cls.from_bone_lengths(lengths)

    def thigh(self, side: int = LEFT) -> float:
        return float(np.linalg.norm(self.offsets[KNEES[side]]))

    def shin(self, side: int = LEFT) -> float:
        return float(np.linalg.norm(self.offsets[ANKLES[side]]))

    @property
    def reach(self) -> float:
        """Usable hip-to-ankle distance of the shorter leg (a knee never locks fully)."""
        return 0.98 * min(self.thigh(side) + self.shin(side) for side in (LEFT, RIGHT))

    @property
    def ankle_height(self) -> float:
        """Height of a planted foot's ankle (the toe rests at ``_TOE_HEIGHT``)."""
        return _TOE_HEIGHT - float(self.offsets[TOES[0], 1])

    @property
    def standing_height(self) -> float:
        """Pelvis height standing upright with nearly straight knees."""
        hip_drop = -float(self.offsets[HIPS[0], 1])
        return self.ankle_height + 0.985 * self.reach + hip_drop


@dataclass
class _Plan:
    """Per-frame channels (all of length ``n``) that :func:`_pose` turns into joints."""

    root: np.ndarray  # [n, 2] pelvis ground position (x, z) before sway
    yaw: np.ndarray  # [n]
    height: np.ndarray  # [n] desired pelvis height
    pitch: np.ndarray  # [n] trunk lean forward (rad)
    ankles: np.ndarray  # [n, 2, 3] ankle targets, left and right
    foot_yaw: np.ndarray  # [n, 2]
    contact: np.ndarray  # [n, 2] bool, planned foot contacts
    arms: np.ndarray  # [n, 2, 4] elevation, forward raise, twist, elbow flex
    sway: np.ndarray  # [n] pelvis shift to the left (m)

    @staticmethod
    def concat(parts: list[_Plan]) -> _Plan:
        return _Plan(*(np.concatenate([getattr(p, f) for p in parts]) for f in _PLAN_FIELDS))

    def __len__(self) -> int:
        return len(self.yaw)


_PLAN_FIELDS = ("root", "yaw", "height", "pitch", "ankles", "foot_yaw", "contact", "arms", "sway")


@dataclass
class _State:
    """Where a segment starts: pelvis pose and both feet on the ground."""

    root: np.ndarray  # (x, z)
    yaw: float
    feet: np.ndarray  # [2, 2] ground positions of the ankles
    foot_yaw: np.ndarray  # [2]
    seated: bool = False


class _Timeline:
    """Frame times of one segment: frames ``1..n`` after the previous segment's end."""

    def __init__(self, duration: float, fps: float) -> None:
        self.n = max(1, round(duration * fps))
        self.t = np.arange(1, self.n + 1) / fps
        self.fps = fps


def _standing(state: _State, body: Body, tl: _Timeline) -> _Plan:
    """A plan that holds ``state`` still for the timeline's frames."""
    n = tl.n
    ankles = np.repeat(_xz_to_3d(state.feet, body.ankle_height)[None], n, axis=0)
    return _Plan(
        root=np.repeat(state.root[None], n, axis=0),
        yaw=np.full(n, state.yaw),
        height=np.full(n, body.standing_height),
        pitch=np.zeros(n),
        ankles=ankles,
        foot_yaw=np.repeat(state.foot_yaw[None], n, axis=0),
        contact=np.ones((n, 2), dtype=bool),
        arms=np.repeat(np.repeat(_ARM_REST[None, None], 2, axis=1), n, axis=0),
        sway=np.zeros(n),
    )


def _stance(root: np.ndarray, yaw: float, width: float) -> np.ndarray:
    """Ground positions ``[2, 2]`` of left and right ankle standing at ``root``."""
    side = left_vector(yaw) * width
    return np.stack([root + side, root - side])


def _speed_profile(samples: int, ramp: float) -> np.ndarray:
    """Normalised progress ``u(τ)`` with sin² ramps taking ``ramp`` of each end."""
    tau = np.linspace(0.0, 1.0, samples)
    velocity = np.sin(0.5 * np.pi * np.minimum(1.0, np.minimum(tau, 1 - tau) / ramp)) ** 2
    progress = np.concatenate([[0.0], np.cumsum((velocity[1:] + velocity[:-1]) / 2)])
    return progress / progress[-1]


@dataclass(frozen=True)
class _Gait:
    step_time: float  # seconds between successive lift-offs (half a gait cycle)
    swing: float  # seconds a foot is in the air
    clearance: float  # swing height of the ankle (m)
    width: float  # lateral distance of each ankle from the pelvis line (m)
    bob: float  # extra pelvis rise in single support / flight (m)
    crouch: float  # pelvis lowered at cruise speed (m)
    lean: float  # trunk pitch at cruise speed (rad)
    arm_swing: float  # forward arm raise per metre of foot separation (rad/m)
    elbow: float  # elbow flex (rad)
    reference_speed: float  # speed (m/s) at which step_time and swing hold


WALK_GAIT = _Gait(0.5, 0.4, 0.07, 0.09, 0.012, 0.0, 0.05, 0.9, 0.35, 1.2)
RUN_GAIT = _Gait(0.33, 0.42, 0.13, 0.08, 0.04, 0.08, 0.2, 1.1, 1.4, 3.0)
SHUFFLE_GAIT = _Gait(0.55, 0.4, 0.05, 0.1, 0.006, 0.0, 0.0, 0.2, 0.3, 0.4)


def _locomote(
    state: _State,
    body: Body,
    fps: float,
    gait: _Gait,
    *,
    distance: float,
    travel: float,
    turn: float,
    speed: float,
    turn_rate: float = 1.6,
    first: int | None = None,
) -> tuple[_Plan, _State]:
    """Walk/run ``distance`` metres at ``travel`` rad from the heading while turning ``turn`` rad.

    The heading changes in proportion to the distance covered (a circular arc), or in
    place when ``distance`` is 0. Footsteps alternate, starting with ``first`` (by
    default the foot on the side the body moves or turns to).
    """
    # Faster gaits step more often as well as further, as people do (cadence ∝ v^0.35).
    cadence = (speed / gait.reference_speed) ** 0.35 if distance > 0 else 1.0
    gait = replace(gait, step_time=gait.step_time / cadence, swing=gait.swing / cadence)
    ramp = 0.25
    # Mean of the sin² velocity profile relative to its peak: 1 - ramp.
    mean_speed = 1.0 - ramp
    move_time = max(
        distance / (speed * mean_speed), abs(turn) / (turn_rate * mean_speed), 2 * gait.step_time
    )
    # The path, finely sampled: heading and position as functions of time.
    fine = 2001
    u = _speed_profile(fine, ramp)
    fine_yaw = state.yaw + turn * u
    direction = heading_vector(fine_yaw + travel)
    du = np.diff(u)[:, None]
    steps = distance * (direction[1:] + direction[:-1]) / 2 * du
    fine_pos = state.root + np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])
    fine_t = np.linspace(0.0, move_time, fine)

    def root_at(t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        t = np.clip(t, 0.0, move_time)
        xz = np.stack([np.interp(t, fine_t, fine_pos[:, k]) for k in range(2)], axis=-1)
        return xz, np.interp(t, fine_t, fine_yaw)

    if first is None:
        sideways = math.sin(travel) * distance
        first = LEFT if (turn > 0 or sideways > 1e-6) else RIGHT
        if abs(turn) < 1e-6 and abs(sideways) < 1e-6:
            first = LEFT
    # Footsteps: lift at k·step_time, land after `swing`, aim at the pelvis position
    # in the middle of the coming stance. Stop once both feet aimed at the end pose.
    stance = 2 * gait.step_time - gait.swing
    footsteps: list[tuple[int, float, np.ndarray, float]] = []  # foot, lift time, target, yaw
    k = 0
    while True:
        lift = k * gait.step_time
        aim = lift + gait.swing + stance / 2
        xz, yaw = root_at(aim)
        foot = first if k % 2 == 0 else 1 - first
        side = 1.0 if foot == LEFT else -1.0
        footsteps.append((foot, lift, xz + side * gait.width * left_vector(yaw), float(yaw)))
        if (
            len(footsteps) >= 2
            and aim >= move_time
            and footsteps[-2][1] + gait.swing + stance / 2 >= move_time
        ):
            break
        k += 1
    duration = max(move_time, footsteps[-1][1] + gait.swing) + 0.15
    tl = _Timeline(duration, fps)
    root, yaw = root_at(tl.t)
    plan = _standing(state, body, tl)
    plan.root, plan.yaw = root, yaw
    ground = np.repeat(state.feet[None], tl.n, axis=0).copy()
    foot_yaw = np.repeat(state.foot_yaw[None], tl.n, axis=0).copy()
    lift_height = np.zeros((tl.n, 2))
    feet, yaws = state.feet.copy(), state.foot_yaw.copy()
    for foot, lift, target, target_yaw in footsteps:
        tau = (tl.t - lift) / gait.swing
        # The foot clears the floor before it travels and travels only until just
        # before touch-down, so a foot near the floor is never dragged along it.
        s = _min_jerk((tau - 0.1) / 0.8)[:, None]
        swinging = (tau > 0) & (tau < 1)
        after = tau >= 1
        moving = swinging | after
        ground[moving, foot] = feet[foot] + s[moving] * (target - feet[foot])
        foot_yaw[moving, foot] = yaws[foot] + s[moving, 0] * (target_yaw - yaws[foot])
        lift_height[swinging, foot] = gait.clearance * np.sin(np.pi * tau[swinging])
        plan.contact[swinging, foot] = False
        feet[foot], yaws[foot] = target, target_yaw
    plan.ankles = _xz_to_3d(ground, body.ankle_height + lift_height)
    plan.foot_yaw = foot_yaw
    # Cruise effort: 1 while moving at speed, 0 at rest; drives lean, crouch, arm swing.
    effort = np.interp(tl.t, fine_t, np.gradient(u, fine_t) * move_time * mean_speed)
    effort = np.clip(effort, 0.0, 1.0) if distance > 0 else np.zeros(tl.n)
    support = plan.contact[:, LEFT].astype(float) - plan.contact[:, RIGHT]
    flight = ~plan.contact.any(axis=1)
    sigma = 0.06 * fps
    plan.sway = gaussian_filter1d(support, sigma, mode="nearest") * 0.025
    single = gaussian_filter1d(np.abs(support) + flight, sigma, mode="nearest")
    plan.height = body.standing_height - gait.crouch * effort + gait.bob * single
    plan.pitch = gait.lean * effort * (-1 if math.cos(travel) < -0.5 else 1)
    # Arms swing against the legs: the left arm goes forward as the right foot does.
    forward = heading_vector(plan.yaw)
    separation = np.sum((ground[:, RIGHT] - ground[:, LEFT]) * forward, axis=1)
    swing = gaussian_filter1d(gait.arm_swing * separation, 0.05 * fps, mode="nearest")
    plan.arms[:, LEFT, 1] = swing
    plan.arms[:, RIGHT, 1] = -swing
    elbow = _ARM_REST[3] + (gait.elbow - _ARM_REST[3]) * np.minimum(1.0, 3 * effort)
    plan.arms[:, :, 3] = elbow[:, None]
    end_root, end_yaw = root_at(move_time)
    new_state = _State(end_root, float(end_yaw), feet, yaws)
    return plan, new_state


def _blend_arms(plan: _Plan, sides: tuple[int, ...], pose: np.ndarray, weight: np.ndarray) -> None:
    """Move the arms on ``sides`` from rest toward ``pose`` (``[4]``) by ``weight`` ``[n]``."""
    for side in sides:
        plan.arms[:, side] = _ARM_REST + weight[:, None] * (pose - _ARM_REST)


def _envelope(t: np.ndarray, rise: float, hold: float, fall: float) -> np.ndarray:
    """0 → 1 over ``rise`` s, 1 for ``hold`` s, back to 0 over ``fall`` s."""
    return _min_jerk(t / rise) - _min_jerk((t - rise - hold) / fall)


def _wave(state: _State, body: Body, fps: float, command: Wave) -> tuple[_Plan, _State]:
    rise, fall, period = 0.6, 0.6, 0.65
    hold = command.cycles * period
    tl = _Timeline(rise + hold + fall + 0.2, fps)
    plan = _standing(state, body, tl)
    weight = _envelope(tl.t, rise, hold, fall)
    sides = {"left": (LEFT,), "right": (RIGHT,), "both": (LEFT, RIGHT)}[command.hand]
    _blend_arms(plan, sides, np.array([1.65, 0.3, -1.5, 1.5]), weight)
    # The forearm sways side to side: the elbow opens and closes around 85°.
    oscillation = 0.45 * np.sin(2 * np.pi * (tl.t - rise) / period) * (tl.t > rise) * weight
    for side in sides:
        plan.arms[:, side, 3] += oscillation
    return plan, state


def _raise_arms(state: _State, body: Body, fps: float, command: RaiseArms) -> tuple[_Plan, _State]:
    rise, hold, fall = 0.9, command.hold_s, 0.9
    tl = _Timeline(rise + hold + fall + 0.2, fps)
    plan = _standing(state, body, tl)
    pose = {
        "up": np.array([2.9, 0.1, 0.0, 0.1]),
        "forward": np.array([0.05, 1.5, 0.0, 0.05]),
        "sideways": np.array([1.55, 0.0, 0.0, 0.05]),
    }[command.direction]
    sides = {"left": (LEFT,), "right": (RIGHT,), "both": (LEFT, RIGHT)}[command.arms]
    _blend_arms(plan, sides, pose, _envelope(tl.t, rise, hold, fall))
    return plan, state


def _squat(state: _State, body: Body, fps: float, command: Squat) -> tuple[_Plan, _State]:
    down, hold, up, rest = 1.0, 0.3, 1.0, 0.3
    period = down + hold + up + rest
    tl = _Timeline(command.count * period, fps)
    plan = _standing(state, body, tl)
    phase = np.mod(tl.t, period)
    depth = _envelope(phase, down, hold, up)
    plan.height = body.standing_height - command.depth_m * depth
    plan.root = state.root - 0.35 * command.depth_m * depth[:, None] * heading_vector(state.yaw)
    plan.pitch = 1.6 * command.depth_m * depth
    _blend_arms(plan, (LEFT, RIGHT), np.array([0.1, 1.35, 0.0, 0.2]), depth)
    return plan, state


def _sit_down(state: _State, body: Body, fps: float, command: SitDown) -> tuple[_Plan, _State]:
    move, hold = 1.8, command.hold_s
    tl = _Timeline(move + hold, fps)
    plan = _standing(state, body, tl)
    s = _min_jerk(tl.t / move)
    plan.height = body.standing_height + s * (command.seat_height_m + 0.06 - body.standing_height)
    back = 0.32 * s[:, None] * heading_vector(state.yaw)
    plan.root = state.root - back
    plan.pitch = 0.7 * np.sin(np.pi * np.clip(tl.t / move, 0, 1)) + 0.1 * s
    _blend_arms(plan, (LEFT, RIGHT), np.array([0.15, 0.45, 0.0, 1.3]), s)
    seated = _State(state.root - back[-1], state.yaw, state.feet, state.foot_yaw, seated=True)
    return plan, seated


def _jump(state: _State, body: Body, fps: float, command: Jump) -> tuple[_Plan, _State]:
    crouch, push, absorb, recover = 0.5, 0.15, 0.3, 0.5
    flight = 2 * math.sqrt(2 * command.height_m / GRAVITY)
    takeoff = crouch + push
    land = takeoff + flight
    tl = _Timeline(land + absorb + recover, fps)
    plan = _standing(state, body, tl)
    t = tl.t
    stand = body.standing_height
    dip = 0.18 * (_min_jerk(t / crouch) - _min_jerk((t - crouch) / push))
    dip += 0.15 * (_min_jerk((t - land) / absorb) - _min_jerk((t - land - absorb) / recover))
    tau = np.clip((t - takeoff) / flight, 0.0, 1.0)
    airborne = (t > takeoff) & (t < land)
    velocity = math.sqrt(2 * GRAVITY * command.height_m)
    rise = np.where(airborne, velocity * (t - takeoff) - 0.5 * GRAVITY * (t - takeoff) ** 2, 0.0)
    plan.height = stand - dip + rise
    forward = heading_vector(state.yaw)
    plan.root = state.root + command.distance_m * tau[:, None] * forward
    landing = state.feet + command.distance_m * forward
    ground = state.feet[None] + tau[:, None, None] * (landing - state.feet)[None]
    tuck = 0.08 * np.sin(np.pi * tau) * airborne
    plan.ankles = _xz_to_3d(ground, (body.ankle_height + rise + tuck)[:, None])
    plan.contact[airborne] = False
    plan.pitch = 2.0 * dip
    # Arms swing back in the crouch and forward-up through take-off.
    arm = -0.7 * _min_jerk(t / crouch) + 2.0 * _min_jerk((t - crouch) / (push + 0.2))
    arm -= 1.3 * _min_jerk((t - land) / (absorb + recover))
    plan.arms[:, :, 1] = arm[:, None]
    new_state = _State(
        state.root + command.distance_m * forward, state.yaw, landing, state.foot_yaw.copy()
    )
    return plan, new_state


def _plan_command(state: _State, body: Body, fps: float, command: Command) -> tuple[_Plan, _State]:
    if isinstance(command, Walk | Run):
        gait = RUN_GAIT if isinstance(command, Run) else WALK_GAIT
        travel = {"forward": 0.0, "backward": math.pi}[command.direction]
        return _locomote(
            state, body, fps, gait, distance=command.distance_m, travel=travel,
            turn=math.radians(command.turn_deg), speed=command.speed_mps,
        )  # fmt: skip
    if isinstance(command, Turn):
        return _locomote(
            state, body, fps, SHUFFLE_GAIT, distance=0.0, travel=0.0,
            turn=math.radians(command.angle_deg), speed=1.0,
        )  # fmt: skip
    if isinstance(command, StepSideways):
        travel = math.pi / 2 if command.direction == "left" else -math.pi / 2
        return _locomote(
            state, body, fps, SHUFFLE_GAIT, distance=command.distance_m, travel=travel,
            turn=0.0, speed=0.4,
        )  # fmt: skip
    builders = {Wave: _wave, RaiseArms: _raise_arms, Squat: _squat, SitDown: _sit_down, Jump: _jump}
    return builders[type(command)](state, body, fps, command)


def _reach_limited_height(
    plan: _Plan, hip_offsets: np.ndarray, body: Body, fps: float
) -> np.ndarray:
    """Desired pelvis height lowered wherever a leg could not reach its ankle target."""
    limit = np.full(len(plan), np.inf)
    for side in (LEFT, RIGHT):
        hip_xz = (
            plan.root + plan.sway[:, None] * left_vector(plan.yaw) + hip_offsets[:, side][:, [0, 2]]
        )
        horizontal = np.linalg.norm(hip_xz - plan.ankles[:, side][:, [0, 2]], axis=1)
        vertical = np.sqrt(np.maximum(body.reach**2 - horizontal**2, 0.0))
        limit = np.minimum(limit, plan.ankles[:, side, 1] - hip_offsets[:, side, 1] + vertical)
    # Erode then smooth: the smoothed curve stays under the bound and has no kinks.
    sigma = 0.05 * fps
    width = 2 * math.ceil(2 * sigma) + 1
    eroded = minimum_filter1d(np.minimum(plan.height, limit), width, mode="nearest")
    return np.minimum(gaussian_filter1d(eroded, sigma, mode="nearest", truncate=2.0), limit)


def _arm_rotations(arms: np.ndarray, side: int) -> tuple[Rotation, Rotation]:
    """Shoulder and elbow local rotations from (elevation, forward, twist, flex) ``[n, 4]``.

    In the T-pose the left arm points along +X. ``Rz(e - π/2)`` lowers it to elevation
    ``e`` (0 hanging, π/2 sideways, π overhead; mirrored on the right), ``Rx(-φ)``
    raises it forward by ``φ``, ``Rx(twist)`` turns the humerus about its axis, and
    the elbow flexes the forearm toward the front of the hanging arm.
    """
    sign = 1.0 if side == LEFT else -1.0
    elevation, forward, twist, flex = arms.T
    shoulder = (
        Rotation.from_rotvec(np.outer(-forward, [1, 0, 0]))
        * Rotation.from_rotvec(np.outer(sign * (elevation - np.pi / 2), [0, 0, 1]))
        * Rotation.from_rotvec(np.outer(twist, [1, 0, 0]))
    )
    elbow = Rotation.from_rotvec(np.outer(-sign * flex, [0, 1, 0]))
    return shoulder, elbow


def _two_bone_knee(
    hip: np.ndarray, ankle: np.ndarray, forward: np.ndarray, upper: float, lower: float
) -> tuple[np.ndarray, np.ndarray]:
    """Knee and reached ankle ``[n, 3]`` of a thigh/shin pair, the knee toward ``forward``."""
    span = ankle - hip
    length = np.linalg.norm(span, axis=1, keepdims=True)
    axis = span / np.maximum(length, 1e-9)
    length = np.clip(length, abs(upper - lower) + 1e-4, (upper + lower) * 0.9999)
    along = (upper**2 - lower**2 + length**2) / (2 * length)
    out = np.sqrt(np.maximum(upper**2 - along**2, 0.0))
    bend = forward - np.sum(forward * axis, axis=1, keepdims=True) * axis
    bend /= np.maximum(np.linalg.norm(bend, axis=1, keepdims=True), 1e-9)
    knee = hip + along * axis + out * bend
    reached = hip + length * axis
    return knee, reached


def _pose(plan: _Plan, body: Body, fps: float) -> np.ndarray:
    """Joint positions ``[n, 22, 3]`` for a plan (see the module docstring)."""
    n = len(plan)
    pelvis_rot = Rotation.from_rotvec(np.outer(plan.yaw, [0, 1, 0]))
    hip_offsets = np.stack([pelvis_rot.apply(body.offsets[h]) for h in HIPS], axis=1)
    height = _reach_limited_height(plan, hip_offsets, body, fps)
    identity = Rotation.identity(n)
    local = [identity] * NUM_JOINTS
    local[0] = pelvis_rot
    lean = Rotation.from_rotvec(np.outer(plan.pitch / 3, [1, 0, 0]))
    local[3] = local[6] = local[9] = lean
    local[12] = Rotation.from_rotvec(np.outer(-0.5 * plan.pitch, [1, 0, 0]))
    for side in (LEFT, RIGHT):
        local[SHOULDERS[side]], local[ELBOWS[side]] = _arm_rotations(plan.arms[:, side], side)
    joints = np.zeros((n, NUM_JOINTS, 3))
    world: list[Rotation] = [identity] * NUM_JOINTS
    pelvis_xz = plan.root + plan.sway[:, None] * left_vector(plan.yaw)
    joints[:, 0] = _xz_to_3d(pelvis_xz, height)
    world[0] = local[0]
    for j in range(1, NUM_JOINTS):
        parent = SMPL22_PARENTS[j]
        joints[:, j] = joints[:, parent] + world[parent].apply(body.offsets[j])
        world[j] = world[parent] * local[j]
    # Legs: inverse kinematics to the planned ankles, toes from the foot heading.
    for side in (LEFT, RIGHT):
        forward = _xz_to_3d(heading_vector(plan.foot_yaw[:, side]))
        knee, ankle = _two_bone_knee(
            joints[:, HIPS[side]], plan.ankles[:, side], forward, body.thigh(side), body.shin(side)
        )
        joints[:, KNEES[side]] = knee
        joints[:, ANKLES[side]] = ankle
        foot_rot = Rotation.from_rotvec(np.outer(plan.foot_yaw[:, side], [0, 1, 0]))
        joints[:, TOES[side]] = ankle + foot_rot.apply(body.offsets[TOES[side]])
    return joints.astype(np.float32)


@dataclass
class SyntheticClip:
    """A generated motion with the commands it performs and its planned foot contacts."""

    joints: np.ndarray  # float32 [T, 22, 3], Y up, metres
    fps: float
    commands: tuple[Command, ...]
    contacts: np.ndarray  # bool [T, 2] left, right (planned; a foot in contact is still)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])


def synthesize(
    commands: list[Command] | tuple[Command, ...],
    *,
    body: Body | None = None,
    fps: float = DEFAULT_FPS,
    start_yaw: float = 0.0,
    lead_in_s: float = 0.4,
    lead_out_s: float = 0.4,
) -> SyntheticClip:
    """Motion performing ``commands`` in order, starting at the origin facing ``start_yaw``.

    The clip starts and ends standing still for ``lead_in_s`` / ``lead_out_s`` seconds.
    ``meta`` records the pelvis displacement and heading change the motion achieved.
    """
    if not commands:
        raise ValueError("synthesize needs at least one command")
    body = body or Body.from_bone_lengths()
    root = np.zeros(2)
    width = WALK_GAIT.width
    state = _State(root, start_yaw, _stance(root, start_yaw, width), np.full(2, start_yaw))
    first = _standing(state, body, _Timeline(lead_in_s, fps))
    plans = [first]
    for command in commands:
        if state.seated:
            raise ValueError(f"{type(command).__name__} cannot follow SitDown (the body is seated)")
        plan, state = _plan_command(state, body, fps, command)
        plans.append(plan)
    if not state.seated:
        plans.append(_standing(state, body, _Timeline(lead_out_s, fps)))
    plan = _Plan.concat(plans)
    joints = _pose(plan, body, fps)
    meta = {
        "end_root_xz": [float(v) for v in state.root],
        "end_yaw_deg": math.degrees(state.yaw - start_yaw),
        "start_yaw_deg": math.degrees(start_yaw),
    }
    return SyntheticClip(joints, fps, tuple(commands), plan.contact.copy(), meta)
