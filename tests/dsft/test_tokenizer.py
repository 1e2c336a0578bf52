"""DSFT tokenizer on real motion: round trips, robust decoding, storage and bad input."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motionvla_model.dsft import (
    DecodeOptions,
    DSFTCheckpointError,
    DSFTConfig,
    DSFTConfigError,
    DSFTTokenizer,
)
from motionvla_model.dsft.dct import boundary_acceleration_ratio, smooth_window_boundaries
from motionvla_model.motion.features import features_to_joints, joints_to_features
from motionvla_model.motion.human_clips import load_climb, load_omomo
from motionvla_model.motion.resample import resample
from motionvla_model.motion.skeleton import MotionShapeError, NonFiniteMotionError

FPS = 20.0


def _features(clip) -> np.ndarray:
    return joints_to_features(resample(clip.joints, clip.fps, FPS), fps=FPS).astype(np.float32)


@pytest.fixture(scope="module")
def clips() -> dict[str, np.ndarray]:
    """Real clips at 20 fps: three climbing sequences to train on, two held out."""
    return {
        "train": [_features(load_climb(i)) for i in range(3)]
        + [_features(load_omomo("omomo/sub3_largebox_003"))],
        "held_out": [
            _features(load_climb(4))[:200],
            _features(load_omomo("omomo/sub10_largebox_049")),
        ],
    }


@pytest.fixture(scope="module")
def tokenizer(clips) -> DSFTTokenizer:
    return DSFTTokenizer.train(
        clips["train"], DSFTConfig(base_vocab_size=1024, phys_vocab_size=512)
    )


def _mpjpe_mm(a: np.ndarray, b: np.ndarray) -> float:
    return float(
        np.linalg.norm(features_to_joints(a) - features_to_joints(b), axis=-1).mean() * 1e3
    )


def test_held_out_round_trip_keeps_length_and_joints(tokenizer, clips):
    for x in clips["held_out"]:
        tokens = tokenizer.encode(x)
        assert tokens.base.dtype == np.int64 and tokens.phys.dtype == np.int64
        assert tokens.base.min() >= 0 and tokens.base.max() < tokenizer.base_vocab_size
        assert tokens.phys.min() >= 0 and tokens.phys.max() < tokenizer.phys_vocab_size
        decoded = tokenizer.decode(tokens.base, tokens.phys)
        assert decoded.repairs == []
        assert decoded.num_frames == len(x) == decoded.features.shape[0]
        assert decoded.features.dtype == np.float32
        # Loose bound on unseen motion from a tiny training set (the benchmark measures).
        assert _mpjpe_mm(decoded.features, x) < 120


def test_smoothed_seams_beat_the_previous_deblocking_on_edges_and_smoothness(
    tokenizer, clips
):
    seams_only = DecodeOptions(plant_feet=None)
    decoders = {
        "smooth": tokenizer.with_decode_options(seams_only),
        "deblock": tokenizer.with_decode_options(DecodeOptions.previous()),
    }
    x = clips["held_out"][1]
    truth = features_to_joints(x)
    tokens = tokenizer.encode(x)
    joints = {k: features_to_joints(t.decode(tokens.base, tokens.phys).features)
              for k, t in decoders.items()}  # fmt: skip
    errors = {k: np.linalg.norm(j - truth, axis=-1).mean(axis=1) for k, j in joints.items()}
    edges = np.isin(np.arange(len(x)) % 20, (0, 19))
    assert errors["smooth"][edges].mean() < errors["deblock"][edges].mean()
    # Overall about as accurate (the benchmark measures the difference on more clips).
    assert errors["smooth"].mean() < 1.01 * errors["deblock"].mean()
    ratio = {k: boundary_acceleration_ratio(j, 20) for k, j in joints.items()}
    assert ratio["smooth"] < 1.15 < ratio["deblock"]


def test_previous_decode_options_reproduce_the_deblocked_windows(tokenizer, clips):
    """Plain zero-filled windows with the Base stream's steps taken out, as decoding was."""
    previous = tokenizer.with_decode_options(DecodeOptions.previous())
    plain = DSFTTokenizer(
        dataclasses.replace(tokenizer.config, boundary_reach=0),
        tokenizer.stats, *tokenizer._streams.values(), *tokenizer._bpe.values(),
        tokenizer.tokens_per_second, DecodeOptions.previous(),
    )  # fmt: skip
    tokens = tokenizer.encode(clips["held_out"][0])
    deblocked = previous.decode(tokens.base, tokens.phys).features
    windows = plain.decode(tokens.base, tokens.phys).features
    base = tokenizer.layout.base_dims
    expected = smooth_window_boundaries(windows[:, base].astype(np.float64), 20, 2)
    np.testing.assert_allclose(deblocked[:, base], expected, atol=1e-5)
    np.testing.assert_array_equal(deblocked[:, tokenizer.layout.phys_dims],
                                  windows[:, tokenizer.layout.phys_dims])  # fmt: skip
    assert DecodeOptions() != DecodeOptions.previous()
    with pytest.raises(DSFTConfigError, match="seams"):
        DecodeOptions(seams="blur")


