"""DSFT: the dual-stream frequency tokenizer that turns motion features into tokens.

A feature sequence ``x [T, D]`` (HumanML3D 263-d by default) becomes two token streams,
**Base** (pose dims) and **Phys** (dynamics dims), each coded the same way:

1. normalise per dimension, ``z = (x - mean) / std`` (:class:`FeatureStats`);
2. weight each dimension by how far it moves the joints, ``y = z * w`` (``w_d`` is the
   measured mean joint displacement per unit of ``z_d``, floored so that dims the joint
   recovery ignores are still coded), so squared error in ``y`` tracks joint error;
3. project onto the stream's first ``P`` principal directions, ``a = y U`` (``U [D_s, P]``
   orthonormal, learned on the training clips): body dims move together, so a few
   components carry almost all of the energy;
4. cut ``a`` into windows of ``W`` frames and keep the first ``K`` DCT coefficients of
   each component per window (:mod:`motionvla_model.dsft.dct`): quality does not depend on
   clip length, and the window count is the clip length;
5. quantise with one step per stream, ``q = clip(round(c / step), -L, L)``; by reverse
   water-filling, one step for all coefficients of an orthonormal transform minimises
   squared error at a given rate, so the weighting of step 2 decides what is precise
   (rounding has a dead zone, and the Phys DC rounding error is fed into the next
   window so integrated root motion does not drift);
6. order each window's ``K * P`` integers by decreasing training variance (zeros
   gather at the end) and compress with byte-pair encoding
   (:class:`~motionvla_model.dsft.integer_bpe.IntegerBPE`), one pre-token per window.

The Base stream ends with one frame-count marker (frames in the last window), so
``num_frames = (n_windows - 1) * W + marker`` is recovered from the tokens alone.
Decoding inverts every step and then smooths the Base stream's step at each window
boundary (a deblocking filter, :func:`~motionvla_model.dsft.dct.smooth_window_boundaries`:
independently coded windows are worst at their edges). It accepts any integer
sequences and repairs what does not parse (unknown ids dropped, partial windows
zero-filled, stream lengths matched, length capped), listing each repair in
:attr:`DecodedMotion.repairs`. A coefficient of
zero is the training mean, so every repair falls back towards the mean motion.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motionvla_model.dsft.dct import (
    frame_windows,
    num_windows,
    smooth_seams,
    smooth_window_boundaries,
    window_dct,
    window_idct,
)
from motionvla_model.dsft.integer_bpe import IntegerBPE, as_token_ids
from motionvla_model.motion.features import features_to_joints
from motionvla_model.motion.foot_contact import FootPlanting, plant_feet
from motionvla_model.motion.layouts import FeatureLayout, UnknownLayoutError, get_layout
from motionvla_model.motion.normalization import FeatureStats
from motionvla_model.motion.skeleton import MotionShapeError, NonFiniteMotionError

__all__ = [
    "DSFTCheckpointError",
    "DSFTConfig",
    "DSFTConfigError",
    "DSFTTokenizer",
    "DecodeOptions",
    "DecodedMotion",
    "MotionTokens",
    "TokenBudget",
]

FORMAT_VERSION = 1
CONFIG_FILE = "dsft.json"
BASE_TOKENIZER_FILE = "base_tokenizer.json"
PHYS_TOKENIZER_FILE = "phys_tokenizer.json"
EXTENT_MARGIN = 3.0
SEAMS = ("smooth", "deblock")


class DSFTConfigError(ValueError):
    """A :class:`DSFTConfig` field is out of range or inconsistent."""


class DSFTCheckpointError(ValueError):
    """A saved tokenizer directory is missing files or does not match this version."""


@dataclass(frozen=True)
class DSFTConfig:
    """Settings of a DSFT tokenizer (validated on construction).

    ``k_*`` DCT coefficients are kept per component per window of ``window_frames``;
    ``*_components`` principal directions per stream; ``*_step`` is the quantisation
    step in weighted normalised units, and ``q = sign(c) floor(|c| / step + rounding)``
    (``rounding = 0.5`` is plain rounding; less widens the zero bin, a dead zone that
    saves more tokens than it costs accuracy); quantised values are clamped to
    ``[-max_level, max_level]`` (a coefficient whose training range would not fit gets a
    wider step). ``joint_weighting`` weights dimensions by measured joint sensitivity,
    floored at ``min_dim_weight`` of the median weight; ``phys_feedback`` carries each
    Phys window's DC rounding error into the next window. The decoder smooths the
    Base stream's step at each window boundary over ``boundary_reach`` frames on either
    side (:func:`~motionvla_model.dsft.dct.smooth_window_boundaries`; 0 turns it off).
    Decoding caps motion at ``max_seconds``.
    """

    layout: str = "humanml3d"
    fps: float = 20.0
    window_frames: int = 20
    base_components: int = 32
    phys_components: int = 12
    k_base: int = 5
    k_phys: int = 4
    base_step: float = 1.2
    phys_step: float = 3.75
    max_level: int = 255
    base_vocab_size: int = 4096
    phys_vocab_size: int = 4096
    joint_weighting: bool = True
    phys_feedback: bool = True
    rounding: float = 0.35
    min_dim_weight: float = 0.02
    boundary_reach: int = 2
    max_seconds: float = 60.0

    def __post_init__(self) -> None:
        try:
            layout = get_layout(self.layout)
        except UnknownLayoutError as error:
            raise DSFTConfigError(str(error)) from None
        checks = [
            (math.isfinite(self.fps) and self.fps > 0, f"fps must be > 0, got {self.fps}"),
            (self.window_frames >= 2, f"window_frames must be >= 2, got {self.window_frames}"),
            (self.max_level >= 1, f"max_level must be >= 1, got {self.max_level}"),
            (0 < self.min_dim_weight <= 1, "min_dim_weight must be in (0, 1]"),
            (0 < self.rounding <= 0.5, f"rounding must be in (0, 0.5], got {self.rounding}"),
            (
                0 <= self.boundary_reach <= self.window_frames // 2,
                f"boundary_reach must be in [0, window_frames // 2], got {self.boundary_reach}",
            ),
            (
                math.isfinite(self.max_seconds) and self.max_seconds * self.fps >= 1,
                f"max_seconds must cover at least one frame, got {self.max_seconds}",
            ),
        ]
        for stream, dim in (("base", layout.base_dim), ("phys", layout.phys_dim)):
            k, components = getattr(self, f"k_{stream}"), getattr(self, f"{stream}_components")
            step, vocab = getattr(self, f"{stream}_step"), getattr(self, f"{stream}_vocab_size")
            checks += [
                (1 <= k <= self.window_frames, f"k_{stream} must be in [1, window_frames]"),
                (1 <= components <= dim, f"{stream}_components must be in [1, {dim}]"),
                (math.isfinite(step) and step > 0, f"{stream}_step must be > 0, got {step}"),
                (
                    vocab >= self.alphabet_size(stream),
                    f"{stream}_vocab_size {vocab} is below its alphabet of "
                    f"{self.alphabet_size(stream)} symbols",
                ),
            ]
        for ok, message in checks:
            if not ok:
                raise DSFTConfigError(message)

    def alphabet_size(self, stream: str) -> int:
        """Symbols before BPE: quantised levels (+ frame-count markers in the Base stream)."""
        levels = 2 * self.max_level + 1
        return levels + self.window_frames if stream == "base" else levels

    def symbols_per_window(self, stream: str) -> int:
        return getattr(self, f"k_{stream}") * getattr(self, f"{stream}_components")

    @property
    def max_windows(self) -> int:
        return num_windows(round(self.max_seconds * self.fps), self.window_frames)


@dataclass(frozen=True)
class DecodeOptions:
    """How decoding turns coefficients into features; chosen when a tokenizer is loaded
    or built, never saved with it (it changes no token's meaning).

    ``seams``: ``"smooth"`` rebuilds the frames next to every window boundary of both
    streams from the windows' interiors with a least-jerk smoothing spline
    (:func:`~motionvla_model.dsft.dct.smooth_seams`), so seams show neither as steps nor
    as acceleration spikes; ``"deblock"`` is the earlier decoder: only the Base
    stream's step at each boundary is removed, over ``boundary_reach`` frames
    (:func:`~motionvla_model.dsft.dct.smooth_window_boundaries`).
    ``plant_feet``: HumanML3D features get their feet planted where their contact
    channels (and the floor) say so (:func:`motionvla_model.motion.foot_contact.plant_feet`);
    ``None`` leaves the joints as decoded. Other layouts are never changed.
    :meth:`previous` decodes exactly as tokenizers did before these options existed.
    """

    seams: str = "smooth"
    plant_feet: FootPlanting | None = field(default_factory=FootPlanting)

    def __post_init__(self) -> None:
        if self.seams not in SEAMS:
            raise DSFTConfigError(f"seams must be one of {SEAMS}, got {self.seams!r}")
        if self.plant_feet is not None and not isinstance(self.plant_feet, FootPlanting):
            raise DSFTConfigError(
                f"plant_feet must be a FootPlanting or None, got {self.plant_feet!r}"
            )

    @classmethod
    def previous(cls) -> DecodeOptions:
        return cls(seams="deblock", plant_feet=None)


@dataclass(frozen=True)
class MotionTokens:
    """Token ids of one motion: ``base`` then ``phys`` (int64), and coefficients clamped."""

    base: np.ndarray
    phys: np.ndarray
    num_frames: int
    clamped: int = 0


@dataclass(frozen=True)
class DecodedMotion:
    """Features ``[num_frames, D]`` (float32, finite) and every repair made on the way."""

    features: np.ndarray
    num_frames: int
    repairs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TokenBudget:
    """Guaranteed token-count bounds of each stream for a motion of a given length."""

    num_frames: int
    base_min: int
    base_max: int
    phys_min: int
    phys_max: int


@dataclass
class _StreamTransform:
    """Weighting, principal basis, windowed DCT and quantiser of one stream."""

    dims: np.ndarray  # [D_s] feature indices
    weights: np.ndarray  # [D_s]
    basis: np.ndarray  # [D_s, P], orthonormal columns
    order: np.ndarray  # [K * P] flattened (k, p) positions, by decreasing variance
    keep: int
    steps: np.ndarray  # [K, P] quantisation step per coefficient
    window_frames: int
    max_level: int

    feedback: bool  # carry the DC rounding error into the next window of the clip
    rounding: float  # 0.5: round to nearest; smaller: a wider zero bin (dead zone)

    def quantise(
        self, z_windows: np.ndarray, counts: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Normalised windows ``[n, W, D_s]`` of clips with ``counts`` windows each ->
        symbols ``[n, K * P]`` and clamps per window.

        With ``feedback`` the DC coefficient of window ``i`` is quantised with the
        rounding error of window ``i - 1`` added (noise feedback, as in delta-sigma
        coding): the running sum of decoded DC values, hence of anything the decoder
        integrates (root trajectory and heading), stays within one step of the truth
        instead of drifting as a random walk.
        """
        coefficients = window_dct((z_windows * self.weights) @ self.basis, self.keep)
        scaled = coefficients / self.steps
        levels = np.sign(scaled) * np.floor(np.abs(scaled) + self.rounding)
        if self.feedback:
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
            counts = np.asarray(counts)
            carry = np.zeros((len(counts), coefficients.shape[2]))
            for position in range(int(counts.max(initial=0))):
                live = counts > position
                rows = starts[live] + position
                target = coefficients[rows, 0] / self.steps[0] + carry[live]
                levels[rows, 0] = np.rint(target)
                # A clamped window's error is not carried on: it would only grow.
                carry[live] = np.clip(target - levels[rows, 0], -0.5, 0.5)
        clamped = np.count_nonzero(np.abs(levels) > self.max_level, axis=(1, 2))
        levels = np.clip(levels, -self.max_level, self.max_level).astype(np.int64)
        return levels.reshape(len(levels), -1)[:, self.order] + self.max_level, clamped

    def coefficients(self, symbols: np.ndarray) -> np.ndarray:
        """Symbols ``[n, K * P]`` -> DCT coefficients of the components ``[n, K, P]``."""
        levels = np.empty_like(symbols)
        levels[:, self.order] = symbols - self.max_level
        return levels.reshape(len(levels), self.keep, -1) * self.steps

    def reconstruct(self, coefficients: np.ndarray, seams: str) -> np.ndarray:
        """Coefficients ``[n, K, P]`` of one clip's consecutive windows -> normalised
        frames ``[n W, D_s]``, the windows joined as ``seams`` says (see DecodeOptions)."""
        windows = window_idct(coefficients, self.window_frames)
        if seams == "smooth":
            # Back in window shape for the projection: numpy multiplies a stack of small
            # matrices without handing one large product to a multi-threaded BLAS, which
            # is several times slower on a busy machine.
            components = smooth_seams(windows.reshape(-1, windows.shape[2]), self.window_frames)
            windows = components.reshape(windows.shape)
        return ((windows @ self.basis.T) / self.weights).reshape(-1, len(self.dims))

    def to_dict(self) -> dict:
        return {
            "dims": self.dims.tolist(),
            "weights": self.weights.tolist(),
            "basis": self.basis.tolist(),
            "order": self.order.tolist(),
            "steps": self.steps.tolist(),
        }


def _principal_basis(y: np.ndarray, components: int) -> np.ndarray:
    """Top ``components`` eigenvectors of the second-moment matrix of rows ``y``."""
    eigenvalues, eigenvectors = np.linalg.eigh(y.T @ y / max(len(y), 1))
    top = np.argsort(eigenvalues)[::-1][:components]
    basis = eigenvectors[:, top]
    # Fix each column's sign so the same data always gives the same basis.
    signs = np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(basis.shape[1])])
    return basis * np.where(signs == 0, 1.0, signs)


