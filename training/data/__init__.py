"""Training data: loaders for user datasets and the procedural synthetic generator.

Every source yields :class:`~training.data.records.MotionSample` objects:

- :class:`~training.data.humanml3d.HumanML3DDataset`: HumanML3D folders,
- :class:`~training.data.vimogen.JsonlMotionDataset`: ViMoGen-style JSON/JSONL indexes
  (also the format the synthetic generator writes),
- :class:`~training.data.bvh_folder.BvhFolderDataset`: a folder of BVH files plus captions,
- :mod:`training.data.synthetic_motion`: procedural captioned motion on the SMPL-22 body.
"""

from training.data.bvh_folder import BvhFolderDataset
from training.data.humanml3d import HumanML3DDataset
from training.data.records import (
    CaptionFormatError,
    DatasetError,
    DatasetNotFoundError,
    IndexFormatError,
    MissingItemError,
    MotionDataset,
    MotionFileError,
    MotionSample,
    MotionShapeError,
    SkipReport,
)
from training.data.vimogen import JsonlMotionDataset, write_jsonl_index

__all__ = [
    "BvhFolderDataset",
    "CaptionFormatError",
    "DatasetError",
    "DatasetNotFoundError",
    "HumanML3DDataset",
    "IndexFormatError",
    "JsonlMotionDataset",
    "MissingItemError",
    "MotionDataset",
    "MotionFileError",
    "MotionSample",
    "MotionShapeError",
    "SkipReport",
    "write_jsonl_index",
]
