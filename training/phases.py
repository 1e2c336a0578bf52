"""What each phase trains: the motion-token rows (phase 1), then LoRA adapters or the
language model's weights (phase 2).

Phase 1 (embedding warm-up). The new motion tokens start with untrained rows in the input
embedding ``E`` and LM head ``H``. Only the rows of the answer vocabulary may change (the
motion tokens, plus the few text tokens of a grounded plan for a model with plan targets:
:meth:`~motionvla_model.modeling.MotionVLA.answer_token_ids`): every other parameter is
frozen, and a gradient hook multiplies the gradient of ``E`` (and of ``H`` when untied) by a
row mask ``m`` (1 on answer rows, 0 elsewhere), ``∇E ← m ⊙ ∇E``, so gradient clipping
and DDP's reduction see only those rows. The optimizer (:class:`training.optim.RowAdamW`,
groups from :func:`optimizer_groups`) then reads and updates those rows alone, so the
frozen rows stay bit-identical and a step does not pay for the ~250k-row matrix. The hook
works unchanged under DDP (it runs before the gradient is reduced), and the model keeps
its own classes, so the checkpoint is a plain backbone.

Phase 2 (LoRA SFT). Every ``nn.Linear`` of the language model gets a LoRA adapter
``W x + (alpha / r) B A x`` (PEFT ``LoraConfig``); the LM head and the vision tower are left
out of ``target_modules`` (PEFT's ``"all-linear"`` would wrap the vision tower too). The
vision tower is frozen unless ``vision="lora"`` (adapters there too) or ``"full"`` (its
weights train). Adapters are merged after training so the result is again a plain backbone.
``language_model="full"`` trains the language model's weights themselves instead (for a
randomly initialised backbone, where a low-rank update of random weights only slows
learning down), the embedding rows under phase 1's mask.
"""

from __future__ import annotations

import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from torch.utils.hooks import RemovableHandle
from transformers import PreTrainedModel

from training.config import PhaseConfig

__all__ = [
    "embedding_row_mask",
    "language_linear_modules",
    "prepare_phase1",
    "prepare_phase2",
    "vision_parameters",
]


def embedding_row_mask(num_rows: int, rows: torch.Tensor) -> torch.Tensor:
    """``[num_rows, 1]`` float mask, 1 on ``rows`` (the answer vocabulary)."""
    mask = torch.zeros(num_rows, 1)
    mask[rows] = 1.0
    return mask


def _is_vision(name: str) -> bool:
    return "visual" in name.split(".")


def vision_parameters(backbone: nn.Module) -> dict[str, nn.Parameter]:
    return {n: p for n, p in backbone.named_parameters() if _is_vision(n)}


def language_linear_modules(backbone: PreTrainedModel, *, with_vision: bool = False) -> list[str]:
    """Names of the ``nn.Linear`` modules LoRA wraps: the language model's, minus the LM head."""
    head = backbone.get_output_embeddings()
    return [
        name
        for name, module in backbone.named_modules()
        if isinstance(module, nn.Linear)
        and module is not head
        and (with_vision or not _is_vision(name))
    ]


def _train_answer_rows(backbone: PreTrainedModel, rows: torch.Tensor) -> list[RemovableHandle]:
    """Make the embedding (and an untied LM head) trainable on ``rows`` only."""
    handles: list[RemovableHandle] = []
    seen: list[nn.Parameter] = []
    for module in (backbone.get_input_embeddings(), backbone.get_output_embeddings()):
        if module is None or any(module.weight is p for p in seen):
            continue  # tied weights: one parameter, one hook
        weight = module.weight
        weight.requires_grad_(True)
        mask = embedding_row_mask(weight.shape[0], rows).to(weight.device, weight.dtype)
        handles.append(weight.register_hook(lambda grad, mask=mask: grad * mask.to(grad.dtype)))
        seen.append(weight)
    return handles


def _embedding_parameters(backbone: PreTrainedModel) -> list[nn.Parameter]:
    modules = (backbone.get_input_embeddings(), backbone.get_output_embeddings())
    return [m.weight for m in modules if m is not None]


def prepare_phase1(backbone: PreTrainedModel, rows: torch.Tensor) -> list[RemovableHandle]:
    """Freeze everything but the embedding's ``rows`` (the answer vocabulary).

    Returns the gradient-hook handles (remove them when the phase ends, so later phases
    and inference run without the mask).
    """
    backbone.requires_grad_(False)
    return _train_answer_rows(backbone, rows)


def optimizer_groups(
    network: nn.Module, backbone: PreTrainedModel, rows: torch.Tensor
) -> list[dict]:
    """The trainable parameters of ``network`` as :class:`~training.optim.RowAdamW` groups.

    A trainable embedding only ever trains on its answer ``rows`` (both phases mask the
    rest), so it goes in a group with those rows: the optimizer then reads and writes
    ~2k rows instead of the whole ~250k-row matrix.
    """
    embeddings = {id(p) for p in _embedding_parameters(backbone)}
    trainable = [p for p in network.parameters() if p.requires_grad]
    groups = [{"params": [p for p in trainable if id(p) not in embeddings]}]
    embedding = [p for p in trainable if id(p) in embeddings]
    if embedding:
        groups.append({"params": embedding, "rows": rows})
    return [g for g in groups if g["params"]]


def prepare_phase2(
    backbone: PreTrainedModel, config: PhaseConfig, rows: torch.Tensor
) -> tuple[nn.Module, list[RemovableHandle]]:
    """The network phase 2 trains and its gradient hooks (remove them when it ends).

    ``language_model="lora"``: ``backbone`` wrapped with LoRA adapters (a ``PeftModel``).
    ``"full"``: ``backbone`` itself with every language-model weight trainable, the
    embedding (tied to the LM head) on its answer ``rows`` only, as in phase 1: the
    ~250k text rows are either read-only inputs or never seen.
    """
    if config.language_model == "full":
        backbone.requires_grad_(False)
        embeddings = _embedding_parameters(backbone)
        for name, parameter in backbone.named_parameters():
            is_embedding = any(parameter is e for e in embeddings)
            if not is_embedding and (config.vision == "full" or not _is_vision(name)):
                parameter.requires_grad_(True)
        return backbone, _train_answer_rows(backbone, rows)
    targets = language_linear_modules(backbone, with_vision=config.vision == "lora")
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        bias="none",
    )
    model = get_peft_model(backbone, lora)
    if config.vision == "full":
        for parameter in vision_parameters(model).values():
            parameter.requires_grad_(True)
    return model, []
