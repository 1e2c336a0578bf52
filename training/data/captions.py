"""Caption phrasings for synthetic commands, so the model learns the meaning, not one template.

:func:`phrasings` lists every way this module says one command ("walk forward 2
meters", "go 2 meters straight ahead", ...); :func:`caption` draws one phrasing per
command with a random generator and joins a sequence with "then"-style connectors.
Numbers are stated exactly (digits or words), so a caption always determines the
command's parameters that evaluation checks; only a few vague phrasings ("take a
few steps forward") exist, for short distances where they are true.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.data.commands import (
    Command,
    Jump,
    RaiseArms,
    Run,
    SitDown,
    Squat,
    StepSideways,
    Turn,
    Walk,
    Wave,
)

__all__ = ["CONNECTORS", "caption", "format_metres", "phrasings"]

CONNECTORS = (", then ", " and then ", ", after that ", " and ")
_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def format_metres(distance: float) -> list[str]:
    """Ways to say a distance: ``["2 meters", "two meters", "2 m"]``."""
    value = f"{distance:g}"
    unit = "meter" if distance == 1 else "meters"
    forms = [f"{value} {unit}", f"{value} m"]
    if float(distance).is_integer() and int(distance) in _NUMBER_WORDS:
        forms.append(f"{_NUMBER_WORDS[int(distance)]} {unit}")
    return forms


def _times(count: int) -> list[str]:
    if count == 1:
        return ["once"]
    if count == 2:
        return ["twice", "two times"]
    return [f"{count} times"] + (
        [f"{_NUMBER_WORDS[count]} times"] if count in _NUMBER_WORDS else []
    )


def _walk(command: Walk) -> list[str]:
    run = isinstance(command, Run)
    verbs = ["run", "jog"] if run else ["walk", "go"]
    if run and command.speed_mps >= 3.8:
        verbs = ["sprint", "run fast"]
    if not run and command.speed_mps <= 0.9:
        verbs = ["walk slowly", "slowly walk", "stroll"]
    if not run and command.speed_mps >= 1.5:
        verbs = ["walk quickly", "walk briskly", "hurry"]
    way = command.direction
    out = []
    for d in format_metres(command.distance_m):
        for verb in verbs:
            if way == "forward":
                out += [f"{verb} forward {d}", f"{verb} {d} straight ahead"]
            else:
                out += [f"{verb} backward {d}", f"{verb} {d} backwards"]
    if way == "backward" and not run:
        out += [f"back up {d}" for d in format_metres(command.distance_m)]
    if way == "forward" and not run and command.distance_m <= 1.0 and command.turn_deg == 0:
        out += ["take a few steps forward", "step forward a little"]
    if command.turn_deg != 0:
        side = "left" if command.turn_deg > 0 else "right"
        angle = f"{abs(command.turn_deg):g} degrees"
        out = [f"{phrase} while turning {angle} to the {side}" for phrase in out[:4]] + [
            f"{verbs[0]} {d} in an arc to the {side}, turning {angle}"
            for d in format_metres(command.distance_m)
        ]
    return out


def _turn(command: Turn) -> list[str]:
    side = "left" if command.angle_deg > 0 else "right"
    angle = abs(command.angle_deg)
    out = [
        f"turn {side} {angle:g} degrees",
        f"turn {angle:g} degrees to the {side}",
        f"rotate to your {side} by {angle:g} degrees",
        f"turn in place {angle:g} degrees {side}",
    ]
    if angle == 90:
        out += [f"turn {side}", f"make a quarter turn to the {side}", f"face {side}"]
    if angle == 180:
        out += ["turn around", f"turn around to your {side}", "face the other way"]
    if angle == 360:
        out += [f"turn all the way around to the {side}", f"spin a full circle to the {side}"]
    return out


def _step_sideways(command: StepSideways) -> list[str]:
    side = command.direction
    out = []
    for d in format_metres(command.distance_m):
        out += [f"step {d} to the {side}", f"sidestep {side} {d}", f"shuffle {d} to your {side}"]
    if command.distance_m <= 0.4:
        out += [f"take a step to the {side}", f"step to the {side}"]
    return out


def _jump(command: Jump) -> list[str]:
    if command.distance_m == 0:
        out = ["jump", "jump in place", "jump up once", "do a vertical jump"]
    else:
        out = [f"jump forward {d}" for d in format_metres(command.distance_m)]
        out += [f"leap {d} forward" for d in format_metres(command.distance_m)]
    if command.height_m >= 0.35:
        out = [f"{phrase} as high as you can" for phrase in out[:2]]
        if command.distance_m == 0:
            out.append("jump high")
    return out


def _squat(command: Squat) -> list[str]:
    if command.count == 1:
        out = ["squat down and stand back up", "do a squat", "squat once", "do one squat"]
    else:
        out = [f"squat {t}" for t in _times(command.count)]
        out += [f"do {command.count} squats"]
        if command.count in _NUMBER_WORDS:
            out.append(f"do {_NUMBER_WORDS[command.count]} squats")
    if command.depth_m >= 0.45:
        out = [f"{phrase}, going down deep" for phrase in out]
    return out


def _wave(command: Wave) -> list[str]:
    if command.hand == "both":
        return ["wave with both hands", "wave both hands", "wave with both arms above your head"]
    hand = command.hand
    return [
        f"wave with your {hand} hand",
        f"wave your {hand} hand",
        f"wave hello with the {hand} hand",
        f"raise your {hand} hand and wave",
        f"give a wave with your {hand} arm",
    ]


def _raise_arms(command: RaiseArms) -> list[str]:
    which = {"both": "both arms", "left": "your left arm", "right": "your right arm"}[command.arms]
    arms = "arms" if command.arms == "both" else "arm"
    if command.direction == "up":
        out = [f"raise {which}", f"raise {which} above your head", f"lift {which} up high"]
        if command.arms == "both":
            out += ["put your hands up", "raise your hands in the air"]
    elif command.direction == "forward":
        out = [f"raise {which} forward", f"stretch {which} out in front of you"]
        out += [f"hold your {arms} straight out in front"]
    else:
        out = [f"raise {which} to the side", f"stretch {which} out sideways"]
        if command.arms == "both":
            out += ["hold your arms out to the sides", "make a T with your arms"]
    return out


def _sit_down(command: SitDown) -> list[str]:
    return ["sit down", "take a seat", "sit down on a chair", "lower yourself into a seat"]


_PHRASERS = {
    Walk: _walk,
    Run: _walk,
    Turn: _turn,
    StepSideways: _step_sideways,
    Jump: _jump,
    Squat: _squat,
    Wave: _wave,
    RaiseArms: _raise_arms,
    SitDown: _sit_down,
}


def phrasings(command: Command) -> list[str]:
    """Every phrasing of ``command`` (lower case, no final period), without repeats."""
    try:
        phraser = _PHRASERS[type(command)]
    except KeyError:
        raise TypeError(f"no phrasings for {type(command).__name__}") from None
    return list(dict.fromkeys(phraser(command)))  # type: ignore[operator]


def caption(commands: Sequence[Command], rng: np.random.Generator) -> str:
    """One caption for a command sequence: a random phrasing each, joined by connectors."""
    if not commands:
        raise ValueError("caption needs at least one command")
    parts = []
    for index, command in enumerate(commands):
        options = phrasings(command)
        parts.append(options[int(rng.integers(len(options)))])
        if index + 1 < len(commands):
            parts.append(CONNECTORS[int(rng.integers(len(CONNECTORS)))])
    text = "".join(parts)
    return text[0].upper() + text[1:] + "."
