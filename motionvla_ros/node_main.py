"""Running one node as a process: init, spin, and a clean shutdown on any exit path.

rclpy's signal handlers turn SIGINT/SIGTERM into an ``ExternalShutdownException``
out of ``spin()``; the executor is shut down before ``rclpy.shutdown()`` (the
other order can leave a callback running against a destroyed context), and the
node's own ``close()`` stops its threads first.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

from motionvla_ros.parameters import ConfigError

__all__ = ["run_node"]


def run_node(make_node: Callable[[], Node], args: Sequence[str] | None = None) -> int:
    """Spin the node built by ``make_node`` until shutdown; returns the exit status."""
    rclpy.init(args=list(sys.argv if args is None else args))
    executor = MultiThreadedExecutor(num_threads=2)
    node = None
    status = 0
    try:
        node = make_node()
        executor.add_node(node)
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ConfigError as error:
        print(f"invalid configuration: {error}", file=sys.stderr)
        status = 2
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return status
