"""Motion representation, DSFT tokenizer and the MotionVLA vision-language model.

Three layers, each importing only the ones below it:

* :mod:`motionvla_model.motion` — human motion on the SMPL-22 skeleton: HumanML3D
  features, layouts, normalisation, resampling, BVH import, real clips (numpy, scipy);
* :mod:`motionvla_model.dsft` — the DSFT dual-stream tokenizer and its baselines;
* the model modules at this level — backbone families, motion vocabulary, images,
  prompt, the phase-aware logit mask, generation, compact checkpoints, the bundled
  default (torch, transformers).

The public API is importable from here (``from motionvla_model import MotionVLA``), but
importing the package itself stays light: each name loads its module when first asked
for, so users of the representation or the BVH importer never pay for torch.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "GeneratedMotion": "motionvla_model.modeling",
    "MotionVLA": "motionvla_model.modeling",
    "DSFTConfig": "motionvla_model.dsft",
    "DSFTTokenizer": "motionvla_model.dsft",
    "features_to_joints": "motionvla_model.motion.features",
    "joints_to_features": "motionvla_model.motion.features",
    "load_bvh": "motionvla_model.motion.bvh",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'motionvla_model' has no attribute {name!r}")