class DSFTTokenizer:
    """Trained DSFT tokenizer (see the module docstring for the transform)."""

    def __init__(
        self,
        config: DSFTConfig,
        stats: FeatureStats,
        base: _StreamTransform,
        phys: _StreamTransform,
        base_bpe: IntegerBPE,
        phys_bpe: IntegerBPE,
        tokens_per_second: dict[str, float],
        decode_options: DecodeOptions | None = None,
    ) -> None:
        self.config = config
        self.decode_options = decode_options or DecodeOptions()
        self.stats = stats
        self.layout: FeatureLayout = get_layout(config.layout)
        self._streams = {"base": base, "phys": phys}
        self._bpe = {"base": base_bpe, "phys": phys_bpe}
        self.tokens_per_second = dict(tokens_per_second)

    # ----------------------------------------------------------------- training

    @classmethod
    def train(
        cls,
        features: list[np.ndarray],
        config: DSFTConfig | None = None,
        progress: bool = False,
    ) -> DSFTTokenizer:
        """Learn statistics, weights, bases, coefficient order and both BPE vocabularies."""
        config = config or DSFTConfig()
        layout = get_layout(config.layout)
        clips = [_check_features(x, layout, f"training clip {i}") for i, x in enumerate(features)]
        if not clips:
            raise MotionShapeError("train needs at least one feature sequence")
        stats = FeatureStats.compute(clips, layout=layout.name)
        normalised = [stats.normalize(x) for x in clips]
        weights = _dimension_weights(clips, stats, layout, config, progress)
        windows = np.concatenate([frame_windows(z, config.window_frames) for z in normalised])
        frames = np.concatenate(normalised)

        streams = {}
        for stream, dims in (("base", layout.base_dims), ("phys", layout.phys_dims)):
            w = weights[dims]
            components = getattr(config, f"{stream}_components")
            basis = _principal_basis(frames[:, dims] * w, components)
            keep = getattr(config, f"k_{stream}")
            coefficients = window_dct((windows[..., dims] * w) @ basis, keep)
            variance = (coefficients.reshape(len(coefficients), -1) ** 2).mean(axis=0)
            # One step for all coefficients, except where the training range would need
            # more than max_level levels: there the step widens to fit the alphabet.
            extent = np.abs(coefficients).max(axis=0) * EXTENT_MARGIN
            step = getattr(config, f"{stream}_step")
            streams[stream] = _StreamTransform(
                dims=np.asarray(dims, dtype=np.int64),
                weights=w,
                basis=basis,
                order=np.argsort(-variance, kind="stable"),
                keep=keep,
                steps=np.maximum(step, extent / config.max_level),
                window_frames=config.window_frames,
                max_level=config.max_level,
                feedback=stream == "phys" and config.phys_feedback,
                rounding=config.rounding,
            )

        texts, _ = _symbol_texts(streams, windows, [len(x) for x in clips], config)
        bpe = {
            stream: IntegerBPE.train(
                texts[stream],
                num_symbols=config.alphabet_size(stream),
                vocab_size=getattr(config, f"{stream}_vocab_size"),
                chunk=config.symbols_per_window(stream),
                progress=progress,
            )
            for stream in streams
        }
        seconds = sum(len(x) for x in clips) / config.fps
        rates = {
            stream: sum(len(ids) for ids in bpe[stream].encode_batch(texts[stream])) / seconds
            for stream in streams
        }
        return cls(config, stats, streams["base"], streams["phys"], bpe["base"], bpe["phys"], rates)

    def with_decode_options(self, options: DecodeOptions) -> DSFTTokenizer:
        """The same tokenizer (shared state, same tokens) decoding with ``options``."""
        return DSFTTokenizer(
            self.config, self.stats, self._streams["base"], self._streams["phys"],
            self._bpe["base"], self._bpe["phys"], self.tokens_per_second, options,
        )  # fmt: skip

    # --------------------------------------------------------------- properties

    @property
    def base_vocab_size(self) -> int:
        return self._bpe["base"].vocab_size

    @property
    def phys_vocab_size(self) -> int:
        return self._bpe["phys"].vocab_size

    def frames_for_duration(self, seconds: float) -> int:
        """Feature frames of a motion lasting ``seconds`` (at least 1, at most the cap)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and >= 0, got {seconds}")
        cap = self.config.max_windows * self.config.window_frames
        return int(min(max(round(seconds * self.config.fps), 1), cap))

    def token_budget(self, seconds: float) -> TokenBudget:
        """Hard bounds on each stream's token count for a motion of ``seconds``.

        Every window is one BPE pre-token, so it takes between 1 and ``K * P`` tokens;
        the Base stream adds one frame-count marker token.
        """
        frames = self.frames_for_duration(seconds)
        n = num_windows(frames, self.config.window_frames)
        return TokenBudget(
            num_frames=frames,
            base_min=n + 1,
            base_max=n * self.config.symbols_per_window("base") + 1,
            phys_min=n,
            phys_max=n * self.config.symbols_per_window("phys"),
        )

    # ----------------------------------------------------------------- encoding

    def encode(self, features: np.ndarray) -> MotionTokens:
        """Features ``[T, D]`` -> tokens; out-of-range coefficients are clamped (counted)."""
        return self.encode_batch([features])[0]

    def encode_batch(self, features: Sequence[np.ndarray]) -> list[MotionTokens]:
        if isinstance(features, np.ndarray):
            raise TypeError("encode_batch takes a list of [T, D] arrays; use encode for one")
        clips = [_check_features(x, self.layout, f"clip {i}") for i, x in enumerate(features)]
        cap = self.config.max_windows * self.config.window_frames
        for i, x in enumerate(clips):
            if len(x) > cap:
                raise MotionShapeError(
                    f"clip {i} has {len(x)} frames, more than max_seconds="
                    f"{self.config.max_seconds} ({cap} frames) allows"
                )
        if not clips:
            return []
        windows = np.concatenate(
            [frame_windows(self.stats.normalize(x), self.config.window_frames) for x in clips]
        )
        texts, clamped = _symbol_texts(self._streams, windows, [len(x) for x in clips], self.config)
        ids = {s: self._bpe[s].encode_batch(texts[s]) for s in texts}
        return [
            MotionTokens(
                base=ids["base"][i],
                phys=ids["phys"][i],
                num_frames=len(x),
                clamped=clamped[i],
            )
            for i, x in enumerate(clips)
        ]

    # ----------------------------------------------------------------- decoding

    def decode(self, base: Sequence[int], phys: Sequence[int]) -> DecodedMotion:
        """Any two integer sequences -> finite features of a well-defined length.

        Raises only ``TypeError`` (when an argument is not a sequence of integers).
        """
        return self._decode_many([(base, phys)], with_phys=True)[0]

    def decode_batch(
        self, pairs: Sequence[tuple[Sequence[int], Sequence[int]]]
    ) -> list[DecodedMotion]:
        return self._decode_many(list(pairs), with_phys=True)

    def decode_base_only(self, base: Sequence[int]) -> DecodedMotion:
        """Coarse preview from the Base stream alone (dynamics at their training mean)."""
        return self._decode_many([(base, ())], with_phys=False)[0]

    def _parse(self, stream: str, ids: object, repairs: list[str]) -> tuple[np.ndarray, int]:
        """Token ids -> symbol windows ``[n, K * P]`` and, for Base, the frame-count marker."""
        name = stream.capitalize()
        valid, dropped = as_token_ids(ids, self._bpe[stream].vocab_size, f"{stream} tokens")
        if dropped:
            repairs.append(
                f"dropped {dropped} {name} token id(s) outside [0, {self._bpe[stream].vocab_size})"
            )
        symbols = self._bpe[stream].decode(valid)
        levels = self.config.alphabet_size("phys")
        marker = 0
        if stream == "base" and symbols.size:
            is_marker = symbols >= levels
            markers = symbols[is_marker]
            if markers.size:
                marker = int(markers[-1] - levels + 1)
                if markers.size > 1 or not is_marker[-1]:
                    repairs.append(
                        f"Base frame-count marker found {markers.size} time(s) and not only at "
                        "the end: used the last one"
                    )
            else:
                repairs.append("Base stream has no frame-count marker: last window kept whole")
            symbols = symbols[~is_marker]
        width = self.config.symbols_per_window(stream)
        whole, rest = divmod(symbols.size, width)
        if rest:
            repairs.append(
                f"last {name} window has {rest} of {width} coefficients: rest set to the mean"
            )
            # The mean of every coefficient is the zero level, symbol ``max_level``.
            symbols = np.append(symbols, np.full(width - rest, self.config.max_level))
            marker = 0
        return symbols.reshape(whole + bool(rest), width), marker

    def _decode_many(
        self, pairs: list[tuple[object, object]], with_phys: bool
    ) -> list[DecodedMotion]:
        cfg = self.config
        plans = []
        for base_ids, phys_ids in pairs:
            repairs: list[str] = []
            base, marker = self._parse("base", base_ids, repairs)
            if with_phys:
                phys, _ = self._parse("phys", phys_ids, repairs)
            else:
                phys = np.zeros((0, cfg.symbols_per_window("phys")), dtype=np.int64)
            n = len(base) if len(base) else len(phys)
            if n == 0:
                n = 1
                repairs.append("both streams are empty: one window of the mean motion")
            elif not len(base):
                repairs.append(f"Base stream is empty: mean pose for {n} window(s)")
            elif with_phys and len(phys) != n:
                repairs.append(f"Phys stream has {len(phys)} window(s), Base {n}: Phys matched")
            if n > cfg.max_windows:
                repairs.append(f"{n} windows exceed max_seconds: kept the first {cfg.max_windows}")
                n = cfg.max_windows
            last = marker if marker and n == len(base) else cfg.window_frames
            plans.append(
                (_fit(base, n, cfg.max_level), _fit(phys, n, cfg.max_level), last, repairs)
            )

        seams = self.decode_options.seams
        planting = self.decode_options.plant_feet if self.layout.name == "humanml3d" else None
        coefficients = {
            stream: self._streams[stream].coefficients(
                np.concatenate([plan[index] for plan in plans])
            )
            for stream, index in (("base", 0), ("phys", 1))
        }
        out, start = [], 0
        for base, _, last, repairs in plans:
            frames = (len(base) - 1) * cfg.window_frames + last
            z = np.zeros((len(base) * cfg.window_frames, self.layout.dim))
            for stream, transform in self._streams.items():
                clip = coefficients[stream][start : start + len(base)]
                z[:, transform.dims] = transform.reconstruct(clip, seams)
            start += len(base)
            x = self.stats.denormalize(z)[:frames]
            if seams == "deblock":
                base_dims = self.layout.base_dims
                x[:, base_dims] = smooth_window_boundaries(
                    x[:, base_dims], cfg.window_frames, cfg.boundary_reach
                )
            x = x.astype(np.float32)
            if not np.isfinite(x).all():
                repairs.append("non-finite values replaced by the feature mean")
                x = np.where(np.isfinite(x), x, self.stats.mean.astype(np.float32))
            if planting is not None and with_phys:
                x = plant_feet(x, planting, cfg.fps)
            if not with_phys:
                repairs.append("Phys stream not decoded: dynamics at their training mean")
            out.append(DecodedMotion(features=x, num_frames=frames, repairs=repairs))
        return out

    # ------------------------------------------------------------------ storage

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``dsft.json`` and one ``tokenizers`` JSON file per stream (no pickle)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            "format_version": FORMAT_VERSION,
            "config": asdict(self.config),
            "stats": self.stats.to_dict(),
            "streams": {s: t.to_dict() for s, t in self._streams.items()},
            "tokens_per_second": self.tokens_per_second,
        }
        (directory / CONFIG_FILE).write_text(json.dumps(state))
        (directory / BASE_TOKENIZER_FILE).write_text(self._bpe["base"].to_str())
        (directory / PHYS_TOKENIZER_FILE).write_text(self._bpe["phys"].to_str())
        return directory

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, decode_options: DecodeOptions | None = None
    ) -> DSFTTokenizer:
        """Load what :meth:`save_pretrained` wrote; :class:`DSFTCheckpointError` otherwise.

        ``decode_options`` (default :class:`DecodeOptions`) applies to any saved tokenizer.
        """
        directory = Path(directory)
        files = [directory / f for f in (CONFIG_FILE, BASE_TOKENIZER_FILE, PHYS_TOKENIZER_FILE)]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DSFTCheckpointError(f"{directory} lacks {missing}: not a DSFT tokenizer")
        try:
            state = json.loads(files[0].read_text())
            version = state.get("format_version")
        except (ValueError, AttributeError) as error:
            raise DSFTCheckpointError(f"{files[0]} is not a DSFT state: {error}") from None
        if version != FORMAT_VERSION:
            raise DSFTCheckpointError(
                f"{files[0]} has format_version {version!r}, this code reads {FORMAT_VERSION}"
            )
        try:
            config = DSFTConfig(**state["config"])
            streams = {
                stream: _load_stream(state["streams"][stream], config, stream)
                for stream in ("base", "phys")
            }
            bpe = {
                stream: IntegerBPE.from_str(files[i + 1].read_text(), config.alphabet_size(stream))
                for i, stream in enumerate(("base", "phys"))
            }
            stats = FeatureStats.from_dict(state["stats"])
            if stats.dim != get_layout(config.layout).dim:
                raise ValueError(f"statistics have {stats.dim} dims, not {config.layout}'s")
            rates = {s: float(state["tokens_per_second"][s]) for s in ("base", "phys")}
        # Besides KeyError/TypeError/ValueError, `tokenizers` raises a bare Exception.
        except Exception as error:
            raise DSFTCheckpointError(
                f"{directory} holds a damaged DSFT tokenizer: {error}"
            ) from None
        return cls(
            config, stats, streams["base"], streams["phys"], bpe["base"], bpe["phys"], rates,
            decode_options,
        )  # fmt: skip


def _load_stream(saved: dict, config: DSFTConfig, stream: str) -> _StreamTransform:
    """One stream's saved arrays, checked against each other and the config."""
    transform = _StreamTransform(
        dims=np.asarray(saved["dims"], dtype=np.int64),
        weights=np.asarray(saved["weights"], dtype=np.float64),
        basis=np.asarray(saved["basis"], dtype=np.float64),
        order=np.asarray(saved["order"], dtype=np.int64),
        keep=getattr(config, f"k_{stream}"),
        steps=np.asarray(saved["steps"], dtype=np.float64),
        window_frames=config.window_frames,
        max_level=config.max_level,
        feedback=stream == "phys" and config.phys_feedback,
        rounding=config.rounding,
    )
    components = getattr(config, f"{stream}_components")
    expected = {
        "weights": (transform.weights.shape, (len(transform.dims),)),
        "basis": (transform.basis.shape, (len(transform.dims), components)),
        "steps": (transform.steps.shape, (transform.keep, components)),
        "order": (tuple(np.sort(transform.order)), tuple(range(transform.keep * components))),
    }
    for name, (found, wanted) in expected.items():
        if found != wanted:
            raise ValueError(f"{stream} {name} does not match the config")
    if not (np.all(transform.weights > 0) and np.all(transform.steps > 0)):
        raise ValueError(f"{stream} weights and steps must be positive")
    return transform


