"""Compact checkpoints: tokenizer by reference, embedding as its non-zero rows."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from motionvla_model.backbone import BackboneLoadError
from motionvla_model.compact_checkpoint import (
    EMBEDDING_ROWS_FILE,
    TOKENIZER_REFERENCE_FILE,
    WEIGHTS_FILE,
    write_tokenizer_reference,
    zero_unused_embedding_rows,
)
from motionvla_model.modeling import MotionVLA, build_tiny_motionvla
from motionvla_model.text_tokenizer import TextTokenizerError

COMMAND = "walk to the red box"


@pytest.fixture(scope="module")
def pruned_model():
    torch.set_num_threads(1)
    model = build_tiny_motionvla(seed=3)
    # What the model reads (the whole chat prompt) and what it writes (motion tokens).
    keep = set(model.prepare([COMMAND]).input_ids.flatten().tolist())
    keep |= set(range(int(model.token_map.base_ids.min()), model.token_map.max_id + 1))
    zero_unused_embedding_rows(model.backbone, keep)
    return model


@pytest.fixture(scope="module")
def compact_dir(pruned_model, tmp_path_factory):
    return pruned_model.save_pretrained(tmp_path_factory.mktemp("compact"), compact=True)


def _size_mb(path):
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def test_compact_round_trip_is_exact(pruned_model, compact_dir):
    loaded = MotionVLA.from_pretrained(compact_dir, device="cpu")
    saved, restored = pruned_model.backbone.state_dict(), loaded.backbone.state_dict()
    assert saved.keys() == restored.keys()
    for key in saved:
        assert torch.equal(saved[key], restored[key]), key
    assert loaded.tokenizer.get_vocab() == pruned_model.tokenizer.get_vocab()
    first = pruned_model.generate(COMMAND, duration_s=2.0, seed=1)
    second = loaded.generate(COMMAND, duration_s=2.0, seed=1)
    assert list(first.token_ids) == list(second.token_ids)


def test_compact_folder_is_small_and_holds_no_tokenizer_file(compact_dir):
    assert _size_mb(compact_dir) < 5
    assert not (compact_dir / "tokenizer" / "tokenizer.json").exists()
    assert (compact_dir / "tokenizer" / TOKENIZER_REFERENCE_FILE).is_file()
    rows = load_file(str(compact_dir / "backbone" / EMBEDDING_ROWS_FILE))
    assert 0 < len(rows["row_ids"]) < int(rows["num_rows"][0]) // 10


def test_zeroing_rejects_ids_outside_the_vocabulary(pruned_model):
    with pytest.raises(ValueError, match="keep_ids"):
        zero_unused_embedding_rows(pruned_model.backbone, [10**9])


def test_a_modified_tokenizer_cannot_be_saved_by_reference(tmp_path):
    import copy

    model = build_tiny_motionvla(seed=4)
    # A copy: models built in one process share their tokenizer, which must stay intact.
    tokenizer = copy.deepcopy(model.tokenizer)
    tokenizer.add_tokens(["<|not_in_qwen|>"])
    with pytest.raises(TextTokenizerError, match="compact=False"):
        write_tokenizer_reference(tokenizer, model.token_map, tmp_path)


def test_reference_of_another_vocabulary_size_is_refused(compact_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(compact_dir, copy)
    reference = copy / "tokenizer" / TOKENIZER_REFERENCE_FILE
    data = json.loads(reference.read_text())
    data["vocab_size"] += 1
    reference.write_text(json.dumps(data))
    with pytest.raises(TextTokenizerError, match="rebuilt tokenizer"):
        MotionVLA.from_pretrained(copy, device="cpu")


def test_weights_that_do_not_fit_the_config_are_refused(compact_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(compact_dir, copy)
    weights = load_file(str(copy / "backbone" / WEIGHTS_FILE))
    weights.pop(sorted(weights)[0])
    save_file(weights, str(copy / "backbone" / WEIGHTS_FILE))
    with pytest.raises(BackboneLoadError, match="missing"):
        MotionVLA.from_pretrained(copy, device="cpu")
