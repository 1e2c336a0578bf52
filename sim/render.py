"""Pictures of the G1 following a trajectory: video, a contact sheet and head-camera images.

Off-screen rendering needs an OpenGL back end chosen *before* ``mujoco`` is first
imported: ``MUJOCO_GL=egl`` (set by ``motionvla-sim`` and ``benchmarks/sim.py``).
Software EGL takes ~100–450 ms a frame, so videos default to 10 fps at 320×240;
a clip is sampled at the video rate, not rendered at its own.

All images are ``uint8`` RGB arrays ``[H, W, 3]`` (stacks ``[N, H, W, 3]``).
"""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import mujoco
import numpy as np
from PIL import Image, ImageDraw

from retargeting.g1 import BODY, HEAD_CAMERA
from retargeting.trajectory import G1Trajectory
from sim.scene import SceneDescription, build_scene_model

__all__ = ["SceneRenderer", "sample_times"]


def sample_times(trajectory: G1Trajectory, fps: float) -> np.ndarray:
    """Frame indices of ``trajectory`` nearest to a ``fps`` clock (first and last kept)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    count = max(int(np.floor(trajectory.duration_s * fps)) + 1, 1)
    times = np.arange(count) / fps
    return np.unique(
        np.clip(np.round(times * trajectory.fps).astype(int), 0, trajectory.num_frames - 1)
    )


class SceneRenderer:
    """Renders one scene at one image size; reuse it for many trajectories.

    ``distance``, ``azimuth`` and ``elevation`` place the tracking camera that follows
    the pelvis (metres, degrees).
    """

    def __init__(
        self,
        scene: SceneDescription | None = None,
        width: int = 320,
        height: int = 240,
        distance: float = 2.2,
        azimuth: float = 150.0,
        elevation: float = -15.0,
    ) -> None:
        if width < 16 or height < 16:
            raise ValueError(f"image size {width}x{height} is too small")
        self.scene = scene or SceneDescription()
        self.model = build_scene_model(self.scene)
        # The off-screen buffer must hold the largest image rendered.
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, width)
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, height)
        self.width, self.height = width, height
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, height, width)
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        self.camera.trackbodyid = self.model.body(BODY["pelvis"]).id
        self.camera.distance, self.camera.azimuth, self.camera.elevation = (
            distance, azimuth, elevation,
        )  # fmt: skip
        self.head_camera = self.model.camera(HEAD_CAMERA).id

    def close(self) -> None:
        self.renderer.close()

    def __enter__(self) -> SceneRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- single images -----------------------------------------------------------
    def _pose(self, qpos: np.ndarray) -> None:
        self.data.qpos[:] = qpos
        mujoco.mj_forward(self.model, self.data)

    def render(self, qpos: np.ndarray) -> np.ndarray:
        """The robot in pose ``qpos`` seen by the tracking camera."""
        self._pose(qpos)
        self.renderer.update_scene(self.data, self.camera)
        return self.renderer.render().copy()

    def head_view(self, qpos: np.ndarray) -> np.ndarray:
        """What the robot's head camera sees in pose ``qpos``."""
        self._pose(qpos)
        self.renderer.update_scene(self.data, self.head_camera)
        return self.renderer.render().copy()

    # --- trajectories --------------------------------------------------------------
    def frames(self, trajectory: G1Trajectory, fps: float = 10.0, head: bool = False) -> np.ndarray:
        """Images ``[N, H, W, 3]`` of ``trajectory`` sampled at ``fps``."""
        qpos = trajectory.qpos()
        view = self.head_view if head else self.render
        return np.stack([view(qpos[t]) for t in sample_times(trajectory, fps)])

    def video(self, trajectory: G1Trajectory, path: str | Path, fps: float = 10.0) -> Path:
        """Write an MP4 (H.264) of ``trajectory`` sampled at ``fps``; returns the path."""
        path = Path(path)
        qpos = trajectory.qpos()
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as writer:
            for t in sample_times(trajectory, fps):
                writer.append_data(self.render(qpos[t]))
        return path

    def contact_sheet(
        self, trajectory: G1Trajectory, path: str | Path, count: int = 8, columns: int = 4
    ) -> Path:
        """A PNG grid of ``count`` evenly spaced frames, each labelled with its time."""
        path = Path(path)
        indices = np.unique(np.linspace(0, trajectory.num_frames - 1, count).round().astype(int))
        qpos = trajectory.qpos()
        rows = -(-len(indices) // columns)
        sheet = Image.new("RGB", (columns * self.width, rows * self.height), "white")
        for i, t in enumerate(indices):
            tile = Image.fromarray(self.render(qpos[t]))
            ImageDraw.Draw(tile).text((6, 4), f"t={t / trajectory.fps:.2f}s", fill=(0, 0, 0))
            sheet.paste(tile, ((i % columns) * self.width, (i // columns) * self.height))
        sheet.save(path)
        return path