def test_frame_count_is_recovered_from_tokens_for_every_remainder(tokenizer, clips):
    x = clips["held_out"][0]
    for frames in (1, 2, 19, 20, 21, 39, 40, 41, 57):
        tokens = tokenizer.encode(x[:frames])
        assert tokenizer.decode(tokens.base, tokens.phys).num_frames == frames


def test_finer_quantisation_reconstructs_better(clips):
    coarse, fine = (
        DSFTTokenizer.train(clips["train"], DSFTConfig(base_step=s, phys_step=s, k_base=k))
        for s, k in ((4.0, 3), (0.05, 12))
    )
    x = clips["held_out"][0]
    errors = [_mpjpe_mm(t.decode(*_ids(t.encode(x))).features, x) for t in (coarse, fine)]
    assert errors[1] < errors[0] / 2


def _ids(tokens):
    return tokens.base, tokens.phys


def test_batch_equals_single(tokenizer, clips):
    batch = tokenizer.encode_batch(clips["held_out"])
    for x, tokens in zip(clips["held_out"], batch, strict=True):
        single = tokenizer.encode(x)
        np.testing.assert_array_equal(single.base, tokens.base)
        np.testing.assert_array_equal(single.phys, tokens.phys)
    decoded = tokenizer.decode_batch([_ids(t) for t in batch])
    for tokens, motion in zip(batch, decoded, strict=True):
        np.testing.assert_array_equal(tokenizer.decode(*_ids(tokens)).features, motion.features)


def test_base_only_preview_has_the_full_length_and_the_pose(tokenizer, clips):
    x = clips["held_out"][1]
    tokens = tokenizer.encode(x)
    # A preview has no contact channels to plant feet by: compare with the unplanted pose.
    full = tokenizer.with_decode_options(DecodeOptions(plant_feet=None)).decode(*_ids(tokens))
    preview = tokenizer.decode_base_only(tokens.base)
    assert preview.num_frames == full.num_frames == len(x)
    assert any("Phys" in r for r in preview.repairs)
    base = tokenizer.layout.base_dims
    np.testing.assert_allclose(preview.features[:, base], full.features[:, base], atol=1e-5)


def test_save_and_load_give_identical_ids_and_decodes(tokenizer, clips, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "base_tokenizer.json",
        "dsft.json",
        "phys_tokenizer.json",
    ]
    loaded = DSFTTokenizer.from_pretrained(tmp_path)
    assert loaded.config == tokenizer.config
    for x in clips["held_out"]:
        a, b = tokenizer.encode(x), loaded.encode(x)
        np.testing.assert_array_equal(a.base, b.base)
        np.testing.assert_array_equal(a.phys, b.phys)
        np.testing.assert_array_equal(
            tokenizer.decode(*_ids(a)).features, loaded.decode(*_ids(b)).features
        )


def test_loading_rejects_missing_files_and_other_versions(tokenizer, tmp_path):
    with pytest.raises(DSFTCheckpointError, match="lacks"):
        DSFTTokenizer.from_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    state = json.loads((tmp_path / "dsft.json").read_text())
    state["format_version"] = 99
    (tmp_path / "dsft.json").write_text(json.dumps(state))
    with pytest.raises(DSFTCheckpointError, match="format_version"):
        DSFTTokenizer.from_pretrained(tmp_path)


@pytest.mark.parametrize(
    "damage",
    [
        lambda state: state["streams"]["base"].pop("basis"),
        lambda state: state["streams"]["phys"].update(order=[0, 0, 1]),
        lambda state: state["config"].update(k_base=0),
        lambda state: state["stats"].update(mean=[0.0] * 10, std=[1.0] * 10),
    ],
)
def test_loading_rejects_damaged_state(tokenizer, tmp_path, damage):
    tokenizer.save_pretrained(tmp_path)
    state = json.loads((tmp_path / "dsft.json").read_text())
    damage(state)
    (tmp_path / "dsft.json").write_text(json.dumps(state))
    with pytest.raises(DSFTCheckpointError, match="damaged"):
        DSFTTokenizer.from_pretrained(tmp_path)


