"""Draws docs/architecture.png, the picture of the system shown in README.md.

Run: .venv/bin/python docs/architecture.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

ROS = "#dbe9f6"
MODEL = "#fde8c8"
ROBOT = "#dff2df"
OFFLINE = "#eeeeee"

# name: (x, y, width, height, colour, text)
BOXES = {
    "camera": (0.2, 5.2, 2.2, 0.9, ROS, "camera\nsensor_msgs/Image"),
    "command": (0.2, 3.9, 2.2, 0.9, ROS, "command (text / voice)\nstd_msgs/String"),
    "generator": (3.1, 2.95, 3.6, 3.45, ROS, ""),
    "vlm": (3.3, 5.2, 3.2, 0.8, MODEL, "Qwen VLM + phase mask\n[M_BOS base… M_SEP phys… M_EOS]"),
    "dsft": (3.3, 4.55, 3.2, 0.5, MODEL, "DSFT decode → 263-d features\n(motionvla_model.dsft)"),
    "motion": (3.3, 3.9, 3.2, 0.5, MODEL, "features → 22 joints\n(motionvla_model.motion)"),
    "retarget": (3.3, 3.15, 3.2, 0.6, ROBOT, "retarget (mink IK) → G1, 29 joints\n(retargeting)"),
    "simcheck": (7.4, 3.4, 2.6, 2.7, ROS, ""),
    "mujoco": (7.6, 4.35, 2.2, 1.1, ROBOT, "MuJoCo G1\nkinematic + dynamic\nchecks, MP4"),
    "robot": (10.7, 4.45, 1.9, 1.1, ROBOT, "robot controller\n(joint_trajectory_\ncontroller)"),
    "training": (3.1, 0.9, 6.9, 1.5, OFFLINE, ""),
}

# The packages from the top layer down; each imports only those below it.
LAYERS = (
    ("motionvla_ros", ROS),
    ("training · sim · retargeting", OFFLINE),
    ("motionvla_model (model)", MODEL),
    ("motionvla_model.dsft", MODEL),
    ("motionvla_model.motion", MODEL),
)


def main() -> None:
    fig, ax = plt.subplots(figsize=(12.8, 6.6), dpi=110)
    ax.set_xlim(0, 12.8)
    ax.set_ylim(0.4, 6.9)
    ax.axis("off")
    for x, y, w, h, colour, text in BOXES.values():
        ax.add_patch(
            FancyBboxPatch(
                (x, y),
                w,
                h,
                boxstyle="round,pad=0.04,rounding_size=0.12",
                facecolor=colour,
                edgecolor="#555555",
                linewidth=1.2,
            )
        )
        if text:
            ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)
    ax.text(
        4.9,
        6.15,
        "motion_generator node (GPU when present)",
        ha="center",
        fontsize=10,
        weight="bold",
    )
    ax.text(8.7, 5.75, "sim_check node", ha="center", fontsize=10, weight="bold")
    ax.text(
        8.7, 3.75, "pass → ~/approved_trajectory\nfail → report only", ha="center", fontsize=8.5
    )
    ax.text(6.55, 2.1, "training/ (offline)", ha="center", fontsize=10, weight="bold")
    ax.text(
        6.55,
        1.45,
        "data (HumanML3D, ViMoGen, BVH, synthetic scenes) → DSFT tokenizer →\n"
        "phase 1: motion-token embeddings → phase 2: LoRA SFT →\n"
        "checkpoint (safetensors + JSON)",
        ha="center",
        va="center",
        fontsize=9,
    )

    def arrow(a: tuple[float, float], b: tuple[float, float], label: str = "") -> None:
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color="#333333"))
        if label:
            ax.text(
                (a[0] + b[0]) / 2,
                (a[1] + b[1]) / 2 + 0.12,
                label,
                ha="center",
                fontsize=8,
                color="#333333",
            )

    arrow((2.4, 5.65), (3.3, 5.6), "latest frame")
    arrow((2.4, 4.35), (3.3, 5.3))
    arrow((4.9, 5.2), (4.9, 5.05))
    arrow((4.9, 4.55), (4.9, 4.4))
    arrow((4.9, 3.9), (4.9, 3.75))
    arrow((6.5, 3.45), (7.4, 3.55), "JointTrajectory\n+ Path")
    arrow((10.0, 5.0), (10.7, 5.0), "approved")
    arrow((6.55, 2.4), (5.6, 2.95), "model directory")
    ax.text(
        1.4, 3.3, "packages: imports\nrun downward only", ha="center", fontsize=9, weight="bold"
    )
    for row, (name, colour) in enumerate(LAYERS):
        y = 2.65 - row * 0.42
        ax.add_patch(
            FancyBboxPatch(
                (0.2, y),
                2.4,
                0.32,
                boxstyle="round,pad=0.02,rounding_size=0.06",
                facecolor=colour,
                edgecolor="#555555",
                linewidth=0.8,
            )
        )
        ax.text(1.4, y + 0.16, name, ha="center", va="center", fontsize=8.5)
        if row:
            arrow((1.4, y + 0.42), (1.4, y + 0.32))
    ax.text(8.7, 3.15, "report: JSON on ~/report", ha="center", fontsize=8.5)
    ax.legend(
        handles=[
            plt.Rectangle((0, 0), 1, 1, facecolor=c, edgecolor="#555555")
            for c in (ROS, MODEL, ROBOT, OFFLINE)
        ],
        labels=[
            "ROS 2 (motionvla_ros)",
            "model (motionvla_model)",
            "G1: retargeting / sim",
            "offline (training)",
        ],
        loc="upper right",
        fontsize=8.5,
        frameon=False,
    )
    out = Path(__file__).with_name("architecture.png")
    fig.savefig(out, bbox_inches="tight")
    print(out)


if __name__ == "__main__":
    main()
