"""What the robot understands when spoken to: a JSGF grammar, and the text it sends.

Speech recognition is constrained to the robot's commands: an open-vocabulary
decoder turns eSpeak's "walk forward" into "while or", a grammar of the commands
recognises it exactly. The grammar's language is the captions the model is trained
on, read aloud (:func:`spoken_form`): walk / run / turn / face / step / jump / squat
/ wave / raise arms / sit, with their numbers, sides and directions; "walk to" /
"face" an object of the scene (every colour × shape of :mod:`sim.scene`); up to
:data:`MAX_COMMANDS` of them joined by "then", "and then", "after that" or "and";
and "stop" / "cancel" on their own; and, to be refused, objects the scene cannot hold
(:data:`UNKNOWN_COLOURS`, :data:`UNKNOWN_THINGS`). It is a little wider than the
captions where a person would be: "walk forward" without a distance.

Recognised words become the command text with :func:`command_text`: numbers are
written the way the captions write them (as digits, "2.5 meters", "135 degrees",
except the two counts the captions only spell out: "do one squat", "squat two
times"), and the captions' commas come back; :meth:`CommandGrammar.command_for` writes
two commands joined by any connector as "X, then Y" (the captions use the four
connectors alike). ``tests/test_voice_grammar.py`` proves, for every
phrasing of every command the training data generator draws, that its spoken form is
in the grammar and that :func:`command_text` of it is a phrasing of the same command:
the captions stay the one source of truth, and a caption changed there without the
grammar fails that test.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from sim.scene import COLOURS, SHAPES

__all__ = [
    "CANCEL_WORDS",
    "MAX_COMMANDS",
    "UNKNOWN_COLOURS",
    "UNKNOWN_THINGS",
    "CommandGrammar",
    "command_text",
    "number_words",
    "spoken_form",
]

CANCEL_WORDS = ("stop", "cancel")  # said alone: the generator's ~/cancel, not a command
MAX_COMMANDS = 2  # the training captions join at most two commands

_UNITS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
          "seventeen", "eighteen", "nineteen")  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_VALUES = {
    "zero": 0,
    **{w: i + 1 for i, w in enumerate(_UNITS)},
    **{w: i + 10 for i, w in enumerate(_TEENS)},
    **{w: 10 * (i + 2) for i, w in enumerate(_TENS)},
}
DISTANCES_M = (0.3, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5)
ANGLES_DEG = (45, 90, 135, 180, 360)
# Counts the captions spell out and never write in digits: number -> the word after it.
_SPELLED_BEFORE = {1: "squat", 2: "times"}
_LETTERS = {"t": "T"}  # "make a T with your arms"
# Names a person may give an object that the scene cannot hold (:mod:`sim.scene` has
# eight colours and four shapes): the basic colour terms it lacks, and things of a room.
# They are in the grammar so that "walk to the pink box" is heard as that and refused,
# not forced onto the nearest object the scene has ("the blue box"). A sentence holding
# one is not a command (:meth:`CommandGrammar.accepts`). Not "wall" or "lamp": one sound
# from "ball" and "left", they took the place of real commands (docs/voice.md).
UNKNOWN_COLOURS = ("pink", "brown", "gray")
UNKNOWN_THINGS = ("table", "desk", "door", "window", "car", "cup", "bottle", "bed", "sofa",
                  "shelf", "cube", "block", "cone", "kitchen", "person")  # fmt: skip
_GRAMMAR = "robot_commands"
_TOP_RULE = "utterance"


def _alternatives(words: Iterable[str]) -> str:
    return "(" + " | ".join(words) + ")"


def _unknown_object_rules(colours: Sequence[str], shapes: Sequence[str]) -> dict[str, str]:
    """``<unknown_object>``: a name of :data:`UNKNOWN_COLOURS` / :data:`UNKNOWN_THINGS`
    the scene does not hold, with or without a colour; no rule where it holds them all."""
    unknown_colours = [c for c in UNKNOWN_COLOURS if c not in colours]
    unknown_things = [t for t in UNKNOWN_THINGS if t not in shapes]
    colour = "<colour>" + "".join(f" | {c}" for c in unknown_colours)
    forms = [f"[{colour}] {_alternatives(unknown_things)}"] if unknown_things else []
    forms += [f"{_alternatives(unknown_colours)} <shape>"] if unknown_colours else []
    return {"unknown_object": " | ".join(forms)} if forms else {}


def _rules(
    colours: Sequence[str],
    shapes: Sequence[str],
    distances_m: Sequence[float],
    angles_deg: Sequence[float],
    max_commands: int,
) -> dict[str, str]:
    """The grammar's rules, name -> JSGF expansion (``<utterance>`` is the public one)."""
    unknown = _unknown_object_rules(colours, shapes)
    return {
        # --- numbers -------------------------------------------------------------
        "metres": _alternatives(
            f"{number_words(d)} {'meter' if d == 1 else 'meters'}" for d in distances_m
        ),
        "angle": _alternatives(number_words(a) for a in angles_deg),
        "count": f"{_alternatives(_UNITS[1:])} | ten",
        "side": "left | right",
        "degrees": "<angle> degrees",
        # --- the commands (the phrasings of training/data/captions.py) ------------
        "walk_verb": "walk | go | walk slowly | slowly walk | stroll | walk quickly"
        " | walk briskly | hurry | run | jog | sprint | run fast",
        "walk_line": "<walk_verb> forward [<metres>] | <walk_verb> <metres> straight ahead"
        " | <walk_verb> backward [<metres>] | <walk_verb> <metres> backwards"
        " | back up [<metres>] | take a few steps forward | step forward a little",
        "walk": "<walk_line> [while turning <degrees> to the <side>]"
        " | <walk_verb> <metres> in an arc to the <side> turning <degrees>",
        "turn": "turn <side> [<degrees>] | turn <degrees> to the <side>"
        " | rotate to your <side> by <degrees> | turn in place <degrees> <side>"
        " | make a quarter turn to the <side> | face <side> | turn around [to your <side>]"
        " | face the other way | turn all the way around to the <side>"
        " | spin a full circle to the <side>",
        "step": "step <metres> to the <side> | sidestep <side> <metres>"
        " | shuffle <metres> to your <side> | take a step to the <side> | step to the <side>",
        "jump": "(jump | jump in place | jump up once | do a vertical jump | jump forward <metres>"
        " | leap <metres> forward) [as high as you can] | jump high",
        "squat": "(squat down and stand back up | do a squat | squat once | do one squat"
        " | squat (twice | <count> times) | do <count> squats) [going down deep]",
        "wave": "wave with both hands | wave both hands | wave with both arms above your head"
        " | wave with your <side> hand | wave your <side> hand"
        " | wave hello with the <side> hand | raise your <side> hand and wave"
        " | give a wave with your <side> arm",
        "arms": "both arms | your <side> arm",
        "raise": "raise <arms> [above your head | forward | to the side] | lift <arms> up high"
        " | put your hands up | raise your hands in the air"
        " | stretch <arms> (out in front of you | out sideways)"
        " | hold your (arm | arms) straight out in front | hold your arms out to the sides"
        " | make a t with your arms",
        "sit": "sit down [on a chair] | take a seat | lower yourself into a seat",
        "colour": _alternatives(colours),
        "shape": _alternatives(shapes),
        "object": "<colour> <shape>",
        **unknown,
        "scene": "(walk to | go to | walk over to | approach | walk up to | face | turn toward"
        " | turn to face | turn your body toward) the "
        + ("(<object> | <unknown_object>)" if unknown else "<object>"),
        "command": "<walk> | <turn> | <step> | <jump> | <squat> | <wave> | <raise> | <sit>"
        " | <scene>",
        "connector": "then | and then | after that | and",
        "utterance": f"{_alternatives(CANCEL_WORDS)} | <command>"
        + " [<connector> <command>]" * (max_commands - 1),
    }


