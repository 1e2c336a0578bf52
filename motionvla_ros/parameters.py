"""ROS parameters declared from a validated configuration dataclass.

Each node describes its parameters once, as a frozen dataclass whose fields carry
their description (and, for numbers, their range) in ``field(metadata=...)``::

    @dataclass(frozen=True)
    class Config:
        rate_hz: float = param(30.0, "Publishing rate.", (1.0, 100.0))

:func:`declare_config` declares every field on the node with a
``ParameterDescriptor`` (description, ``IntegerRange``/``FloatingPointRange``,
read-only) so that ``ros2 param describe`` explains it and rclpy refuses an
out-of-range value from the parameter file, then builds the dataclass, whose
``__post_init__`` checks what a range cannot (choices, cross-field rules). A bad
value therefore stops the node at start-up with a message naming the parameter.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node

__all__ = ["ConfigError", "declare_config", "param"]

C = TypeVar("C")


class ConfigError(ValueError):
    """A node parameter has a value the node cannot run with."""


def param(default: Any, description: str, value_range: tuple[float, float] | None = None):
    """A dataclass field that is also a ROS parameter."""
    return dataclasses.field(
        default=default, metadata={"description": description, "range": value_range}
    )


def _descriptor(name: str, default: Any, metadata: dict) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(name=name, description=metadata["description"], read_only=True)
    value_range = metadata.get("range")
    if value_range is not None:
        low, high = value_range
        if isinstance(default, int) and not isinstance(default, bool):
            descriptor.integer_range = [
                IntegerRange(from_value=int(low), to_value=int(high), step=1)
            ]
        else:
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(low), to_value=float(high), step=0.0)
            ]
    return descriptor


def declare_config(node: Node, config_type: type[C]) -> C:
    """Declare the fields of ``config_type`` on ``node`` and return their values."""
    values = {}
    for f in dataclasses.fields(config_type):
        try:
            parameter = node.declare_parameter(
                f.name, f.default, _descriptor(f.name, f.default, dict(f.metadata))
            )
        except ParameterException as error:
            raise ConfigError(f"parameter {f.name!r}: {error}") from error
        values[f.name] = parameter.value
    try:
        return config_type(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from error
