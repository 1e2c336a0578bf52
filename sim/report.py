"""``SimReport``: the verdict on one trajectory, with reasons and numbers.

A report lists every check that ran (``CheckResult``: the measured value, the
threshold it was held to and, when it failed, a sentence saying why), all metrics
the checks measured and how long each stage took. Its ``state`` is ``"passed"``,
``"failed"`` (the motion failed a check) or ``"refused"``: the request was beyond the
checker's work limits (``work_limit``: too long or too high a frame rate; or
``time_budget``: the physics did not finish in time) and nothing else was found
wrong, so the motion was not judged at all. A refused motion is not passed either.
It is plain data: ``to_json`` / ``from_json`` round-trip exactly, so the ROS node can
publish it and a person can read it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

__all__ = ["REFUSAL_CHECKS", "CheckResult", "SimReport"]

# Checks that say the request was too much work to judge, not that the motion is bad.
REFUSAL_CHECKS = frozenset({"work_limit", "time_budget"})


def _jsonable(value: float) -> float | str:
    """JSON has no NaN/inf; keep them readable as strings instead of invalid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _number(value: float | str) -> float:
    return float(value)


@dataclass(frozen=True)
class CheckResult:
    """One named check: ``passed`` is ``value <= threshold`` (or the check's own rule)."""

    name: str
    passed: bool
    value: float
    threshold: float
    unit: str = ""
    reason: str = ""
    frame: int | None = None  # the worst frame, where one exists

    def to_dict(self) -> dict:
        out = asdict(self)
        out["value"] = _jsonable(float(self.value))
        out["threshold"] = _jsonable(float(self.threshold))
        return out

    @classmethod
    def from_dict(cls, values: dict) -> CheckResult:
        values = dict(values)
        values["value"] = _number(values["value"])
        values["threshold"] = _number(values["threshold"])
        return cls(**values)


@dataclass(frozen=True)
class SimReport:
    """The verdict: ``passed`` only when every check passed."""

    passed: bool
    checks: tuple[CheckResult, ...]
    metrics: dict[str, float | bool | str] = field(default_factory=dict)
    timing_s: dict[str, float] = field(default_factory=dict)
    num_frames: int = 0
    fps: float = 0.0

    @property
    def failed_checks(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def failed_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.failed_checks)

    @property
    def state(self) -> str:
        """``"passed"``, ``"failed"`` or ``"refused"`` (see the module docstring)."""
        if self.passed:
            return "passed"
        if self.failed_checks and set(self.failed_names) <= REFUSAL_CHECKS:
            return "refused"
        return "failed"

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r} in report (has {[c.name for c in self.checks]})")

    def summary(self) -> str:
        """One line a person reads first: PASSED, or FAILED / REFUSED with each reason."""
        if self.passed:
            return f"PASSED: {len(self.checks)} checks on {self.num_frames} frames"
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in self.failed_checks)
        return f"{self.state.upper()}: {reasons}"

    @classmethod
    def from_checks(
        cls,
        checks: list[CheckResult],
        metrics: dict | None = None,
        timing_s: dict | None = None,
        num_frames: int = 0,
        fps: float = 0.0,
    ) -> SimReport:
        return cls(
            passed=bool(checks) and all(c.passed for c in checks),
            checks=tuple(checks),
            metrics=dict(metrics or {}),
            timing_s=dict(timing_s or {}),
            num_frames=int(num_frames),
            fps=float(fps),
        )

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "state": self.state,
            "summary": self.summary(),
            "num_frames": self.num_frames,
            "fps": self.fps,
            "checks": [c.to_dict() for c in self.checks],
            "metrics": {k: _jsonable(v) for k, v in self.metrics.items()},
            "timing_s": dict(self.timing_s),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, values: dict) -> SimReport:
        return cls(
            passed=bool(values["passed"]),
            checks=tuple(CheckResult.from_dict(c) for c in values["checks"]),
            metrics=dict(values.get("metrics", {})),
            timing_s={k: float(v) for k, v in values.get("timing_s", {}).items()},
            num_frames=int(values.get("num_frames", 0)),
            fps=float(values.get("fps", 0.0)),
        )

    @classmethod
    def from_json(cls, text: str) -> SimReport:
        return cls.from_dict(json.loads(text))
