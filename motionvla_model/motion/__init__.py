"""Human motion: the SMPL-22 skeleton and everything that reads, converts and resamples it.

The lowest layer of the project (numpy and scipy only; nothing here imports the tokenizer
or the model):

| module | what it holds |
|---|---|
| ``skeleton`` | joint names, tree, rest directions, reference bone lengths, validation, axes |
| ``features`` | joints ⇄ HumanML3D 263-d features (root motion, RIC, 6-D rotations, contacts) |
| ``layouts`` | the 263-d and ViMoGen 276-d layouts and their DSFT stream split |
| ``normalization`` | per-dimension feature statistics (``FeatureStats``) |
| ``resample`` | frame-rate conversion of joints or features |
| ``bvh`` | BVH import onto SMPL-22 (``load_bvh``) |
| ``registry_data`` | verified fetching of real clips from registry packages into a local cache |
| ``human_clips`` | the catalogued real clips (OMOMO, climbing mocap, BVH) as SMPL-22 joints |
"""

from motionvla_model.motion.bvh import BvhImportError, BvhMotion, load_bvh
from motionvla_model.motion.features import (
    FEATURE_DIM,
    HUMANML3D_FPS,
    canonicalize_joints,
    features_to_joints,
    joints_to_features,
)
from motionvla_model.motion.normalization import FeatureStats
from motionvla_model.motion.resample import resample
from motionvla_model.motion.skeleton import (
    NUM_JOINTS,
    SMPL22_JOINT_NAMES,
    MotionShapeError,
    NonFiniteMotionError,
    validate_joints,
)

__all__ = [
    "FEATURE_DIM",
    "HUMANML3D_FPS",
    "NUM_JOINTS",
    "SMPL22_JOINT_NAMES",
    "BvhImportError",
    "BvhMotion",
    "FeatureStats",
    "MotionShapeError",
    "NonFiniteMotionError",
    "canonicalize_joints",
    "features_to_joints",
    "joints_to_features",
    "load_bvh",
    "resample",
    "validate_joints",
]
