"""From a text command and the latest camera frame to a G1 trajectory.

A :class:`MotionPipeline` is what the generator node runs off its executor
thread, one request at a time::

    (text, image [H,W,3] uint8 RGB | None) --generate--> human joints [T,22,3] @ 20 fps
                                           --retarget--> G1Trajectory @ 50 Hz

Every pipeline checks its :class:`CancelToken` between stages (and passes it into
stages that can stop early), so a cancelled or timed-out request ends with
:class:`GenerationCancelled` within one stage, and reports its progress through a
callback that the node turns into status messages.

Two pipelines exist:

* :class:`ModelPipeline` — the MotionVLA model and the G1 retargeter.
* :class:`ClipLibraryPipeline` — serves recorded G1 clips from the registry
  catalogue (walk, jog, turn, sidestep, …) chosen by the words of the command. It
  needs no model or GPU, which makes it the way to bring the ROS side up on a
  robot or a CI machine before a model is trained; ``realtime_factor`` paces its
  progress like a model that streams its motion, so that the node's preemption
  and cancellation paths see the same timing as with a model.
"""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from motionvla_model.bundled import default_model_path
from motionvla_model.motion.registry_data import fetch, names
from retargeting.trajectory import G1Trajectory, load_reference_clip

if TYPE_CHECKING:  # the clips backend never pays for the model's imports
    from motionvla_model.plan import ScenePlan

__all__ = [
    "CancelToken",
    "ClipLibraryPipeline",
    "GenerationCancelled",
    "ModelPipeline",
    "MotionPipeline",
    "MotionRequest",
    "MotionResult",
    "PipelineError",
    "Progress",
    "make_pipeline",
]


class PipelineError(RuntimeError):
    """A request could not be turned into a trajectory (reason in the message)."""


class GenerationCancelled(PipelineError):
    """The request was cancelled, preempted or ran past its deadline."""


