"""Byte-pair encoding over integer symbols."""

from __future__ import annotations

import numpy as np
import pytest

from motionvla_model.dsft.integer_bpe import IntegerBPE, as_token_ids


def test_integer_bpe_round_trips_and_compresses_zero_runs():
    rng = np.random.default_rng(0)
    decay = np.exp(-np.arange(40) / 6)
    seqs = [
        np.clip(np.rint(rng.normal(size=40) * 3 * decay), -5, 5).astype(int) + 5 for _ in range(500)
    ]
    bpe = IntegerBPE.train(seqs, num_symbols=11, vocab_size=200, chunk=20)
    assert bpe.vocab_size == 200
    ids = bpe.encode_batch(seqs[:50])
    for seq, tokens in zip(seqs[:50], ids, strict=True):
        np.testing.assert_array_equal(bpe.decode(tokens), seq)
    assert np.mean([len(t) for t in ids]) < 20
    # Every symbol has its own token, also one never seen in training.
    unseen = np.full(7, 10)
    np.testing.assert_array_equal(bpe.decode(bpe.encode_batch([unseen])[0]), unseen)
    clone = IntegerBPE.from_str(bpe.to_str(), 11)
    np.testing.assert_array_equal(clone.encode_batch(seqs[:5])[3], ids[3])


def test_token_ids_are_filtered_not_raised():
    valid, dropped = as_token_ids([0, 5, -1, 10**40, 9], 10, "ids")
    assert valid.tolist() == [0, 5, 9] and dropped == 2
    valid, dropped = as_token_ids(np.array([2**63 + 5, 3], dtype=np.uint64), 10, "ids")
    assert valid.tolist() == [3] and dropped == 1
    for bad in ("12", None, [1.0], np.zeros(3), np.zeros((2, 2), np.int64)):
        with pytest.raises(TypeError):
            as_token_ids(bad, 10, "ids")
