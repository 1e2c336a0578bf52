"""motionvla-demo end to end on its quickest settings: nodes, closed loop, verdict, MP4, summary."""

from __future__ import annotations

import json
import subprocess
import sys

import imageio.v2 as imageio
import pytest

from tests.ros_helpers import ROOT, ros_domain, ros_env

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN = ros_domain(78)


def test_quick_demo_leaves_verdicts_videos_and_a_summary(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "motionvla_ros.demo", "--quick", "--output-dir", str(out),
         "--domain-id", str(DOMAIN), "--backend", "clips", "--commands", "walk to the red box"],
        env=ros_env(DOMAIN), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[demo] command 1/1: 'walk to the red box'" in result.stdout  # progress shown
    summary = json.loads((out / "summary.json").read_text())
    assert summary["bringup_exit_status"] == 0
    assert "red box" in summary["scene_objects"]
    (outcome,) = summary["commands"]
    assert outcome["state"] == "done" and outcome["passed"] is not None, outcome
    assert outcome["image_stamp_ns"], "the generator did not get the simulated camera frame"
    assert outcome["to_trajectory_s"] <= outcome["to_verdict_s"]
    assert outcome["metrics"]["duration_s"] == pytest.approx(1.5, abs=0.05)
    assert outcome["video_written"], outcome
    with imageio.get_reader(outcome["video"]) as reader:
        assert sum(1 for _ in reader.iter_data()) == 16  # 1.5 s at 10 fps, both ends
    markdown = (out / "summary.md").read_text()
    assert "| walk to the red box | done | yes |" in markdown
    assert imageio.imread(out / "head_camera.png").shape == (240, 320, 3)
    assert "Traceback" not in (out / "nodes.log").read_text()
    # The spoken command: eSpeak NG speech -> voice_command -> the generator -> a verdict.
    voice = summary["voice"]
    assert voice["said"] == "wave with your right hand"
    assert voice["transcript"]["heard"] == "wave with your right hand", voice
    assert voice["transcript"]["accepted"], voice
    assert voice["transcript"]["text"] == "wave with your right hand"
    assert voice["outcome"]["state"] == "done" and voice["outcome"]["passed"] is not None, voice
    assert "Heard: *wave with your right hand*" in markdown
