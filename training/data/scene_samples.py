"""Scene-conditioned samples: the caption names an object, the image says where it is.

A random :class:`sim.scene.SceneDescription` puts several coloured objects in front of
the G1; one is the target. The caption names it ("walk to the red box", "face the blue
ball") and the motion turns toward it and, for "walk to", walks up to it, stopping
``stop_distance_m`` short of its surface. Because the objects are placed at random,
the right heading and distance exist only in the head-camera image, not in the text.

Geometry runs in the human frame (:mod:`training.data.frames`): the body starts at the
origin facing +Z, which is the G1 at the world origin facing +X. The scene is the G1's,
and the retargeter scales a human's path by the ratio of the G1's pelvis height to the
human's (:mod:`retargeting.scaling`), so a walk to an object is planned for the robot:
the human walks the robot's distance divided by that ratio (:func:`g1_path_scale`),
and it is the retargeted G1 that stops in front of the object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from motionvla_model.plan import ScenePlan
from training.data.commands import Command, Turn, Walk
from training.data.frames import world_to_human

__all__ = [
    "SceneTask",
    "g1_path_scale",
    "mirror_scene",
    "object_plan",
    "plan_scene_task",
    "random_scene",
    "render_head_camera",
    "scene_captions",
    "scene_tasks",
]

_MIN_FACE_TURN_DEG = 15.0  # "face X" needs a visible turn to be a lesson in looking
_MIN_TURN_DEG = 2.0  # below this a walk goes straight without turning first


@dataclass(frozen=True)
class SceneTask:
    """What a scene sample asks for and the commands that achieve it."""

    action: str  # "walk_to" or "face"
    target: dict[str, Any]  # name, label, world position, human-frame ground position
    bearing_deg: float  # heading change needed to face the target (positive: left)
    distance_m: float  # ground distance from the start to the target's centre
    stop_distance_m: float  # how far from the target's centre a walk stops
    commands: tuple[Command, ...]

    def params(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target,
            "bearing_deg": self.bearing_deg,
            "distance_m": self.distance_m,
            "stop_distance_m": self.stop_distance_m,
        }


def random_scene(seed: int, num_objects: tuple[int, int] = (2, 4)) -> Any:
    """A seeded random scene from :mod:`sim.scene` with 2–4 objects."""
    from sim.scene import SceneDescription

    return SceneDescription.random(seed, num_objects=num_objects)


@lru_cache(maxsize=1)
def g1_path_scale() -> float:
    """How far the retargeted G1 travels per metre the synthetic body travels."""
    from retargeting.human_input import to_z_up
    from retargeting.scaling import HumanCalibration, g1_proportions
    from training.data.synthetic_motion import synthesize

    standing = synthesize([Turn(90.0)]).joints[0].astype(np.float64)
    return HumanCalibration.from_frame(to_z_up(standing), g1_proportions()).root_scale


def object_plan(obj: Any) -> ScenePlan:
    """Where ``obj`` (a :class:`sim.scene.SceneObject`) is, seen from the standing G1.

    The G1 stands at the world origin facing +x; the plan's distance is the ground
    distance to the object's centre and its bearing the turn that faces it (left > 0).
    """
    return ScenePlan(obj.label, *obj.seen_from_start())


def scene_captions(action: str, label: str) -> list[str]:
    """Phrasings of a scene command naming the object ``label`` (e.g. ``"red box"``)."""
    if action == "walk_to":
        return [
            f"walk to the {label}",
            f"go to the {label}",
            f"walk over to the {label}",
            f"approach the {label}",
            f"walk up to the {label}",
        ]
    if action == "face":
        return [
            f"face the {label}",
            f"turn toward the {label}",
            f"turn to face the {label}",
            f"turn your body toward the {label}",
        ]
    raise ValueError(f"unknown scene action {action!r} (walk_to, face)")


def plan_scene_task(
    scene: Any,
    rng: np.random.Generator,
    stop_margin_m: float = 0.4,
    *,
    target_index: int | None = None,
    action: str | None = None,
) -> SceneTask:
    """Plan the commands that perform a scene command in ``scene``.

    The target (``target_index`` into ``scene.objects``) and the action (``"walk_to"`` or
    ``"face"``) are drawn from ``rng`` unless given; "face" needs a target at least
    15° off the current heading (else there is nothing to turn to).
    """
    objects = list(scene.objects)
    if not objects:
        raise ValueError("a scene sample needs a scene with at least one object")
    if target_index is None:
        target_index = int(rng.integers(len(objects)))
    target = objects[target_index]
    ground = world_to_human(np.array(target.position))[[0, 2]]
    place = object_plan(target)
    bearing, distance = place.bearing_deg, place.distance_m
    radius = float(max(target.size[:2]) if target.shape != "ball" else target.size[0])
    stop = radius + stop_margin_m
    can_face = abs(bearing) >= _MIN_FACE_TURN_DEG
    if action is None:
        action = "face" if can_face and rng.random() < 0.35 else "walk_to"
    elif action not in ("walk_to", "face") or (action == "face" and not can_face):
        raise ValueError(f"cannot {action!r} {target.label} at bearing {bearing:.1f} deg")
    commands: list[Command] = []
    if abs(bearing) >= _MIN_TURN_DEG:
        commands.append(Turn(round(bearing, 2)))
    if action == "walk_to":
        walk = max(distance - stop, 0.2) / g1_path_scale()
        commands.append(Walk(round(walk, 3), speed_mps=1.1))
    world = [float(v) for v in target.position]
    return SceneTask(
        action=action,
        target={
            "name": target.name,
            "label": target.label,
            "position_world": world,
            "ground_human_xz": [float(v) for v in ground],
        },
        bearing_deg=bearing,
        distance_m=distance,
        stop_distance_m=stop,
        commands=tuple(commands),
    )


def scene_tasks(scene: Any, rng: np.random.Generator, count: int) -> list[SceneTask]:
    """Up to ``count`` distinct (target, action) tasks in one scene, in random order.

    Several commands about one image, each naming a different object, are what teaches a
    model to find the named object in the picture: the image alone does not decide the
    motion, and neither does the text.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    pairs = []
    for index, target in enumerate(scene.objects):
        ground = world_to_human(np.array(target.position))[[0, 2]]
        pairs.append((index, "walk_to"))
        if abs(math.degrees(math.atan2(ground[0], ground[1]))) >= _MIN_FACE_TURN_DEG:
            pairs.append((index, "face"))
    chosen = [pairs[k] for k in rng.permutation(len(pairs))[:count]]
    return [plan_scene_task(scene, rng, target_index=i, action=a) for i, a in chosen]


