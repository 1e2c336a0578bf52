"""ROS 2 nodes of MotionVLA-ROS: motion generation and the simulation check."""
