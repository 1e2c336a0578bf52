"""One distribution for the whole repository: the ROS 2 package ``motionvla_ros``
and the plain-Python packages it is built on."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "motionvla_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Language- and vision-conditioned motion generation for the Unitree G1 on ROS 2",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(
        include=[
            "motionvla_ros*",
            "motionvla_model*",
            "retargeting*",
            "sim*",
            "training*",
        ]
    ),
    package_data={
        "": ["*.json", "*.yaml", "*.xml", "*.safetensors", "*.txt"],
        # The shipped default model (a compact checkpoint, a few MB).
        "motionvla_model": ["default_model/*.json", "default_model/*/*"],
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml")),
    ],
    # Dependencies are pinned in constraints.txt and installed by scripts/setup.sh;
    # a ROS 2 installation provides rclpy and the message packages itself.
    install_requires=[],
    zip_safe=False,
    entry_points={
        "console_scripts": [
            # ROS 2 executables (`ros2 run motionvla_ros motion_generator`)
            "motion_generator = motionvla_ros.motion_generator:main",
            "sim_check = motionvla_ros.sim_check:main",
            "voice_command = motionvla_ros.voice_command:main",
            # Command-line tools
            "motionvla-bringup = motionvla_ros.bringup:main",
            "motionvla-say = motionvla_ros.say:main",
            "motionvla-demo = motionvla_ros.demo:main",
            "motionvla-generate = motionvla_model.generate_cli:main",
            "motionvla-dsft = motionvla_model.dsft.cli:main",
            "motionvla-retarget = retargeting.cli:main",
            "motionvla-sim = sim.cli:main",
            "motionvla-synth-data = training.data.synthetic_dataset:main",
            "motionvla-train = training.cli:train_main",
            "motionvla-eval = training.cli:eval_main",
        ],
    },
)
