"""MuJoCo simulation of the G1 that checks trajectories before a robot receives them.

Entry point: :class:`sim.checker.SimChecker` (``check`` / ``check_arrays`` return a
:class:`sim.report.SimReport` and never raise). Scenes: :mod:`sim.scene`; thresholds:
:mod:`sim.config`; pictures: :mod:`sim.render`; command: ``motionvla-sim``
(:mod:`sim.cli`). Nothing is imported here, so that ``sim.cli`` can choose the OpenGL
back end before ``mujoco`` loads.
"""
