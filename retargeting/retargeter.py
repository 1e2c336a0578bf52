"""Human joints → G1 trajectory, live (one frame at a time) or for whole clips.

:class:`StreamingRetargeter` is the one implementation: it takes human frames at
the input rate, resamples them to the output rate by linear interpolation between
the last two input frames, and for each output frame builds G1-sized landmark
targets (:mod:`retargeting.scaling`), applies foot contact
(:mod:`retargeting.contact`) and solves warm-started IK (:mod:`retargeting.ik`).
:class:`Retargeter` validates a whole clip (and repairs short gaps), then feeds it
through a fresh streaming retargeter, so a clip and the same frames streamed give
identical trajectories.

>>> result = Retargeter().retarget(joints, fps=30)     # doctest: +SKIP
>>> result.trajectory.save("out.npz")                  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from retargeting.config import RetargetConfig
from retargeting.contact import FootContactTracker
from retargeting.human_input import (
    RetargetInputError,
    check_bones,
    check_calibration_frame,
    check_fps,
    check_shape,
    prepare_human_clip,
    to_z_up,
)
from retargeting.ik import G1PoseSolver
from retargeting.scaling import LANDMARKS, HumanCalibration, g1_proportions, landmark_targets
from retargeting.trajectory import G1Trajectory

__all__ = [
    "LANDMARK_NAMES",
    "RetargetResult",
    "RetargetedFrame",
    "Retargeter",
    "StreamingRetargeter",
    "retarget",
]

LANDMARK_NAMES: tuple[str, ...] = tuple(LANDMARKS)


@dataclass(frozen=True)
class RetargetedFrame:
    """One output frame: the G1 pose and what it was asked to match."""

    time_s: float
    qpos: np.ndarray  # [36] root xyz, root wxyz, 29 joints
    targets: np.ndarray  # [K, 3] landmark targets (order of LANDMARK_NAMES)
    contact: np.ndarray  # [2] bool: human left/right foot in contact


@dataclass(frozen=True)
class RetargetResult:
    """A retargeted clip with the per-frame targets and contacts, for checking."""

    trajectory: G1Trajectory
    targets: np.ndarray  # [T, K, 3]
    contact: np.ndarray  # [T, 2] bool
    landmark_names: tuple[str, ...] = LANDMARK_NAMES


class StreamingRetargeter:
    """Retarget a live stream of human frames (``[22, 3]``, Y up) to G1 poses.

    :meth:`push` returns the output frames that became due with the new input
    frame (zero or more, depending on the two rates). The first pushed frame
    calibrates the performer (floor, size) and must have a foot on the floor.
    Non-finite values raise: a live stream cannot look ahead to interpolate.
    """

    def __init__(self, input_fps: float, config: RetargetConfig | None = None) -> None:
        self.config = config or RetargetConfig()
        self.input_fps = check_fps(input_fps)
        self._g1 = g1_proportions()
        self._solver = G1PoseSolver(self.config, self._g1, self.config.output_fps)
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next frame starts (and calibrates) a new motion."""
        self._solver.reset()
        self._contact = FootContactTracker(self.config, 1.0 / self.config.output_fps)
        self._calibration: HumanCalibration | None = None
        self._previous: np.ndarray | None = None
        self._inputs = 0
        self._outputs = 0

    @property
    def calibration(self) -> HumanCalibration | None:
        return self._calibration

    def push(self, joints: np.ndarray) -> list[RetargetedFrame]:
        try:
            frame = np.asarray(joints, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise RetargetInputError(f"frame is not a numeric array: {err}") from err
        where = f"input frame {self._inputs}"
        check_shape(frame, where, single=True)
        if not np.all(np.isfinite(frame)):
            bad = sorted({int(j) for j in np.nonzero(~np.isfinite(frame))[0]})
            raise RetargetInputError(f"{where} has non-finite (NaN/inf) joints {bad}")
        frame = to_z_up(frame)
        check_bones(frame, where)
        if self._calibration is None:
            check_calibration_frame(frame, self.config, where)
            self._calibration = HumanCalibration.from_frame(frame, self._g1)
        out = self._emit_due(frame)
        self._previous = frame
        self._inputs += 1
        return out

    def _emit_due(self, frame: np.ndarray) -> list[RetargetedFrame]:
        """Output frames whose time falls in (previous input, this input]."""
        now = self._inputs / self.input_fps
        out = []
        while (t := self._outputs / self.config.output_fps) <= now + 1e-9:
            if self._previous is None:
                human = frame
            else:
                alpha = min(1.0, max(0.0, 1.0 - (now - t) * self.input_fps))
                human = (1.0 - alpha) * self._previous + alpha * frame
            out.append(self._retarget_one(human, t))
            self._outputs += 1
        return out

    def _retarget_one(self, human: np.ndarray, time_s: float) -> RetargetedFrame:
        assert self._calibration is not None
        targets = landmark_targets(human, self._calibration, self._g1)
        self._contact.apply(human, targets, self._calibration, self._g1)
        qpos = self._solver.solve(targets)
        return RetargetedFrame(time_s, qpos, targets.positions, targets.feet.contact.copy())


class Retargeter:
    """Whole-clip retargeting (validation, gap repair, then the streaming core)."""

    def __init__(self, config: RetargetConfig | None = None) -> None:
        self.config = config or RetargetConfig()

    def retarget(self, joints: np.ndarray, fps: float, progress: bool = False) -> RetargetResult:
        """Human joints ``[T, 22, 3]`` (metres, Y up, SMPL-22) at ``fps`` → G1 motion.

        ``progress`` shows a progress bar over the input frames.
        """
        clip, rate = prepare_human_clip(joints, fps, self.config)
        stream = StreamingRetargeter(rate, self.config)
        inputs = tqdm(clip, desc="retarget", unit="frame", disable=not progress, leave=False)
        frames = [f for human in inputs for f in stream.push(human)]
        return RetargetResult(
            trajectory=G1Trajectory.from_qpos(
                np.stack([f.qpos for f in frames]), self.config.output_fps
            ),
            targets=np.stack([f.targets for f in frames]),
            contact=np.stack([f.contact for f in frames]),
        )


def retarget(joints: np.ndarray, fps: float, config: RetargetConfig | None = None) -> G1Trajectory:
    """Shorthand: the G1 trajectory of a human clip (see :class:`Retargeter`)."""
    return Retargeter(config).retarget(joints, fps).trajectory
