"""BVH motion capture files as SMPL-22 joint positions (metres, Y up).

A small reader: the HIERARCHY is parsed into joints (``End Site`` entries become
joints named ``<parent>/end``), the MOTION block into one ``[frames, channels]``
array, and forward kinematics runs vectorised over frames with SciPy rotations.
Rotation channels compose as intrinsic rotations in the order they are listed
(``Zrotation Yrotation Xrotation`` -> ``R = Rz·Ry·Rx``), and position channels
replace the joint's offset, as in the BVH format description.

**Joint mapping.** A name is split into words (``LeftUpLeg`` → left, up, leg;
``LHipJoint`` → L, hip, joint; ``upper_arm.L``; ``Bip01_L_Toe0``) after dropping a rig
prefix (a ``mixamorig:`` namespace, 3ds Max Biped's ``Bip01``/``Bip001``, ``CC_Base_``);
a leading or trailing ``Left``/``Right``/``L``/``R`` word is the side and the remaining
words, joined, the base name that decides the role. Conventions covered (each tested):

- LAFAN1: ``LeftUpLeg``, ``LeftLeg``, ``LeftFoot``, ``LeftToe``; ``LeftShoulder``,
  ``LeftArm``, ``LeftForeArm``, ``LeftHand``; ``Spine``, ``Spine1``, ``Spine2``;
- Mixamo: the same with ``mixamorig:`` and ``LeftToeBase``;
- CMU, MotionBuilder conversion: LAFAN1's limbs below ``LHipJoint``; ``LowerBack``,
  ``Spine``, ``Spine1``, ``Neck``, ``Neck1``;
- CMU, Daz conversion: ``lThigh``, ``lShin``, ``lFoot`` (below ``lButtock``);
  ``lCollar``, ``lShldr``, ``lForeArm``, ``lHand``; ``hip``, ``abdomen``, ``chest``;
- the classic convention: ``LeftHip``, ``LeftKnee``, ``LeftAnkle``; ``LeftCollar``,
  ``LeftShoulder``, ``LeftElbow``, ``LeftWrist``; ``Chest``, ``Chest2``;
- Rokoko: ``LeftThigh``, ``LeftShin``, ``LeftFoot``, ``LeftToe``; ``LeftShoulder``,
  ``LeftArm``, ``LeftForeArm``, ``LeftHand``; ``Spine1`` … ``Spine4``;
- Truebones (3ds Max Biped): ``Bip01_L_Thigh``, ``Bip01_L_Calf``, ``Bip01_L_Foot``,
  ``Bip01_L_Toe0``; ``Bip01_L_Clavicle``, ``Bip01_L_UpperArm``, ``Bip01_L_Forearm``,
  ``Bip01_L_Hand``; ``Bip01_Pelvis``, ``Bip01_Spine``, ``Bip01_Spine1``;
- Blender (Rigify-style): ``thigh.L``, ``shin.L``, ``foot.L``; ``shoulder.L``,
  ``upper_arm.L``, ``forearm.L``, ``hand.L``; ``spine`` ….

``Shoulder`` is the collar unless a ``Collar`` or ``Clavicle`` joint exists, in which
case it is the shoulder (Mixamo's ``LeftShoulder`` is the clavicle and ``LeftArm`` the
shoulder; the classic convention's ``LeftCollar`` is the clavicle and ``LeftShoulder``
the shoulder). A missing hand or toe joint is taken from the End Site of the forearm or
foot. The pelvis is a side-less ``Pelvis`` joint where there is one (Biped rigs put it
under a ``Bip01`` root), else the root. SMPL's three spine joints come from the joints
strictly between the pelvis and the neck: used directly when there are exactly three
(none sitting on its parent), otherwise placed along that polyline at the SMPL
proportions (23 %, 49 % and 60 % of the pelvis-to-neck length). A rig that lacks a
role fails with the list of what is missing and the joints the file has.

**Units.** The scale that makes thigh + shin (rest offsets) closest to 0.85 m among
metres, centimetres, millimetres and inches is applied, unless ``scale`` is given.

**Axes.** The up axis is the coordinate axis closest to the mean head-minus-ankles
direction over the clip (``up_axis="auto"``); a Z-up clip is turned Y-up with
``(x, y, z) -> (x, z, -y)`` and a clip upside down along its up axis is rejected.
The facing direction and the placement (floor height, start point) are left as
recorded; the feature pipeline normalises them. Frame rates within 0.1 % of a whole
number are rounded to it (``Frame Time: 0.033333`` is 30 fps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motionvla_model.motion.resample import resample
from motionvla_model.motion.skeleton import SMPL22_JOINT_NAMES, validate_joints, z_up_to_y_up

__all__ = ["BvhImportError", "BvhMotion", "BvhSkeleton", "load_bvh", "parse_bvh"]


class BvhImportError(ValueError):
    """The file is not valid BVH, or its skeleton cannot be mapped onto SMPL-22."""


@dataclass(frozen=True)
class BvhSkeleton:
    """A parsed BVH hierarchy with its motion channels."""

    names: tuple[str, ...]
    parents: tuple[int, ...]  # -1 for the root; parents precede children
    offsets: np.ndarray  # [J, 3] in file units
    channels: tuple[tuple[str, ...], ...]  # per joint, e.g. ("Xposition", …, "Xrotation")
    frame_time: float
    motion: np.ndarray = field(repr=False)  # [frames, sum of channel counts]


@dataclass(frozen=True, eq=False)
class BvhMotion:
    """An imported BVH clip: ``joints float32 [T, 22, 3]`` (metres, Y up, SMPL order)."""

    joints: np.ndarray
    fps: float
    source_joint_names: tuple[str, ...]
    mapping: dict[str, str]  # SMPL-22 joint name -> how it was obtained from the file
    unit_scale: float  # metres per file unit
    up_axis: str  # "y" or "z" as detected or given


_TOKEN = re.compile(r"\S+")
# Words of a joint name: "LeftUpLeg" -> Left Up Leg, "LHipJoint" -> L Hip Joint,
# "upper_arm.L" -> upper arm L, "Bip01_L_Toe0" -> Bip 01 L Toe 0.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
# Rig-wide prefixes that carry no meaning for the joint: Mixamo's namespace (also
# without its colon), 3ds Max Biped's "Bip01"/"Bip001" (Truebones and other Biped
# exports), Character Creator's "CC_Base_".
_RIG_PREFIX = re.compile(r"^(?i:mixamorig\d*|bip\d+|cc_base)(?=[^a-z]|$)[_.\s-]*")
_SIDES = {"left": "l", "l": "l", "right": "r", "r": "r"}

# Role -> accepted base names (side removed, lower case, no separators), by priority.
_SIDED_ROLES: dict[str, tuple[str, ...]] = {
    "hip": ("upleg", "thigh", "upperleg", "hip"),
    "knee": ("leg", "shin", "lowerleg", "lowleg", "knee", "calf"),
    "ankle": ("foot", "ankle"),
    "foot": ("toebase", "toe", "toes", "toe0", "ball"),
    "collar": ("collar", "clavicle", "shoulder"),
    "shoulder": ("arm", "upperarm", "uparm", "shldr", "shoulder"),
    "elbow": ("forearm", "lowerarm", "lowarm", "elbow"),
    "wrist": ("hand", "wrist"),
}
_PELVIS_NAMES = ("pelvis", "hips", "hip")
_NECK_NAMES = ("neck", "neck1")
_HEAD_NAMES = ("head", "face")
# Along the pelvis->neck polyline, SMPL's spine1/2/3 sit at these fractions of its length
# (reference bone lengths 0.12, 0.14, 0.06 of 0.53 m).
_SPINE_FRACTIONS = (0.23, 0.49, 0.60)
_UNIT_CANDIDATES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}
_TYPICAL_LEG_M = 0.85


def parse_bvh(text: str) -> BvhSkeleton:
    """Parse BVH text; raises :class:`BvhImportError` saying what is malformed."""
    tokens = _TOKEN.findall(text)
    try:
        motion_at = tokens.index("MOTION")
    except ValueError:
        raise BvhImportError("no MOTION section") from None
    if not tokens or tokens[0] != "HIERARCHY":
        raise BvhImportError("a BVH file starts with HIERARCHY")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    stack: list[int] = []
    i = 1
    try:
        while i < motion_at:
            token = tokens[i]
            if token in ("ROOT", "JOINT", "End"):
                if token == "End":
                    name = f"{names[stack[-1]]}/end"
                    i += 2  # "End Site"
                else:
                    name = tokens[i + 1]
                    i += 2
                if tokens[i] != "{":
                    raise BvhImportError(f"expected '{{' after {name}, found {tokens[i]!r}")
                names.append(name)
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append(())
                stack.append(len(names) - 1)
                i += 1
            elif token == "OFFSET":
                offsets[stack[-1]] = [float(v) for v in tokens[i + 1 : i + 4]]
                i += 4
            elif token == "CHANNELS":
                count = int(tokens[i + 1])
                channels[stack[-1]] = tuple(tokens[i + 2 : i + 2 + count])
                i += 2 + count
            elif token == "}":
                stack.pop()
                i += 1
            else:
                raise BvhImportError(f"unexpected token {token!r} in HIERARCHY")
        if stack:
            raise BvhImportError("unbalanced braces in HIERARCHY")
        if tokens[motion_at + 1] != "Frames:" or tokens[motion_at + 3 : motion_at + 5] != [
            "Frame",
            "Time:",
        ]:
            raise BvhImportError("MOTION must give 'Frames:' and 'Frame Time:'")
        frames = int(tokens[motion_at + 2])
        frame_time = float(tokens[motion_at + 5])
        values = np.array(tokens[motion_at + 6 :], dtype=np.float64)
    except (IndexError, ValueError) as error:
        if isinstance(error, BvhImportError):
            raise
        raise BvhImportError(f"malformed BVH: {error}") from None
    if not names:
        raise BvhImportError("HIERARCHY defines no joints")
    width = sum(len(c) for c in channels)
    if frames < 1 or width == 0 or values.size != frames * width:
        raise BvhImportError(
            f"MOTION holds {values.size} numbers; {frames} frames × {width} channels expected"
        )
    if not (np.isfinite(frame_time) and frame_time > 0):
        raise BvhImportError(f"Frame Time must be positive, got {frame_time}")
    return BvhSkeleton(
        names=tuple(names),
        parents=tuple(parents),
        offsets=np.array(offsets),
        channels=tuple(channels),
        frame_time=frame_time,
        motion=values.reshape(frames, width),
    )


def forward_kinematics(skeleton: BvhSkeleton) -> np.ndarray:
    """World positions ``[frames, J, 3]`` of every joint (file units and axes)."""
    frames = skeleton.motion.shape[0]
    count = len(skeleton.names)
    positions = np.zeros((frames, count, 3))
    rotations = np.zeros((frames, count, 3, 3))
    column = 0
    for j, (parent, chans) in enumerate(zip(skeleton.parents, skeleton.channels, strict=True)):
        values = skeleton.motion[:, column : column + len(chans)]
        column += len(chans)
        translation = np.broadcast_to(skeleton.offsets[j], (frames, 3)).copy()
        axes, angles = "", []
        for k, channel in enumerate(chans):
            axis, kind = channel[0].upper(), channel[1:].lower()
            if axis not in "XYZ" or kind not in ("position", "rotation"):
                raise BvhImportError(f"joint {skeleton.names[j]}: unknown channel {channel!r}")
            if kind == "position":
                translation[:, "XYZ".index(axis)] = values[:, k]
            else:
                axes += axis
                angles.append(values[:, k])
        local = (
            Rotation.from_euler(axes, np.stack(angles, axis=-1), degrees=True).as_matrix()
            if axes
            else np.broadcast_to(np.eye(3), (frames, 3, 3))
        )
        if parent < 0:
            rotations[:, j] = local
            positions[:, j] = translation
        else:
            rotations[:, j] = rotations[:, parent] @ local
            positions[:, j] = positions[:, parent] + np.einsum(
                "tij,tj->ti", rotations[:, parent], translation
            )
    return positions


def _side_and_base(name: str) -> tuple[str | None, str]:
    """(side ``"l"``/``"r"`` or None, base) of a joint name; see the module docstring."""
    short = _RIG_PREFIX.sub("", name.rsplit(":", 1)[-1])
    words = [w.lower() for w in _WORD.findall(short)]
    side = None
    for at in (0, -1):  # a side word leads ("LeftArm", "L_Thigh") or trails ("thigh.L")
        if len(words) > 1 and words[at] in _SIDES:
            side = _SIDES[words.pop(at)]
            break
    return side, "".join(words)


def _find(
    index: dict[tuple[str | None, str], int],
    side: str | None,
    bases: tuple[str, ...],
    taken: frozenset[int] = frozenset(),
) -> int | None:
    for base in bases:
        j = index.get((side, base))
        if j is not None and j not in taken:
            return j
    return None


def _end_site_of(skeleton: BvhSkeleton, joint: int) -> int | None:
    ends = [
        k
        for k, p in enumerate(skeleton.parents)
        if p == joint and skeleton.names[k].endswith("/end")
    ]
    return ends[0] if ends else None


def _path_between(parents: tuple[int, ...], ancestor: int, joint: int) -> list[int]:
    path = [joint]
    while path[-1] != ancestor:
        if path[-1] < 0:
            return []
        path.append(parents[path[-1]])
    return path[::-1]


def _spine_positions(positions: np.ndarray, path: list[int]) -> np.ndarray:
    """Points at ``_SPINE_FRACTIONS`` of the arc length along the joints ``path``."""
    points = positions[:, path]  # [T, P, 3]
    segment = np.linalg.norm(np.diff(points, axis=1), axis=-1)  # [T, P-1]
    cumulative = np.concatenate([np.zeros((len(points), 1)), np.cumsum(segment, axis=1)], axis=1)
    out = []
    for fraction in _SPINE_FRACTIONS:
        target = fraction * cumulative[:, -1:]
        k = np.clip((cumulative[:, 1:] < target).sum(axis=1), 0, len(path) - 2)
        rows = np.arange(len(points))
        start, stop = cumulative[rows, k], cumulative[rows, k + 1]
        weight = np.where(stop > start, (target[:, 0] - start) / np.maximum(stop - start, 1e-12), 0)
        out.append(points[rows, k] + weight[:, None] * (points[rows, k + 1] - points[rows, k]))
    return np.stack(out, axis=1)


def _map_to_smpl22(
    skeleton: BvhSkeleton, positions: np.ndarray
) -> tuple[np.ndarray, dict[str, str]]:
    index: dict[tuple[str | None, str], int] = {}
    for j, name in enumerate(skeleton.names):
        if not name.endswith("/end"):
            index.setdefault(_side_and_base(name), j)
    pelvis = _find(index, None, ("pelvis",))
    chosen: dict[str, int] = {"pelvis": 0 if pelvis is None else pelvis}
    missing = []
    for side_name, side in (("left", "l"), ("right", "r")):
        for role, bases in _SIDED_ROLES.items():
            # The collar is found first, so "Shoulder" is the shoulder where a
            # Collar or Clavicle joint exists and the collar (Mixamo) where none does.
            j = _find(index, side, bases, frozenset(chosen.values()))
            if j is None and role in ("wrist", "foot"):
                parent_role = "elbow" if role == "wrist" else "ankle"
                parent = chosen.get(f"{side_name}_{parent_role}")
                j = None if parent is None else _end_site_of(skeleton, parent)
            if j is None:
                missing.append(f"{side_name} {role}")
            else:
                chosen[f"{side_name}_{role}"] = j
    for role, bases in (("neck", _NECK_NAMES), ("head", _HEAD_NAMES)):
        j = _find(index, None, bases)
        if j is None:
            missing.append(role)
        else:
            chosen[role] = j
    if missing:
        raise BvhImportError(
            f"cannot map this skeleton onto SMPL-22: no joint for {', '.join(missing)}; "
            f"the file has {list(n for n in skeleton.names if not n.endswith('/end'))}"
        )
    spine_path = _path_between(skeleton.parents, chosen["pelvis"], chosen["neck"])
    if not spine_path:
        raise BvhImportError(
            f"the neck {skeleton.names[chosen['neck']]} is not under the pelvis "
            f"{skeleton.names[chosen['pelvis']]}"
        )
    joints = np.zeros((len(positions), 22, 3))
    mapping: dict[str, str] = {}
    # Sided roles are named "left_<role>", which are SMPL-22 names.
    for name, j in chosen.items():
        joints[:, SMPL22_JOINT_NAMES.index(name)] = positions[:, j]
        mapping[name] = skeleton.names[j]
    between = spine_path[1:-1]
    spine_ids = [SMPL22_JOINT_NAMES.index(n) for n in ("spine1", "spine2", "spine3")]
    # Three joints in between are SMPL's own spine, unless one sits on its parent
    # (a zero rest offset, as Biped rigs have), which would make a zero-length bone.
    separate = all(np.linalg.norm(skeleton.offsets[j]) > 1e-6 for j in spine_path[1:])
    if len(between) == 3 and separate:
        joints[:, spine_ids] = positions[:, between]
        for n, j in zip(("spine1", "spine2", "spine3"), between, strict=True):
            mapping[n] = skeleton.names[j]
    else:
        joints[:, spine_ids] = _spine_positions(positions, spine_path)
        route = "→".join(skeleton.names[j] for j in spine_path)
        for n, f in zip(("spine1", "spine2", "spine3"), _SPINE_FRACTIONS, strict=True):
            mapping[n] = f"{f:.0%} along {route}"
    return joints, mapping


def _unit_scale(skeleton: BvhSkeleton, knee: int, ankle: int) -> float:
    leg = np.linalg.norm(skeleton.offsets[knee]) + np.linalg.norm(skeleton.offsets[ankle])
    if leg <= 0:
        raise BvhImportError("the leg has zero rest length; cannot detect units (pass scale=)")
    scores = {u: abs(np.log(leg * s / _TYPICAL_LEG_M)) for u, s in _UNIT_CANDIDATES.items()}
    return _UNIT_CANDIDATES[min(scores, key=scores.__getitem__)]


def load_bvh(
    path: str | Path,
    target_fps: float | None = None,
    *,
    scale: float | None = None,
    up_axis: str = "auto",
) -> BvhMotion:
    """Read a BVH file as SMPL-22 joints (metres, Y up), optionally resampled.

    ``scale`` (metres per file unit) overrides the unit detection; ``up_axis`` is
    ``"auto"``, ``"y"`` or ``"z"``. Raises :class:`BvhImportError` for files that
    cannot be read or mapped.
    """
    if up_axis not in ("auto", "y", "z"):
        raise ValueError(f"up_axis must be 'auto', 'y' or 'z', got {up_axis!r}")
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise BvhImportError(f"cannot read {path}: {error}") from None
    skeleton = parse_bvh(text)
    positions = forward_kinematics(skeleton)
    joints, mapping = _map_to_smpl22(skeleton, positions)
    name_to_id = {n: i for i, n in enumerate(skeleton.names)}
    knee, ankle = (name_to_id[mapping[k]] for k in ("right_knee", "right_ankle"))
    unit = float(scale) if scale is not None else _unit_scale(skeleton, knee, ankle)
    if not (np.isfinite(unit) and unit > 0):
        raise ValueError(f"scale must be positive, got {scale}")
    joints = joints * unit
    up_vector = (joints[:, 15] - joints[:, [7, 8]].mean(axis=1)).mean(axis=0)
    detected = "xyz"[int(np.argmax(np.abs(up_vector)))]
    axis = detected if up_axis == "auto" else up_axis
    if axis == "x":
        raise BvhImportError(f"{path.name}: the body's up direction is the X axis; not supported")
    if axis == "z":
        joints = z_up_to_y_up(joints)
    if up_axis == "auto" and (joints[:, 15, 1] - joints[:, [7, 8], 1].mean(axis=1)).mean() < 0:
        raise BvhImportError(f"{path.name}: the head is below the ankles; the clip is upside down")
    fps = 1.0 / skeleton.frame_time
    if abs(fps - round(fps)) < 1e-3 * fps:  # "0.033333" means 30 fps
        fps = float(round(fps))
    if target_fps is not None:
        joints = resample(joints, fps, target_fps)
        fps = float(target_fps)
    joints = validate_joints(joints, what=f"{path.name} joints").astype(np.float32)
    return BvhMotion(
        joints=joints,
        fps=fps,
        source_joint_names=skeleton.names,
        mapping=mapping,
        unit_scale=unit,
        up_axis=axis,
    )
