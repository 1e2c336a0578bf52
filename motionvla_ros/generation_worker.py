"""One background thread that runs motion requests, off the ROS executor.

Generation takes seconds; running it in a subscription callback would stall image
callbacks and services. :class:`GenerationWorker` owns a single thread and a
bounded list of pending requests. What a new request does while another runs is
the ``policy``:

* ``preempt`` — the running request is cancelled and pending ones are dropped;
  the newest command wins (a person correcting the robot means the new command).
* ``queue`` — it waits its turn; beyond ``queue_size`` pending it is rejected.

Every change of a request's state is reported through ``on_event`` as a dict
(``state`` is one of queued, generating, progress, done, cancelled, rejected,
error, with ``request_id``, ``command`` and, where they apply, ``reason`` and
timings); ``on_result`` receives each finished trajectory. Exceptions from the
pipeline or from the callbacks end that request with an ``error`` event: the
thread itself never dies.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from motionvla_ros.pipeline import (
    CancelToken,
    GenerationCancelled,
    MotionPipeline,
    MotionRequest,
    MotionResult,
    PipelineError,
)

__all__ = ["POLICIES", "GenerationWorker"]

POLICIES = ("preempt", "queue")

Event = dict[str, Any]


class GenerationWorker:
    def __init__(
        self,
        pipeline: MotionPipeline,
        on_event: Callable[[Event], None],
        on_result: Callable[[MotionRequest, MotionResult], dict[str, Any] | None],
        *,
        policy: str = "preempt",
        queue_size: int = 8,
        timeout_s: float = 60.0,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.pipeline = pipeline
        self.policy = policy
        self.queue_size = queue_size
        self.timeout_s = timeout_s
        self._on_event = on_event
        self._on_result = on_result
        self._pending: deque[MotionRequest] = deque()
        self._current: tuple[MotionRequest, CancelToken] | None = None
        self._lock = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="motion-generation", daemon=True)
        self._thread.start()

    # --- called from the executor --------------------------------------------------
    def submit(self, request: MotionRequest) -> None:
        dropped: list[MotionRequest] = []
        with self._lock:
            if self.policy == "preempt":
                if self._current is not None:
                    self._current[1].cancel(f"preempted by request {request.request_id}")
                dropped = list(self._pending)
                self._pending.clear()
            elif len(self._pending) >= self.queue_size:
                self._emit(request, "rejected", reason=f"queue full ({self.queue_size} pending)")
                return
            self._pending.append(request)
            self._lock.notify()
        for old in dropped:
            self._emit(old, "cancelled", reason=f"preempted by request {request.request_id}")
        self._emit(request, "queued", pending=len(self._pending))

    def cancel(self, reason: str = "cancelled") -> int:
        """Cancel the running request and drop pending ones; returns how many."""
        with self._lock:
            dropped = list(self._pending)
            self._pending.clear()
            running = self._current
            if running is not None:
                running[1].cancel(reason)
        for old in dropped:
            self._emit(old, "cancelled", reason=reason)
        return len(dropped) + (running is not None)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._pending)

    def stop(self, timeout_s: float = 3.0) -> bool:
        """Cancel everything and end the thread; False when it is still running after
        ``timeout_s`` (loading a model cannot be cancelled, only generation can)."""
        self.cancel("shutting down")
        with self._lock:
            self._stopping = True
            self._lock.notify()
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    # --- the worker thread ---------------------------------------------------------
    def _emit(self, request: MotionRequest, state: str, **fields: Any) -> None:
        event = {"state": state, "request_id": request.request_id, "command": request.text}
        event.update(fields)
        try:
            self._on_event(event)
        except Exception:  # reporting must never take the worker down
            traceback.print_exc()

    def _load(self) -> None:
        try:
            self.pipeline.load()
        except Exception as error:
            reason = f"loading the {self.pipeline.name} pipeline failed: {error}"
            try:
                self._on_event({"state": "error", "request_id": None, "reason": reason})
            except Exception:
                traceback.print_exc()

    def _loop(self) -> None:
        self._load()
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                request = self._pending.popleft()
                token = CancelToken(deadline=time.monotonic() + self.timeout_s)
                self._current = (request, token)
            try:
                self._run(request, token)
            finally:
                with self._lock:
                    self._current = None

    def _run(self, request: MotionRequest, token: CancelToken) -> None:
        started = time.perf_counter()
        self._emit(request, "generating", image_stamp_ns=request.image_stamp_ns)

        def progress(stage: str, fraction: float) -> None:
            self._emit(request, "progress", stage=stage, fraction=round(float(fraction), 3))

        def elapsed_ms() -> float:
            return round((time.perf_counter() - started) * 1e3, 1)

        try:
            result = self.pipeline.run(request, token, progress)
            token.check()  # a result that arrives after cancellation is not published
            published = self._on_result(request, result) or {}
        except GenerationCancelled as cancelled:
            if cancelled.args and cancelled.args[0] == "timeout":
                reason = f"timed out after {self.timeout_s:g} s"
                self._emit(request, "error", reason=reason, elapsed_ms=elapsed_ms())
            else:
                self._emit(request, "cancelled", reason=str(cancelled), elapsed_ms=elapsed_ms())
        except PipelineError as error:
            self._emit(request, "error", reason=str(error), elapsed_ms=elapsed_ms())
        except Exception as error:  # a bug in a pipeline must not end the node
            traceback.print_exc()
            reason = f"{type(error).__name__}: {error}"
            self._emit(request, "error", reason=reason, elapsed_ms=elapsed_ms())
        else:
            self._emit(
                request,
                "done",
                source=result.source,
                frames=result.trajectory.num_frames,
                duration_s=round(result.trajectory.duration_s, 3),
                timings_ms={k: round(v, 1) for k, v in result.timings_ms.items()},
                repairs=result.repairs,
                plan=None if result.plan is None else result.plan.to_dict(),
                elapsed_ms=elapsed_ms(),
                **published,
            )
