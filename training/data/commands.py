"""The commands a synthetic clip performs, with the parameters evaluation measures.

Each command is a frozen, validated dataclass. Its :meth:`params` form (``kind`` plus
the fields, JSON-ready) goes into the dataset index, so that an evaluation can check
the generated motion against what was asked: distance walked, heading change, turn
angle, which hand waved, how many squats. Angles are degrees, positive to the
body's left; distances are metres along the path.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

__all__ = [
    "COMMAND_TYPES",
    "Command",
    "CommandError",
    "Jump",
    "RaiseArms",
    "Run",
    "SitDown",
    "Squat",
    "StepSideways",
    "Turn",
    "Walk",
    "Wave",
    "command_from_params",
]


class CommandError(ValueError):
    """A command parameter is out of its range, or a params dict names no known command."""


def _check_range(owner: str, name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise CommandError(f"{owner}.{name} must be in [{low}, {high}], got {value}")


def _check_choice(owner: str, name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise CommandError(f"{owner}.{name} must be one of {choices}, got {value!r}")


@dataclass(frozen=True)
class Command:
    """Base of all commands; ``kind`` names the command in params dicts."""

    kind: ClassVar[str] = "command"

    def params(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class Walk(Command):
    """Walk ``distance_m`` along a path that turns ``turn_deg`` in total (an arc)."""

    kind: ClassVar[str] = "walk"
    distance_m: float
    direction: str = "forward"
    speed_mps: float = 1.2
    turn_deg: float = 0.0
    speed_range: ClassVar[tuple[float, float]] = (0.5, 1.6)

    def __post_init__(self) -> None:
        name = type(self).__name__
        _check_range(name, "distance_m", self.distance_m, 0.2, 20.0)
        _check_choice(name, "direction", self.direction, ("forward", "backward"))
        _check_range(name, "speed_mps", self.speed_mps, *self.speed_range)
        _check_range(name, "turn_deg", self.turn_deg, -180.0, 180.0)


@dataclass(frozen=True)
class Run(Walk):
    """Run (with a flight phase) ``distance_m`` forward, optionally along an arc."""

    kind: ClassVar[str] = "run"
    speed_mps: float = 3.0
    speed_range: ClassVar[tuple[float, float]] = (1.8, 4.5)


@dataclass(frozen=True)
class Turn(Command):
    """Turn in place by ``angle_deg`` (positive: to the left), stepping round."""

    kind: ClassVar[str] = "turn"
    angle_deg: float

    def __post_init__(self) -> None:
        _check_range("Turn", "|angle_deg|", abs(self.angle_deg), 1.0, 360.0)


@dataclass(frozen=True)
class StepSideways(Command):
    kind: ClassVar[str] = "step_sideways"
    direction: str
    distance_m: float = 0.5

    def __post_init__(self) -> None:
        _check_choice("StepSideways", "direction", self.direction, ("left", "right"))
        _check_range("StepSideways", "distance_m", self.distance_m, 0.1, 3.0)


@dataclass(frozen=True)
class Jump(Command):
    """Jump ``height_m`` high, landing ``distance_m`` ahead (0: in place)."""

    kind: ClassVar[str] = "jump"
    distance_m: float = 0.0
    height_m: float = 0.25

    def __post_init__(self) -> None:
        _check_range("Jump", "distance_m", self.distance_m, 0.0, 1.5)
        _check_range("Jump", "height_m", self.height_m, 0.05, 0.6)


@dataclass(frozen=True)
class Squat(Command):
    kind: ClassVar[str] = "squat"
    count: int = 1
    depth_m: float = 0.4

    def __post_init__(self) -> None:
        _check_range("Squat", "count", self.count, 1, 10)
        _check_range("Squat", "depth_m", self.depth_m, 0.1, 0.5)


@dataclass(frozen=True)
class Wave(Command):
    kind: ClassVar[str] = "wave"
    hand: str = "right"
    cycles: int = 3

    def __post_init__(self) -> None:
        _check_choice("Wave", "hand", self.hand, ("left", "right", "both"))
        _check_range("Wave", "cycles", self.cycles, 1, 10)


@dataclass(frozen=True)
class RaiseArms(Command):
    kind: ClassVar[str] = "raise_arms"
    arms: str = "both"
    direction: str = "up"
    hold_s: float = 1.0

    def __post_init__(self) -> None:
        _check_choice("RaiseArms", "arms", self.arms, ("left", "right", "both"))
        _check_choice("RaiseArms", "direction", self.direction, ("up", "forward", "sideways"))
        _check_range("RaiseArms", "hold_s", self.hold_s, 0.0, 5.0)


@dataclass(frozen=True)
class SitDown(Command):
    """Sit down onto a seat of ``seat_height_m``; nothing can follow it in a clip."""

    kind: ClassVar[str] = "sit_down"
    seat_height_m: float = 0.45
    hold_s: float = 1.0

    def __post_init__(self) -> None:
        _check_range("SitDown", "seat_height_m", self.seat_height_m, 0.35, 0.6)
        _check_range("SitDown", "hold_s", self.hold_s, 0.0, 5.0)


COMMAND_TYPES: dict[str, type[Command]] = {
    cls.kind: cls for cls in (Walk, Run, Turn, StepSideways, Jump, Squat, Wave, RaiseArms, SitDown)
}


def command_from_params(params: dict[str, Any]) -> Command:
    """Rebuild a command from its :meth:`Command.params` dict."""
    kind = params.get("kind")
    if kind not in COMMAND_TYPES:
        raise CommandError(f"unknown command kind {kind!r}; known: {sorted(COMMAND_TYPES)}")
    cls = COMMAND_TYPES[kind]
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(params) - names - {"kind"})
    if unknown:
        raise CommandError(f"{kind}: unknown parameter(s) {unknown}")
    return cls(**{k: v for k, v in params.items() if k != "kind"})
