"""The training loop shared by both phases, written on ``accelerate.Accelerator``.

The same code runs on one CPU, one GPU, or many GPUs and nodes under ``accelerate launch`` /
``torchrun`` (DDP or FSDP as configured there), with bf16/fp16 autocast from
``mixed_precision``. The data order is a function of ``(seed, epoch)`` only, and checkpoints
are taken at optimizer-step boundaries (model, optimizer, scheduler and RNG states via
``save_state``, plus ``trainer_state.json`` with the step), so a resumed run replays exactly
the batches an uninterrupted run would have seen next.

Output folder::

    out/
      checkpoints/step-000100/   accelerate state + trainer_state.json
      logs/                      TensorBoard events (loss, lr, eval loss, token accuracy)
      model/                     the final MotionVLA checkpoint (MotionVLA.from_pretrained)
      train_summary.json         steps, first/last loss, eval history, timings
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from peft import PeftModel
from tqdm import tqdm
from transformers import get_scheduler

from motionvla_model.modeling import MotionVLA
from training.config import PhaseConfig, TrainingConfigError
from training.loss import MotionVocabularyLoss
from training.optim import RowAdamW
from training.phases import optimizer_groups, prepare_phase1, prepare_phase2
from training.sft_data import SFTCollator, SFTDataset

__all__ = ["TrainResult", "latest_checkpoint", "train_phase"]

STATE_FILE = "trainer_state.json"


@dataclass
class TrainResult:
    """What a phase did: steps, per-step training loss, eval history, final model folder."""

    steps: int
    losses: list[float]
    evals: list[dict[str, float]] = field(default_factory=list)
    model_dir: Path | None = None
    seconds: float = 0.0
    step_seconds: list[float] = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        """Optimizer steps per second, the first (warm-up) step left out when possible."""
        timed = self.step_seconds[1:] or self.step_seconds
        return len(timed) / sum(timed) if timed else 0.0

    @property
    def loss_drop(self) -> float:
        """Mean of the first quarter of the losses minus the mean of the last quarter."""
        k = max(1, len(self.losses) // 4)
        return float(np.mean(self.losses[:k]) - np.mean(self.losses[-k:]))


class EpochSampler(torch.utils.data.Sampler[int]):
    """A permutation that depends on ``(seed, epoch)`` only, so a resumed run sees the
    same order as an uninterrupted one."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        yield from np.random.default_rng([self.seed, self.epoch]).permutation(self.size).tolist()

    def __len__(self) -> int:
        return self.size


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    """The newest ``checkpoints/step-*`` folder with a trainer state, or ``None``."""
    folders = sorted(Path(out_dir).glob("checkpoints/step-*"))
    folders = [f for f in folders if (f / STATE_FILE).is_file()]
    return folders[-1] if folders else None


def _evaluate(
    accelerator: Accelerator, network: torch.nn.Module, loader: Any, loss_fn: MotionVocabularyLoss
) -> dict[str, float]:
    network.eval()
    total_loss, batches, correct, counted = 0.0, 0, 0, 0
    with torch.no_grad():
        for batch in loader:
            output = loss_fn(network, batch)
            total_loss += float(accelerator.gather(output.loss.detach()[None]).mean())
            correct, counted, batches = (
                correct + output.correct,
                counted + output.counted,
                batches + 1,
            )
    network.train()
    return {
        "eval_loss": total_loss / max(batches, 1),
        "eval_token_accuracy": correct / max(counted, 1),
    }