def mirror_scene(scene: Any) -> Any:
    """``scene`` reflected across the robot's sagittal plane (world ``y -> -y``).

    Its head-camera image is the original image flipped left to right (the camera sits
    on that plane), so a rendered scene gives a second, mirrored sample without a render.
    """
    from dataclasses import replace

    objects = tuple(
        replace(o, position=(o.position[0], -o.position[1], o.position[2]), yaw=-o.yaw)
        for o in scene.objects
    )
    return replace(scene, objects=objects)


_RENDERERS: dict[tuple[int, int], Any] = {}


def render_head_camera(scene: Any, width: int = 320, height: int = 240) -> np.ndarray:
    """The G1's head-camera image (standing keyframe) of ``scene``, ``uint8 [height, width, 3]``.

    320×240 is the simulated head camera of the ROS nodes
    (:mod:`motionvla_ros.scene_rendering`); a model sees training images of the aspect
    ratio (and so the field of view) it will see at run time. One
    :class:`sim.render.HeadCameraRenderer` per image size and process is kept, so a
    scene costs one render, not a model compile and a GL upload.
    """
    from sim.render import HeadCameraRenderer

    key = (width, height)
    if key not in _RENDERERS:
        _RENDERERS[key] = HeadCameraRenderer(width, height)
    return _RENDERERS[key].render(scene)