class CancelToken:
    """Cancellation shared between the node and one running request.

    ``deadline`` is a ``time.monotonic()`` value; passing it counts as a
    cancellation with reason ``"timeout"``.
    """

    def __init__(self, deadline: float | None = None) -> None:
        self._event = threading.Event()
        self._reason = ""
        self.deadline = deadline

    def cancel(self, reason: str) -> None:
        if not self._event.is_set():
            self._reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        expired = self.deadline is not None and time.monotonic() >= self.deadline
        if expired and not self._event.is_set():
            self.cancel("timeout")
        return self._event.is_set()

    @property
    def reason(self) -> str:
        return self._reason

    def check(self) -> None:
        """Raise :class:`GenerationCancelled` if the request should stop."""
        if self.cancelled:
            raise GenerationCancelled(self._reason)

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking (and raising) as soon as it is cancelled."""
        if self.deadline is not None:
            seconds = min(seconds, max(0.0, self.deadline - time.monotonic()))
        self._event.wait(seconds)
        self.check()


@dataclass(frozen=True)
class MotionRequest:
    request_id: int
    text: str
    image: np.ndarray | None = None  # [H, W, 3] uint8 RGB
    image_stamp_ns: int | None = None  # header stamp of that frame
    duration_s: float | None = None
    seed: int | None = None


@dataclass
class MotionResult:
    trajectory: G1Trajectory
    source: str  # which model or clip produced it
    timings_ms: dict[str, float] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)
    # The model's grounded plan ("red box: 2.4 m, 30° left"), for a scene command.
    plan: ScenePlan | None = None


# progress(stage, fraction in [0, 1])
Progress = Callable[[str, float], None]


class MotionPipeline(ABC):
    """``run(request) -> MotionResult``; must honour the token and report progress."""

    name: str = "pipeline"

    def load(self) -> None:  # noqa: B027 - loading is optional
        """Load weights/data ahead of the first request (the node calls this at start)."""

    @abstractmethod
    def run(self, request: MotionRequest, token: CancelToken, progress: Progress) -> MotionResult:
        """Produce the trajectory for ``request`` or raise :class:`PipelineError`."""


class ClipLibraryPipeline(MotionPipeline):
    """Recorded G1 clips chosen by the command's words (see the module docstring)."""

    name = "clips"
    # Words of a command that mean the same as a word in a clip name.
    SYNONYMS: ClassVar[dict[str, str]] = {
        "run": "jog",
        "running": "jog",
        "jogging": "jog",
        "walking": "walk",
        "go": "walk",
        "back": "backward",
        "backwards": "backward",
        "rotate": "turn",
        "spin": "turn",
        "around": "turn",
        "sideways": "sideway",
        "side": "sideway",
        "fall": "fallandgetup",
        "stand": "idle",
    }
    DEFAULT_CLIP = "amp/walk_forward_loop_002__A022"

    def __init__(self, realtime_factor: float = 0.0, progress_steps: int = 20) -> None:
        if realtime_factor < 0:
            raise ValueError(f"realtime_factor must be >= 0, got {realtime_factor}")
        if progress_steps < 1:
            raise ValueError(f"progress_steps must be >= 1, got {progress_steps}")
        self.realtime_factor = realtime_factor
        self.progress_steps = progress_steps
        self.clip_names = [n for n in names() if n.startswith("amp/")]
        self._cache: dict[str, G1Trajectory] = {}

    def load(self) -> None:
        self._clip(self.DEFAULT_CLIP)

    def _clip(self, name: str) -> G1Trajectory:
        if name not in self._cache:
            self._cache[name] = load_reference_clip(fetch(name))
        return self._cache[name]

    def choose(self, text: str) -> str:
        """The clip whose name shares most words with ``text`` (ties: the shorter name)."""
        words = {self.SYNONYMS.get(w, w) for w in re.findall(r"[a-z]+", text.lower())}

        def score(name: str) -> tuple[int, int]:
            # "amp/walk_forward_loop_002__A022": the words before the actor id.
            words_of_name = re.sub(r"__a\d+$", "", name.split("/", 1)[1].lower())
            tokens = set(re.findall(r"[a-z]+", words_of_name))
            return len(words & tokens), -len(name)

        best = max(self.clip_names, key=score)
        return best if score(best)[0] > 0 else self.DEFAULT_CLIP

    def run(self, request: MotionRequest, token: CancelToken, progress: Progress) -> MotionResult:
        started = time.perf_counter()
        token.check()
        name = self.choose(request.text)
        clip = self._clip(name)
        frames = clip.num_frames
        if request.duration_s is not None:
            frames = min(frames, max(2, round(request.duration_s * clip.fps) + 1))
        # Stream the clip in chunks, as a model emits its motion; each chunk takes its
        # play time divided by realtime_factor (0: no pacing).
        for step in range(1, self.progress_steps + 1):
            if self.realtime_factor > 0:
                play_s = (frames - 1) / clip.fps
                token.wait(play_s / self.progress_steps / self.realtime_factor)
            else:
                token.check()
            progress("generate", step / self.progress_steps)
        trajectory = G1Trajectory(
            clip.fps, clip.root_pos[:frames], clip.root_quat[:frames], clip.joint_pos[:frames]
        )
        return MotionResult(
            trajectory, source=name, timings_ms={"total": (time.perf_counter() - started) * 1e3}
        )


