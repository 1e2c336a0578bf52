import mujoco
import numpy as np
import pytest

from motionvla_model.motion.registry_data import fetch, names
from retargeting.g1 import g1_description, load_g1_model
from retargeting.trajectory import G1Trajectory, InvalidTrajectoryError, load_reference_clip


def _standing(frames: int = 5) -> G1Trajectory:
    stand = g1_description().stand_qpos
    return G1Trajectory.from_qpos(np.tile(stand, (frames, 1)), fps=50)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_save_load_round_trip(tmp_path, suffix):
    traj = load_reference_clip(fetch("amp/walk_forward_loop_002__A022"))
    loaded = G1Trajectory.load(traj.save(tmp_path / f"walk{suffix}"))
    assert loaded.fps == traj.fps
    np.testing.assert_allclose(loaded.qpos(), traj.qpos(), atol=1e-6)


def test_csv_has_one_row_per_frame_root_quat_then_29_joints(tmp_path):
    traj = _standing(3)
    path = traj.save(tmp_path / "stand.csv")
    rows = np.loadtxt(path, delimiter=",", comments="#")
    assert rows.shape == (3, 36)
    np.testing.assert_allclose(rows[:, 3:7], [[1, 0, 0, 0]] * 3)


@pytest.mark.parametrize(
    ("name", "tolerance_m"),
    # holosoma's clips were made on a G1 model variant with extra ankle links, so its
    # recorded bodies sit a few millimetres off the Menagerie model's.
    [("amp/walk_forward_loop_002__A022", 2e-3), ("holosoma/sub3_largebox_003", 1e-2)],
)
def test_reference_clips_reproduce_their_recorded_body_positions(name, tolerance_m):
    """The loaded root + joints, through Menagerie FK, give the clip's recorded bodies."""
    traj = load_reference_clip(fetch(name))
    with np.load(fetch(name)) as z:
        body_pos = z["body_pos_w"]
        body_names = list(z["body_names"]) if "body_names" in z.files else None
    model = load_g1_model()
    data = mujoco.MjData(model)
    frame = traj.num_frames // 2
    data.qpos[:] = traj.qpos()[frame]
    mujoco.mj_kinematics(model, data)
    hand = model.body("left_wrist_yaw_link").id
    idx = body_names.index("left_wrist_yaw_link") if body_names else hand - 1
    np.testing.assert_allclose(data.xpos[hand], body_pos[frame, idx], atol=tolerance_m)


def test_all_catalogued_g1_clips_load():
    for name in names("amp/") + names("holosoma/"):
        traj = load_reference_clip(fetch(name))
        assert traj.fps == 50 and traj.num_frames > 100


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda q: q[:, :30], r"\[T, 36\]"),
        (lambda q: np.where(np.arange(36) == 10, np.nan, q), "non-finite"),
        (lambda q: q * np.r_[np.ones(3), 2 * np.ones(4), np.ones(29)], "not unit"),
        (lambda q: q[:0], "no frames"),
    ],
)
def test_invalid_arrays_are_rejected_with_the_reason(change, message):
    qpos = _standing().qpos()
    with pytest.raises(InvalidTrajectoryError, match=message):
        G1Trajectory.from_qpos(change(qpos), fps=50)


def test_nonpositive_fps_is_rejected():
    with pytest.raises(InvalidTrajectoryError, match="fps"):
        G1Trajectory.from_qpos(_standing().qpos(), fps=0)


def test_arrays_are_read_only_and_quaternions_exactly_unit():
    qpos = _standing().qpos()
    qpos[:, 3:7] *= 1.0005
    traj = G1Trajectory.from_qpos(qpos, fps=50)
    np.testing.assert_allclose(np.linalg.norm(traj.root_quat, axis=1), 1.0)
    with pytest.raises(ValueError):
        traj.joint_pos[0, 0] = 1.0
