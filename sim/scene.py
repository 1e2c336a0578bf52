"""Scenes: the Menagerie G1 on its floor plus named, coloured objects.

A :class:`SceneDescription` is a small list of :class:`SceneObject` (a name, a shape,
a named colour, a world position, a size and a heading). It reads from and writes to
YAML, and :meth:`SceneDescription.random` draws a reproducible scene from a seed
(objects in front of the robot, where its head camera sees them), which is how
image-conditioned commands ("walk to the red box") get their training and test
scenes. :func:`build_scene_model` compiles a description into a MuJoCo model.

Objects are fixed to the world (no free joint): the robot's ``qpos`` layout stays
``[36]`` in every scene, and a trajectory can bump into an object but not move it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import yaml

from retargeting.g1 import g1_spec

__all__ = [
    "COLOURS",
    "OBJECT_LABELS",
    "SHAPES",
    "InvalidSceneError",
    "ObjectGeom",
    "SceneDescription",
    "SceneObject",
    "build_scene_model",
    "object_body_name",
    "object_geoms",
    "scene_spec",
]

# Named colours (RGBA); names are the words a command uses.
COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.10, 0.10, 1.0),
    "green": (0.10, 0.70, 0.15, 1.0),
    "blue": (0.10, 0.25, 0.90, 1.0),
    "yellow": (0.95, 0.85, 0.10, 1.0),
    "orange": (0.95, 0.50, 0.05, 1.0),
    "purple": (0.55, 0.15, 0.75, 1.0),
    "white": (0.95, 0.95, 0.95, 1.0),
    "black": (0.05, 0.05, 0.05, 1.0),
}

# Shape -> default size: box half-extents, ball radius, cylinder (radius, half height),
# chair (half width, half depth, seat height); sizes in metres.
SHAPES: dict[str, tuple[float, ...]] = {
    "box": (0.2, 0.2, 0.2),
    "ball": (0.15,),
    "cylinder": (0.15, 0.3),
    "chair": (0.22, 0.22, 0.45),
}
_SIZE_LEN = {shape: len(size) for shape, size in SHAPES.items()}
OBJECT_LABELS = tuple(f"{colour} {shape}" for colour in COLOURS for shape in SHAPES)
"""Every colour-shape label an object can have (``"red box"``, …): the words of commands."""
_OBJECT_PREFIX = "object/"


class InvalidSceneError(ValueError):
    """A scene description names an unknown shape or colour, or has a bad size."""


def object_body_name(name: str) -> str:
    """The MuJoCo body that carries the object called ``name``."""
    return _OBJECT_PREFIX + name


def _resting_height(shape: str, size: tuple[float, ...]) -> float:
    """Height of the object's reference point when it stands on the floor."""
    if shape == "box":
        return size[2]
    if shape == "ball":
        return size[0]
    if shape == "cylinder":
        return size[1]
    return 0.0  # a chair's frame is on the floor, between its legs


