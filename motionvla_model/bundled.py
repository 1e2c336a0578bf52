"""Where the default model is: one rule for the demo, the ROS nodes and the training recipe.

The repository ships a trained default model as a compact checkpoint
(:mod:`motionvla_model.compact_checkpoint`) in ``motionvla_model/default_model/``.
``motionvla-train default`` rebuilds it into ``$MOTIONVLA_DEFAULT_MODEL`` (default
``~/.cache/motionvla/default-model``), and a rebuilt model takes precedence over the
shipped one, so a user who retrains gets what they trained.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SHIPPED_MODEL_DIR", "built_default_dir", "default_model_path"]

SHIPPED_MODEL_DIR = Path(__file__).with_name("default_model")
_CHECKPOINT_MARKER = "motionvla.json"


def built_default_dir() -> Path:
    """Output folder of ``motionvla-train default`` (its checkpoint is ``model/`` inside)."""
    env = os.environ.get("MOTIONVLA_DEFAULT_MODEL")
    return Path(env) if env else Path.home() / ".cache" / "motionvla" / "default-model"


def default_model_path() -> Path | None:
    """The default checkpoint folder: a rebuilt one if present, else the shipped one."""
    for candidate in (built_default_dir() / "model", SHIPPED_MODEL_DIR):
        if (candidate / _CHECKPOINT_MARKER).is_file():
            return candidate
    return None
