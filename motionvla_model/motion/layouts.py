"""Per-frame feature layouts and their split into a Base (pose) and a Phys (dynamics) stream.

A layout names the contiguous fields of a ``D``-dimensional feature vector and assigns
every dimension to exactly one of two streams, which the DSFT tokenizer encodes
separately:

* **Base**: what the body looks like in a frame (positions, rotations, height).
* **Phys**: how it moves between frames (velocities, angular velocities, contacts).

``split`` gathers ``x[..., base_dims]`` and ``x[..., phys_dims]``; ``merge`` scatters
them back, so ``merge(*split(x, L), L) == x`` exactly for every layout ``L``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from motionvla_model.motion.skeleton import MotionShapeError

__all__ = [
    "HUMANML3D",
    "LAYOUTS",
    "VIMOGEN",
    "FeatureLayout",
    "UnknownLayoutError",
    "get_layout",
    "merge",
    "split",
]


class UnknownLayoutError(ValueError):
    """No layout has the requested name (the message lists the known ones)."""


@dataclass(frozen=True, eq=False)
class FeatureLayout:
    """A named ``dim``-wide feature layout.

    ``fields`` maps each field name to its slice, in order, covering ``[0, dim)``
    without gaps or overlap. ``phys_fields`` names the fields of the Phys stream; all
    others form the Base stream. ``base_dims`` and ``phys_dims`` are the resulting
    sorted, read-only index arrays.
    """

    name: str
    dim: int
    fields: Mapping[str, slice]
    phys_fields: frozenset[str]
    base_dims: np.ndarray = field(init=False, repr=False)
    phys_dims: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        fields = dict(self.fields)
        start = 0
        for key, span in fields.items():
            if span.start != start or span.stop <= span.start or span.step not in (None, 1):
                raise ValueError(
                    f"layout {self.name!r}: field {key!r} {span} must start at {start} "
                    f"and be a non-empty contiguous slice"
                )
            start = span.stop
        if start != self.dim:
            raise ValueError(f"layout {self.name!r}: fields cover {start} dims, not {self.dim}")
        unknown = set(self.phys_fields) - set(fields)
        if unknown:
            raise ValueError(f"layout {self.name!r}: phys fields {sorted(unknown)} do not exist")
        phys = np.concatenate(
            [np.arange(self.dim)[s] for k, s in fields.items() if k in self.phys_fields]
        )
        base = np.setdiff1d(np.arange(self.dim), phys)
        phys = np.sort(phys)
        for array in (base, phys):
            array.setflags(write=False)
        object.__setattr__(self, "fields", MappingProxyType(fields))
        object.__setattr__(self, "phys_fields", frozenset(self.phys_fields))
        object.__setattr__(self, "base_dims", base)
        object.__setattr__(self, "phys_dims", phys)

    @property
    def base_dim(self) -> int:
        return int(self.base_dims.size)

    @property
    def phys_dim(self) -> int:
        return int(self.phys_dims.size)

    def __getitem__(self, field_name: str) -> slice:
        """The slice of field ``field_name`` (``KeyError`` lists the fields)."""
        try:
            return self.fields[field_name]
        except KeyError:
            raise KeyError(
                f"layout {self.name!r} has no field {field_name!r}; fields: {list(self.fields)}"
            ) from None


def _contiguous(name: str, dim: int, sizes: dict[str, int], phys: set[str]) -> FeatureLayout:
    fields, start = {}, 0
    for key, size in sizes.items():
        fields[key] = slice(start, start + size)
        start += size
    return FeatureLayout(name=name, dim=dim, fields=fields, phys_fields=frozenset(phys))


# HumanML3D (Guo et al., 2022), 22 joints.
HUMANML3D = _contiguous(
    "humanml3d",
    263,
    {
        "root_rot_velocity": 1,  # yaw velocity (half-angle per frame, as published)
        "root_linear_velocity": 2,  # xz, in the root's heading frame
        "root_height": 1,
        "ric_positions": 63,  # 21 joints relative to the root, heading frame
        "rot_6d": 126,  # 21 joints, continuous 6-D rotation
        "local_velocity": 66,  # 22 joints, heading frame
        "foot_contact": 4,  # left ankle, left toe, right ankle, right toe
    },
    {"root_rot_velocity", "root_linear_velocity", "local_velocity", "foot_contact"},
)

# ViMoGen's global representation (SMPLCap/ViMoGen, motion_rep/README.md; DART style),
# 22 joints, canonicalised facing.
VIMOGEN = _contiguous(
    "vimogen",
    276,
    {
        "body_pose_6d": 126,  # 21 non-root joints
        "joint_positions": 66,  # 22 joints, global
        "joint_velocity": 66,  # forward differences
        "root_orient_6d": 6,
        "root_orient_velocity_6d": 6,  # relative rotation between frames
        "root_translation": 3,
        "root_translation_velocity": 3,
    },
    {"joint_velocity", "root_orient_velocity_6d", "root_translation_velocity"},
)

LAYOUTS: Mapping[str, FeatureLayout] = MappingProxyType(
    {layout.name: layout for layout in (HUMANML3D, VIMOGEN)}
)


def get_layout(name: str | FeatureLayout) -> FeatureLayout:
    """The layout called ``name`` (case-insensitive); a layout is returned unchanged."""
    if isinstance(name, FeatureLayout):
        return name
    try:
        return LAYOUTS[str(name).lower()]
    except KeyError:
        raise UnknownLayoutError(
            f"unknown feature layout {name!r}; known layouts: {sorted(LAYOUTS)}"
        ) from None


def _check_last_axis(array: np.ndarray, expected: int, what: str, layout: FeatureLayout) -> None:
    if array.ndim < 1 or array.shape[-1] != expected:
        raise MotionShapeError(
            f"{what} for layout {layout.name!r} must have {expected} dims on the last axis, "
            f"got shape {tuple(array.shape)}"
        )


def split(
    features: np.ndarray, layout: str | FeatureLayout = HUMANML3D
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``[..., D]`` features into Base ``[..., Db]`` and Phys ``[..., Dp]`` streams."""
    layout = get_layout(layout)
    x = np.asarray(features)
    _check_last_axis(x, layout.dim, "features", layout)
    return x[..., layout.base_dims], x[..., layout.phys_dims]


def merge(
    base: np.ndarray, phys: np.ndarray, layout: str | FeatureLayout = HUMANML3D
) -> np.ndarray:
    """Inverse of :func:`split`: interleave the two streams back into ``[..., D]``."""
    layout = get_layout(layout)
    b, p = np.asarray(base), np.asarray(phys)
    _check_last_axis(b, layout.base_dim, "base stream", layout)
    _check_last_axis(p, layout.phys_dim, "phys stream", layout)
    if b.shape[:-1] != p.shape[:-1]:
        raise MotionShapeError(
            f"base stream {tuple(b.shape)} and phys stream {tuple(p.shape)} disagree on the "
            f"leading (time/batch) axes"
        )
    out = np.empty((*b.shape[:-1], layout.dim), dtype=np.result_type(b, p))
    out[..., layout.base_dims] = b
    out[..., layout.phys_dims] = p
    return out