@dataclass(frozen=True)
class SceneObject:
    """One object: ``position`` is its centre (a chair: the floor point below its seat).

    A two-element ``position`` puts the object on the floor at that ``(x, y)``.
    ``yaw`` is the heading in radians about the world's vertical axis.
    """

    name: str
    shape: str
    colour: str
    position: tuple[float, ...]
    size: tuple[float, ...] = ()
    yaw: float = 0.0

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise InvalidSceneError(f"object name must be non-empty without '/': {self.name!r}")
        if self.shape not in SHAPES:
            raise InvalidSceneError(f"{self.name}: unknown shape {self.shape!r} ({list(SHAPES)})")
        if self.colour not in COLOURS:
            raise InvalidSceneError(
                f"{self.name}: unknown colour {self.colour!r} ({list(COLOURS)})"
            )
        size = tuple(float(s) for s in (self.size or SHAPES[self.shape]))
        if len(size) != _SIZE_LEN[self.shape] or not all(0 < s < 10 for s in size):
            raise InvalidSceneError(
                f"{self.name}: a {self.shape} needs {_SIZE_LEN[self.shape]} sizes in (0, 10) m, "
                f"got {list(size)}"
            )
        position = tuple(float(p) for p in self.position)
        if len(position) == 2:
            position = (*position, _resting_height(self.shape, size))
        if len(position) != 3 or not all(math.isfinite(p) and abs(p) < 100 for p in position):
            raise InvalidSceneError(f"{self.name}: position must be 2 or 3 finite numbers")
        if not math.isfinite(float(self.yaw)):
            raise InvalidSceneError(f"{self.name}: yaw must be finite")
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "yaw", float(self.yaw))

    @property
    def rgba(self) -> tuple[float, float, float, float]:
        return COLOURS[self.colour]

    @property
    def footprint_radius(self) -> float:
        """Radius of the circle on the floor that holds the object at any heading."""
        if self.shape in ("ball", "cylinder"):
            return self.size[0]
        return math.hypot(self.size[0], self.size[1])

    @property
    def label(self) -> str:
        """How a command names it: ``"red box"``."""
        return f"{self.colour} {self.shape}"

    def seen_from_start(self) -> tuple[float, float]:
        """``(distance_m, bearing_deg)`` of the object's centre from the standing G1.

        The G1 starts at the world origin facing +x: the distance is on the floor and the
        bearing the turn that faces the object (positive: to the left).
        """
        x, y = self.position[0], self.position[1]
        return math.hypot(x, y), math.degrees(math.atan2(y, x))

    def floor_distance(self, x: float, y: float) -> float:
        """Distance on the floor from ``(x, y)`` to the object's footprint (0 inside it).

        The footprint is a disc for a ball or cylinder and the yawed rectangle of the
        half-extents (a chair: half depth along x, half width along y) otherwise.
        """
        dx, dy = x - self.position[0], y - self.position[1]
        if self.shape in ("ball", "cylinder"):
            return max(math.hypot(dx, dy) - self.size[0], 0.0)
        cos, sin = math.cos(self.yaw), math.sin(self.yaw)
        along, across = cos * dx + sin * dy, -sin * dx + cos * dy
        half_x, half_y = (self.size[1], self.size[0]) if self.shape == "chair" else self.size[:2]
        return math.hypot(max(abs(along) - half_x, 0.0), max(abs(across) - half_y, 0.0))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": self.shape,
            "colour": self.colour,
            "position": list(self.position),
            "size": list(self.size),
            "yaw": self.yaw,
        }


@dataclass(frozen=True)
class SceneDescription:
    """The objects around the robot (the floor, lights and robot are always there)."""

    objects: tuple[SceneObject, ...] = field(default_factory=tuple)
    seed: int | None = None  # the seed a random scene was drawn from, for the record

    def __post_init__(self) -> None:
        objects = tuple(o if isinstance(o, SceneObject) else SceneObject(**o) for o in self.objects)
        names = [o.name for o in objects]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidSceneError(f"object names must be unique, repeated: {duplicates}")
        object.__setattr__(self, "objects", objects)

    def object(self, name: str) -> SceneObject:
        for o in self.objects:
            if o.name == name:
                return o
        raise KeyError(f"no object {name!r} in scene ({[o.name for o in self.objects]})")

    # --- random scenes ---------------------------------------------------------
    @classmethod
    def random(
        cls,
        seed: int,
        num_objects: int | tuple[int, int] = (1, 4),
        distance_m: tuple[float, float] = (1.0, 3.0),
        half_angle_deg: float = 30.0,
        min_gap_m: float = 0.25,
    ) -> SceneDescription:
        """Objects of distinct colour-shape labels in front of the robot (+x), from ``seed``.

        Positions are drawn at ``distance_m`` from the origin within ``half_angle_deg``
        of straight ahead (inside the head camera's view), at least ``min_gap_m`` apart.
        """
        rng = np.random.default_rng(seed)
        count = (
            num_objects
            if isinstance(num_objects, int)
            else int(rng.integers(num_objects[0], num_objects[1] + 1))
        )
        labels = [(c, s) for c in COLOURS for s in SHAPES]
        if not 0 <= count <= len(labels):
            raise InvalidSceneError(f"num_objects must be in [0, {len(labels)}], got {count}")
        picks = rng.choice(len(labels), size=count, replace=False)
        objects: list[SceneObject] = []
        for index in picks:
            colour, shape = labels[int(index)]
            scale = rng.uniform(0.7, 1.3)
            size = tuple(round(s * scale, 3) for s in SHAPES[shape])
            name = f"{colour}_{shape}"
            yaw = round(float(rng.uniform(-math.pi, math.pi)), 4)
            for _ in range(500):
                r = rng.uniform(*distance_m)
                a = math.radians(rng.uniform(-half_angle_deg, half_angle_deg))
                xy = (round(r * math.cos(a), 4), round(r * math.sin(a), 4))
                candidate = SceneObject(name, shape, colour, xy, size, yaw)
                if all(
                    math.dist(xy, o.position[:2])
                    > candidate.footprint_radius + o.footprint_radius + min_gap_m
                    for o in objects
                ):
                    break
            else:
                raise InvalidSceneError(f"could not place {count} objects apart (seed {seed})")
            objects.append(candidate)
        return cls(tuple(objects), seed=seed)

    # --- files -----------------------------------------------------------------
    def to_dict(self) -> dict:
        out: dict = {"objects": [o.to_dict() for o in self.objects]}
        if self.seed is not None:
            out["seed"] = self.seed
        return out

    @classmethod
    def from_dict(cls, values: dict | None) -> SceneDescription:
        values = values or {}
        if not isinstance(values, dict):
            raise InvalidSceneError(f"a scene is a mapping with 'objects', got {type(values)}")
        unknown = sorted(set(values) - {"objects", "seed"})
        if unknown:
            raise InvalidSceneError(f"unknown scene keys {unknown}")
        try:
            objects = tuple(SceneObject(**o) for o in values.get("objects") or [])
        except TypeError as err:
            raise InvalidSceneError(f"bad object entry: {err}") from err
        return cls(objects, seed=values.get("seed"))

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_yaml(cls, source: str | Path) -> SceneDescription:
        """Read a scene from a YAML file path or a YAML string."""
        text = Path(source).read_text() if Path(str(source)).suffix in (".yaml", ".yml") else source
        try:
            return cls.from_dict(yaml.safe_load(text))
        except yaml.YAMLError as err:
            raise InvalidSceneError(f"scene YAML does not parse: {err}") from err


