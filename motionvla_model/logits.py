"""The phase-aware logit mask: generation can only produce well-formed motion sequences.

A generated continuation moves through four phases, read off the tokens it already holds:

    start  -> only M_BOS; with a plan grammar, M_BOS or a grounded plan
              (:mod:`motionvla_model.plan`), token by token as the grammar allows,
              then M_BOS once the plan is complete
    base   (after M_BOS, before M_SEP)  -> Base codes while n_base < max_base,
                                           M_SEP once n_base >= min_base
    phys   (after M_SEP, before M_EOS)  -> Phys codes while n_phys < max_phys,
                                           M_EOS once n_phys >= min_phys
    done   (after M_EOS)                -> only the pad token

Every other logit is set to -inf before temperature and top-p are applied (transformers
runs custom processors before its warpers), so greedy search, sampling and nucleus
sampling all stay inside the allowed set; since ``min <= max`` for both streams, every
phase allows at least one token. The phase is recomputed from the ids at each step, so each
row of a batch is in its own phase and no state leaks between ``generate`` calls.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor

from .motion_vocab import MotionTokenMap
from .plan import PlanGrammar

__all__ = ["MotionPhaseLogitsProcessor"]


class MotionPhaseLogitsProcessor(LogitsProcessor):
    """Masks logits so that each row continues ``[M_BOS, base…, M_SEP, phys…, M_EOS]``."""

    def __init__(
        self,
        token_map: MotionTokenMap,
        prompt_length: int,
        base_bounds: torch.Tensor | tuple[int, int],
        phys_bounds: torch.Tensor | tuple[int, int],
        pad_token_id: int,
        plan_grammar: PlanGrammar | None = None,
    ) -> None:
        """``*_bounds``: ``(min, max)`` for all rows, or a ``[batch, 2]`` tensor per row;
        ``plan_grammar``: the plans a row may write before M_BOS (none: M_BOS first)."""
        self.token_map = token_map
        self.prompt_length = prompt_length
        self.base_bounds = torch.as_tensor(base_bounds, dtype=torch.long).reshape(-1, 2)
        self.phys_bounds = torch.as_tensor(phys_bounds, dtype=torch.long).reshape(-1, 2)
        for name, bounds in (("base", self.base_bounds), ("phys", self.phys_bounds)):
            if (bounds[:, 0] < 1).any() or (bounds[:, 0] > bounds[:, 1]).any():
                raise ValueError(f"{name} bounds need 1 <= min <= max, got {bounds.tolist()}")
        self.pad_token_id = pad_token_id
        self.plan_grammar = plan_grammar
        self._vocab_masks: dict[tuple[int, torch.device], tuple[torch.Tensor, ...]] = {}

    # Row states; each maps to one precomputed vocabulary mask, so a step costs one gather.
    _START, _BASE, _BASE_OR_SEP, _SEP, _PHYS, _PHYS_OR_EOS, _EOS, _DONE = range(8)

    def _masks(self, vocab_size: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        key = (vocab_size, device)
        if key not in self._vocab_masks:
            if self.token_map.max_id >= vocab_size or self.pad_token_id >= vocab_size:
                raise ValueError(
                    f"logits have {vocab_size} entries but motion ids reach {self.token_map.max_id}"
                )
            tm = self.token_map
            ids = {
                "base": tm.base_ids,
                "sep": [tm.sep_id],
                "phys": tm.phys_ids,
                "eos": [tm.eos_id],
            }
            state_tokens = [
                [[tm.bos_id]],
                [ids["base"]],
                [ids["base"], ids["sep"]],
                [ids["sep"]],
                [ids["phys"]],
                [ids["phys"], ids["eos"]],
                [ids["eos"]],
                [[self.pad_token_id]],
            ]
            table = torch.zeros(len(state_tokens), vocab_size, dtype=torch.bool)
            for state, groups in enumerate(state_tokens):
                for group in groups:
                    table[state, torch.as_tensor(group, dtype=torch.long)] = True
            self._vocab_masks[key] = (
                table.to(device),
                torch.as_tensor(tm.base_ids, device=device),
                torch.as_tensor(tm.phys_ids, device=device),
            )
        return self._vocab_masks[key]

    def states(
        self, input_ids: torch.LongTensor, base_ids: torch.Tensor, phys_ids: torch.Tensor
    ) -> torch.Tensor:
        """``[batch]`` state index of each row (see the class constants)."""
        generated = input_ids[:, self.prompt_length :]
        rows = input_ids.shape[0]
        if generated.shape[1] == 0:
            return torch.full((rows,), self._START, dtype=torch.long, device=input_ids.device)
        started = (generated == self.token_map.bos_id).any(dim=1)
        base_bounds = self.base_bounds.to(input_ids.device).expand(rows, 2)
        phys_bounds = self.phys_bounds.to(input_ids.device).expand(rows, 2)
        n_base = torch.isin(generated, base_ids).sum(dim=1)
        n_phys = torch.isin(generated, phys_ids).sum(dim=1)
        in_phys = (generated == self.token_map.sep_id).any(dim=1)
        done = (generated == self.token_map.eos_id).any(dim=1)
        base_state = torch.where(
            n_base < base_bounds[:, 0],
            self._BASE,
            torch.where(n_base < base_bounds[:, 1], self._BASE_OR_SEP, self._SEP),
        )
        phys_state = torch.where(
            n_phys < phys_bounds[:, 0],
            self._PHYS,
            torch.where(n_phys < phys_bounds[:, 1], self._PHYS_OR_EOS, self._EOS),
        )
        state = torch.where(done, self._DONE, torch.where(in_phys, phys_state, base_state))
        return torch.where(started, state, self._START)

    def allowed(self, input_ids: torch.LongTensor, vocab_size: int) -> torch.Tensor:
        """``[batch, vocab]`` boolean: which next tokens each row may produce."""
        table, base_ids, phys_ids = self._masks(vocab_size, input_ids.device)
        states = self.states(input_ids, base_ids, phys_ids)
        allowed = table[states]
        if self.plan_grammar is not None:
            # Rows still before M_BOS are writing a plan: a dozen steps, walked per row.
            for row in torch.nonzero(states == self._START).flatten().tolist():
                plan = input_ids[row, self.prompt_length :].tolist()
                tokens, complete = self.plan_grammar.next_tokens(plan)
                allowed[row] = False
                if not plan or complete:
                    allowed[row, self.token_map.bos_id] = True
                if tokens:
                    allowed[row, torch.as_tensor(sorted(tokens), device=allowed.device)] = True
        return allowed

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        allowed = self.allowed(input_ids, scores.shape[-1])
        return scores.masked_fill(~allowed, float("-inf"))
