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
from sim.scene import (
    COLOURS,
    SHAPES,
    SceneDescription,
    SceneObject,
    build_scene_model,
    object_body_name,
    object_geoms,
)

__all__ = ["HeadCameraRenderer", "SceneRenderer", "sample_times"]


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


_GL_CONTEXTS: dict[tuple[int, int], object] = {}


def _egl_context(width: int, height: int) -> object:
    """A current off-screen EGL context, one per size and process (creating one takes ~1 s).

    EGL is requested explicitly rather than through ``MUJOCO_GL``, which MuJoCo reads
    once at import: rendering then works in any process, whatever imported MuJoCo first.
    """
    key = (width, height)
    if key not in _GL_CONTEXTS:
        from mujoco.egl import GLContext

        _GL_CONTEXTS[key] = GLContext(width, height)
    _GL_CONTEXTS[key].make_current()
    return _GL_CONTEXTS[key]


class HeadCameraRenderer:
    """The standing G1's head-camera image of many scenes, fast enough for training data.

    Compiling a scene (the G1's meshes) and uploading it to a GL context take seconds;
    rendering one image of it takes tens of milliseconds. So this renderer compiles one
    model holding every colour-shape label once, as a body of its own (scenes never
    repeat a label), and per scene only moves the named bodies into place, gives their
    primitives the object's sizes, and hides the rest (geom group 5, which the default
    visual options do not draw). The image equals the one of a model compiled for the
    scene alone (:meth:`SceneRenderer.head_view` in the standing pose), up to shadow-map
    rounding. Not thread-safe: one renderer per thread or process.
    """

    _HIDDEN_GROUP = 5

    def __init__(self, width: int = 320, height: int = 240) -> None:
        if width < 16 or height < 16:
            raise ValueError(f"image size {width}x{height} is too small")
        labels = [(colour, shape) for colour in COLOURS for shape in SHAPES]
        every_label = SceneDescription(
            tuple(SceneObject(f"{c}_{s}", s, c, (0.0, 0.0)) for c, s in labels)
        )
        self.model = build_scene_model(every_label)
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, width)
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, height)
        self.width, self.height = width, height
        self.data = mujoco.MjData(self.model)
        mujoco.mj_resetDataKeyframe(self.model, self.data, 0)  # the standing pose
        self._bodies = {
            (c, s): self.model.body(object_body_name(f"{c}_{s}")).id for c, s in labels
        }
        self._geoms = {
            label: np.flatnonzero(self.model.geom_bodyid == body)
            for label, body in self._bodies.items()
        }
        _egl_context(width, height)
        self._context = mujoco.MjrContext(self.model, mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._context)
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._camera.fixedcamid = self.model.camera(HEAD_CAMERA).id
        self._scene = mujoco.MjvScene(self.model, maxgeom=2000)
        self._options = mujoco.MjvOption()
        self._viewport = mujoco.MjrRect(0, 0, width, height)

    def close(self) -> None:
        self._context.free()

    def __enter__(self) -> HeadCameraRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _place(self, scene: SceneDescription) -> None:
        model = self.model
        for geoms in self._geoms.values():
            model.geom_group[geoms] = self._HIDDEN_GROUP
        for obj in scene.objects:
            label = (obj.colour, obj.shape)
            body = self._bodies[label]
            model.body_pos[body] = obj.position
            model.body_quat[body] = [np.cos(obj.yaw / 2), 0.0, 0.0, np.sin(obj.yaw / 2)]
            for geom_id, geom in zip(self._geoms[label], object_geoms(obj), strict=True):
                model.geom_size[geom_id] = geom.size
                model.geom_pos[geom_id] = geom.pos
                model.geom_group[geom_id] = 0
        mujoco.mj_kinematics(model, self.data)
        mujoco.mj_camlight(model, self.data)

    def render(self, scene: SceneDescription) -> np.ndarray:
        """``uint8 [height, width, 3]``: what the standing G1's head camera sees of ``scene``."""
        self._place(scene)
        _egl_context(self.width, self.height)
        mujoco.mjv_updateScene(
            self.model, self.data, self._options, None, self._camera,
            mujoco.mjtCatBit.mjCAT_ALL, self._scene,
        )  # fmt: skip
        mujoco.mjr_render(self._viewport, self._scene, self._context)
        image = np.empty((self.height, self.width, 3), dtype=np.uint8)
        mujoco.mjr_readPixels(image, None, self._viewport, self._context)
        return np.ascontiguousarray(np.flipud(image))  # OpenGL rows run bottom-up
