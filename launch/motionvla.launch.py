"""Launch MotionVLA-ROS in a ROS 2 installation: ``ros2 launch motionvla_ros motionvla.launch.py``.

Starts ``motion_generator`` and (``use_sim:=true``) ``sim_check`` with the
package's ``config/motionvla.yaml``. Arguments: ``model_path``, ``device``,
``use_sim``, ``scene`` (sim scene seed, -1 for the bare scene), ``backend``,
``max_image_pixels`` (larger camera frames are refused),
``head_camera_hz`` (sim_check publishes its simulated head camera on
``camera/image``: the loop closed in simulation) and ``video_dir`` (an MP4 per
checked trajectory) and ``use_voice`` (start ``voice_command``: speech on ``audio``
becomes a command).
Where ``launch`` is not installed, ``motionvla-bringup`` takes the same
arguments and starts the same processes.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription

PACKAGE = "motionvla_ros"


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory(PACKAGE)
    params_file = os.path.join(share, "config", "motionvla.yaml")
    fastdds_profile = os.path.join(share, "config", "fastdds_shm.xml")

    arguments = [
        DeclareLaunchArgument("model_path", default_value="", description="checkpoint dir"),
        DeclareLaunchArgument("device", default_value="auto", description="auto|cpu|cuda[:N]"),
        DeclareLaunchArgument("use_sim", default_value="true", description="start sim_check"),
        DeclareLaunchArgument("scene", default_value="-1", description="sim scene seed"),
        DeclareLaunchArgument("backend", default_value="model", description="model|clips"),
        DeclareLaunchArgument(
            "max_image_pixels",
            default_value="4194304",
            description="larger camera frames (width x height) are refused",
        ),
        DeclareLaunchArgument(
            "head_camera_hz",
            default_value="0.0",
            description="sim_check publishes its simulated head camera on camera/image (0: off)",
        ),
        DeclareLaunchArgument(
            "video_dir", default_value="", description="sim_check writes an MP4 per check here"
        ),
        DeclareLaunchArgument(
            "use_voice", default_value="false", description="start voice_command (speech in)"
        ),
    ]
    # Camera frames exceed Fast DDS's default 512 KB shared-memory segment; the profile
    # also makes histories free delivered samples, which rmw_fastrtps reads from it only
    # with RMW_FASTRTPS_USE_QOS_FROM_XML (config/fastdds_shm.xml).
    profile = SetEnvironmentVariable(
        "FASTDDS_DEFAULT_PROFILES_FILE",
        EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", default_value=fastdds_profile),
    )
    qos_from_xml = SetEnvironmentVariable(
        "RMW_FASTRTPS_USE_QOS_FROM_XML",
        EnvironmentVariable("RMW_FASTRTPS_USE_QOS_FROM_XML", default_value="1"),
    )
    generator = Node(
        package=PACKAGE,
        executable="motion_generator",
        name="motion_generator",
        output="screen",
        parameters=[
            params_file,
            {
                "model_path": ParameterValue(LaunchConfiguration("model_path"), value_type=str),
                "device": ParameterValue(LaunchConfiguration("device"), value_type=str),
                "backend": ParameterValue(LaunchConfiguration("backend"), value_type=str),
                "max_image_pixels": ParameterValue(
                    LaunchConfiguration("max_image_pixels"), value_type=int
                ),
            },
        ],
    )
    sim_check = Node(
        package=PACKAGE,
        executable="sim_check",
        name="sim_check",
        output="screen",
        parameters=[
            params_file,
            {
                "scene_seed": ParameterValue(LaunchConfiguration("scene"), value_type=int),
                "head_camera_rate_hz": ParameterValue(
                    LaunchConfiguration("head_camera_hz"), value_type=float
                ),
                "video_dir": ParameterValue(LaunchConfiguration("video_dir"), value_type=str),
            },
        ],
        condition=IfCondition(LaunchConfiguration("use_sim")),
    )
    voice = Node(
        package=PACKAGE,
        executable="voice_command",
        name="voice_command",
        output="screen",
        parameters=[params_file],
        condition=IfCondition(LaunchConfiguration("use_voice")),
    )
    return LaunchDescription([*arguments, profile, qos_from_xml, generator, sim_check, voice])
