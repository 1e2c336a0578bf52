"""The DSFT dual-stream motion tokenizer, built on :mod:`motionvla_model.motion`.

| module | what it holds |
|---|---|
| ``dct`` | 1-second windows, their truncated DCT and how windows are joined at their seams |
| ``integer_bpe`` | byte-pair encoding over integer symbols |
| ``tokenizer`` | ``DSFTTokenizer``: features ⇄ Base and Phys tokens, config, checkpoint |
| ``baselines`` | the published whole-clip scheme and a FAST-style single stream, for comparison |
| ``cli`` | ``motionvla-dsft train`` / ``roundtrip`` |
"""

from motionvla_model.dsft.tokenizer import (
    DecodedMotion,
    DecodeOptions,
    DSFTCheckpointError,
    DSFTConfig,
    DSFTConfigError,
    DSFTTokenizer,
    MotionTokens,
    TokenBudget,
)

__all__ = [
    "DSFTCheckpointError",
    "DSFTConfig",
    "DSFTConfigError",
    "DSFTTokenizer",
    "DecodeOptions",
    "DecodedMotion",
    "MotionTokens",
    "TokenBudget",
]
