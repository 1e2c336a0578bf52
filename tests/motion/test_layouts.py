"""Feature layouts and their Base/Phys split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motionvla_model.motion.layouts import (
    HUMANML3D,
    LAYOUTS,
    VIMOGEN,
    FeatureLayout,
    UnknownLayoutError,
    get_layout,
    merge,
    split,
)
from motionvla_model.motion.skeleton import MotionShapeError


def test_humanml3d_streams_match_the_design():
    assert HUMANML3D.dim == 263
    np.testing.assert_array_equal(HUMANML3D.base_dims, np.arange(3, 193))
    np.testing.assert_array_equal(
        HUMANML3D.phys_dims, np.concatenate([np.arange(0, 3), np.arange(193, 263)])
    )
    assert (HUMANML3D.base_dim, HUMANML3D.phys_dim) == (190, 73)
    assert HUMANML3D["ric_positions"] == slice(4, 67)
    assert HUMANML3D["rot_6d"] == slice(67, 193)
    assert HUMANML3D["local_velocity"] == slice(193, 259)
    assert HUMANML3D["foot_contact"] == slice(259, 263)


def test_vimogen_streams():
    assert VIMOGEN.dim == 276
    assert (VIMOGEN.base_dim, VIMOGEN.phys_dim) == (201, 75)
    assert VIMOGEN["joint_positions"] == slice(126, 192)
    assert VIMOGEN["root_translation_velocity"] == slice(273, 276)


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_streams_partition_every_dim(layout):
    both = np.concatenate([layout.base_dims, layout.phys_dims])
    np.testing.assert_array_equal(np.sort(both), np.arange(layout.dim))
    with pytest.raises(ValueError):
        layout.base_dims[0] = 5


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(sorted(LAYOUTS)),
    lead=st.lists(st.integers(0, 4), min_size=1, max_size=3),
    seed=st.integers(0, 2**31 - 1),
)
def test_merge_inverts_split(name, lead, seed):
    layout = get_layout(name)
    x = np.random.default_rng(seed).normal(size=(*lead, layout.dim)).astype(np.float32)
    base, phys = split(x, name)
    assert base.shape == (*lead, layout.base_dim)
    assert phys.shape == (*lead, layout.phys_dim)
    out = merge(base, phys, layout)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)


def test_unknown_layout_names_the_known_ones():
    with pytest.raises(UnknownLayoutError, match=r"humanml3d.*vimogen"):
        get_layout("kit")
    assert get_layout("HumanML3D") is HUMANML3D
    assert get_layout(VIMOGEN) is VIMOGEN
    with pytest.raises(KeyError, match="fields"):
        HUMANML3D["nope"]


def test_wrong_widths_are_rejected():
    with pytest.raises(MotionShapeError, match=r"263.*\(5, 262\)"):
        split(np.zeros((5, 262)))
    with pytest.raises(MotionShapeError, match="phys stream"):
        merge(np.zeros((5, 190)), np.zeros((5, 70)))
    with pytest.raises(MotionShapeError, match="disagree"):
        merge(np.zeros((5, 190)), np.zeros((4, 73)))


def test_layout_validation_catches_gaps_and_unknown_phys_fields():
    with pytest.raises(ValueError, match="must start at 2"):
        FeatureLayout("bad", 4, {"a": slice(0, 2), "b": slice(3, 4)}, frozenset())
    with pytest.raises(ValueError, match="cover 2 dims"):
        FeatureLayout("bad", 4, {"a": slice(0, 2)}, frozenset())
    with pytest.raises(ValueError, match="do not exist"):
        FeatureLayout("bad", 2, {"a": slice(0, 2)}, frozenset({"z"}))
