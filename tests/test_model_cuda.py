"""The GPU path: bf16 weights on a CUDA device, plans and motions under the mask, and the
static KV cache + torch.compile giving the eager tokens. Skipped where there is no GPU
(``scripts/gpu_check.sh`` runs it on one)."""

import numpy as np
import pytest
import torch

from motionvla_model.configuration import MotionVLAConfig
from motionvla_model.modeling import MotionVLA, tiny_dsft_tokenizer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture(scope="module")
def model():
    config = MotionVLAConfig(image_token_norm=True, plan_targets=("red box", "green ball"))
    return MotionVLA.build(
        config, tiny_dsft_tokenizer(), num_layers=2, device="cuda", dtype="auto"
    )


def test_auto_dtype_on_a_gpu_is_bfloat16_and_generation_stays_well_formed(model):
    assert model.device.type == "cuda" and model.dtype == torch.bfloat16
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    for seed in range(4):
        motion = model.generate(
            "walk to the red box", image, duration_s=3.0, seed=seed, temperature=1.0
        )
        assert motion.well_formed, motion.repairs
        assert motion.plan is None or motion.plan.target in model.config.plan_targets


def test_static_cache_with_compile_gives_the_eager_tokens(model):
    image = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    eager = model.generate("face the green ball", image, duration_s=2.0)
    model.compile = True
    try:
        compiled = model.generate("face the green ball", image, duration_s=2.0)
    finally:
        model.compile = False
    np.testing.assert_array_equal(compiled.token_ids, eager.token_ids)
