"""Human motion to the Unitree G1: robot description and inverse-kinematics retargeting."""