def train_phase(
    model: MotionVLA,
    train_records: Sequence[dict[str, Any]],
    config: PhaseConfig,
    out_dir: str | Path,
    *,
    eval_records: Sequence[dict[str, Any]] = (),
    resume_from: str | Path | None = None,
    progress: bool = True,
    save_model: bool = True,
    final_checkpoint: bool = True,
) -> TrainResult:
    """Train ``model`` in place for one phase on SFT records; save the final MotionVLA.

    ``resume_from`` is a checkpoint folder (or ``"latest"`` for the newest in
    ``out_dir``); the run continues at its step and ends where an uninterrupted run ends.
    Phase 2 merges its LoRA adapters into the backbone before returning.
    ``save_model=False`` skips writing ``out/model`` and ``final_checkpoint=False`` the last
    training checkpoint (benchmarks of large models).
    """
    start_time = time.perf_counter()
    out_dir = Path(out_dir)
    if resume_from == "latest":
        resume_from = latest_checkpoint(out_dir)
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        log_with="tensorboard",
        project_dir=str(out_dir),
    )
    set_seed(config.seed)
    backbone = model.backbone
    answer_ids = model.answer_token_ids()
    hooks = []
    if config.phase == "phase1":
        hooks = prepare_phase1(backbone, answer_ids)
        network: torch.nn.Module = backbone
    else:
        network, hooks = prepare_phase2(backbone, config, answer_ids)
    groups = optimizer_groups(network, backbone, answer_ids)
    parameters = [p for group in groups for p in group["params"]]
    if not parameters:
        raise TrainingConfigError(f"{config.phase}: nothing to train")
    if config.gradient_checkpointing:
        backbone.gradient_checkpointing_enable(
            gradient_checkpointing_kwargs={"use_reentrant": False}
        )
        backbone.config.use_cache = False
    network.train()
    loss_fn = MotionVocabularyLoss(backbone, answer_ids, config.loss_vocabulary)

    dataset = SFTDataset(train_records, model)
    collate = SFTCollator(model.tokenizer.pad_token_id)
    sampler = EpochSampler(len(dataset), config.seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=config.num_workers,
    )
    eval_loader = None
    if eval_records:
        eval_set = SFTDataset(list(eval_records)[: config.eval_examples], model)
        eval_loader = torch.utils.data.DataLoader(
            eval_set, batch_size=config.batch_size, collate_fn=collate
        )
    accumulation = config.gradient_accumulation_steps
    steps_per_epoch = max(1, len(loader) // accumulation)
    total_steps = config.max_steps or math.ceil(config.epochs * len(loader) / accumulation)
    optimizer = RowAdamW(groups, lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_scheduler(
        config.scheduler,
        optimizer,
        num_warmup_steps=round(config.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    network, optimizer, loader, scheduler = accelerator.prepare(
        network, optimizer, loader, scheduler
    )
    if eval_loader is not None:
        eval_loader = accelerator.prepare(eval_loader)

    step = 0
    if resume_from is not None:
        resume_from = Path(resume_from)
        if not (resume_from / STATE_FILE).is_file():
            raise TrainingConfigError(
                f"{resume_from} is not a training checkpoint (no {STATE_FILE})"
            )
        state = json.loads((resume_from / STATE_FILE).read_text())
        if state["phase"] != config.phase:
            raise TrainingConfigError(f"{resume_from} is a {state['phase']} checkpoint")
        accelerator.load_state(str(resume_from))
        step = int(state["step"])
    accelerator.init_trackers("logs", config={k: str(v) for k, v in config.to_dict().items()})

    def batches() -> Iterator[dict[str, torch.Tensor]]:
        # Micro-batch ``step * accumulation`` onwards, across epoch boundaries.
        consumed = step * accumulation
        epoch, offset = divmod(consumed, len(loader))
        while True:
            sampler.epoch = epoch
            source = accelerator.skip_first_batches(loader, offset) if offset else loader
            yield from source
            epoch, offset = epoch + 1, 0

    losses: list[float] = []
    step_seconds: list[float] = []
    evals: list[dict[str, float]] = []
    bar = tqdm(
        total=total_steps,
        initial=step,
        desc=f"{config.phase}",
        unit="step",
        disable=not progress or not accelerator.is_local_main_process,
    )
    stream = batches()
    while step < total_steps:
        step_start = time.perf_counter()
        step_loss = 0.0
        for micro in range(accumulation):
            batch = next(stream)
            sync = micro == accumulation - 1
            context = accelerator.no_sync(network) if not sync else contextlib.nullcontext()
            with context, accelerator.autocast():
                loss = loss_fn(network, batch).loss / accumulation
                accelerator.backward(loss)
            step_loss += float(loss.detach())
        accelerator.clip_grad_norm_(parameters, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        step_seconds.append(time.perf_counter() - step_start)
        losses.append(step_loss)
        bar.update()
        bar.set_postfix(loss=f"{step_loss:.3f}")
        if step % config.log_every == 0 or step == total_steps:
            accelerator.log(
                {
                    "train_loss": step_loss,
                    "lr": scheduler.get_last_lr()[0],
                    "epoch": step / steps_per_epoch,
                },
                step=step,
            )
        if eval_loader is not None and config.eval_every and step % config.eval_every == 0:
            result = _evaluate(accelerator, network, eval_loader, loss_fn) | {"step": step}
            evals.append(result)
            accelerator.log({k: v for k, v in result.items() if k != "step"}, step=step)
        if config.save_every and step % config.save_every == 0:
            _save_checkpoint(accelerator, out_dir, step, config)
    bar.close()
    if eval_loader is not None:
        evals.append(_evaluate(accelerator, network, eval_loader, loss_fn) | {"step": step})
        accelerator.log({k: v for k, v in evals[-1].items() if k != "step"}, step=step)
    if final_checkpoint:
        _save_checkpoint(accelerator, out_dir, step, config)
    accelerator.end_training()
    loss_fn.close()
    for hook in hooks:
        hook.remove()

    unwrapped = accelerator.unwrap_model(network)
    if isinstance(unwrapped, PeftModel):
        unwrapped = unwrapped.merge_and_unload()
    if config.gradient_checkpointing:
        unwrapped.gradient_checkpointing_disable()
        unwrapped.config.use_cache = True
    unwrapped.requires_grad_(False)
    model.backbone = unwrapped.eval()
    result = TrainResult(
        steps=step,
        losses=losses,
        evals=evals,
        seconds=time.perf_counter() - start_time,
        step_seconds=step_seconds,
    )
    if accelerator.is_main_process:
        if save_model:
            result.model_dir = model.save_pretrained(out_dir / "model")
        summary = {
            "phase": config.phase,
            "steps": step,
            "first_loss": losses[0] if losses else None,
            "last_loss": losses[-1] if losses else None,
            "loss_drop": result.loss_drop if losses else None,
            "evals": evals,
            "seconds": result.seconds,
            "config": config.to_dict(),
        }
        (out_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    accelerator.wait_for_everyone()
    return result


def _save_checkpoint(
    accelerator: Accelerator, out_dir: Path, step: int, config: PhaseConfig
) -> None:
    folder = out_dir / "checkpoints" / f"step-{step:06d}"
    accelerator.save_state(str(folder), safe_serialization=True)
    if accelerator.is_main_process:
        state = {"phase": config.phase, "step": step, "config": config.to_dict()}
        (folder / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
