"""`motionvla-retarget` end to end: real clips in, G1 trajectory files and a PNG out."""

import json

import numpy as np
import pytest

from motionvla_model.motion.features import joints_to_features
from motionvla_model.motion.human_clips import load_omomo
from motionvla_model.motion.registry_data import fetch
from retargeting.cli import main
from retargeting.g1 import g1_description
from retargeting.trajectory import G1Trajectory


@pytest.fixture(scope="module")
def omomo():
    clip = load_omomo("omomo/sub10_largebox_049")
    return clip.joints[:61], clip.fps  # 2 s


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _check_trajectory(path, frames):
    traj = G1Trajectory.load(path)
    assert traj.fps == 50.0 and traj.num_frames == frames
    lo, hi = g1_description().position_limits.T
    assert np.all((traj.joint_pos >= lo) & (traj.joint_pos <= hi))
    return traj


def test_joints_npy_to_npz_with_preview(tmp_path, capsys, omomo):
    joints, fps = omomo
    np.save(tmp_path / "walk.npy", joints)
    png = tmp_path / "preview.png"
    code, out, _ = _run(
        capsys, tmp_path / "walk.npy", tmp_path / "g1.npz", "--fps", fps, "--preview", png
    )
    assert code == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["frames"] == 101 and summary["joint_limit_violations"] == 0
    _check_trajectory(tmp_path / "g1.npz", 101)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_humanml3d_features_npy_to_csv(tmp_path, capsys, omomo):
    joints, fps = omomo
    at_20_fps = joints[np.round(np.arange(0, len(joints), fps / 20)).astype(int)]
    features = joints_to_features(at_20_fps, 20.0)  # [T-1, 263]
    np.save(tmp_path / "feat.npy", features)
    code, _, _ = _run(capsys, tmp_path / "feat.npy", tmp_path / "g1.csv", "--quiet")
    assert code == 0
    # features_to_joints gives one frame per feature row; output frames fall at 50 Hz
    # ticks up to the last input time.
    frames = int(np.floor((len(features) - 1) / 20 * 50 + 1e-9)) + 1
    _check_trajectory(tmp_path / "g1.csv", frames)


def test_bvh_to_npz(tmp_path, capsys):
    # The first 45 frames (1.5 s at 30 fps) of a real mocap file keep the test short.
    lines = fetch("bvh/test").read_text().splitlines()
    motion = lines.index("MOTION")
    assert lines[motion + 1].startswith("Frames:")
    short = [*lines[: motion + 1], "Frames: 45", *lines[motion + 2 : motion + 3 + 45]]
    (tmp_path / "walk.bvh").write_text("\n".join(short) + "\n")
    code, _, err = _run(capsys, tmp_path / "walk.bvh", tmp_path / "g1.npz", "--quiet")
    assert code == 0, err
    traj = _check_trajectory(tmp_path / "g1.npz", round(44 / 30 * 50) + 1)
    assert np.all(np.isfinite(traj.qpos()))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (np.zeros((10, 24, 3)), "neither joints"),
        (np.full((10, 22, 3), np.nan), "non-finite"),
    ],
)
def test_bad_input_files_exit_2_with_a_reason(tmp_path, capsys, content, match):
    np.save(tmp_path / "bad.npy", content)
    code, _, err = _run(capsys, tmp_path / "bad.npy", tmp_path / "out.npz")
    assert code == 2 and match in err
    assert not (tmp_path / "out.npz").exists()


def test_missing_and_unsupported_files_exit_2(tmp_path, capsys):
    code, _, err = _run(capsys, tmp_path / "nope.npy", tmp_path / "out.npz")
    assert code == 2 and "no such file" in err
    (tmp_path / "clip.txt").write_text("1 2 3")
    code, _, err = _run(capsys, tmp_path / "clip.txt", tmp_path / "out.npz")
    assert code == 2 and "unsupported input type" in err


def test_unsupported_output_suffix_is_a_usage_error(tmp_path, capsys, omomo):
    np.save(tmp_path / "walk.npy", omomo[0])
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "walk.npy"), str(tmp_path / "out.json")])
    assert exit_info.value.code == 2
    assert ".npz or .csv" in capsys.readouterr().err