def _yaw_quat(yaw: float) -> list[float]:
    return [math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)]


@dataclass(frozen=True)
class ObjectGeom:
    """One primitive of an object, in the object's body frame (sizes as MuJoCo takes them)."""

    type: int  # mujoco.mjtGeom
    size: tuple[float, float, float]
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)


def _chair_geoms(size: tuple[float, ...]) -> list[ObjectGeom]:
    """Seat, backrest and four legs, with the backrest on the chair's -x side."""
    half_w, half_d, seat_h = size
    seat_t, leg = 0.025, 0.025
    box = mujoco.mjtGeom.mjGEOM_BOX
    back_h = seat_h * 0.55
    leg_half = (seat_h - seat_t) / 2
    return [
        ObjectGeom(box, (half_d, half_w, seat_t), (0.0, 0.0, seat_h)),
        ObjectGeom(box, (seat_t, half_w, back_h), (-half_d + seat_t, 0.0, seat_h + back_h)),
    ] + [
        ObjectGeom(box, (leg, leg, leg_half), (sx * (half_d - leg), sy * (half_w - leg), leg_half))
        for sx in (-1, 1)
        for sy in (-1, 1)
    ]


def object_geoms(obj: SceneObject) -> list[ObjectGeom]:
    """The primitives that draw and collide ``obj`` (a chair is seven boxes)."""
    if obj.shape == "box":
        return [ObjectGeom(mujoco.mjtGeom.mjGEOM_BOX, tuple(obj.size))]
    if obj.shape == "ball":
        return [ObjectGeom(mujoco.mjtGeom.mjGEOM_SPHERE, (obj.size[0], 0.0, 0.0))]
    if obj.shape == "cylinder":
        return [ObjectGeom(mujoco.mjtGeom.mjGEOM_CYLINDER, (*obj.size, 0.0))]
    return _chair_geoms(obj.size)


def scene_spec(scene: SceneDescription | None = None) -> mujoco.MjSpec:
    """An editable spec of the G1 on the Menagerie floor with ``scene``'s objects."""
    spec = g1_spec(scene=True)
    for obj in (scene or SceneDescription()).objects:
        body = spec.worldbody.add_body(
            name=object_body_name(obj.name), pos=list(obj.position), quat=_yaw_quat(obj.yaw)
        )
        rgba = list(obj.rgba)
        for geom in object_geoms(obj):
            body.add_geom(type=geom.type, size=list(geom.size), pos=list(geom.pos), rgba=rgba)
    return spec


def build_scene_model(scene: SceneDescription | None = None) -> mujoco.MjModel:
    """The G1 on the Menagerie floor with ``scene``'s objects, compiled."""
    return scene_spec(scene).compile()
