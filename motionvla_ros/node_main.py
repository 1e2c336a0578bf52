"""Running one node as a process: init, spin, and a clean shutdown on any exit path.

rclpy's signal handlers turn SIGINT/SIGTERM into an ``ExternalShutdownException``
out of ``spin()``; the executor is shut down before ``rclpy.shutdown()`` (the
other order can leave a callback running against a destroyed context), and the
node's own ``close()`` stops its threads first.

A node's ``close()`` returns False when one of its threads is still inside native code
it cannot be pulled out of (the generator loading a model when SIGINT arrives). Normal
interpreter shutdown would then destroy libraries under that thread and abort the
process ("terminate called without an active exception", exit -6, measured in 2 of 8
SIGINTs during a model load), so the process leaves with ``os._exit`` instead, after
ROS is shut down and the output is flushed. Fatal signals print the Python stack of
every thread (:mod:`faulthandler`) to the node's log.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

from motionvla_ros.parameters import ConfigError

__all__ = ["run_node"]


def run_node(make_node: Callable[[], Node], args: Sequence[str] | None = None) -> int:
    """Spin the node built by ``make_node`` until shutdown; returns the exit status."""
    faulthandler.enable()
    rclpy.init(args=list(sys.argv if args is None else args))
    executor = MultiThreadedExecutor(num_threads=2)
    node = None
    status = 0
    threads_stopped = True
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
                threads_stopped = close() is not False
        executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    if not threads_stopped:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status