class CommandGrammar:
    """The JSGF grammar of the robot's spoken commands, and membership in its language.

    ``colours`` and ``shapes`` are the words that name scene objects (default: all of
    :mod:`sim.scene`). :meth:`accepts` runs PocketSphinx's own finite-state form of the
    grammar, so it is exactly what the recogniser can output. ``max_commands`` 1 gives
    the grammar of one command (or "stop" / "cancel"), which
    :meth:`command_sequences` uses to split a sentence at its connector.
    """

    def __init__(
        self,
        colours: Sequence[str] = tuple(COLOURS),
        shapes: Sequence[str] = tuple(SHAPES),
        distances_m: Sequence[float] = DISTANCES_M,
        angles_deg: Sequence[float] = ANGLES_DEG,
        max_commands: int = MAX_COMMANDS,
    ) -> None:
        if max_commands < 1:
            raise ValueError(f"max_commands must be at least 1, got {max_commands}")
        self._args = (colours, shapes, distances_m, angles_deg)
        self.max_commands = max_commands
        self.rules = _rules(colours, shapes, distances_m, angles_deg, max_commands)
        lines = ["#JSGF V1.0;", f"grammar {_GRAMMAR};"]
        lines += [f"public <{_TOP_RULE}> = {self.rules[_TOP_RULE]};"]
        lines += [f"<{name}> = {body};" for name, body in self.rules.items() if name != _TOP_RULE]
        self.jsgf = "\n".join(lines) + "\n"
        self.words = frozenset(
            word for body in self.rules.values() for word in re.findall(r"(?<![<\w])[a-z]+", body)
        )
        # Names of objects the scene cannot hold (refused when heard; see UNKNOWN_COLOURS).
        self.unknown_words = frozenset(UNKNOWN_COLOURS + UNKNOWN_THINGS) - {*colours, *shapes}

    @cached_property
    def _fsg(self) -> Any:
        from pocketsphinx import Jsgf, LogMath

        with tempfile.NamedTemporaryFile("w", suffix=".gram") as handle:
            handle.write(self.jsgf)
            handle.flush()
            jsgf = Jsgf(handle.name)
        return jsgf.build_fsg(jsgf.get_rule(f"{_GRAMMAR}.{_TOP_RULE}"), LogMath(), 1.0)

    def accepts(self, words: str) -> bool:
        """Whether ``words`` (lower case, space separated) is a command: a sentence of the
        grammar that names no object the scene cannot hold."""
        words = " ".join(words.split())
        return (
            bool(words)
            and set(words.split()) <= self.words
            and not self.unknown_names(words)
            and bool(self._fsg.accept(words))
        )

    def before_trailing_connector(self, words: str) -> str | None:
        """The command before a connector that ends ``words`` ("turn around and" ->
        "turn around"), or None when ``words`` does not end in a connector after a
        command."""
        tokens = words.split()
        for connector in sorted(self._connectors, key=len, reverse=True):
            size = len(connector)
            head = " ".join(tokens[:-size])
            if len(tokens) > size and tokens[-size:] == connector and self.accepts(head):
                return head
        return None

    @cached_property
    def _connectors(self) -> list[list[str]]:
        return [c.split() for c in self.rules["connector"].split(" | ")]

    def unknown_names(self, words: str) -> list[str]:
        """The words of ``words`` that name an object the scene cannot hold."""
        return [w for w in words.split() if w in self.unknown_words]

    @cached_property
    def _single(self) -> CommandGrammar:
        return CommandGrammar(*self._args, max_commands=1)

    def command_sequences(self, words: str) -> set[tuple[str, ...]]:
        """Every way to read ``words`` as commands joined by connectors, without the
        connectors: "turn left and then sit down" -> {("turn left", "sit down")}; "raise
        your right hand and wave", whose "and" is inside one command, reads as that one
        command. One that is not a sentence of the grammar has no reading.
        Sentences whose readings meet ask for the same motions, whichever connector
        joined them (:meth:`command_for` writes them alike)."""
        tokens = words.split()
        single = self._single
        readings = {(" ".join(tokens),)} if single.accepts(words) else set()
        if self.max_commands < 2:
            return readings
        for index in range(1, len(tokens)):
            first, rest = " ".join(tokens[:index]), tokens[index:]
            for connector in self._connectors:
                second = " ".join(rest[len(connector) :])
                if rest[: len(connector)] == connector and all(
                    single.accepts(c) and c not in CANCEL_WORDS for c in (first, second)
                ):
                    readings.add((first, second))
        return readings

    def command_for(self, words: str) -> str:
        """The command to send for a sentence of the grammar: :func:`command_text`, with
        two commands joined by ", then " whichever connector was said ("turn left and
        then sit down" -> "turn left, then sit down"). The training captions join a
        sequence with any of the four connectors alike, so the model reads them the
        same; the recogniser does not hear them apart reliably (short, unstressed
        words), and one written form sends the same text for the same motions however
        the connector was heard. A sentence that reads as one command ("raise your
        right hand and wave") or splits in more than one way is sent as it was heard."""
        readings = self.command_sequences(words)
        if len(readings) == 1 and len(pair := next(iter(readings))) == 2:
            return ", then ".join(command_text(command) for command in pair)
        return command_text(words)


