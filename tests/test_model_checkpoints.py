"""Backbones from a local download folder, LoRA-adapter checkpoints, static KV cache."""

import numpy as np
import pytest
import torch
from peft import LoraConfig, get_peft_model

from motionvla_model.backbone import (
    BackboneLoadError,
    get_family,
    load_backbone,
    tiny_backbone_config,
)
from motionvla_model.modeling import MotionVLA, build_tiny_motionvla, tiny_dsft_tokenizer
from motionvla_model.text_tokenizer import QWEN3_5_VOCAB_SIZE, load_qwen3_5_tokenizer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def download(tmp_path_factory):
    """A folder laid out like a downloaded Qwen3.5 model (tiny random weights)."""
    folder = tmp_path_factory.mktemp("Qwen3.5-tiny")
    config = tiny_backbone_config("qwen3_5", QWEN3_5_VOCAB_SIZE)
    torch.manual_seed(0)
    get_family("qwen3_5").model_class(config).save_pretrained(folder)
    load_qwen3_5_tokenizer().save_pretrained(folder)
    return folder


def _scene(seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(64, 96, 3), dtype=np.uint8)


def test_from_backbone_adds_motion_tokens_to_a_downloaded_model(download):
    dsft = tiny_dsft_tokenizer()
    model = MotionVLA.from_backbone(download, dsft, device="cpu")
    assert model.config.family == "qwen3_5"
    assert model.config.backbone_reference == str(download)
    rows = model.backbone.get_input_embeddings().num_embeddings
    assert rows >= len(model.tokenizer) and rows % 64 == 0
    assert model.token_map.base_ids.min() >= 248077  # after the text vocabulary
    motion = model.generate("walk", image=_scene(), duration_s=0.5, seed=0)
    assert motion.well_formed and np.isfinite(motion.joints).all()


def test_lora_checkpoint_stores_the_adapter_and_reloads_the_same_model(download, tmp_path):
    model = MotionVLA.from_backbone(download, tiny_dsft_tokenizer(), device="cpu")
    lora = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    model.backbone = get_peft_model(model.backbone, lora)
    model.save_pretrained(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "adapter" / "adapter_model.safetensors").is_file()
    assert not (tmp_path / "ckpt" / "backbone").exists()
    loaded = MotionVLA.from_pretrained(tmp_path / "ckpt", device="cpu")
    image = _scene(1)
    torch.testing.assert_close(
        loaded.next_token_logits("walk", image), model.next_token_logits("walk", image)
    )
    np.testing.assert_array_equal(
        loaded.generate("walk", image=image, duration_s=0.5).token_ids,
        model.generate("walk", image=image, duration_s=0.5).token_ids,
    )


def test_a_missing_or_foreign_backbone_folder_is_rejected(tmp_path):
    with pytest.raises(BackboneLoadError, match=r"config\.json"):
        load_backbone(tmp_path, dtype=torch.float32, attn_implementation="sdpa")
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(BackboneLoadError, match="not supported"):
        load_backbone(tmp_path, dtype=torch.float32, attn_implementation="sdpa")


def test_static_kv_cache_gives_the_same_tokens():
    model = build_tiny_motionvla(family="qwen3_5")
    dynamic = model.generate_batch(["walk", "turn around"], [_scene(), None], [0.5, 1.0])
    model.compile = True  # static cache; the compile step itself only happens on CUDA
    try:
        static = model.generate_batch(["walk", "turn around"], [_scene(), None], [0.5, 1.0])
    finally:
        model.compile = False
    for a, b in zip(dynamic, static, strict=True):
        np.testing.assert_array_equal(a.token_ids, b.token_ids)


def test_lora_on_a_built_model_is_saved_merged(tmp_path):
    model = build_tiny_motionvla(family="qwen3_vl")
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    model.backbone = get_peft_model(model.backbone, lora)
    before = model.next_token_logits("wave", _scene(2))
    model.save_pretrained(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "backbone").is_dir()
    assert not (tmp_path / "ckpt" / "adapter").exists()
    torch.testing.assert_close(model.next_token_logits("wave", _scene(2)), before)  # unchanged
    loaded = MotionVLA.from_pretrained(tmp_path / "ckpt", device="cpu")
    torch.testing.assert_close(loaded.next_token_logits("wave", _scene(2)), before)


def test_image_token_norm_and_plan_targets_survive_a_round_trip(tmp_path):
    from motionvla_model.configuration import MotionVLAConfig
    from motionvla_model.modeling import IMAGE_TOKEN_NORM_FILE

    config = MotionVLAConfig(image_token_norm=True, plan_targets=("red box", "green ball"))
    model = MotionVLA.build(config, tiny_dsft_tokenizer(), num_layers=2, dtype="float32")
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    model.backbone.train()
    model.backbone(**model.prepare(["x"], [image]).model_kwargs("cpu", torch.float32))
    model.backbone.eval()  # the running statistics now differ from their initial values
    before = model.generate("walk to the red box", image, duration_s=2.0, seed=0)
    assert before.plan is not None and before.plan.target in config.plan_targets
    for compact in (False, True):
        folder = model.save_pretrained(tmp_path / f"compact-{compact}", compact=compact)
        assert (folder / IMAGE_TOKEN_NORM_FILE).is_file()
        backbone_files = "".join(p.read_bytes().decode("latin-1") for p in
                                 (folder / "backbone").glob("*.safetensors"))  # fmt: skip
        assert "token_norm" not in backbone_files  # the backbone stays a plain HF model
        loaded = MotionVLA.from_pretrained(folder, device="cpu", dtype="float32")
        after = loaded.generate("walk to the red box", image, duration_s=2.0, seed=0)
        np.testing.assert_array_equal(after.token_ids, before.token_ids)
        assert after.plan == before.plan
    (folder / IMAGE_TOKEN_NORM_FILE).unlink()
    with pytest.raises(Exception, match=IMAGE_TOKEN_NORM_FILE):
        MotionVLA.from_pretrained(folder, device="cpu", dtype="float32")
