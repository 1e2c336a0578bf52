"""MotionVLA: scene image + text command -> motion tokens -> motion features and joints.

The model is a Qwen causal (vision-)language backbone whose vocabulary is extended by the
motion tokens of :mod:`motionvla_model.motion_vocab`. Generation runs the backbone's own
``generate`` with :class:`~motionvla_model.logits.MotionPhaseLogitsProcessor`, so every
sequence is ``[M_BOS, base…, M_SEP, phys…, M_EOS]`` with stream lengths fitting the requested
duration; the two code streams are decoded by the DSFT tokenizer into HumanML3D features and
then joint positions. A :class:`GenerationMonitor` watches every step: it stops on the
wall-clock budget, reports the first-token latency, and hands a coarse Base-only preview to
a callback as soon as a row emits M_SEP.

On a GPU the backbone runs in bfloat16 with SDPA attention; ``compile=True`` adds a static
KV cache and ``torch.compile`` of the decoding step (transformers compiles the forward pass
when the cache is static). On a CPU it runs in float32 with the dynamic cache.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import (
    CompileConfig,
    GenerationConfig,
    LogitsProcessorList,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
)

from .backbone import (
    attach_image_token_norm,
    get_family,
    init_linear_attention_memory,
    load_backbone,
    tiny_backbone_config,
)
from .compact_checkpoint import (
    is_compact_backbone,
    load_compact_backbone,
    load_tokenizer_reference,
    save_compact_backbone,
    write_tokenizer_reference,
)
from .configuration import ConfigurationError, MotionVLAConfig, SamplingOptions
from .dsft import DSFTConfig, DSFTTokenizer
from .images import ImagePreprocessor
from .logits import MotionPhaseLogitsProcessor
from .motion.features import features_to_joints
from .motion_vocab import MotionTokenMap, add_motion_tokens
from .plan import PlanFormatError, PlanGrammar, ScenePlan
from .prompt import PromptBatch, build_inputs
from .text_tokenizer import load_qwen3_5_tokenizer, load_tokenizer_folder

__all__ = [
    "CheckpointError",
    "GeneratedMotion",
    "GenerationMonitor",
    "MotionPreview",
    "MotionVLA",
    "build_tiny_motionvla",
    "synthetic_smooth_features",
    "tiny_dsft_tokenizer",
]

FORMAT_VERSION = 1
CONFIG_FILE = "motionvla.json"
MOTION_TOKENS_FILE = "motion_tokens.json"
BACKBONE_DIR = "backbone"
ADAPTER_DIR = "adapter"
TOKENIZER_DIR = "tokenizer"
DSFT_DIR = "dsft"
IMAGE_TOKEN_NORM_FILE = "image_token_norm.safetensors"
HUMANML3D_DIM = 263


class CheckpointError(RuntimeError):
    """A MotionVLA directory is missing parts or its parts disagree."""


@dataclass(frozen=True)
class MotionPreview:
    """A coarse motion from the Base stream alone, available as soon as M_SEP is produced."""

    row: int
    base_tokens: np.ndarray
    features: np.ndarray
    joints: np.ndarray
    elapsed_ms: float
    notes: list[str]


@dataclass
class GeneratedMotion:
    """One generated motion with its tokens, decoded features and joints, and how it ended.

    ``stop_reason`` is ``"complete"`` (M_EOS produced), ``"token_budget"`` (``max_new_tokens``
    reached first), ``"time_budget"`` (wall-clock budget reached first) or ``"stopped"``
    (the caller's ``should_stop`` returned true); an incomplete sequence is still decoded.
    ``notes`` says how the inputs were handled (truncation, image conversion), ``repairs``
    what parsing and decoding had to fix in the generated tokens. ``plan`` is the grounded
    plan the answer started with (:mod:`motionvla_model.plan`), ``None`` when the model
    answered with the motion alone.
    """

    text: str
    token_ids: np.ndarray
    base_tokens: np.ndarray
    phys_tokens: np.ndarray
    features: np.ndarray
    joints: np.ndarray
    fps: float
    stop_reason: str
    well_formed: bool
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    plan: ScenePlan | None = None

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps


class GenerationMonitor(StoppingCriteria):
    """Per-step hook: wall-clock budget, cancellation, first-token time, Base preview.

    transformers calls a stopping criterion once after every generated token with the ids
    so far, which makes it the one place that sees each step of every row.
    """

    def __init__(
        self,
        token_map: MotionTokenMap,
        prompt_length: int,
        time_budget_s: float,
        on_base_complete: Callable[[int, np.ndarray, float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.token_map = token_map
        self.prompt_length = prompt_length
        self.time_budget_s = time_budget_s
        self.on_base_complete = on_base_complete
        self.start = time.perf_counter()
        self.first_token_s: float | None = None
        self.should_stop = should_stop
        self.time_exceeded = False
        self.stopped = False
        self._previewed: set[int] = set()

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs
    ) -> torch.BoolTensor:
        elapsed = time.perf_counter() - self.start
        if self.first_token_s is None:
            self.first_token_s = elapsed
        if self.on_base_complete is not None:
            generated = input_ids[:, self.prompt_length :]
            has_sep = (generated == self.token_map.sep_id).any(dim=1).tolist()
            for row, ready in enumerate(has_sep):
                if ready and row not in self._previewed:
                    self._previewed.add(row)
                    ids = generated[row].cpu().numpy()
                    sep = int(np.flatnonzero(ids == self.token_map.sep_id)[0])
                    base = self.token_map.parse(ids[:sep]).base_codes
                    self.on_base_complete(row, base, elapsed * 1e3)
        self.time_exceeded = elapsed > self.time_budget_s
        self.stopped = self.should_stop is not None and bool(self.should_stop())
        return torch.full(
            (input_ids.shape[0],),
            self.time_exceeded or self.stopped,
            dtype=torch.bool,
            device=input_ids.device,
        )


def _resolve_device(device: str | torch.device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if isinstance(dtype, str):
        resolved = getattr(torch, dtype, None)
        if not isinstance(resolved, torch.dtype):
            raise ConfigurationError(f"unknown dtype {dtype!r}")
        return resolved
    return dtype


class MotionVLA:
    """The generator: a Qwen backbone with motion tokens, its tokenizers and the DSFT decoder."""

    def __init__(
        self,
        config: MotionVLAConfig,
        backbone: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        token_map: MotionTokenMap,
        dsft: DSFTTokenizer,
        *,
        compile: bool = False,
    ) -> None:
        if (dsft.base_vocab_size, dsft.phys_vocab_size) != (
            token_map.base_vocab_size,
            token_map.phys_vocab_size,
        ):
            raise ConfigurationError(
                f"DSFT vocabularies ({dsft.base_vocab_size}, {dsft.phys_vocab_size}) differ from "
                f"the motion tokens ({token_map.base_vocab_size}, {token_map.phys_vocab_size})"
            )
        if dsft.layout.dim != HUMANML3D_DIM:
            raise ConfigurationError(
                f"MotionVLA decodes HumanML3D features ({HUMANML3D_DIM}-d); "
                f"the DSFT tokenizer uses {dsft.layout.dim}-d layout {dsft.layout.name!r}"
            )
        token_map.check_against(tokenizer)
        self.config = config
        self.backbone = backbone.eval()
        self.tokenizer = tokenizer
        self.token_map = token_map
        self.dsft = dsft
        self.family = get_family(config.family)
        self.image_preprocessor = (
            ImagePreprocessor(self.family, config) if self.family.multimodal else None
        )
        self.plan_grammar = (
            PlanGrammar(tokenizer, config.plan_targets) if config.plan_targets else None
        )
        self.compile = compile

    # ------------------------------------------------------------------ building

    @property
    def device(self) -> torch.device:
        return self.backbone.device

    @property
    def dtype(self) -> torch.dtype:
        return self.backbone.dtype

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.backbone.parameters())

    def answer_token_ids(self) -> torch.Tensor:
        """Every token an answer can hold, sorted: the motion tokens and, for a model with
        plan targets, the plan's vocabulary (the rows phase 1 trains, the loss's softmax)."""
        tm = self.token_map
        ids = {*tm.base_ids.tolist(), *tm.phys_ids.tolist(), tm.bos_id, tm.sep_id, tm.eos_id}
        if self.plan_grammar is not None:
            ids |= self.plan_grammar.vocabulary
        return torch.tensor(sorted(ids), dtype=torch.long)

    @classmethod
    def build(
        cls,
        config: MotionVLAConfig,
        dsft_tokenizer: DSFTTokenizer,
        *,
        seed: int = 0,
        hidden_size: int = 64,
        num_layers: int = 2,
        device: str | torch.device = "cpu",
        dtype: str | torch.dtype = "auto",
    ) -> MotionVLA:
        """A randomly initialised tiny backbone of ``config.family`` with the real Qwen3.5
        vocabulary plus the DSFT tokenizer's motion tokens (Gated DeltaNet layers get a
        long memory: :func:`~motionvla_model.backbone.init_linear_attention_memory`)."""
        tokenizer, token_map = _motion_tokenizer(
            dsft_tokenizer.base_vocab_size, dsft_tokenizer.phys_vocab_size
        )
        config = _with_vocab(config, dsft_tokenizer, f"tiny-{config.family}")
        vocab_size = _padded(len(tokenizer))
        backbone_config = tiny_backbone_config(
            config.family, vocab_size, hidden_size=hidden_size, num_layers=num_layers
        )
        torch_device = _resolve_device(device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            backbone = get_family(config.family).model_class._from_config(
                backbone_config, attn_implementation="sdpa"
            )
        init_linear_attention_memory(backbone, torch.Generator().manual_seed(seed))
        if config.image_token_norm:
            attach_image_token_norm(backbone)
        backbone.to(device=torch_device, dtype=_resolve_dtype(dtype, torch_device))
        return cls(config, backbone, tokenizer, token_map, dsft_tokenizer)

    @classmethod
    def from_backbone(
        cls,
        backbone_dir: str | Path,
        dsft_tokenizer: DSFTTokenizer,
        config: MotionVLAConfig | None = None,
        *,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "auto",
    ) -> MotionVLA:
        """A downloaded Qwen backbone (local folder) extended with the motion vocabulary.

        The folder's own tokenizer (``tokenizer.json``) is used. When the embedding has too
        few rows for the motion tokens it grows; new rows start at the mean of the existing
        ones (transformers' ``mean_resizing``), the usual start for new tokens.
        """
        torch_device = _resolve_device(device)
        family, backbone = load_backbone(
            backbone_dir,
            dtype=_resolve_dtype(dtype, torch_device),
            attn_implementation="sdpa",
        )
        tokenizer = load_tokenizer_folder(backbone_dir)
        token_map = add_motion_tokens(
            tokenizer, dsft_tokenizer.base_vocab_size, dsft_tokenizer.phys_vocab_size
        )
        _fit_embeddings(backbone, len(tokenizer))
        config = _with_vocab(
            config or MotionVLAConfig(family=family), dsft_tokenizer, str(backbone_dir)
        )
        if config.family != family:
            raise ConfigurationError(f"config says {config.family!r}, {backbone_dir} is {family!r}")
        if config.image_token_norm:
            attach_image_token_norm(backbone)
        return cls(config, backbone.to(torch_device), tokenizer, token_map, dsft_tokenizer)

    # ---------------------------------------------------------------- checkpoints

    def save_pretrained(self, directory: str | Path, *, compact: bool = False) -> Path:
        """Write the checkpoint folder (safetensors + JSON only).

        A backbone wrapped by PEFT is saved as its adapter (``adapter/``) plus the base
        folder named by ``config.backbone_reference`` when that folder exists, and merged
        into full weights otherwise; a plain backbone as full weights (``backbone/``).

        ``compact`` stores the tokenizer as a reference to the offline Qwen3.5 tokenizer and
        the embedding as its non-zero rows (:mod:`motionvla_model.compact_checkpoint`): a
        small model over the full vocabulary then takes megabytes instead of ~100 MB.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.to_json(directory / CONFIG_FILE)
        meta = json.loads((directory / CONFIG_FILE).read_text())
        meta["format_version"] = FORMAT_VERSION
        (directory / CONFIG_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        with self._image_token_norm_apart(directory):
            self._save_backbone(directory, compact)
        if compact:
            write_tokenizer_reference(self.tokenizer, self.token_map, directory / TOKENIZER_DIR)
        else:
            self.tokenizer.save_pretrained(directory / TOKENIZER_DIR)
        self.token_map.to_json(directory / MOTION_TOKENS_FILE)
        self.dsft.save_pretrained(directory / DSFT_DIR)
        return directory

    @contextlib.contextmanager
    def _image_token_norm_apart(self, directory: Path):
        """Save the image-token norm to its own file and keep it out of the backbone's
        weights while they are written, so the backbone folder stays a plain Hugging Face
        model (the norm keeps running on the merger meanwhile: its hook is untouched)."""
        visual = getattr(getattr(self._plain_backbone(), "model", None), "visual", None)
        norm = None if visual is None else visual._modules.pop("token_norm", None)
        try:
            if norm is not None:
                state = {k: v.detach().cpu().contiguous() for k, v in norm.state_dict().items()}
                save_file(state, str(directory / IMAGE_TOKEN_NORM_FILE))
            yield
        finally:
            if norm is not None:
                visual.add_module("token_norm", norm)

    def _plain_backbone(self) -> PreTrainedModel:
        backbone = self.backbone
        return backbone.get_base_model() if isinstance(backbone, PeftModel) else backbone

    def _save_backbone(self, directory: Path, compact: bool) -> None:
        base = Path(self.config.backbone_reference)
        if isinstance(self.backbone, PeftModel) and (base / "config.json").is_file():
            # The embedding travels with the adapter: its motion-token rows are trained state
            # that the base folder does not have.
            self.backbone.save_pretrained(
                directory / ADAPTER_DIR, safe_serialization=True, save_embedding_layers=True
            )
        else:
            # No base folder to refer to (e.g. a tiny built model): merge a copy, keep the
            # live adapter untouched for further training.
            backbone = (
                copy.deepcopy(self.backbone).merge_and_unload()
                if isinstance(self.backbone, PeftModel)
                else self.backbone
            )
            if compact:
                save_compact_backbone(backbone, directory / BACKBONE_DIR)
            else:
                backbone.save_pretrained(directory / BACKBONE_DIR, safe_serialization=True)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "auto",
        *,
        compile: bool = False,
    ) -> MotionVLA:
        """Load a checkpoint folder written by :meth:`save_pretrained` (never from a hub)."""
        directory = Path(directory)
        adapter = (directory / ADAPTER_DIR).is_dir()
        weights = ADAPTER_DIR if adapter else BACKBONE_DIR
        parts = [CONFIG_FILE, weights, TOKENIZER_DIR, MOTION_TOKENS_FILE, DSFT_DIR]
        missing = [p for p in parts if not (directory / p).exists()]
        if missing:
            raise CheckpointError(f"{directory} is not a MotionVLA checkpoint: missing {missing}")
        meta = json.loads((directory / CONFIG_FILE).read_text())
        if meta.pop("format_version", None) != FORMAT_VERSION:
            raise CheckpointError(f"{directory / CONFIG_FILE}: unsupported format_version")
        config = MotionVLAConfig(**meta)
        tokenizer = load_tokenizer_reference(directory / TOKENIZER_DIR) or load_tokenizer_folder(
            directory / TOKENIZER_DIR
        )
        torch_device = _resolve_device(device)
        weights_dir = config.backbone_reference if adapter else directory / BACKBONE_DIR
        load = load_compact_backbone if is_compact_backbone(weights_dir) else load_backbone
        family, backbone = load(
            weights_dir, dtype=_resolve_dtype(dtype, torch_device), attn_implementation="sdpa"
        )
        if family != config.family:
            raise CheckpointError(f"backbone is {family!r} but the config says {config.family!r}")
        if adapter:
            _fit_embeddings(backbone, len(tokenizer))
            # Merged for inference: the same function, without the adapter's extra matmuls.
            backbone = PeftModel.from_pretrained(backbone, directory / ADAPTER_DIR)
            backbone = backbone.merge_and_unload()
        if config.image_token_norm:
            norm_file = directory / IMAGE_TOKEN_NORM_FILE
            if not norm_file.is_file():
                raise CheckpointError(f"{directory}: missing {IMAGE_TOKEN_NORM_FILE}")
            attach_image_token_norm(backbone).load_state_dict(load_file(str(norm_file)))
        token_map = MotionTokenMap.from_json(directory / MOTION_TOKENS_FILE)
        dsft = DSFTTokenizer.from_pretrained(directory / DSFT_DIR)
        return cls(config, backbone.to(torch_device), tokenizer, token_map, dsft, compile=compile)

    # ----------------------------------------------------------------- generation

    def stream_bounds(self, duration_s: float) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((min, max) Base tokens, (min, max) Phys tokens)`` for a motion of ``duration_s``.

        The DSFT tokenizer's hard bounds for that many frames, tightened to
        ``rate * d * (1 ± length_tolerance)`` around its measured tokens per second.
        """
        if not (math.isfinite(duration_s) and 0 < duration_s <= self.config.max_duration_s):
            raise ConfigurationError(
                f"duration_s must be in (0, {self.config.max_duration_s}], got {duration_s!r}"
            )
        budget = self.dsft.token_budget(duration_s)
        tol = self.config.length_tolerance
        out = []
        for stream, low, high in (
            ("base", budget.base_min, budget.base_max),
            ("phys", budget.phys_min, budget.phys_max),
        ):
            expected = self.dsft.tokens_per_second[stream] * duration_s
            lo = min(max(low, math.floor(expected * (1 - tol))), high)
            hi = max(min(high, math.ceil(expected * (1 + tol))), lo)
            out.append((max(lo, 1), max(hi, 1)))
        return out[0], out[1]

    def prepare(
        self, texts: Sequence[object], images: Sequence[np.ndarray | None] | None = None
    ) -> PromptBatch:
        """Prompts for ``texts``; a text-only backbone ignores images (with a note)."""
        ignored = (
            not self.family.multimodal
            and images is not None
            and any(image is not None for image in images)
        )
        batch = build_inputs(
            self.tokenizer,
            self.config,
            list(texts),
            None if ignored else images,
            self.image_preprocessor,
        )
        if ignored:
            for notes in batch.notes:
                notes.append("text-only backbone: image ignored")
        return batch

    @torch.no_grad()
    def next_token_logits(self, text: object, image: np.ndarray | None = None) -> torch.Tensor:
        """Logits ``[vocab]`` for the first generated token (for checks and evaluation)."""
        batch = self.prepare([text], None if image is None else [image])
        out = self.backbone(**batch.model_kwargs(self.device, self.dtype))
        return out.logits[0, -1].float().cpu()

    def generate(
        self,
        text: object,
        image: np.ndarray | None = None,
        duration_s: float | None = None,
        seed: int | None = None,
        **options,
    ) -> GeneratedMotion:
        """One motion for one command (see :meth:`generate_batch` for the options)."""
        return self.generate_batch(
            [text], None if image is None else [image], [duration_s], seed=seed, **options
        )[0]

    @torch.no_grad()
    def generate_batch(
        self,
        texts: Sequence[object],
        images: Sequence[np.ndarray | None] | None = None,
        durations_s: Sequence[float | None] | None = None,
        seed: int | None = None,
        *,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_new_tokens: int | None = None,
        time_budget_s: float | None = None,
        on_base_complete: Callable[[MotionPreview], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        phase_mask: bool = True,
    ) -> list[GeneratedMotion]:
        """Motions for several commands in one batch (each row in its own phase).

        ``temperature == 0`` is greedy search; otherwise sampling with ``temperature`` and
        nucleus ``top_p``, reproducible with ``seed`` (the caller's RNG state is restored).
        ``max_new_tokens`` and ``time_budget_s`` default to the configuration's budgets.
        ``on_base_complete`` receives a :class:`MotionPreview` per row as soon as its Base
        stream is complete; ``should_stop`` is polled after every token and ends generation
        early when it returns true (what has been generated is still decoded).
        ``phase_mask=False`` turns the mask off (for measuring how
        often an unconstrained model produces ill-formed sequences).
        """
        start = time.perf_counter()
        sampling = SamplingOptions(temperature=temperature, top_p=top_p)
        durations = list(durations_s) if durations_s is not None else [None] * len(texts)
        if len(durations) != len(texts):
            raise ConfigurationError(f"{len(texts)} commands but {len(durations)} durations")
        durations = [self.config.default_duration_s if d is None else float(d) for d in durations]
        bounds = [self.stream_bounds(d) for d in durations]
        batch = self.prepare(texts, images)
        prompt_length = batch.input_ids.shape[1]
        budget_tokens = max_new_tokens or self.config.max_new_tokens
        if budget_tokens <= 0:
            raise ConfigurationError(f"max_new_tokens must be > 0, got {budget_tokens}")

        previews: Callable[[int, np.ndarray, float], None] | None = None
        if on_base_complete is not None:

            def previews(row: int, base: np.ndarray, elapsed_ms: float) -> None:
                decoded = self.dsft.decode_base_only(base)
                on_base_complete(
                    MotionPreview(
                        row=row,
                        base_tokens=base,
                        features=decoded.features,
                        joints=features_to_joints(decoded.features),
                        elapsed_ms=elapsed_ms,
                        notes=decoded.repairs,
                    )
                )

        monitor = GenerationMonitor(
            self.token_map,
            prompt_length,
            time_budget_s or self.config.time_budget_s,
            previews,
            should_stop,
        )
        processors = LogitsProcessorList()
        if phase_mask:
            processors.append(
                MotionPhaseLogitsProcessor(
                    self.token_map,
                    prompt_length,
                    torch.tensor([b[0] for b in bounds]),
                    torch.tensor([b[1] for b in bounds]),
                    self.tokenizer.pad_token_id,
                    self.plan_grammar,
                )
            )
        generation_config = self._generation_config(sampling, budget_tokens)
        prompt_ms = (time.perf_counter() - start) * 1e3
        generate_start = time.perf_counter()
        with torch.random.fork_rng(devices=self._rng_devices()):
            if seed is not None:
                torch.manual_seed(seed)
            sequences = self.backbone.generate(
                **batch.model_kwargs(self.device, self.dtype),
                generation_config=generation_config,
                logits_processor=processors,
                stopping_criteria=StoppingCriteriaList([monitor]),
            )
        generate_ms = (time.perf_counter() - generate_start) * 1e3
        generated = sequences[:, prompt_length:].cpu().numpy()
        timings = {
            "prompt_ms": prompt_ms,
            "first_token_ms": (monitor.first_token_s or 0.0) * 1e3,
            "generate_ms": generate_ms,
        }
        results = []
        for row, ids in enumerate(generated):
            decode_start = time.perf_counter()
            motion = self._decode_row(ids, bounds[row], monitor)
            motion.text = batch.texts[row]
            motion.notes = list(batch.notes[row])
            motion.timings = timings | {
                "decode_ms": (time.perf_counter() - decode_start) * 1e3,
                "total_ms": (time.perf_counter() - start) * 1e3,
            }
            results.append(motion)
        return results

    def _decode_row(
        self,
        ids: np.ndarray,
        bounds: tuple[tuple[int, int], tuple[int, int]],
        monitor: GenerationMonitor,
    ) -> GeneratedMotion:
        """One row of generated ids (up to M_EOS) -> decoded motion, with how it ended."""
        eos_at = np.flatnonzero(ids == self.token_map.eos_id)
        if eos_at.size:
            ids, stop_reason = ids[: eos_at[0] + 1], "complete"
        elif monitor.stopped:
            stop_reason = "stopped"
        elif monitor.time_exceeded:
            stop_reason = "time_budget"
        else:
            stop_reason = "token_budget"
        bos_at = np.flatnonzero(ids == self.token_map.bos_id)
        plan_ids = ids[: bos_at[0]] if bos_at.size and self.plan_grammar is not None else ids[:0]
        plan, plan_notes = self._read_plan(plan_ids)
        parsed = self.token_map.parse(ids[len(plan_ids) :])
        (b_lo, b_hi), (p_lo, p_hi) = bounds
        decoded = self.dsft.decode(parsed.base_codes, parsed.phys_codes)
        return GeneratedMotion(
            text="",
            token_ids=ids.astype(np.int64),
            base_tokens=parsed.base_codes,
            phys_tokens=parsed.phys_codes,
            features=decoded.features,
            joints=features_to_joints(decoded.features),
            fps=float(self.dsft.config.fps),
            stop_reason=stop_reason,
            well_formed=parsed.well_formed
            and not plan_notes
            and b_lo <= len(parsed.base_codes) <= b_hi
            and p_lo <= len(parsed.phys_codes) <= p_hi,
            repairs=plan_notes + parsed.notes + decoded.repairs,
            plan=plan,
        )

    def _read_plan(self, ids: np.ndarray) -> tuple[ScenePlan | None, list[str]]:
        """The plan spelled by the ids before M_BOS; a malformed one is dropped with a note."""
        if not ids.size:
            return None, []
        assert self.plan_grammar is not None
        try:
            return self.plan_grammar.decode(ids.tolist(), self.tokenizer), []
        except PlanFormatError as error:
            return None, [f"plan dropped: {error}"]

    def _rng_devices(self) -> list:
        return [self.device] if self.device.type == "cuda" else []

    def _generation_config(
        self, sampling: SamplingOptions, max_new_tokens: int
    ) -> GenerationConfig:
        options = {
            "max_new_tokens": max_new_tokens,
            "eos_token_id": self.token_map.eos_id,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": not sampling.greedy,
            "use_cache": True,
        }
        if not sampling.greedy:
            options |= {"temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 0}
        if self.compile:
            # A static cache gives fixed shapes, so the decoding step compiles once.
            options |= {
                "cache_implementation": "static",
                "compile_config": CompileConfig(fullgraph=False, dynamic=False),
            }
        else:
            options["disable_compile"] = True
        return GenerationConfig(**options)


def _padded(vocab_size: int, multiple: int = 64) -> int:
    """Embedding rows: the tokenizer size rounded up so matrix shapes suit GPU kernels."""
    return -(-vocab_size // multiple) * multiple


def _fit_embeddings(backbone: PreTrainedModel, num_tokens: int) -> None:
    """Grow the embedding (to a multiple of 64 rows) when it cannot hold every token id."""
    if backbone.get_input_embeddings().num_embeddings < num_tokens:
        backbone.resize_token_embeddings(_padded(num_tokens))


def _with_vocab(config: MotionVLAConfig, dsft: DSFTTokenizer, reference: str) -> MotionVLAConfig:
    values = {**config.__dict__}
    values |= {
        "base_vocab_size": dsft.base_vocab_size,
        "phys_vocab_size": dsft.phys_vocab_size,
        "backbone_reference": config.backbone_reference or reference,
    }
    return MotionVLAConfig(**values)


@functools.lru_cache(maxsize=4)
def _motion_tokenizer(
    base_vocab_size: int, phys_vocab_size: int
) -> tuple[PreTrainedTokenizerBase, MotionTokenMap]:
    # Loading the 248k-token vocabulary takes seconds; models built in one process share
    # the (read-only) tokenizer instead of loading it again.
    tokenizer = load_qwen3_5_tokenizer()
    token_map = add_motion_tokens(tokenizer, base_vocab_size, phys_vocab_size)
    return tokenizer, token_map


def synthetic_smooth_features(
    num_clips: int = 8, num_frames: int = 80, seed: int = 0
) -> list[np.ndarray]:
    """Smooth random ``[T, 263]`` feature sequences (sums of slow sinusoids per dimension).

    Enough to train a small DSFT tokenizer for tests; not a plausible human motion.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None] / 20.0
    clips = []
    for _ in range(num_clips):
        frequency = rng.uniform(0.1, 1.0, size=(3, HUMANML3D_DIM))
        phase = rng.uniform(0, 2 * np.pi, size=(3, HUMANML3D_DIM))
        amplitude = rng.uniform(0.05, 0.5, size=(3, HUMANML3D_DIM))
        x = sum(
            a * np.sin(2 * np.pi * f * t + p)
            for a, f, p in zip(amplitude, frequency, phase, strict=True)
        )
        x[:, 3] += 0.9  # root height around a standing pelvis
        x[:, 259:] = (x[:, 259:] > 0).astype(np.float64)  # foot contacts are 0/1
        clips.append(x.astype(np.float32))
    return clips


@functools.lru_cache(maxsize=2)
def tiny_dsft_tokenizer(seed: int = 0) -> DSFTTokenizer:
    """A small DSFT tokenizer trained on :func:`synthetic_smooth_features` (cached)."""
    # Few components and coefficients: about 7 Base and 4 Phys tokens per second, so
    # tests generate whole motions in a few dozen steps.
    config = DSFTConfig(base_components=4, phys_components=2, k_base=2, k_phys=2)
    # A vocabulary just above each stream's alphabet keeps the embedding matrix small.
    config = dataclasses.replace(
        config,
        base_vocab_size=config.alphabet_size("base") + 64,
        phys_vocab_size=config.alphabet_size("phys") + 64,
    )
    return DSFTTokenizer.train(synthetic_smooth_features(num_clips=6, seed=seed), config)


def build_tiny_motionvla(
    dsft_tokenizer: DSFTTokenizer | None = None,
    family: str = "qwen3_5",
    seed: int = 0,
    **config_overrides,
) -> MotionVLA:
    """A real, tiny, randomly initialised MotionVLA in seconds (for tests of other parts).

    Without ``dsft_tokenizer`` a small DSFT tokenizer is trained on
    :func:`synthetic_smooth_features` (cached per process).
    """
    dsft = dsft_tokenizer if dsft_tokenizer is not None else tiny_dsft_tokenizer(seed)
    return MotionVLA.build(MotionVLAConfig(family=family, **config_overrides), dsft, seed=seed)