def test_loading_rejects_broken_files(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "base_tokenizer.json").write_text("{not json")
    with pytest.raises(DSFTCheckpointError, match="damaged"):
        DSFTTokenizer.from_pretrained(tmp_path)
    (tmp_path / "dsft.json").write_text("[1, 2")
    with pytest.raises(DSFTCheckpointError, match="not a DSFT state"):
        DSFTTokenizer.from_pretrained(tmp_path)


def test_out_of_range_values_are_clamped_on_encode(tokenizer, clips):
    x = clips["held_out"][0][:60].copy()
    x[20:40, 4:67] += 50.0  # joints 50 m away from the root: far outside training
    tokens = tokenizer.encode(x)
    assert tokens.clamped > 0
    decoded = tokenizer.decode(*_ids(tokens))
    assert decoded.num_frames == 60 and np.isfinite(decoded.features).all()
    assert tokenizer.encode(clips["held_out"][0][:60]).clamped == 0


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (np.zeros((10, 262), np.float32), MotionShapeError),
        (np.zeros((0, 263), np.float32), MotionShapeError),
        (np.zeros(263, np.float32), MotionShapeError),
        (np.full((10, 263), np.nan, np.float32), NonFiniteMotionError),
        ([[0.0] * 263], TypeError),
    ],
)
def test_encode_rejects_bad_features(tokenizer, bad, error):
    with pytest.raises(error):
        tokenizer.encode(bad)


def test_encode_rejects_clips_longer_than_the_cap(tokenizer):
    with pytest.raises(MotionShapeError, match="max_seconds"):
        tokenizer.encode(np.zeros((tokenizer.config.max_windows * 20 + 1, 263), np.float32))


@pytest.mark.parametrize(
    "overrides",
    [
        {"layout": "smplx"},
        {"window_frames": 1},
        {"k_base": 0},
        {"k_phys": 21},
        {"base_components": 191},
        {"phys_step": 0.0},
        {"base_step": float("nan")},
        {"phys_vocab_size": 100},
        {"fps": -1.0},
        {"max_seconds": 0.0},
        {"rounding": 0.0},
        {"rounding": 0.7},
        {"min_dim_weight": 0.0},
        {"boundary_reach": -1},
        {"boundary_reach": 11},
    ],
)
def test_config_rejects_bad_values(overrides):
    with pytest.raises(DSFTConfigError):
        DSFTConfig(**overrides)


def test_train_rejects_empty_input():
    with pytest.raises(MotionShapeError):
        DSFTTokenizer.train([])


def test_vimogen_layout_trains_and_round_trips():
    rng = np.random.default_rng(0)
    smooth = [np.cumsum(rng.normal(size=(120, 276)), axis=0) * 0.05 for _ in range(4)]
    config = DSFTConfig(layout="vimogen", base_vocab_size=1024, phys_vocab_size=1024)
    tokenizer = DSFTTokenizer.train(smooth, config)
    decoded = tokenizer.decode(*_ids(tokenizer.encode(smooth[0][:77])))
    assert decoded.features.shape == (77, 276) and decoded.repairs == []


# ------------------------------------------------------------- robust decoding


def test_empty_streams_decode_to_one_window_of_mean_motion(tokenizer):
    # (Planting would hold the feet of the mean motion, which drifts at the mean speed.)
    decoded = tokenizer.with_decode_options(DecodeOptions(plant_feet=None)).decode([], [])
    assert decoded.num_frames == tokenizer.config.window_frames
    np.testing.assert_allclose(
        decoded.features, np.broadcast_to(tokenizer.stats.mean, decoded.features.shape), atol=1e-4
    )
    assert decoded.repairs