def number_words(value: float) -> str:
    """``value`` read aloud: 45 -> "forty five", 135 -> "one hundred thirty five",
    2.5 -> "two point five", 0.3 -> "zero point three" (0 to 999, one decimal digit)."""
    text = f"{value:g}"
    whole, _, fraction = text.partition(".")
    number = int(whole)
    if not 0 <= number < 1000 or len(fraction) > 1:
        raise ValueError(f"cannot read {value!r} aloud (0 to 999, at most one decimal)")
    parts = []
    hundreds, rest = divmod(number, 100)
    if hundreds:
        parts += [_UNITS[hundreds - 1], "hundred"]
    if rest >= 20:
        tens, unit = divmod(rest, 10)
        parts.append(_TENS[tens - 2])
        if unit:
            parts.append(_UNITS[unit - 1])
    elif rest >= 10:
        parts.append(_TEENS[rest - 10])
    elif rest or not parts:
        parts.append(_UNITS[rest - 1] if rest else "zero")
    if fraction:
        parts += ["point", _UNITS[int(fraction) - 1] if int(fraction) else "zero"]
    return " ".join(parts)


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def spoken_form(text: str) -> str:
    """A written command as it is said: "Walk forward 2.5 m, then turn left." ->
    "walk forward two point five meters then turn left"."""
    words = re.sub(r"[,;:!?]|\.(?!\d)", " ", text.lower()).split()
    out: list[str] = []
    for index, word in enumerate(words):
        if _NUMBER.fullmatch(word):
            out.append(number_words(float(word)))
        elif word == "m" and index and _NUMBER.fullmatch(words[index - 1]):
            out.append("meter" if float(words[index - 1]) == 1 else "meters")
        else:
            out.append(word)
    return " ".join(out)


