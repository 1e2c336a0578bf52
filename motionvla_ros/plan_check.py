"""Grounded plans on the wire, and scored against the scene the simulator holds.

The model answers a scene command with a plan before the motion, ``red box: 2.4 m, 30°
left`` (:class:`motionvla_model.plan.ScenePlan`): which object it understood and where it
saw it in the camera image. The generator publishes that plan on ``motion_plan`` with the
stamp of the trajectory it goes with; the ``sim_check`` node, which knows the scene's
true object places, scores it:

* ``target_in_scene``: the named object exists in the scene;
* ``distance_error_m`` = ``|d_plan - d_true|`` and ``bearing_error_deg`` =
  ``|wrap(b_plan - b_true)|``, where ``d`` is the floor distance from the standing G1 (at
  the origin, facing +x) to the object's centre and ``b`` the turn that faces it
  (positive to the left, :meth:`sim.scene.SceneObject.seen_from_start`);
* ``end_distance_m``: where the robot's root ends, on the floor, from the named object's
  footprint (0 inside it): whether "walk to the red box" got there.

A plan is a claim about an image; this turns it into a number a person can check before
the robot moves.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from motionvla_model.plan import PlanFormatError, ScenePlan

__all__ = [
    "MAX_PLAN_MESSAGE_CHARS",
    "PlanScore",
    "RecentPlans",
    "parse_plan_message",
    "plan_message",
    "score_plan",
]

# A plan is one short line; anything longer is not one (and is not parsed).
MAX_PLAN_MESSAGE_CHARS = 512


@dataclass(frozen=True)
class PlanScore:
    plan: ScenePlan
    target_in_scene: bool
    distance_error_m: float | None = None
    bearing_error_deg: float | None = None
    end_distance_m: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.plan.to_dict(),
            "target_in_scene": self.target_in_scene,
            "distance_error_m": self.distance_error_m,
            "bearing_error_deg": self.bearing_error_deg,
            "end_distance_m": self.end_distance_m,
        }


def score_plan(
    plan: ScenePlan, scene: Any | None, end_xy: tuple[float, float] | None = None
) -> PlanScore:
    """``plan`` against ``scene`` (a :class:`sim.scene.SceneDescription`, None: bare floor);
    ``end_xy`` is where the robot's root ends (world frame), when known."""
    objects = [] if scene is None else [o for o in scene.objects if o.label == plan.target]
    if not objects:
        return PlanScore(plan, target_in_scene=False)
    target = objects[0]  # scenes never repeat a label
    distance, bearing = target.seen_from_start()
    return PlanScore(
        plan,
        target_in_scene=True,
        distance_error_m=round(abs(plan.distance_m - distance), 3),
        bearing_error_deg=round(abs((plan.bearing_deg - bearing + 180.0) % 360.0 - 180.0), 2),
        end_distance_m=None if end_xy is None else round(target.floor_distance(*end_xy), 3),
    )


def plan_message(stamp_ns: int, plan: ScenePlan) -> str:
    """The ``motion_plan`` message body: JSON with the trajectory's stamp and the plan."""
    return json.dumps({"stamp_ns": stamp_ns, **plan.to_dict()})


def parse_plan_message(data: str) -> tuple[int, ScenePlan]:
    """``(stamp_ns, plan)`` of a ``motion_plan`` message; :class:`PlanFormatError` if it is not one.

    Only the stamp and the plan's canonical text are read: the text is parsed and
    validated by :meth:`ScenePlan.parse`, so a target, distance or bearing outside the
    plan's form is refused rather than passed on.
    """
    if len(data) > MAX_PLAN_MESSAGE_CHARS:
        raise PlanFormatError(
            f"plan message of {len(data)} characters (at most {MAX_PLAN_MESSAGE_CHARS})"
        )
    try:
        fields = json.loads(data)
    except ValueError as error:
        raise PlanFormatError(f"plan message is not JSON: {error}") from None
    if not isinstance(fields, dict):
        raise PlanFormatError("plan message must be a JSON object")
    stamp, text = fields.get("stamp_ns"), fields.get("text")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or not 0 <= stamp < 2**63:
        raise PlanFormatError(f"plan message needs an integer stamp_ns, got {stamp!r}")
    if not isinstance(text, str):
        raise PlanFormatError("plan message needs the plan's text")
    return stamp, ScenePlan.parse(text)


class RecentPlans:
    """The plans of the last ``capacity`` stamps, so a stream of plans cannot grow memory."""

    def __init__(self, capacity: int = 32) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._plans: OrderedDict[int, ScenePlan] = OrderedDict()

    def add(self, stamp_ns: int, plan: ScenePlan) -> None:
        self._plans[stamp_ns] = plan
        self._plans.move_to_end(stamp_ns)
        while len(self._plans) > self.capacity:
            self._plans.popitem(last=False)

    def pop(self, stamp_ns: int) -> ScenePlan | None:
        return self._plans.pop(stamp_ns, None)

    def __len__(self) -> int:
        return len(self._plans)
