"""AdamW that updates only chosen rows of some parameters, at the cost of those rows.

Both phases train the motion-token rows of the embedding matrix ``E`` (tied to the LM
head) and nothing else of it: a gradient hook zeroes every other row (:mod:`training.phases`).
Plain AdamW would still read and write all of ``E`` every step, ~250k rows of which ~2k
carry a gradient; on the default model that is a third of the step time. For a param
group with ``rows`` (a ``LongTensor`` of row indices) this optimizer keeps the moments of
those rows only and applies, per row ``r``, exactly AdamW's update

    m_r ← β₁ m_r + (1-β₁) g_r,   v_r ← β₂ v_r + (1-β₂) g_r²,
    E_r ← E_r (1 - lr λ) - lr · (m_r / (1-β₁ᵗ)) / (sqrt(v_r / (1-β₂ᵗ)) + ε),

so the result equals dense AdamW whenever the other rows' gradients are zero (tested);
rows outside ``rows`` are never touched. Groups without ``rows`` go through
``torch.optim.AdamW`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["RowAdamW"]


class RowAdamW(torch.optim.AdamW):
    """``torch.optim.AdamW`` with optional per-group ``rows`` (see the module docstring)."""

    def __init__(self, params: Iterable[Any], **options: Any) -> None:
        super().__init__(params, **options)
        for group in self.param_groups:
            rows = group.get("rows")
            if rows is None:
                continue
            if any(p.dim() != 2 for p in group["params"]):
                raise ValueError("a param group with rows holds 2-D parameters only")
            if group["amsgrad"] or group["maximize"]:
                raise ValueError("rows do not support amsgrad or maximize")
            group["rows"] = torch.as_tensor(rows, dtype=torch.long)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        every = self.param_groups
        self.param_groups = [g for g in every if g.get("rows") is None]
        try:
            loss = super().step(closure)
        finally:
            self.param_groups = every
        for group in every:
            if group.get("rows") is not None:
                self._row_step(group)
        return loss

    def _row_step(self, group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
        for param in group["params"]:
            if param.grad is None:
                continue
            rows = group["rows"].to(param.device)
            grad = param.grad.index_select(0, rows)
            state = self.state[param]
            if not state:
                state["step"] = torch.zeros((), dtype=torch.float32)
                state["exp_avg"] = torch.zeros_like(grad)
                state["exp_avg_sq"] = torch.zeros_like(grad)
            state["step"] += 1
            step = float(state["step"])
            exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denominator = (exp_avg_sq / (1 - beta2**step)).sqrt_().add_(eps)
            update = exp_avg / (1 - beta1**step) / denominator
            values = param.index_select(0, rows)
            if decay:
                values.mul_(1 - lr * decay)
            param.index_copy_(0, rows, values - lr * update)
