"""The training pipeline on real parts: synthetic data with scene images -> DSFT -> SFT
records -> phase 1 -> phase 2 -> generate -> decode, with the phase invariants and resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from motionvla_model.configuration import MotionVLAConfig
from motionvla_model.dsft import DSFTConfig
from motionvla_model.modeling import MotionVLA
from motionvla_model.motion_vocab import M_BOS
from motionvla_model.plan import ScenePlan
from motionvla_model.prompt import IGNORE_INDEX
from training.config import phase1_defaults, phase2_defaults
from training.loss import MotionVocabularyLoss
from training.phases import embedding_row_mask, prepare_phase2, vision_parameters
from training.sft_data import SFTCollator, SFTDataset, parse_motion_string, read_sft_records
from training.tokenize_dataset import build_sft_files, load_motion_samples, train_dsft
from training.trainer import latest_checkpoint, train_phase

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from training.data.synthetic_dataset import SyntheticDatasetConfig, write_synthetic_dataset

    root = tmp_path_factory.mktemp("training")
    config = SyntheticDatasetConfig(num_samples=12, seed=5, scene_fraction=0.35)
    index = write_synthetic_dataset(root / "data", config, workers=1, progress=False)
    samples = load_motion_samples([index])
    dsft = train_dsft(samples, DSFTConfig(base_vocab_size=700, phys_vocab_size=700), root / "dsft")
    train_file, eval_file = build_sft_files(
        samples, root / "dsft", root / "sft", eval_fraction=0.25, workers=2, progress=False
    )
    return {
        "root": root,
        "index": index,
        "samples": samples,
        "dsft": dsft,
        "train": read_sft_records(train_file),
        "eval": read_sft_records(eval_file),
    }


def tiny(data) -> MotionVLA:
    return MotionVLA.build(
        MotionVLAConfig(), data["dsft"], seed=0, hidden_size=16, device="cpu", dtype="float32"
    )


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.state_dict().items()}


def test_sft_records_hold_images_plans_and_motion_strings(data):
    records = data["train"] + data["eval"]
    assert len(records) == 12 and data["eval"]
    with_image = [r for r in records if r["messages"][0]["content"][0]["type"] == "image"]
    assert with_image, "the scene samples must carry their head-camera image"
    for record in records:
        plan, bos, motion = record["messages"][1]["content"].partition(M_BOS)
        base, phys = parse_motion_string(bos + motion)
        assert len(base) > 1 and len(phys) > 0
        assert base.max() < data["dsft"].base_vocab_size
        if "scene_task" in record["params"]:  # the answer starts with where the target is
            command = record["messages"][0]["content"][-1]["text"].lower()
            assert ScenePlan.parse(plan).target in command
        else:
            assert plan == ""


def test_loss_is_on_motion_tokens_only(data):
    model = tiny(data)
    batch = SFTCollator(model.tokenizer.pad_token_id)([SFTDataset(data["train"], model)[0]])
    labels = batch["labels"]
    motion_ids = set(map(int, model.token_map.base_ids)) | set(map(int, model.token_map.phys_ids))
    motion_ids |= {model.token_map.bos_id, model.token_map.sep_id, model.token_map.eos_id}
    scored = labels[labels != IGNORE_INDEX]
    assert set(scored.tolist()) <= motion_ids
    assert (batch["input_ids"][labels == IGNORE_INDEX] == model.token_map.bos_id).sum() == 0
    with torch.no_grad():
        logits = model.backbone(**{k: v for k, v in batch.items() if k != "labels"}).logits
        answer_ids = model.answer_token_ids()
        full = MotionVocabularyLoss(model.backbone, answer_ids, "full")(model.backbone, batch)
        motion = MotionVocabularyLoss(model.backbone, answer_ids, "motion")(model.backbone, batch)
    manual = F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1)
    )
    assert float(full.loss) == pytest.approx(float(manual), rel=1e-5)
    columns = torch.tensor(sorted(motion_ids))
    restricted = logits[:, :-1][..., columns]
    target = labels[:, 1:]
    index = torch.searchsorted(columns, target.clamp(min=0))
    index[target == IGNORE_INDEX] = IGNORE_INDEX
    expected = F.cross_entropy(restricted.reshape(-1, len(columns)), index.reshape(-1))
    assert float(motion.loss) == pytest.approx(float(expected), rel=1e-4)
    assert full.counted == motion.counted == int((labels[:, 1:] != IGNORE_INDEX).sum())


def test_phase1_changes_only_the_motion_token_rows(data, tmp_path):
    model = tiny(data)
    before = snapshot(model.backbone)
    config = phase1_defaults().replace(
        max_steps=2, batch_size=2, learning_rate=1e-2, loss_vocabulary="motion"
    )
    train_phase(model, data["train"], config, tmp_path, progress=False, save_model=False)
    after = snapshot(model.backbone)
    # The LM head is tied to the embedding: the same matrix under two names.
    embeddings = {"model.language_model.embed_tokens.weight", "lm_head.weight"}
    for name in set(before) - embeddings:
        assert torch.equal(before[name], after[name]), name
    for name in embeddings & set(before):
        rows = embedding_row_mask(before[name].shape[0], model.answer_token_ids())[:, 0].bool()
        assert torch.equal(before[name][~rows], after[name][~rows])
        assert not torch.equal(before[name][rows], after[name][rows])


def test_phase2_trains_only_lora_and_leaves_the_vision_tower(data, tmp_path):
    model = tiny(data)
    before = snapshot(model.backbone)
    wrapped, hooks = prepare_phase2(model.backbone, phase2_defaults(), model.answer_token_ids())
    assert hooks == []
    trainable = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert not any("visual" in n for n in trainable)
    assert not any("lm_head" in n or "embed_tokens" in n for n in trainable)
    wrapped.unload()  # back to the plain backbone for the real run below

    model = tiny(data)
    config = phase2_defaults().replace(
        max_steps=2, batch_size=2, learning_rate=1e-2, loss_vocabulary="motion"
    )
    train_phase(model, data["train"], config, tmp_path, progress=False, save_model=False)
    after = snapshot(model.backbone)
    assert set(after) == set(before)  # adapters merged: a plain backbone again
    for name in vision_parameters(model.backbone):
        assert torch.equal(before[name], after[name]), name
    assert torch.equal(
        before["model.language_model.embed_tokens.weight"],
        after["model.language_model.embed_tokens.weight"],
    )
    changed = [n for n in before if not torch.equal(before[n], after[n])]
    assert changed and all("language_model.layers" in n for n in changed)


def test_full_phase2_trains_the_language_model_and_only_motion_rows(data, tmp_path):
    model = tiny(data)
    before = snapshot(model.backbone)
    config = phase2_defaults().replace(
        max_steps=2, batch_size=2, learning_rate=1e-2, loss_vocabulary="motion",
        language_model="full",
    )  # fmt: skip
    train_phase(model, data["train"], config, tmp_path, progress=False, save_model=False)
    after = snapshot(model.backbone)
    assert set(after) == set(before)
    for name in vision_parameters(model.backbone):
        assert torch.equal(before[name], after[name]), name  # vision="frozen" by default
    name = "model.language_model.embed_tokens.weight"
    rows = embedding_row_mask(before[name].shape[0], model.answer_token_ids())[:, 0].bool()
    assert torch.equal(before[name][~rows], after[name][~rows])
    assert not torch.equal(before[name][rows], after[name][rows])
    layers = [n for n in before if "language_model.layers" in n]
    changed = [n for n in layers if not torch.equal(before[n], after[n])]
    assert len(changed) > len(layers) // 2  # the weights themselves, not adapters
    assert not any(p.requires_grad for p in model.backbone.parameters())  # hooks and grads off


def test_resume_continues_the_step_count_and_matches(data, tmp_path):
    config = phase2_defaults().replace(
        max_steps=4, batch_size=2, learning_rate=5e-3, save_every=2, loss_vocabulary="motion"
    )
    first = tiny(data)
    whole = train_phase(
        first, data["train"], config, tmp_path / "a", progress=False, save_model=False
    )
    checkpoint = tmp_path / "a" / "checkpoints" / "step-000002"
    assert json.loads((checkpoint / "trainer_state.json").read_text())["step"] == 2
    assert latest_checkpoint(tmp_path / "a").name == "step-000004"
    second = tiny(data)
    resumed = train_phase(
        second, data["train"], config, tmp_path / "b", resume_from=checkpoint, progress=False,
        save_model=False,
    )  # fmt: skip
    assert resumed.steps == 4 and len(resumed.losses) == 2
    assert resumed.losses == pytest.approx(whole.losses[2:], rel=1e-5)
    for (name, a), b in zip(
        first.backbone.state_dict().items(), second.backbone.state_dict().values(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-6), name


def test_end_to_end_data_to_generated_joints(data, tmp_path):
    model = tiny(data)
    phase1 = phase1_defaults().replace(max_steps=3, batch_size=4, loss_vocabulary="motion")
    result1 = train_phase(
        model, data["train"], phase1, tmp_path / "p1", eval_records=data["eval"], progress=False,
        save_model=False,
    )  # fmt: skip
    phase2 = phase2_defaults().replace(
        max_steps=3, batch_size=4, eval_every=3, vision="full", loss_vocabulary="motion"
    )
    result2 = train_phase(
        model, data["train"], phase2, tmp_path / "p2", eval_records=data["eval"], progress=False
    )
    assert result1.steps == 3 and result2.steps == 3
    assert result2.evals and np.isfinite(result2.evals[-1]["eval_loss"])
    assert list((tmp_path / "p2" / "logs").rglob("events.out.tfevents*"))
    summary = json.loads((tmp_path / "p2" / "train_summary.json").read_text())
    assert summary["steps"] == 3 and summary["config"]["lora_r"] == 32

    loaded = MotionVLA.from_pretrained(result2.model_dir, device="cpu")
    scene = next(s for s in data["samples"] if s.image_path is not None)
    from PIL import Image

    image = np.asarray(Image.open(scene.image_path).convert("RGB"))
    motion = loaded.generate(scene.text, image, duration_s=2.0, max_new_tokens=120)
    assert motion.joints.ndim == 3 and motion.joints.shape[1:] == (22, 3)
    assert np.isfinite(motion.joints).all() and motion.features.shape[1] == 263


def test_command_lines_train_and_evaluate(data, tmp_path, capsys):
    from training.cli import eval_main, train_main

    root = data["root"]
    train_main(
        ["phase1", "--model", "tiny", "--hidden-size", "16", "--dsft", str(root / "dsft"),
         "--train", str(root / "sft" / "sft_train.jsonl"), "--out", str(tmp_path / "p1"),
         "--max-steps", "1", "--batch-size", "2", "--loss-vocabulary", "motion", "--no-progress"]
    )  # fmt: skip
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["steps"] == 1
    report_path = tmp_path / "report.json"
    eval_main(
        ["--model", result["model"], "--data", str(data["index"]), "--max-samples", "2",
         "--out", str(report_path), "--device", "cpu", "--no-progress"]
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    assert report["num_samples"] == 2
    # The ground truth performs its own command; the tokenizer round trip stays close.
    assert report["ground_truth"]["turn_error_deg"] < 1.0
    assert report["ground_truth"]["ground_penetration"] < 0.01
    assert report["tokenizer"]["turn_error_deg"] < 20.0
    assert 0.0 <= report["generated"]["well_formed"] <= 1.0
    assert "jitter_degree" in capsys.readouterr().err  # the printed table
