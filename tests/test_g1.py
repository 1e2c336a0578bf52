import mujoco
import numpy as np
import pytest

from retargeting import g1


def test_joint_order_is_the_official_unitree_order():
    model = g1.load_g1_model()
    hinges = [model.joint(i).name for i in range(model.njnt) if model.jnt_type[i] == 3]
    assert tuple(hinges) == g1.JOINT_NAMES
    assert g1.NUM_JOINTS == 29
    assert g1.JOINT_NAMES[12:15] == ("waist_yaw_joint", "waist_roll_joint", "waist_pitch_joint")


def test_description_limits_and_stand_pose():
    desc = g1.g1_description()
    assert desc.position_limits.shape == (29, 2)
    assert np.all(desc.position_limits[:, 0] < desc.position_limits[:, 1])
    assert np.all(desc.velocity_limits > 0) and np.all(desc.torque_limits > 0)
    assert desc.torque_limits[3] == 139.0  # left knee
    assert desc.velocity_limits[3] == 20.0
    lo, hi = desc.position_limits.T
    assert np.all((desc.stand_joint_pos >= lo) & (desc.stand_joint_pos <= hi))
    assert 0.7 < desc.stand_root_height < 0.85
    assert 30 < desc.total_mass < 40


def test_landmarks_exist_and_sit_where_a_humanoid_has_them():
    model = g1.load_g1_model()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("stand").id)
    mujoco.mj_forward(model, data)
    for body in g1.BODY.values():
        assert model.body(body).id >= 0
    z = {name: data.site_xpos[model.site(site).id][2] for name, site in g1.SITE.items()}
    assert z["head"] > 1.1 and z["left_foot"] < 0.06 and z["right_foot"] < 0.06
    assert 0.5 < z["left_hand"] < 0.9
    assert model.camera(g1.HEAD_CAMERA).id >= 0


def test_missing_asset_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(g1, "ASSET_PACKAGE", "no_such_package_for_g1")
    with pytest.raises(g1.G1ModelNotFoundError, match="pip install"):
        g1.menagerie_g1_dir()
