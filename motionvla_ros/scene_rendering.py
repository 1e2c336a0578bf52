"""Pictures of the simulated scene for ``sim_check``: the head camera and one MP4 per check.

A :class:`SceneRenderWorker` owns one thread and the MuJoCo renderers of one scene.
OpenGL contexts belong to the thread that made them, so every renderer is built,
used and closed on that thread; the node's executor and its check thread only
hand work over and never wait for a picture.

* :meth:`SceneRenderWorker.head_view` renders, once, what the G1's head camera
  sees from the standing pose at the scene origin: the pose every trajectory
  starts from. The scene is static, so the node republishes that one image
  rather than paying 100-450 ms of software rendering per identical frame.
* :meth:`SceneRenderWorker.submit_video` queues an MP4 of a checked trajectory
  (tracking camera, sampled at ``fps``). At most ``max_pending`` videos wait;
  beyond that a video is skipped rather than let a backlog grow without bound.
  Each video ends in one ``on_video`` event (``written`` true or false, with
  ``reason``). Files are written under a temporary name and renamed, so a
  reader never sees half an MP4.

Off-screen rendering needs ``MUJOCO_GL=egl`` before MuJoCo is first imported;
:mod:`motionvla_ros` sets it for its processes.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retargeting.trajectory import G1Trajectory

__all__ = ["RenderSettings", "SceneRenderWorker"]

VideoEvent = dict[str, Any]


@dataclass(frozen=True)
class RenderSettings:
    """Image sizes (pixels) and the video rate (frames per second)."""

    head_width: int = 320
    head_height: int = 240
    video_width: int = 320
    video_height: int = 240
    video_fps: float = 10.0

    def __post_init__(self) -> None:
        for name in ("head_width", "head_height", "video_width", "video_height"):
            if not 16 <= getattr(self, name) <= 4096:
                raise ValueError(f"{name} must be in [16, 4096], got {getattr(self, name)}")
        if not 0 < self.video_fps <= 120:
            raise ValueError(f"video_fps must be in (0, 120], got {self.video_fps}")


class SceneRenderWorker:
    """Head-camera image and trajectory videos of ``scene`` on one rendering thread."""

    def __init__(
        self,
        scene: Any,  # sim.scene.SceneDescription | None
        settings: RenderSettings,
        video_dir: Path | None,
        on_video: Callable[[VideoEvent], None],
        max_pending: int = 2,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending}")
        self.scene = scene
        self.settings = settings
        self.video_dir = video_dir
        self.max_pending = max_pending
        self._on_video = on_video
        self._renderers: dict[tuple[int, int], Any] = {}  # only touched on the render thread
        self._lock = threading.Lock()
        self._pending = 0
        self._closing = threading.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim-render")
        if video_dir is not None:
            video_dir.mkdir(parents=True, exist_ok=True)

    # --- on the render thread -------------------------------------------------------
    def _renderer(self, width: int, height: int):
        if (width, height) not in self._renderers:
            from sim.render import SceneRenderer

            self._renderers[(width, height)] = SceneRenderer(self.scene, width, height)
        return self._renderers[(width, height)]

    def _render_head_view(self) -> np.ndarray:
        from retargeting.g1 import g1_description

        renderer = self._renderer(self.settings.head_width, self.settings.head_height)
        return renderer.head_view(g1_description().stand_qpos)

    def _write_video(self, stamp_ns: int, trajectory: G1Trajectory, path: Path) -> None:
        from sim.render import sample_times

        started = time.perf_counter()
        event: VideoEvent = {"stamp_ns": stamp_ns, "path": str(path)}
        if self._closing.is_set():  # shutting down: nobody waits for this video any more
            with self._lock:
                self._pending -= 1
            return
        # imageio picks the format from the suffix, so the temporary name keeps ".mp4".
        partial = path.with_name(f".{path.stem}.partial.mp4")
        try:
            renderer = self._renderer(self.settings.video_width, self.settings.video_height)
            renderer.video(trajectory, partial, fps=self.settings.video_fps)
            os.replace(partial, path)
            event.update(
                written=True,
                frames=len(sample_times(trajectory, self.settings.video_fps)),
                fps=self.settings.video_fps,
                render_ms=round((time.perf_counter() - started) * 1e3, 1),
            )
        except Exception as error:  # a rendering failure costs the video, never the node
            traceback.print_exc()
            partial.unlink(missing_ok=True)
            event.update(written=False, reason=f"rendering failed: {type(error).__name__}: {error}")
        finally:
            with self._lock:
                self._pending -= 1
        self._emit(event)

    def _emit(self, event: VideoEvent) -> None:
        try:
            self._on_video(event)
        except Exception:  # reporting must never end the render thread
            traceback.print_exc()

    def _close_renderers(self) -> None:
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    # --- from any thread --------------------------------------------------------------
    def head_view(self) -> Future[np.ndarray]:
        """The head-camera image ``[H, W, 3]`` uint8 RGB, rendered on the render thread."""
        return self._thread.submit(self._render_head_view)

    def submit_video(self, stamp_ns: int, trajectory: G1Trajectory, passed: bool) -> Path | None:
        """Queue the video of one checked trajectory; its path, or None if it is skipped."""
        if self.video_dir is None:
            return None
        with self._lock:
            if self._pending >= self.max_pending:
                busy = True
            else:
                busy = False
                self._pending += 1
        verdict = "passed" if passed else "failed"
        path = self.video_dir / f"trajectory_{stamp_ns}_{verdict}.mp4"
        if busy:
            self._emit({"stamp_ns": stamp_ns, "path": str(path), "written": False,
                        "reason": f"{self.max_pending} videos already wait; skipped"})  # fmt: skip
            return None
        self._thread.submit(self._write_video, stamp_ns, trajectory, path)
        return path

    def close(self) -> None:
        """Drop waiting videos, finish the one being written, free the OpenGL contexts."""
        self._closing.set()
        self._thread.submit(self._close_renderers)
        self._thread.shutdown(wait=True, cancel_futures=False)