def _read_number(words: list[str], start: int) -> tuple[float, int] | None:
    """The number spoken at ``words[start:]`` and the index after it, or None."""
    end = len(words)
    index = start
    if words[index] not in _VALUES:
        return None
    value = 0.0
    if index + 1 < end and words[index] in _UNITS and words[index + 1] == "hundred":
        value, index = 100.0 * _VALUES[words[index]], index + 2
        if index + 1 < end and words[index] == "and" and words[index + 1] in _VALUES:
            index += 1
    if index < end and words[index] in _VALUES and (index == start or words[index] != "zero"):
        word = words[index]
        value += _VALUES[word]
        index += 1
        if word in _TENS and index < end and words[index] in _UNITS:
            value += _VALUES[words[index]]
            index += 1
    if index + 1 < end and words[index] == "point" and words[index + 1] in _VALUES:
        value += _VALUES[words[index + 1]] / 10
        index += 2
    return value, index


def _written_number(value: float, next_word: str) -> str:
    if float(value).is_integer() and _SPELLED_BEFORE.get(int(value)) == next_word:
        return _UNITS[int(value) - 1]
    return f"{value:g}"


def command_text(words: str) -> str:
    """The command to send for recognised ``words``, written as the captions write it:
    "walk forward two point five meters then turn left" ->
    "walk forward 2.5 meters, then turn left"."""
    tokens = words.lower().split()
    out: list[str] = []
    index = 0
    while index < len(tokens):
        number = _read_number(tokens, index)
        if number is not None:
            value, index = number
            out.append(_written_number(value, tokens[index] if index < len(tokens) else ""))
            continue
        word = tokens[index]
        previous = out[-1] if out else ""
        comma_before = (
            (word == "then" and previous != "and")
            or (word == "after" and tokens[index + 1 : index + 2] == ["that"])
            or (word == "going" and tokens[index + 1 : index + 3] == ["down", "deep"])
            or (word == "turning" and previous != "while")
        )
        if comma_before and out:
            out[-1] += ","
        out.append(_LETTERS.get(word, word) if previous == "a" else word)
        index += 1
    return " ".join(out)