class ModelPipeline(MotionPipeline):
    """The MotionVLA model (``motionvla_model``) followed by the G1 retargeter.

    The model's first candidate is its greedy one. A candidate the retargeter refuses
    (a collapsed skeleton) or that fails the gate's own scene-free checks
    (:func:`sim.kinematic_check.trajectory_checks`, default thresholds: joint limits,
    speeds, accelerations, the pelvis' speed, height and tilt) is not sent while
    ``attempts`` allows another: the next candidates are sampled
    (:data:`RETRY_SAMPLING`, seeds ``seed + 1``, ``seed + 2``, ...). The bundled model's
    greedy motion fails those checks for 3 of 32 commands without an image (a pelvis
    that starts 20 cm too high, one that drops to 6 cm, an upper arm that collapses);
    sampled again, 13 of 15 candidates of such commands passed the whole gate. Only
    the time left to the request is spent: another candidate is started only while
    more than 1.5 times what the first took remains. The last candidate that could be
    retargeted is sent when none passes, and the gate judges it as any other.
    """

    name = "model"
    RETRY_SAMPLING: ClassVar[dict[str, float]] = {"temperature": 0.7, "top_p": 0.9}

    def __init__(self, model_path: str, device: str = "auto", attempts: int = 3) -> None:
        if not model_path:
            default = default_model_path()
            if default is None:
                raise PipelineError(
                    "no model_path given and no default model found "
                    "(build one with `motionvla-train default`)"
                )
            model_path = str(default)
        if not (isinstance(attempts, int) and 1 <= attempts <= 10):
            raise ValueError(f"attempts must be an integer in [1, 10], got {attempts!r}")
        self.model_path = model_path
        self.device = device
        self.attempts = attempts
        self._model = None
        self._retargeter = None
        self._check_config = None

    def load(self) -> None:
        try:
            from motionvla_model.modeling import MotionVLA
            from retargeting.retargeter import Retargeter
            from sim.config import SimCheckConfig
        except ImportError as error:
            raise PipelineError(f"the model backend is not available: {error}") from error
        try:
            self._model = MotionVLA.from_pretrained(self.model_path, device=self.device)
        except Exception as error:  # any load failure is reported, never fatal to the node
            raise PipelineError(f"cannot load model from {self.model_path}: {error}") from error
        self._retargeter = Retargeter()
        self._check_config = SimCheckConfig()

    def _generate(self, request: MotionRequest, attempt: int, token: CancelToken, progress):
        # The model stops itself at the request's deadline (and when cancelled) and
        # decodes what it has; the token then turns that into a cancellation.
        budget = None if token.deadline is None else max(0.01, token.deadline - time.monotonic())
        seed = request.seed if attempt == 0 else (request.seed or 0) + attempt
        sampling = {} if attempt == 0 else self.RETRY_SAMPLING
        try:
            return self._model.generate(
                request.text,
                image=request.image,
                duration_s=request.duration_s,
                seed=seed,
                time_budget_s=budget,
                on_base_complete=lambda _preview: progress("generate", 0.5),
                should_stop=lambda: token.cancelled,
                **sampling,
            )
        except Exception as error:
            token.check()  # a cancellation surfacing as an exception stays a cancellation
            raise PipelineError(f"generation failed: {error}") from error

    def _fault(self, trajectory: G1Trajectory) -> str:
        """Why the gate would refuse ``trajectory`` without a scene ("" if it would not)."""
        from sim.kinematic_check import trajectory_checks

        checks, _ = trajectory_checks(trajectory, self._check_config)
        return "; ".join(f"{c.name}: {c.reason}" for c in checks if not c.passed)

    def run(self, request: MotionRequest, token: CancelToken, progress: Progress) -> MotionResult:
        if self._model is None:
            self.load()
        token.check()
        timings = {"generate": 0.0, "retarget": 0.0}
        sent, faults, error = None, [], None  # sent: (attempt, motion, trajectory)
        for attempt in range(self.attempts):
            if attempt and token.deadline is not None and (
                token.deadline - time.monotonic() < 1.5 * (timings["generate"] / attempt) / 1e3
            ):
                break  # no time for another candidate
            progress("generate", 0.0)
            began = time.perf_counter()
            motion = self._generate(request, attempt, token, progress)
            token.check()
            generated = time.perf_counter()
            progress("retarget", 0.0)
            try:
                trajectory = self._retargeter.retarget(
                    np.asarray(motion.joints), fps=motion.fps
                ).trajectory
                fault = self._fault(trajectory) if self.attempts > 1 else ""
                sent = (attempt, motion, trajectory)
            except Exception as err:
                error = err
                fault = f"retargeting refused it: {err}"
            timings["generate"] += (generated - began) * 1e3
            timings["retarget"] += (time.perf_counter() - generated) * 1e3
            token.check()
            progress("retarget", 1.0)
            faults.append(fault)
            if not fault:
                break
        if sent is None:
            raise PipelineError(f"retargeting the generated motion failed: {error}") from error
        chosen, motion, trajectory = sent
        notes = [
            f"candidate {i + 1} {'sent although' if i == chosen else 'not sent:'} {fault}"
            for i, fault in enumerate(faults)
            if fault
        ]
        return MotionResult(
            trajectory,
            source=f"{self.model_path} ({motion.stop_reason}, candidate {chosen + 1})",
            timings_ms=timings,
            repairs=[*motion.repairs, *motion.notes, *notes],
            plan=motion.plan,
        )


def make_pipeline(
    backend: str,
    model_path: str = "",
    device: str = "auto",
    realtime_factor: float = 0.0,
    attempts: int = 3,
) -> MotionPipeline:
    """The pipeline named by the node's ``backend`` parameter."""
    if backend == "clips":
        return ClipLibraryPipeline(realtime_factor=realtime_factor)
    if backend == "model":
        return ModelPipeline(model_path, device=device, attempts=attempts)
    raise PipelineError(f"unknown backend {backend!r} (model or clips)")
