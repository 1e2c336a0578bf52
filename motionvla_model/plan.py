"""The grounded plan: the short text a scene command's answer starts with.

For a command that names an object in the image ("walk to the red box") the model first
writes where that object is, then the motion:

    red box: 2.4 m, 30° left<|m_bos|> b₁ … <|m_sep|> p₁ … <|m_eos|>

The plan names the object and its place seen from the robot's standing pose: the ground
distance from the pelvis to the object's centre (metres, one decimal) and the bearing of
the object, i.e. the turn that faces it (whole degrees, ``left`` or ``right``). It is
supervised from the scene's ground truth, so the loss cannot be satisfied without looking
at the image; the motion tokens that follow are conditioned on it; and it can be checked
against the scene (plan error in metres and degrees). Commands that name no object are
answered with the motion alone.

:class:`PlanGrammar` is the plan's token-level form over one tokenizer: the canonical
token ids of a plan (training targets are built from it, never by tokenising the whole
string, so training and the logit mask agree token for token), the tokens allowed after
any prefix (the phase mask uses it to keep plans short and well-formed), and the set of
every token a plan can hold (the loss vocabulary and the rows a compact checkpoint keeps).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a plan is read and written without loading transformers
    from transformers import PreTrainedTokenizerBase

__all__ = ["PlanFormatError", "PlanGrammar", "ScenePlan"]

MAX_PLAN_DISTANCE_M = 9.9  # one digit before the decimal point
_PATTERN = re.compile(
    r"^(?P<target>[a-z]+(?: [a-z]+)*): (?P<distance>\d\.\d) m, "
    r"(?P<angle>0|[1-9]\d{0,2})° (?P<side>left|right)$"
)


class PlanFormatError(ValueError):
    """A plan text or plan token sequence does not have the plan's form."""


@dataclass(frozen=True)
class ScenePlan:
    """Where the named object is: ``bearing_deg`` positive to the robot's left."""

    target: str
    distance_m: float
    bearing_deg: float

    def __post_init__(self) -> None:
        if not _PATTERN.match(f"{self.target}: 0.0 m, 0° left"):
            raise PlanFormatError(f"plan target must be lower-case words, got {self.target!r}")
        distance = round(self.distance_m, 1) if math.isfinite(self.distance_m) else -1.0
        if not 0 <= distance <= MAX_PLAN_DISTANCE_M:
            raise PlanFormatError(
                f"plan distance must be in [0, {MAX_PLAN_DISTANCE_M}] m, got {self.distance_m}"
            )
        if not (math.isfinite(self.bearing_deg) and abs(round(self.bearing_deg)) <= 180):
            raise PlanFormatError(f"plan bearing must be in [-180, 180]°, got {self.bearing_deg}")

    def text(self) -> str:
        """The canonical text (distance to 0.1 m, bearing to 1°)."""
        angle = round(abs(self.bearing_deg))
        side = "right" if self.bearing_deg < 0 and angle > 0 else "left"
        return f"{self.target}: {self.distance_m:.1f} m, {angle}° {side}"

    @classmethod
    def parse(cls, text: str) -> ScenePlan:
        match = _PATTERN.match(text.strip())
        if match is None:
            raise PlanFormatError(f"not a plan: {text!r}")
        angle = float(match["angle"])
        return cls(
            target=match["target"],
            distance_m=float(match["distance"]),
            bearing_deg=-angle if match["side"] == "right" else angle,
        )

    def ground_point(self) -> tuple[float, float]:
        """The object's place on the floor, robot frame: ``(forward, left)`` metres."""
        bearing = math.radians(self.bearing_deg)
        return self.distance_m * math.cos(bearing), self.distance_m * math.sin(bearing)

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text(),
            "target": self.target,
            "distance_m": self.distance_m,
            "bearing_deg": self.bearing_deg,
        }


@dataclass(frozen=True)
class _Segment:
    """One piece of the plan template: fixed token sequences, or a run of digits."""

    sequences: tuple[tuple[int, ...], ...] = ()
    max_value: int = -1  # digits: the largest number, written without leading zeros

    @property
    def is_digits(self) -> bool:
        return self.max_value >= 0

    def digits_after(self, digits: str) -> list[int]:
        """The digits that may follow ``digits`` (none after a lone leading zero)."""
        if digits == "0":
            return []
        return [d for d in range(10) if int(digits + str(d)) <= self.max_value]


