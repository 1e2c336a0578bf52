"""RowAdamW: AdamW restricted to chosen rows, equal to dense AdamW on masked gradients."""

from __future__ import annotations

import pytest
import torch

from training.optim import RowAdamW


def _problem(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(50, 8, generator=generator)
    bias = torch.randn(8, generator=generator)
    rows = torch.tensor([3, 7, 8, 41])
    mask = torch.zeros(50, 1)
    mask[rows] = 1.0
    targets = [torch.randn(50, 8, generator=generator) for _ in range(5)]
    return matrix, bias, rows, mask, targets


def _train(optimizer_for, steps: int = 5, weight_decay: float = 0.0):
    matrix, bias, rows, mask, targets = _problem()
    matrix = torch.nn.Parameter(matrix)
    bias = torch.nn.Parameter(bias)
    matrix.register_hook(lambda grad: grad * mask)
    optimizer = optimizer_for(matrix, bias, rows, weight_decay)
    for target in targets[:steps]:
        loss = ((matrix + bias - target) ** 2).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return matrix.detach(), bias.detach(), optimizer


def _dense(matrix, bias, rows, weight_decay):
    return torch.optim.AdamW(
        [{"params": [bias]}, {"params": [matrix], "weight_decay": weight_decay}], lr=0.05,
        weight_decay=0.0,
    )  # fmt: skip


def _rows(matrix, bias, rows, weight_decay):
    return RowAdamW(
        [{"params": [bias]}, {"params": [matrix], "rows": rows, "weight_decay": weight_decay}],
        lr=0.05, weight_decay=0.0,
    )  # fmt: skip


def test_equals_dense_adamw_on_masked_gradients_and_leaves_other_rows_alone():
    start, _, rows, _, _ = _problem()
    dense_matrix, dense_bias, _ = _train(_dense)
    row_matrix, row_bias, optimizer = _train(_rows)
    torch.testing.assert_close(row_matrix, dense_matrix, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(row_bias, dense_bias)
    others = torch.ones(50, dtype=torch.bool)
    others[rows] = False
    assert torch.equal(row_matrix[others], start[others])  # bit for bit
    assert not torch.equal(row_matrix[rows], start[rows])
    state = optimizer.state[optimizer.param_groups[1]["params"][0]]
    assert state["exp_avg"].shape == (len(rows), 8)  # moments of the rows only


def test_weight_decay_applies_to_the_rows_only():
    start, _, rows, _, _ = _problem()
    row_matrix, _, _ = _train(_rows, weight_decay=0.1)
    others = torch.ones(50, dtype=torch.bool)
    others[rows] = False
    assert torch.equal(row_matrix[others], start[others])
    # Dense AdamW decays every row; on the trained rows the two agree (up to the shared
    # bias, whose gradient sees the other rows' decay).
    dense_matrix, _, _ = _train(_dense, weight_decay=0.1)
    undecayed, _, _ = _train(_rows)
    torch.testing.assert_close(row_matrix[rows], dense_matrix[rows], rtol=0, atol=1e-4)
    assert (row_matrix[rows] - undecayed[rows]).abs().max() > 1e-3


def test_state_dict_round_trip_continues_identically():
    _, _, rows, mask, targets = _problem()
    whole, _, _ = _train(_rows, steps=5)
    matrix, bias, _, _, _ = _problem()
    matrix, bias = torch.nn.Parameter(matrix), torch.nn.Parameter(bias)
    matrix.register_hook(lambda grad: grad * mask)
    first = _rows(matrix, bias, rows, 0.0)
    for step, target in enumerate(targets):
        if step == 3:  # a resumed run: a new optimizer from the saved state
            saved = first.state_dict()
            first = _rows(matrix, bias, rows, 0.0)
            first.load_state_dict(saved)
        ((matrix + bias - target) ** 2).sum().backward()
        first.step()
        first.zero_grad(set_to_none=True)
    torch.testing.assert_close(matrix.detach(), whole)


def test_rejects_what_it_cannot_do():
    vector = torch.nn.Parameter(torch.zeros(4))
    with pytest.raises(ValueError, match="2-D"):
        RowAdamW([{"params": [vector], "rows": [0]}], lr=0.1)
    matrix = torch.nn.Parameter(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="amsgrad"):
        RowAdamW([{"params": [matrix], "rows": [0]}], lr=0.1, amsgrad=True)
