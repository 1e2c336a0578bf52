"""Generation with tiny real backbones of every family, batches, budgets and checkpoints."""

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionvla_model.backbone import get_family
from motionvla_model.configuration import BACKBONE_FAMILIES
from motionvla_model.modeling import (
    CheckpointError,
    MotionVLA,
    build_tiny_motionvla,
)


def _scene(seed=0, size=(96, 128)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def qwen3_5():
    return build_tiny_motionvla(family="qwen3_5")


@pytest.mark.parametrize("family", BACKBONE_FAMILIES)
def test_every_family_generates_a_decodable_motion(family):
    model = build_tiny_motionvla(family=family)
    assert isinstance(model.backbone, get_family(family).model_class)
    image = _scene() if model.family.multimodal else None
    motion = model.generate("walk forward", image=image, duration_s=1.0, seed=0)
    assert motion.stop_reason == "complete" and motion.well_formed
    assert motion.joints.shape == (motion.num_frames, 22, 3)
    assert motion.features.shape == (motion.num_frames, 263)
    assert np.isfinite(motion.joints).all() and motion.fps == 20.0
    assert motion.num_frames > 0
    assert set(motion.timings) >= {"first_token_ms", "generate_ms", "decode_ms", "total_ms"}
    assert 0 < motion.timings["first_token_ms"] <= motion.timings["generate_ms"]


def test_text_only_backbone_ignores_images_with_a_note():
    model = build_tiny_motionvla(family="qwen3")
    motion = model.generate("wave", image=_scene(), duration_s=0.5, seed=0)
    assert "text-only backbone: image ignored" in motion.notes


def test_the_image_changes_the_prediction(qwen3_5):
    a = qwen3_5.next_token_logits("walk", _scene(0))
    b = qwen3_5.next_token_logits("walk", _scene(1))
    c = qwen3_5.next_token_logits("walk")
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_batch_equals_one_by_one_under_greedy_search(qwen3_5):
    texts = ["walk forward", "turn left and wave both hands", "sit"]
    images = [_scene(0), None, _scene(2, (64, 64))]
    batch = qwen3_5.generate_batch(texts, images, durations_s=[0.5, 0.5, 1.0])
    for text, image, duration, together in zip(texts, images, [0.5, 0.5, 1.0], batch, strict=True):
        alone = qwen3_5.generate(text, image=image, duration_s=duration)
        np.testing.assert_array_equal(together.token_ids, alone.token_ids)


def test_same_seed_same_motion_and_caller_rng_untouched(qwen3_5):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = qwen3_5.generate("jump", duration_s=0.5, seed=7, temperature=1.0, top_p=0.95)
    assert torch.equal(torch.rand(1), expected_next)
    again = qwen3_5.generate("jump", duration_s=0.5, seed=7, temperature=1.0, top_p=0.95)
    other = qwen3_5.generate("jump", duration_s=0.5, seed=8, temperature=1.0, top_p=0.95)
    np.testing.assert_array_equal(first.token_ids, again.token_ids)
    assert not np.array_equal(first.token_ids, other.token_ids)


def test_token_budget_stops_and_still_decodes(qwen3_5):
    motion = qwen3_5.generate("run", duration_s=2.0, seed=0, max_new_tokens=4)
    assert motion.stop_reason == "token_budget" and not motion.well_formed
    assert len(motion.token_ids) == 4
    assert np.isfinite(motion.joints).all() and motion.repairs


def test_time_budget_and_cancellation_stop_early(qwen3_5):
    timed = qwen3_5.generate("run", duration_s=2.0, seed=0, time_budget_s=1e-6)
    assert timed.stop_reason == "time_budget" and len(timed.token_ids) == 1
    assert np.isfinite(timed.features).all()
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) >= 3

    stopped = qwen3_5.generate("run", duration_s=2.0, seed=0, should_stop=should_stop)
    assert stopped.stop_reason == "stopped" and len(stopped.token_ids) == 3


def test_base_preview_arrives_before_the_phys_stream(qwen3_5):
    previews = []
    motions = qwen3_5.generate_batch(
        ["walk", "crouch"], durations_s=[0.5, 1.0], seed=1, on_base_complete=previews.append
    )
    assert sorted(p.row for p in previews) == [0, 1]
    for preview in previews:
        final = motions[preview.row]
        np.testing.assert_array_equal(preview.base_tokens, final.base_tokens)
        assert preview.joints.shape[1:] == (22, 3) and np.isfinite(preview.joints).all()
        assert preview.elapsed_ms <= final.timings["generate_ms"]


def test_save_and_load_round_trip_exactly(qwen3_5, tmp_path):
    qwen3_5.save_pretrained(tmp_path / "ckpt")
    files = {p.name for p in (tmp_path / "ckpt").rglob("*") if p.is_file()}
    assert "model.safetensors" in files and not any(f.endswith((".bin", ".pt")) for f in files)
    loaded = MotionVLA.from_pretrained(tmp_path / "ckpt", device="cpu")
    assert loaded.config == qwen3_5.config and loaded.token_map == qwen3_5.token_map
    image = _scene(4)
    torch.testing.assert_close(
        loaded.next_token_logits("walk", image),
        qwen3_5.next_token_logits("walk", image),
        rtol=0,
        atol=0,
    )
    kwargs = {"image": image, "duration_s": 0.5, "seed": 5, "temperature": 0.8, "top_p": 0.9}
    np.testing.assert_array_equal(
        loaded.generate("walk", **kwargs).token_ids, qwen3_5.generate("walk", **kwargs).token_ids
    )


def test_incomplete_checkpoints_are_rejected(qwen3_5, tmp_path):
    with pytest.raises(CheckpointError, match="missing"):
        MotionVLA.from_pretrained(tmp_path)
    qwen3_5.save_pretrained(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "motion_tokens.json").unlink()
    with pytest.raises(CheckpointError, match=r"motion_tokens\.json"):
        MotionVLA.from_pretrained(tmp_path / "ckpt")
