"""Motion representation, DSFT tokenizer and the MotionVLA vision-language model.

``from motionvla_model import MotionVLA`` works, but importing the package itself stays
light: the model (torch, transformers) loads only when ``MotionVLA`` is first asked for,
so users of the representation or the BVH importer never pay for it.
"""

from typing import Any

__all__ = ["GeneratedMotion", "MotionVLA"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from motionvla_model import modeling

        return getattr(modeling, name)
    raise AttributeError(f"module 'motionvla_model' has no attribute {name!r}")
