"""Running one node as a process: init, spin, and a clean shutdown on any exit path.

Teardown runs in one order on the main thread: the node's own ``close()`` stops its
threads, the executor is shut down (no callback runs any more), the node is destroyed,
and the ROS context is shut down last. rclpy's own signal handlers are not installed:
they shut the context down from another thread the moment SIGINT arrives, so the node
was then destroyed against a finished context, which crashed the process inside
``destroy_node`` (SIGSEGV, in 1 of 8 runs of the time-limit test on a loaded machine).
Python handlers instead raise :class:`StopRequested` in the main thread, which spins
with a bounded wait so that a signal is acted on within :data:`WAKE_PERIOD_S`.

A node's ``close()`` returns False when one of its threads is still inside native code
it cannot be pulled out of (the generator loading a model when SIGINT arrives). Normal
interpreter shutdown would then destroy libraries under that thread and abort the
process ("terminate called without an active exception", exit -6, measured in 2 of 8
SIGINTs during a model load), so the process leaves with ``os._exit`` instead, after
ROS is shut down and the output is flushed. Fatal signals print the Python stack of
every thread (:mod:`faulthandler`) to the node's log.

The executor is single-threaded: every node's long work already runs on a thread of
its own (the generator's :class:`~motionvla_ros.generation_worker.GenerationWorker`,
``sim_check``'s check pool), so callbacks are short and need no second executor
thread. rclpy's ``MultiThreadedExecutor`` busy-waits instead: it re-submits a ready
callback that its pool has not started yet on every spin, and scans a growing list
of futures each time, all while holding the GIL. Unpinned on two cores, with a 30 Hz
640x480 camera and 20 commands, it lost 4-25 % of the frames with command ->
trajectory p95 0.23-0.9 s; the single-threaded executor lost none, p95 ~45 ms.

A node that takes bulky messages can fix glibc's mmap threshold
(``mmap_threshold_bytes``). glibc raises the threshold to the size of every mmapped
block it frees, up to 32 MB, so after one large message the next ones come from the
heap, which is only given back to the system from its top: ``sim_check`` kept
+90 MB after one refused 100,000-point trajectory (25 MB serialized) and +24 MB more
after the next, and idled 212 MB above what it needed after its first check. With
the threshold fixed at 128 KiB, large buffers are mapped and unmapped whole: +16 MB
once, and a check takes as long as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import faulthandler
import os
import signal
import sys
from collections.abc import Callable, Sequence

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from motionvla_ros.parameters import ConfigError

__all__ = ["WAKE_PERIOD_S", "StopRequested", "fix_mmap_threshold", "run_node"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
WAKE_PERIOD_S = 0.25  # longest wait for ROS work before the main thread checks for signals


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived: leave the spin loop and tear down."""


def _request_stop(signum: int, _frame: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


def fix_mmap_threshold(size_bytes: int) -> bool:
    """Map every allocation of at least ``size_bytes`` on its own, and stop glibc from
    raising that threshold; False where the C library has no ``mallopt`` (not glibc)."""
    m_mmap_threshold = -3  # glibc's <malloc.h>
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(m_mmap_threshold, size_bytes) == 1


def run_node(
    make_node: Callable[[], Node],
    args: Sequence[str] | None = None,
    mmap_threshold_bytes: int | None = None,
) -> int:
    """Spin the node built by ``make_node`` until SIGINT/SIGTERM; returns the exit status.

    ``mmap_threshold_bytes``: see :func:`fix_mmap_threshold` (None leaves glibc's default).
    """
    faulthandler.enable()
    if mmap_threshold_bytes is not None:
        fix_mmap_threshold(mmap_threshold_bytes)
    rclpy.init(
        args=list(sys.argv if args is None else args),
        signal_handler_options=SignalHandlerOptions.NO,
    )
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, _request_stop)
    executor = SingleThreadedExecutor()
    node = None
    status = 0
    threads_stopped = True
    try:
        node = make_node()
        executor.add_node(node)
        while rclpy.ok():
            executor.spin_once(timeout_sec=WAKE_PERIOD_S)
    except (StopRequested, ExternalShutdownException):
        pass
    except ConfigError as error:
        print(f"invalid configuration: {error}", file=sys.stderr)
        status = 2
    finally:
        for stop_signal in STOP_SIGNALS:  # a second signal must not cut the teardown short
            signal.signal(stop_signal, signal.SIG_IGN)
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