def test_truncated_and_mismatched_streams_are_repaired(tokenizer, clips):
    tokens = tokenizer.encode(clips["held_out"][1])  # 147 frames: 8 windows
    cut = tokenizer.decode(tokens.base[: len(tokens.base) // 2], tokens.phys)
    assert cut.num_frames % tokenizer.config.window_frames == 0
    assert cut.num_frames < 147
    assert any("marker" in r for r in cut.repairs)
    assert any("Phys stream has" in r for r in cut.repairs)
    no_phys = tokenizer.decode(tokens.base, [])
    assert no_phys.num_frames == 147 and any("Phys" in r for r in no_phys.repairs)


def test_unknown_ids_are_dropped_and_reported(tokenizer, clips):
    tokens = tokenizer.encode(clips["held_out"][0])
    noisy = [-5, *tokens.base.tolist(), 10**30, tokenizer.base_vocab_size]
    decoded = tokenizer.decode(noisy, tokens.phys)
    assert decoded.num_frames == 200
    assert any("dropped 3 Base" in r for r in decoded.repairs)
    np.testing.assert_array_equal(decoded.features, tokenizer.decode(*_ids(tokens)).features)


def test_overlong_streams_are_capped(tokenizer):
    config = tokenizer.config
    decoded = tokenizer.decode([3] * 100_000, [3] * 100_000)
    assert decoded.num_frames <= config.max_windows * config.window_frames
    assert any("max_seconds" in r for r in decoded.repairs)


@pytest.mark.parametrize("bad", ["abc", None, 3, [1.5, 2.0], [[1, 2]], np.zeros((2, 2), np.int64)])
def test_decode_raises_type_error_only_for_non_integer_input(tokenizer, bad):
    with pytest.raises(TypeError):
        tokenizer.decode(bad, [])


_ids_strategy = st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=300)
_small_ids = st.lists(st.integers(min_value=0, max_value=1100), max_size=300)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(base=st.one_of(_ids_strategy, _small_ids), phys=st.one_of(_ids_strategy, _small_ids))
def test_any_integer_sequences_decode_to_finite_motion(tokenizer, base, phys):
    decoded = tokenizer.decode(base, phys)
    config = tokenizer.config
    assert decoded.features.shape == (decoded.num_frames, 263)
    assert 1 <= decoded.num_frames <= config.max_windows * config.window_frames
    assert np.isfinite(decoded.features).all()
    assert decoded.features.dtype == np.float32
    # The length is what the Base stream implies: whole windows plus the marker's frames.
    windows = -(-decoded.num_frames // config.window_frames)
    assert windows >= 1
    preview = tokenizer.decode_base_only(base)
    if base and any(0 <= b < tokenizer.base_vocab_size for b in base):
        assert preview.num_frames == decoded.num_frames
    valid = all(0 <= b < tokenizer.base_vocab_size for b in base) and all(
        0 <= p < tokenizer.phys_vocab_size for p in phys
    )
    if not valid:
        assert any("dropped" in r for r in decoded.repairs)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.integers(0, 300), length=st.integers(1, 160))
def test_encode_decode_round_trip_on_any_real_excerpt(tokenizer, clips, start, length):
    x = clips["train"][0][start : start + length]
    tokens = tokenizer.encode(x)
    decoded = tokenizer.decode(*_ids(tokens))
    assert decoded.repairs == [] and decoded.num_frames == len(x)
    # Re-encoding the decode is stable to within one window's worth of rounding.
    again = tokenizer.decode(*_ids(tokenizer.encode(decoded.features)))
    assert again.num_frames == len(x)
    assert _mpjpe_mm(again.features, decoded.features) < 60


def test_token_budget_bounds_the_real_token_counts(tokenizer, clips):
    for x in clips["held_out"]:
        tokens = tokenizer.encode(x)
        budget = tokenizer.token_budget(len(x) / FPS)
        assert budget.num_frames == len(x)
        assert budget.base_min <= len(tokens.base) <= budget.base_max
        assert budget.phys_min <= len(tokens.phys) <= budget.phys_max
    assert tokenizer.frames_for_duration(2.5) == 50
    assert tokenizer.tokens_per_second["base"] > 0 and tokenizer.tokens_per_second["phys"] > 0


def test_command_line_trains_and_round_trips(clips, tmp_path, capsys):
    from motionvla_model.dsft.cli import main

    paths = []
    for i, x in enumerate(clips["train"][:2] + clips["held_out"][:1]):
        paths.append(tmp_path / f"clip{i}.npy")
        np.save(paths[-1], x)
    assert main(["train", str(tmp_path / "tok"), str(paths[0]), str(paths[1])]) == 0
    assert (tmp_path / "tok" / "dsft.json").is_file()
    capsys.readouterr()
    assert main(["roundtrip", str(tmp_path / "tok"), str(paths[2])]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["frames"] == len(clips["held_out"][0]) and report["repairs"] == []
    assert report["base_tokens"] > 0 and 0 <= report["mpjpe_mm"] < 150
