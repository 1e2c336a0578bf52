"""Pairing each JointTrajectory with the root Path that carries the same stamp.

The two halves of a trajectory travel on separate topics and may arrive in
either order, or one of them not at all. :class:`StampPairer` keeps the halves
that still wait for their partner, keyed by ``header.stamp``; a half that waits
longer than ``timeout_s`` is given up (and reported by the caller), and at most
``capacity`` halves are kept so that a stream of unmatched messages cannot
grow memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["StampPairer"]

A = TypeVar("A")
B = TypeVar("B")


@dataclass
class StampPairer(Generic[A, B]):
    timeout_s: float = 5.0
    capacity: int = 32
    # key -> (first half, second half, arrival time); one of the halves is None.
    _waiting: OrderedDict[int, tuple[A | None, B | None, float]] = field(
        default_factory=OrderedDict
    )

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {self.capacity}")

    def add_first(self, key: int, item: A, now: float) -> tuple[A, B] | None:
        """Offer a trajectory; returns the pair when its path is already here."""
        return self._add(key, item, None, now)

    def add_second(self, key: int, item: B, now: float) -> tuple[A, B] | None:
        """Offer a path; returns the pair when its trajectory is already here."""
        return self._add(key, None, item, now)

    def _add(self, key: int, first: A | None, second: B | None, now: float):
        waiting = self._waiting.pop(key, None)
        if waiting is not None:
            first = first if first is not None else waiting[0]
            second = second if second is not None else waiting[1]
            if first is not None and second is not None:
                return first, second
        self._waiting[key] = (first, second, now)
        return None

    def expire(self, now: float) -> list[tuple[int, str]]:
        """Drop halves that waited too long or exceed capacity; returns (key, which half)."""
        dropped = []
        for key, (first, _second, since) in list(self._waiting.items()):
            if now - since > self.timeout_s or len(self._waiting) > self.capacity:
                del self._waiting[key]
                dropped.append((key, "trajectory" if first is not None else "path"))
        return dropped

    def __len__(self) -> int:
        return len(self._waiting)