def _symbol_texts(
    streams: dict[str, _StreamTransform],
    windows: np.ndarray,
    lengths: list[int],
    config: DSFTConfig,
) -> tuple[dict[str, list[np.ndarray]], list[int]]:
    """Normalised windows of clips with ``lengths`` frames -> per stream, one symbol
    string per clip (Base ending with its frame-count marker), and clamps per clip."""
    counts = [num_windows(n, config.window_frames) for n in lengths]
    splits = np.cumsum(counts)[:-1]
    texts, clamped = {}, np.zeros(len(windows), dtype=np.int64)
    for stream, transform in streams.items():
        symbols, clamps = transform.quantise(windows[..., transform.dims], counts)
        texts[stream] = [w.ravel() for w in np.split(symbols, splits)]
        clamped += clamps
    # Marker symbols follow the quantised levels: marker m means m + 1 frames.
    first_marker = config.alphabet_size("phys")
    texts["base"] = [
        np.append(t, first_marker + n - (c - 1) * config.window_frames - 1)
        for t, n, c in zip(texts["base"], lengths, counts, strict=True)
    ]
    return texts, [int(c.sum()) for c in np.split(clamped, splits)]


def _fit(symbols: np.ndarray, n: int, zero: int) -> np.ndarray:
    """Truncate or pad (with the zero level, i.e. the mean) to exactly ``n`` windows."""
    if len(symbols) >= n:
        return symbols[:n]
    pad = np.full((n - len(symbols), symbols.shape[1]), zero, dtype=np.int64)
    return np.concatenate([symbols, pad])