class PlanGrammar:
    """Plans as token ids of ``tokenizer``, naming one of ``targets`` (e.g. ``"red box"``).

    The template is ``TARGET ":" " " D "." D " m" "," " " ANGLE "°" (" left" | " right")``
    with ``D`` one digit and ``ANGLE`` a whole number of degrees up to 180, each
    piece tokenised on its own (Qwen tokenizers split digits one per token).
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, targets: Sequence[str]) -> None:
        if not targets:
            raise PlanFormatError("a plan grammar needs at least one target label")

        def ids(text: str) -> tuple[int, ...]:
            return tuple(tokenizer(text, add_special_tokens=False)["input_ids"])

        self.targets = tuple(targets)
        for target in self.targets:
            ScenePlan(target, 0.0, 0.0)  # validates the label's form
        labels = tuple(ids(target) for target in self.targets)
        if len(set(labels)) != len(labels):
            raise PlanFormatError("plan targets must be distinct")
        for a in labels:
            for b in labels:
                if a != b and b[: len(a)] == a:
                    raise PlanFormatError("no plan target may be a token prefix of another")
        self._label_ids = dict(zip(self.targets, labels, strict=True))
        self.digit_ids = tuple(ids(str(d))[0] for d in range(10))
        if any(len(ids(str(d))) != 1 for d in range(10)):
            raise PlanFormatError("the tokenizer must spell each digit as one token")

        def fixed(*texts: str) -> _Segment:
            return _Segment(sequences=tuple(ids(text) for text in texts))

        digit = _Segment(max_value=9)
        self._segments = (
            _Segment(sequences=labels),
            fixed(":"),
            fixed(" "),
            digit,
            fixed("."),
            digit,
            fixed(" m"),
            fixed(","),
            fixed(" "),
            _Segment(max_value=180),
            fixed("°"),
            fixed(" left", " right"),
        )
        self.vocabulary = frozenset(
            {token for segment in self._segments for seq in segment.sequences for token in seq}
            | set(self.digit_ids)
        )

    def encode(self, plan: ScenePlan) -> list[int]:
        """The canonical token ids of ``plan`` (what training targets and the mask use)."""
        if plan.target not in self.targets:
            raise PlanFormatError(f"plan target {plan.target!r} is not one of {self.targets}")
        match = _PATTERN.match(plan.text())
        assert match is not None  # ScenePlan.text() always has the plan's form
        label = self._label_ids[plan.target]
        whole, tenth = match["distance"].split(".")
        side = 0 if match["side"] == "left" else 1
        pieces: list[Sequence[int]] = [
            label,
            *self._segments[1].sequences,
            *self._segments[2].sequences,
            self._digits(whole),
            *self._segments[4].sequences,
            self._digits(tenth),
            *self._segments[6].sequences,
            *self._segments[7].sequences,
            *self._segments[8].sequences,
            self._digits(match["angle"]),
            *self._segments[10].sequences,
            self._segments[11].sequences[side],
        ]
        return [token for piece in pieces for token in piece]

    def _digits(self, text: str) -> list[int]:
        return [self.digit_ids[int(ch)] for ch in text]

    def next_tokens(self, prefix: Sequence[int]) -> tuple[frozenset[int], bool]:
        """``(allowed next ids, complete)`` after the plan tokens ``prefix``.

        ``allowed`` is empty for a complete plan and for a prefix that is no plan's
        beginning; ``complete`` says ``prefix`` is a whole plan.
        """
        index, taken, digits = 0, (), ""
        for token in prefix:
            while True:
                if index == len(self._segments):
                    return frozenset(), False
                segment = self._segments[index]
                if segment.is_digits:
                    options = [self.digit_ids[d] for d in segment.digits_after(digits)]
                    if token in options:
                        digits += str(self.digit_ids.index(token))
                        break
                    if digits:
                        index, digits = index + 1, ""
                        continue  # the token belongs to the next segment
                    return frozenset(), False
                taken += (token,)
                if not any(seq[: len(taken)] == taken for seq in segment.sequences):
                    return frozenset(), False
                if taken in segment.sequences:
                    index, taken = index + 1, ()
                break
        return self._allowed(index, taken, digits)

    def _allowed(self, index: int, taken: tuple[int, ...], digits: str) -> tuple[frozenset, bool]:
        allowed: set[int] = set()
        while index < len(self._segments):
            segment = self._segments[index]
            if not segment.is_digits:
                allowed |= {
                    seq[len(taken)] for seq in segment.sequences if seq[: len(taken)] == taken
                }
                return frozenset(allowed), False
            allowed |= {self.digit_ids[d] for d in segment.digits_after(digits)}
            if not digits:
                return frozenset(allowed), False
            index, digits = index + 1, ""
        return frozenset(allowed), True

    def decode(self, ids: Sequence[int], tokenizer: PreTrainedTokenizerBase) -> ScenePlan:
        """The plan that ``ids`` spell (raises :class:`PlanFormatError` if they do not)."""
        if not self.next_tokens(ids)[1]:
            raise PlanFormatError(f"incomplete or malformed plan: {tokenizer.decode(list(ids))!r}")
        return ScenePlan.parse(tokenizer.decode(list(ids)))
