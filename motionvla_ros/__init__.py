"""ROS 2 nodes of MotionVLA-ROS: motion generation and the simulation check."""

import os

# The nodes render off-screen (sim_check's head camera and videos) and never open a
# window. MuJoCo picks its OpenGL back end once, when it is first imported, which
# every node does through the G1 description: choose EGL before that happens.
os.environ.setdefault("MUJOCO_GL", "egl")