def _check_features(x: object, layout: FeatureLayout, what: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != layout.dim or x.shape[0] < 1:
        raise MotionShapeError(
            f"{what} must be [T >= 1, {layout.dim}] for layout {layout.name!r}, "
            f"got {tuple(x.shape)}"
        )
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{what} must be numeric, got dtype {x.dtype}")
    bad = ~np.isfinite(x)
    if bad.any():
        frames = np.unique(np.nonzero(bad)[0])[:5].tolist()
        raise NonFiniteMotionError(f"{what} holds NaN/inf (first frames {frames})")
    return x.astype(np.float64)


def _dimension_weights(
    clips: list[np.ndarray],
    stats: FeatureStats,
    layout: FeatureLayout,
    config: DSFTConfig,
    progress: bool = False,
) -> np.ndarray:
    """Per-dimension weights ``w_d >= min_dim_weight`` (median 1), see the module docstring.

    ``w_d`` is the mean joint displacement (over all joints and frames of a clip) per
    unit error in ``z_d`` over one window in the middle of the clip, averaged over up
    to four training clips of at most 10 s. Measured, not assumed: it finds that only
    the root channels and ric positions move the joints, and how much a root velocity
    error costs once it is integrated. With Phys DC feedback a window's error is paid
    back in the next window, so the probe is then ``+1`` for one window and ``-1`` for
    the next (halved); without it, ``+1`` for one window, whose integral persists.
    Layouts without a joint recovery here (ViMoGen) get uniform weights.
    """
    if not config.joint_weighting or layout.name != "humanml3d":
        return np.ones(layout.dim)
    W, delta = config.window_frames, 0.1
    probes = sorted(clips, key=len, reverse=True)[:4]
    sensitivity = np.zeros(layout.dim)
    for x in tqdm(probes, desc="DSFT joint sensitivity", disable=not progress):
        x = x[: 10 * round(config.fps)]
        start = max(len(x) // 2 - W, 0)
        reference = features_to_joints(x)
        # One perturbed copy per dimension, recovered in a single batched call.
        perturbed = np.repeat(x[None], layout.dim, axis=0)
        dims = np.arange(layout.dim)
        perturbed[dims, start : start + W, dims] += delta * stats.std[:, None]
        if config.phys_feedback:
            perturbed[dims, start + W : start + 2 * W, dims] -= delta * stats.std[:, None]
        moved = np.linalg.norm(features_to_joints(perturbed) - reference, axis=-1)
        windows = 2 if config.phys_feedback else 1
        sensitivity += moved.mean(axis=(1, 2)) / delta / windows / len(probes)
    reference_weight = np.median(sensitivity[sensitivity > 0]) if (sensitivity > 0).any() else 1
    return np.maximum(sensitivity / reference_weight, config.min_dim_weight)
