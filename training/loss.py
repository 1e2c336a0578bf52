"""The SFT loss: next-token cross-entropy on the assistant's motion tokens only.

Labels are ``-100`` on every prompt position (:func:`motionvla_model.prompt.build_training_example`)
and on padding, so with ``h_t`` the final hidden state and ``y_{t+1}`` the next label,

    L = - (1 / |S|) Σ_{t ∈ S} log softmax(W h_t)[y_{t+1}],   S = {t : y_{t+1} ≠ -100}.

``"full"`` takes the softmax over all rows of the LM head ``W`` (the backbone's own loss).
``"motion"`` restricts it to the answer rows ``W_M`` (the motion tokens, plus a grounded
plan's few text tokens for a model with plan targets): the phase-aware decoder can emit
nothing else, so this is the distribution it samples from, and it never builds the
``[batch, length, ~250k]`` logits, the dominant cost of a small model on a CPU. The final
hidden states are read with a forward hook on the decoder's last norm, so the call still
goes through the wrapped module (DDP's gradient hooks, PEFT adapters) unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from motionvla_model.prompt import IGNORE_INDEX

__all__ = ["LossOutput", "MotionVocabularyLoss"]


class LossOutput:
    """Loss and the number of next-token predictions that were right (and scored)."""

    def __init__(self, loss: torch.Tensor, correct: int, counted: int) -> None:
        self.loss = loss
        self.correct = correct
        self.counted = counted


def _shifted(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    target = labels[:, 1:]
    return target, target != IGNORE_INDEX


class MotionVocabularyLoss:
    """Computes :class:`LossOutput` for a batch, over the full or the motion vocabulary."""

    def __init__(
        self, backbone: PreTrainedModel, answer_ids: torch.Tensor, vocabulary: str
    ) -> None:
        self.vocabulary = vocabulary
        self.head = backbone.get_output_embeddings()
        ids = answer_ids
        self.motion_ids = ids.to(self.head.weight.device)
        lookup = torch.full((self.head.weight.shape[0],), IGNORE_INDEX, dtype=torch.long)
        lookup[ids] = torch.arange(len(ids))
        self.lookup = lookup.to(self.head.weight.device)
        self._hidden: torch.Tensor | None = None
        self._handle = None
        if vocabulary == "motion":
            self._handle = backbone.get_decoder().norm.register_forward_hook(self._capture)

    def close(self) -> None:
        """Remove the hook (the model is then used for inference without it)."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def _capture(self, module: torch.nn.Module, args: tuple, output: torch.Tensor) -> None:
        self._hidden = output

    def __call__(self, network: torch.nn.Module, batch: dict[str, torch.Tensor]) -> LossOutput:
        labels = batch["labels"]
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        target, scored = _shifted(labels)
        if self.vocabulary == "full":
            logits = network(**inputs).logits[:, :-1]
        else:
            # logits_to_keep=1: the head runs on one position; the loss uses the hook's states.
            network(**inputs, logits_to_keep=1)
            hidden, self._hidden = self._hidden, None
            assert hidden is not None, "the decoder's final norm did not run"
            weight = self.head.weight[self.motion_ids]
            logits = hidden[:, :-1] @ weight.T.to(hidden.dtype)
            target = torch.where(scored, self.lookup[target.clamp(min=0)], IGNORE_INDEX)
        loss = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            target.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )
        with torch.no_grad():
            correct = int((logits.argmax(-1).eq(target) & scored).sum())
        return LossOutput(loss, correct, int(scored.sum()))
