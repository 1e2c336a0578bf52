"""MuJoCo simulation of the G1 that checks trajectories before a robot receives them."""
