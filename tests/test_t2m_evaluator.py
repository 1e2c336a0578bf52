"""The text-to-motion evaluator on a fake release (random weights, tiny GloVe vocabulary)
laid out and serialised like the published one, and the benchmark command line."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import training.t2m_evaluator as t2m
from training.t2m_evaluator import (
    POS_CATEGORIES,
    CaptionTagError,
    EvaluatorFileError,
    EvaluatorInputError,
    MissingEvaluatorFileError,
    MotionEncoderBiGRUCo,
    MovementConvEncoder,
    T2MEvaluator,
    TextEncoderBiGRUCo,
    WordVectorizer,
    caption_tokens,
    release_paths,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = ["unk", "sos", "eos", "a", "man", "walk", "forward", "slowly", "person", "jump",
         "the", "left", "turn", "around", "hand", "wave", "and", "then", "sit", "down"]  # fmt: skip

# Parameter names and shapes of the published networks (HumanML3D: 263-d features).
PUBLISHED_SHAPES = {
    "movement_encoder": {
        "main.0.weight": (512, 259, 4), "main.0.bias": (512,),
        "main.3.weight": (512, 512, 4), "main.3.bias": (512,),
        "out_net.weight": (512, 512), "out_net.bias": (512,),
    },
    "text_encoder": {
        "pos_emb.weight": (300, 15), "pos_emb.bias": (300,),
        "input_emb.weight": (512, 300), "input_emb.bias": (512,),
        **{f"gru.{kind}_{part}_l0{suffix}": (1536, 512) if kind == "weight" else (1536,)
           for kind in ("weight", "bias") for part in ("ih", "hh") for suffix in ("", "_reverse")},
        "output_net.0.weight": (512, 1024), "output_net.0.bias": (512,),
        "output_net.1.weight": (512,), "output_net.1.bias": (512,),
        "output_net.3.weight": (512, 512), "output_net.3.bias": (512,),
        "hidden": (2, 1, 512),
    },
    "motion_encoder": {
        "input_emb.weight": (1024, 512), "input_emb.bias": (1024,),
        **{f"gru.{kind}_{part}_l0{suffix}": (3072, 1024) if kind == "weight" else (3072,)
           for kind in ("weight", "bias") for part in ("ih", "hh") for suffix in ("", "_reverse")},
        "output_net.0.weight": (1024, 2048), "output_net.0.bias": (1024,),
        "output_net.1.weight": (1024,), "output_net.1.bias": (1024,),
        "output_net.3.weight": (512, 1024), "output_net.3.bias": (512,),
        "hidden": (2, 1, 1024),
    },
}  # fmt: skip


def _write_glove(folder: Path, words: list[str], width: int = 300, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.random.default_rng(seed).normal(size=(len(words), width)).astype(np.float32)
    np.save(folder / "our_vab_data.npy", vectors)
    (folder / "our_vab_words.pkl").write_bytes(pickle.dumps(list(words)))
    (folder / "our_vab_idx.pkl").write_bytes(pickle.dumps({w: i for i, w in enumerate(words)}))


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    """A folder laid out like the published release, with random weights."""
    root = tmp_path_factory.mktemp("t2m_release")
    paths = release_paths(root)
    torch.manual_seed(0)
    state = {
        "text_encoder": TextEncoderBiGRUCo().state_dict(),
        "movement_encoder": MovementConvEncoder().state_dict(),
        "motion_encoder": MotionEncoderBiGRUCo().state_dict(),
        # The published file also holds optimiser states and counters.
        "opt_text_encoder": {"state": {}, "param_groups": [{"lr": 1e-4, "params": [0, 1]}]},
        "epoch": 7,
        "iter": 1234,
    }
    paths["checkpoint"].parent.mkdir(parents=True)
    torch.save(state, paths["checkpoint"])
    paths["mean"].parent.mkdir(parents=True)
    rng = np.random.default_rng(1)
    np.save(paths["mean"], rng.normal(size=263).astype(np.float32))
    np.save(paths["std"], rng.uniform(0.5, 2.0, size=263).astype(np.float32))
    _write_glove(paths["glove_dir"], WORDS)
    return root


@pytest.fixture(scope="module")
def evaluator(release) -> T2MEvaluator:
    return T2MEvaluator.from_dir(release)


def _features(frames: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(frames, 263)).astype(np.float32)


# --- loading -------------------------------------------------------------------------------


def test_published_layout_loads_strictly_with_the_published_shapes(release, evaluator):
    saved = torch.load(release_paths(release)["checkpoint"], weights_only=True)
    for key, shapes in PUBLISHED_SHAPES.items():
        network = getattr(evaluator, key)
        loaded = network.state_dict()
        assert {name: tuple(t.shape) for name, t in loaded.items()} == shapes, key
        for name, tensor in loaded.items():
            assert torch.equal(tensor.cpu(), saved[key][name]), (key, name)
        assert not network.training
    assert len(evaluator.vectorizer) == len(WORDS)
    assert len(POS_CATEGORIES) == 15


def test_missing_files_are_named(release, tmp_path):
    with pytest.raises(MissingEvaluatorFileError) as error:
        T2MEvaluator.from_dir(tmp_path)
    paths = release_paths(tmp_path)
    named = [paths["checkpoint"], paths["mean"], paths["std"], *t2m.glove_paths(paths["glove_dir"])]
    for path in named:
        assert str(path) in str(error.value)
    paths = release_paths(release) | {"std": tmp_path / "nowhere" / "std.npy"}
    with pytest.raises(MissingEvaluatorFileError, match=r"nowhere/std\.npy"):
        T2MEvaluator.from_files(**paths)
    assert issubclass(MissingEvaluatorFileError, FileNotFoundError)


def test_misshaped_normalisation_and_vocabulary_are_named(release, tmp_path):
    paths = release_paths(release)
    np.save(tmp_path / "mean.npy", np.zeros(251, np.float32))  # a KIT-ML mean
    with pytest.raises(EvaluatorFileError, match=r"mean\.npy.*\[263\].*\(251,\)"):
        T2MEvaluator.from_files(**paths | {"mean": tmp_path / "mean.npy"})
    np.save(tmp_path / "std.npy", np.zeros(263, np.float32))
    with pytest.raises(EvaluatorFileError, match="non-positive"):
        T2MEvaluator.from_files(**paths | {"std": tmp_path / "std.npy"})

    _write_glove(tmp_path / "narrow", WORDS, width=50)
    with pytest.raises(EvaluatorFileError, match=r"our_vab_data\.npy.*\[N, 300\]"):
        T2MEvaluator.from_files(**paths | {"glove_dir": tmp_path / "narrow"})
    _write_glove(tmp_path / "no_unk", WORDS[1:])
    with pytest.raises(EvaluatorFileError, match="'unk'"):
        T2MEvaluator.from_files(**paths | {"glove_dir": tmp_path / "no_unk"})
    _write_glove(tmp_path / "unindexed", WORDS)
    index = {w: i for i, w in enumerate(WORDS) if w != "walk"}
    (tmp_path / "unindexed" / "our_vab_idx.pkl").write_bytes(pickle.dumps(index))
    with pytest.raises(EvaluatorFileError, match=r"our_vab_idx\.pkl: no row.*walk"):
        T2MEvaluator.from_files(**paths | {"glove_dir": tmp_path / "unindexed"})
    # A pickle that names a class is refused before anything in it runs.
    _write_glove(tmp_path / "classy", WORDS)
    (tmp_path / "classy" / "our_vab_words.pkl").write_bytes(pickle.dumps(Path("walk")))
    with pytest.raises(EvaluatorFileError, match="not a plain-data pickle"):
        T2MEvaluator.from_files(**paths | {"glove_dir": tmp_path / "classy"})


def test_bad_checkpoints_are_named(release, tmp_path):
    paths = release_paths(release)
    bad = tmp_path / "finest.tar"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(EvaluatorFileError, match="not a readable torch checkpoint"):
        T2MEvaluator.from_files(**paths | {"checkpoint": bad})
    torch.save({"text_encoder": {}, "movement_encoder": {}}, bad)
    with pytest.raises(EvaluatorFileError, match=r"finest\.tar: no motion_encoder"):
        T2MEvaluator.from_files(**paths | {"checkpoint": bad})
    # A text encoder of another width (the networks are loaded in order, text first).
    other = TextEncoderBiGRUCo(hidden_size=64).state_dict()
    torch.save({"text_encoder": other, "movement_encoder": {}, "motion_encoder": {}}, bad)
    with pytest.raises(EvaluatorFileError, match=r"(?s)'text_encoder' does not fit.*size mismatch"):
        T2MEvaluator.from_files(**paths | {"checkpoint": bad})
    state = TextEncoderBiGRUCo().state_dict()
    renamed = {name.replace("output_net", "head"): value for name, value in state.items()}
    torch.save({"text_encoder": renamed, "movement_encoder": {}, "motion_encoder": {}}, bad)
    with pytest.raises(EvaluatorFileError, match="Missing key"):
        T2MEvaluator.from_files(**paths | {"checkpoint": bad})


# --- text ----------------------------------------------------------------------------------


def test_word_vectorizer_follows_the_published_categories(evaluator):
    vectorizer: WordVectorizer = evaluator.vectorizer

    def category(token: str) -> str:
        return POS_CATEGORIES[int(np.argmax(vectorizer[token][1]))]

    assert category("man/NOUN") == "NOUN"
    assert category("walk/VERB") == "Act_VIP"  # a VIP word overrides its tag
    assert category("left/ADV") == "Loc_VIP"
    assert category("hand/NOUN") == "Body_VIP"
    assert category("slowly/ADV") == "Desc_VIP"
    assert category("a/PROPN") == "OTHER"  # a tag outside the 15 categories
    unknown, one_hot = vectorizer["zebra/NOUN"]
    assert np.array_equal(unknown, vectorizer.vectors[vectorizer.word_index["unk"]])
    assert POS_CATEGORIES[int(np.argmax(one_hot))] == "OTHER"
    assert np.array_equal(vectorizer["man/NOUN"][0], vectorizer.vectors[WORDS.index("man")])

    words, pos, length = vectorizer.encode(["a/DET", "man/NOUN", "walk/VERB"])
    assert words.shape == (22, 300) and pos.shape == (22, 15) and length == 5
    assert np.array_equal(words[0], vectorizer.vectors[WORDS.index("sos")])
    assert np.array_equal(words[4], vectorizer.vectors[WORDS.index("eos")])
    assert np.array_equal(words[5], vectorizer.vectors[WORDS.index("unk")])
    _, _, length = vectorizer.encode(["man/NOUN"] * 30)
    assert length == 22  # 20 tokens kept, plus sos and eos


def test_text_embeddings_are_length_aware(evaluator):
    short = "a/DET man/NOUN walk/VERB forward/ADV"
    long = ("the/DET person/NOUN turn/VERB around/ADV and/CCONJ then/ADV sit/VERB down/ADV "
            "and/CCONJ wave/VERB the/DET left/ADJ hand/NOUN")  # fmt: skip
    alone = evaluator.text_embeddings([short])
    batch = evaluator.text_embeddings([long, short, long])
    assert alone.shape == (1, 512) and batch.shape == (3, 512)
    assert alone.dtype == np.float32 and np.isfinite(batch).all()
    np.testing.assert_allclose(batch[1], alone[0], atol=1e-5)  # padding is not read
    np.testing.assert_allclose(batch[0], batch[2], atol=1e-5)
    assert not np.allclose(batch[0], batch[1])
    # A token list is the same caption; tokens past the 20th are not read.
    np.testing.assert_allclose(evaluator.text_embeddings([short.split()]), alone, atol=1e-6)
    tokens = long.split() * 2
    np.testing.assert_allclose(
        evaluator.text_embeddings([tokens]), evaluator.text_embeddings([tokens[:20]]), atol=1e-6
    )


def test_untagged_captions_need_a_tagger(evaluator, monkeypatch):
    def unavailable():
        raise ImportError("No module named 'spacy'")

    monkeypatch.setattr(t2m, "_spacy_pipeline", unavailable)
    with pytest.raises(CaptionTagError, match=r"tagged tokens.*a/DET man/NOUN walk/VERB"):
        evaluator.text_embeddings(["a man walks forward"])
    with pytest.raises(CaptionTagError, match="not all tagged"):
        caption_tokens(["a/DET", "man"])


def test_untagged_captions_are_tagged_by_the_humanml3d_rule(monkeypatch):
    def token(text, pos, lemma):
        return SimpleNamespace(text=text, pos_=pos, lemma_=lemma)

    seen = []

    def nlp(sentence):
        seen.append(sentence)
        return [
            token("A", "DET", "a"), token("man", "NOUN", "man"), token("walks", "VERB", "walk"),
            token("left", "VERB", "leave"), token(",", "PUNCT", ","), token("3", "NUM", "3"),
            token("zigzag", "ADV", "zigzag"),
        ]  # fmt: skip

    monkeypatch.setattr(t2m, "_spacy_pipeline", lambda: nlp)
    tokens = caption_tokens("A man walks left, 3 zig-zag")
    assert tokens == ["A/DET", "man/NOUN", "walk/VERB", "left/VERB", "zigzag/ADV"]
    assert seen == ["A man walks left, 3 zigzag"]  # hyphens removed before tagging


# --- motion --------------------------------------------------------------------------------


def test_motion_embeddings_are_length_aware(evaluator):
    motion = _features(50, seed=2)
    alone = evaluator.motion_embeddings([motion])
    batch = evaluator.motion_embeddings([_features(196, 3), motion, _features(120, 4)])
    assert alone.shape == (1, 512) and batch.shape == (3, 512)
    assert alone.dtype == np.float32 and np.isfinite(batch).all()
    np.testing.assert_allclose(batch[1], alone[0], atol=1e-5)  # batch-mates do not matter
    # Cropped to whole 4-frame units and to 196 frames; the foot contacts are not read.
    np.testing.assert_allclose(evaluator.motion_embeddings([motion[:48]]), alone, atol=1e-6)
    long = _features(230, seed=5)
    np.testing.assert_allclose(
        evaluator.motion_embeddings([long]), evaluator.motion_embeddings([long[:196]]), atol=1e-6
    )
    contacts = motion.copy()
    contacts[:, 259:] = 1.0 - contacts[:, 259:]
    np.testing.assert_allclose(evaluator.motion_embeddings([contacts]), alone, atol=1e-6)
    changed = motion.copy()
    changed[10, :259] += 1.0
    assert not np.allclose(evaluator.motion_embeddings([changed]), alone, atol=1e-4)


def test_batching_does_not_change_embeddings(release):
    small = T2MEvaluator.from_dir(release, batch_size=2)
    large = T2MEvaluator.from_dir(release, batch_size=64)
    motions = [_features(n, seed=n) for n in (40, 64, 100, 196, 77)]
    np.testing.assert_allclose(
        small.motion_embeddings(motions), large.motion_embeddings(motions), atol=1e-5
    )
    assert small.motion_embeddings([]).shape == (0, 512)


def test_bad_motions_are_rejected(evaluator):
    with pytest.raises(EvaluatorInputError, match=r"motion 1: expected \[T, 263\]"):
        evaluator.motion_embeddings([_features(40, 0), np.zeros((40, 251))])
    with pytest.raises(EvaluatorInputError, match="3 frame"):
        evaluator.motion_embeddings([_features(3, 0)])
    broken = _features(40, 0)
    broken[5, 7] = np.nan
    with pytest.raises(EvaluatorInputError, match="NaN"):
        evaluator.motion_embeddings([broken])


# --- command line --------------------------------------------------------------------------


def _write_humanml3d(root: Path) -> None:
    from motionvla_model.modeling import synthetic_smooth_features

    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    captions = [
        "a man walks forward#a/DET man/NOUN walk/VERB forward/ADV#0.0#0.0",
        "a person jumps#a/DET person/NOUN jump/VERB#0.0#0.0",
        "the man turns around slowly#the/DET man/NOUN turn/VERB around/ADV slowly/ADV#0.0#0.0",
        "a person waves a hand#a/DET person/NOUN wave/VERB a/DET hand/NOUN#0.0#0.0",
        "a man sits down#a/DET man/NOUN sit/VERB down/ADV#0.0#0.0",
        "a man walks then sits#a/DET man/NOUN walk/VERB then/ADV sit/VERB#0.0#0.0",
    ]
    ids = []
    for index, (features, caption) in enumerate(
        zip(synthetic_smooth_features(num_clips=6, num_frames=64, seed=3), captions, strict=True)
    ):
        clip_id = f"{index:06d}"
        ids.append(clip_id)
        np.save(root / "new_joint_vecs" / f"{clip_id}.npy", features)
        lines = [caption]
        if index == 0:  # a second, cropped caption: its own motion entry
            lines.append("a man walks#a/DET man/NOUN walk/VERB#0.5#2.8")
        (root / "texts" / f"{clip_id}.txt").write_text("\n".join(lines) + "\n")
    (root / "test.txt").write_text("\n".join(ids) + "\n")


@pytest.mark.slow
def test_command_line_scores_ground_truth_and_generation(release, tmp_path, capsys):
    from motionvla_model.modeling import build_tiny_motionvla
    from training.cli import eval_main

    build_tiny_motionvla(seed=0).save_pretrained(tmp_path / "model")
    _write_humanml3d(tmp_path / "humanml3d")
    out = tmp_path / "report.json"
    eval_main(
        ["--model", str(tmp_path / "model"), "--t2m-data", str(tmp_path / "humanml3d"),
         "--t2m-evaluator", str(release), "--mm-repeats", "2", "--mm-samples", "3",
         "--device", "cpu", "--out", str(out), "--no-progress"]
    )  # fmt: skip
    report = json.loads(out.read_text())
    assert set(report) == {"t2m"}  # no --data: the benchmark alone
    bench = report["t2m"]
    assert bench["num_samples"] == 7 and bench["r_precision_batch_size"] == 7
    assert bench["num_mm_captions"] == 3
    for source in ("ground_truth", "generated"):
        top = [bench[source][f"r_precision_top{k}"] for k in (1, 2, 3)]
        assert 0.0 <= top[0] <= top[1] <= top[2] <= 1.0
        assert bench[source]["matching_score"] > 0 and bench[source]["diversity"] >= 0
    assert np.isfinite(bench["generated"]["fid"]) and bench["generated"]["multimodality"] >= 0
    assert "fid" not in bench["ground_truth"]
    table = capsys.readouterr().err
    assert "r_precision_top1" in table and "MultiModality over 3 captions" in table

    with pytest.raises(SystemExit, match="evaluator files not found"):
        eval_main(
            ["--model", str(tmp_path / "model"), "--t2m-data", str(tmp_path / "humanml3d"),
             "--t2m-evaluator", str(tmp_path / "nowhere"), "--device", "cpu"]
        )  # fmt: skip
    with pytest.raises(SystemExit):
        eval_main(["--model", str(tmp_path / "model"), "--t2m-evaluator", str(release)])
    assert "need --t2m-data" in capsys.readouterr().err


def test_benchmark_entries_and_configuration(tmp_path):
    from training.t2m_benchmark import BenchmarkConfig, humanml3d_entries

    _write_humanml3d(tmp_path)
    entries = humanml3d_entries(tmp_path, "test", seed=0)
    # Six whole clips plus the crop that the second caption of clip 0 names (frames 10-56).
    assert sorted(len(e.features) for e in entries) == [46] + [64] * 6
    assert entries[0].text_input == ("a/DET", "man/NOUN", "walk/VERB", "forward/ADV")
    assert entries[0].duration_s == pytest.approx(64 / 20)
    assert len(humanml3d_entries(tmp_path, "test", max_samples=3)) == 3
    for bad in ({"mm_repeats": 1}, {"max_samples": 1}, {"mm_temperature": 0.0}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            BenchmarkConfig(**bad)
