"""Rendering and the motionvla-sim command, run in child processes.

Off-screen rendering needs ``MUJOCO_GL=egl`` before mujoco is first imported, which
other test modules in this process have already done; the command sets it itself.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from retargeting.g1 import g1_description
from retargeting.trajectory import G1Trajectory
from sim.report import SimReport
from sim.scene import SceneDescription, SceneObject

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MUJOCO_GL": "egl", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "sim.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def stand_file(tmp_path_factory) -> Path:
    qpos = np.tile(g1_description().stand_qpos, (26, 1))  # 0.5 s at 50 fps
    qpos[:, 7 + 15] = np.linspace(0.2, -0.6, 26)  # raise the left arm
    path = tmp_path_factory.mktemp("traj") / "stand.npz"
    return G1Trajectory.from_qpos(qpos, 50).save(path)


def test_cli_check_writes_report_video_and_contact_sheet(stand_file, tmp_path):
    report, video, sheet = tmp_path / "r.json", tmp_path / "v.mp4", tmp_path / "c.png"
    result = _run(
        "check", str(stand_file), "--report", str(report), "--video", str(video),
        "--contact-sheet", str(sheet), "--video-fps", "10", "--size", "160", "128",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("PASSED")
    assert SimReport.from_json(report.read_text()).passed
    with imageio.get_reader(video) as reader:
        frames = np.stack(list(reader.iter_data()))
    assert frames.shape == (6, 128, 160, 3)  # 0.5 s at 10 fps, both ends included
    assert frames.std() > 10  # a picture, not a blank buffer
    grid = imageio.imread(sheet)
    assert grid.shape == (2 * 128, 4 * 160, 3)


def test_cli_exit_codes_say_failed_check_or_misuse(stand_file, tmp_path):
    bad = tmp_path / "floating.npz"
    traj = G1Trajectory.load(stand_file)
    G1Trajectory(
        traj.fps, traj.root_pos + np.array([0, 0, 2.0]), traj.root_quat, traj.joint_pos
    ).save(bad)
    report = tmp_path / "r.json"
    failed = _run("check", str(bad), "--report", str(report))
    assert failed.returncode == 1 and failed.stdout.startswith("FAILED")
    assert "root_height" in json.loads(report.read_text())["summary"]
    missing = _run("check", str(tmp_path / "none.npz"))
    assert missing.returncode == 2 and "error" in missing.stderr


def test_cli_refuses_work_over_the_duration_limit_and_max_duration_raises_it(
    stand_file, tmp_path
):
    limits = tmp_path / "limits.yaml"
    limits.write_text("max_duration_s: 0.2\n")
    report = tmp_path / "r.json"
    refused = _run("check", str(stand_file), "--config", str(limits), "--report", str(report))
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert refused.stdout.startswith("REFUSED: work_limit")
    assert json.loads(report.read_text())["state"] == "refused"
    raised = _run("check", str(stand_file), "--config", str(limits), "--max-duration", "1")
    assert raised.returncode == 0 and raised.stdout.startswith("PASSED")
    hurried = _run("check", str(stand_file), "--time-budget", "0.000001")
    assert hurried.returncode == 3 and "time_budget" in hurried.stdout
    bad = _run("check", str(stand_file), "--max-duration", "-5")
    assert bad.returncode == 2 and "max_duration_s" in bad.stderr


HEAD_VIEW = """
import numpy as np, sys
from retargeting.g1 import g1_description
from sim.render import SceneRenderer
from sim.scene import SceneDescription
scene = SceneDescription.from_yaml(sys.argv[1]) if len(sys.argv) > 1 else None
with SceneRenderer(scene, 160, 120) as renderer:
    image = renderer.head_view(g1_description().stand_qpos)
np.save(sys.stdout.buffer, image)
"""


def _head_view(scene: SceneDescription | None, tmp_path: Path) -> np.ndarray:
    code = HEAD_VIEW
    if scene is not None:
        path = tmp_path / "scene.yaml"
        scene.to_yaml(path)
        code = HEAD_VIEW.replace("len(sys.argv) > 1", "True").replace(
            "sys.argv[1]", repr(str(path))
        )
    env = {**os.environ, "MUJOCO_GL": "egl", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env=env, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr.decode()
    return np.load(io.BytesIO(out.stdout))


def _red_fraction(image: np.ndarray) -> float:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return float(np.mean((r > 120) & (r > 2 * g) & (r > 2 * b)))


def test_head_camera_sees_a_red_box_placed_in_front(tmp_path):
    empty = _head_view(None, tmp_path)
    box = SceneDescription((SceneObject("target", "box", "red", (1.5, 0.0)),))
    with_box = _head_view(box, tmp_path)
    assert with_box.shape == (120, 160, 3) and with_box.dtype == np.uint8
    assert _red_fraction(empty) < 0.001
    assert _red_fraction(with_box) > 0.02
    _, cols = np.nonzero(
        (with_box[..., 0] > 120) & (with_box[..., 0] > 2 * with_box[..., 1].astype(int))
    )
    assert abs(cols.mean() - 80) < 20  # straight ahead: in the middle of the image


BATCH_VIEWS = """
import numpy as np, sys
from retargeting.g1 import g1_description
from sim.render import HeadCameraRenderer, SceneRenderer
from sim.scene import SceneDescription
scenes = [SceneDescription.random(seed, num_objects=(2, 4)) for seed in (3, 11, 3)]
with HeadCameraRenderer(160, 120) as batch:
    fast = np.stack([batch.render(scene) for scene in scenes])
reference = []
for scene in scenes[:2]:
    with SceneRenderer(scene, 160, 120) as renderer:
        reference.append(renderer.head_view(g1_description().stand_qpos))
np.save(sys.stdout.buffer, np.concatenate([fast, np.stack(reference)]))
"""


def test_batch_head_camera_renderer_draws_what_a_compiled_scene_shows():
    env = {**os.environ, "MUJOCO_GL": "egl", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", BATCH_VIEWS], capture_output=True, env=env, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr.decode()
    fast_a, fast_b, fast_a_again, reference_a, reference_b = np.load(io.BytesIO(out.stdout))
    for fast, reference in ((fast_a, reference_a), (fast_b, reference_b)):
        difference = np.abs(fast.astype(int) - reference.astype(int))
        assert difference.mean() < 1.5  # shadow-map rounding only
        assert np.mean(difference.max(axis=-1) > 40) < 0.01
    # Objects of the previous scene leave nothing behind.
    np.testing.assert_array_equal(fast_a, fast_a_again)
    assert np.abs(fast_a.astype(int) - fast_b.astype(int)).mean() > 3
