"""The text-to-motion evaluator of Guo et al. 2022, loaded from the user's copy of its files.

The HumanML3D benchmark (R-precision, FID, Matching score, Diversity, MultiModality; see
:mod:`training.t2m_metrics`) is measured in the joint embedding space of a text encoder and
a motion encoder trained contrastively by Guo et al., "Generating Diverse and Natural 3D
Human Motions from Text" (CVPR 2022). Their weights are not redistributed here; this module
rebuilds the three networks with the published parameter names and shapes so that the
published checkpoint loads with ``load_state_dict(strict=True)``:

- ``movement_encoder`` (:class:`MovementConvEncoder`): two strided 1-D convolutions
  (kernel 4, stride 2) from the 259 non-contact feature channels to a 512-d latent per
  *unit* of 4 frames;
- ``motion_encoder`` (:class:`MotionEncoderBiGRUCo`): a bidirectional GRU (1024 wide, with
  a learned initial state) over the units, last states of both directions -> 512-d;
- ``text_encoder`` (:class:`TextEncoderBiGRUCo`): 300-d GloVe vector + projected 15-way
  part-of-speech one-hot per token -> bidirectional GRU (512 wide) -> 512-d.

Files, laid out as in the published release (:func:`release_paths`)::

    <root>/checkpoints/t2m/text_mot_match/model/finest.tar    state dicts of the 3 networks
    <root>/checkpoints/t2m/Comp_v6_KLD01/meta/mean.npy        [263] feature mean
    <root>/checkpoints/t2m/Comp_v6_KLD01/meta/std.npy         [263] feature std
    <root>/glove/our_vab_data.npy                             [V, 300] word vectors
    <root>/glove/our_vab_words.pkl                            the V words (list)
    <root>/glove/our_vab_idx.pkl                              word -> row (dict)

Inputs follow the published evaluation loader. Text: HumanML3D's tagged tokens
(``"a/DET man/NOUN walk/VERB"``), cut to 20, framed by ``sos``/``eos``; a word in one of the
published "VIP" lists gets that list's category instead of its part of speech, a word
outside the vocabulary becomes ``unk``/``OTHER``. Motion: unnormalised 263-d HumanML3D
features, cut to at most 196 frames and to a whole number of 4-frame units, normalised with
the evaluator's own mean/std, without the last 4 (foot contact) channels.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from motionvla_model.motion.features import FEATURE_DIM

__all__ = [
    "MAX_MOTION_FRAMES",
    "MAX_TEXT_TOKENS",
    "POS_CATEGORIES",
    "UNIT_LENGTH",
    "VIP_WORDS",
    "CaptionTagError",
    "EvaluatorFileError",
    "EvaluatorInputError",
    "MissingEvaluatorFileError",
    "MotionEncoderBiGRUCo",
    "MovementConvEncoder",
    "T2MEvaluator",
    "T2MEvaluatorFiles",
    "TextEncoderBiGRUCo",
    "WordVectorizer",
    "caption_tokens",
    "glove_paths",
    "release_paths",
]

UNIT_LENGTH = 4
MAX_MOTION_FRAMES = 196
MAX_TEXT_TOKENS = 20
WORD_DIM = 300
EMBEDDING_DIM = 512
TEXT_HIDDEN = 512
MOTION_HIDDEN = 1024
MOVEMENT_HIDDEN = 512
MOVEMENT_LATENT = 512
CONTACT_CHANNELS = 4
GLOVE_PREFIX = "our_vab"
CHECKPOINT_KEYS = ("text_encoder", "movement_encoder", "motion_encoder")

# The published category order: the one-hot index is the position in this tuple.
POS_CATEGORIES = (
    "VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV",
    "Loc_VIP", "Body_VIP", "Obj_VIP", "Act_VIP", "Desc_VIP", "OTHER",
)  # fmt: skip
# Words whose category overrides their tagged part of speech (checked in this order).
VIP_WORDS: dict[str, frozenset[str]] = {
    "Loc_VIP": frozenset((
        "left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back",
        "backward", "up", "down", "straight", "curve",
    )),
    "Body_VIP": frozenset((
        "arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee",
        "shoulder", "thigh",
    )),
    "Obj_VIP": frozenset((
        "stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball",
        "basketball",
    )),
    "Act_VIP": frozenset((
        "walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance",
        "jump", "turn", "stumble", "stop", "sit", "lift", "lower", "raise", "wash", "stand",
        "kneel", "stroll", "rub", "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate",
        "spin", "spread", "climb",
    )),
    "Desc_VIP": frozenset((
        "slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad",
        "happily", "angrily", "sadly",
    )),
}  # fmt: skip


class EvaluatorFileError(ValueError):
    """An evaluator file exists but is not what the published release holds."""


class MissingEvaluatorFileError(EvaluatorFileError, FileNotFoundError):
    """One or more evaluator files are not where they were looked for."""


class EvaluatorInputError(ValueError):
    """A caption or motion given to the evaluator cannot be encoded."""


class CaptionTagError(EvaluatorInputError):
    """A caption has no part-of-speech tags and no tagger is available to add them."""


# --- the three networks (parameter names and shapes as published) -------------------------


class MovementConvEncoder(nn.Module):
    """Features ``[B, T, 259]`` -> one latent per 4 frames ``[B, T/4, 512]``."""

    def __init__(
        self,
        input_size: int = FEATURE_DIM - CONTACT_CHANNELS,
        hidden_size: int = MOVEMENT_HIDDEN,
        output_size: int = MOVEMENT_LATENT,
    ) -> None:
        super().__init__()
        # Dropout sits between each convolution and its activation, as published: it does
        # nothing in eval mode but fixes the indices (main.0, main.3) in the state dict.
        self.main = nn.Sequential(
            nn.Conv1d(input_size, hidden_size, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden_size, output_size, 4, 2, 1),
            nn.Dropout(0.2),
            nn.LeakyReLU(0.2),
        )
        self.out_net = nn.Linear(output_size, output_size)

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        return self.out_net(self.main(motion.transpose(1, 2)).transpose(1, 2))


class _BiGRUEncoder(nn.Module):
    """A bidirectional GRU from a learned initial state; both last states -> an embedding."""

    def __init__(self, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(
            nn.Linear(2 * hidden_size, hidden_size),
            nn.LayerNorm(hidden_size),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden_size, output_size),
        )
        self.hidden = nn.Parameter(torch.randn(2, 1, hidden_size))

    def _encode(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        # Packing makes the GRU stop at each row's own length, so whatever pads a row
        # cannot reach its embedding; the rows need not be sorted.
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        start = self.hidden.expand(-1, inputs.shape[0], -1).contiguous()
        _, last = self.gru(packed, start)
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class TextEncoderBiGRUCo(_BiGRUEncoder):
    """Word vectors ``[B, L, 300]`` + POS one-hots ``[B, L, 15]`` + lengths -> ``[B, 512]``."""

    def __init__(
        self,
        word_size: int = WORD_DIM,
        pos_size: int = len(POS_CATEGORIES),
        hidden_size: int = TEXT_HIDDEN,
        output_size: int = EMBEDDING_DIM,
    ) -> None:
        super().__init__(hidden_size, output_size)
        self.pos_emb = nn.Linear(pos_size, word_size)
        self.input_emb = nn.Linear(word_size, hidden_size)

    def forward(
        self, word_vectors: torch.Tensor, pos_one_hot: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        return self._encode(self.input_emb(word_vectors + self.pos_emb(pos_one_hot)), lengths)


class MotionEncoderBiGRUCo(_BiGRUEncoder):
    """Movement latents ``[B, U, 512]`` + unit counts -> ``[B, 512]``."""

    def __init__(
        self,
        input_size: int = MOVEMENT_LATENT,
        hidden_size: int = MOTION_HIDDEN,
        output_size: int = EMBEDDING_DIM,
    ) -> None:
        super().__init__(hidden_size, output_size)
        self.input_emb = nn.Linear(input_size, hidden_size)

    def forward(self, movements: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        return self._encode(self.input_emb(movements), units)


# --- files ---------------------------------------------------------------------------------


def glove_paths(glove_dir: str | Path) -> tuple[Path, Path, Path]:
    """The vectors, word list and word index of the GloVe vocabulary in ``glove_dir``."""
    glove_dir = Path(glove_dir)
    return (
        glove_dir / f"{GLOVE_PREFIX}_data.npy",
        glove_dir / f"{GLOVE_PREFIX}_words.pkl",
        glove_dir / f"{GLOVE_PREFIX}_idx.pkl",
    )


def release_paths(root: str | Path) -> dict[str, Path]:
    """The file paths of a folder laid out like the published release (module docstring)."""
    root = Path(root)
    t2m = root / "checkpoints" / "t2m"
    return {
        "checkpoint": t2m / "text_mot_match" / "model" / "finest.tar",
        "mean": t2m / "Comp_v6_KLD01" / "meta" / "mean.npy",
        "std": t2m / "Comp_v6_KLD01" / "meta" / "std.npy",
        "glove_dir": root / "glove",
    }


@dataclass(frozen=True)
class T2MEvaluatorFiles:
    """Where the evaluator's files are; every file must exist (checked on creation)."""

    checkpoint: Path
    mean: Path
    std: Path
    glove_dir: Path

    def __post_init__(self) -> None:
        for name in ("checkpoint", "mean", "std", "glove_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        required = [self.checkpoint, self.mean, self.std, *glove_paths(self.glove_dir)]
        missing = [str(path) for path in required if not path.is_file()]
        if missing:
            raise MissingEvaluatorFileError(
                "text-to-motion evaluator files not found: " + ", ".join(missing)
                + " (see docs/t2m_evaluation.md for the layout)"
            )  # fmt: skip


class _PlainDataUnpickler(pickle.Unpickler):
    # The vocabulary pickles hold only lists, dicts, strings and integers (possibly numpy
    # integers); refusing every other class keeps a tampered file from running code.
    _NUMPY_SCALARS: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "dtype"),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self._NUMPY_SCALARS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _load_pickle(path: Path) -> object:
    try:
        with path.open("rb") as handle:
            return _PlainDataUnpickler(handle).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise EvaluatorFileError(f"{path}: not a plain-data pickle ({error})") from None


def _load_array(path: Path, shape: tuple[int | None, ...], what: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise EvaluatorFileError(f"{path}: not a .npy array ({error})") from None
    fits = array.ndim == len(shape) and all(
        want is None or have == want for have, want in zip(array.shape, shape, strict=True)
    )
    if not fits or not np.issubdtype(array.dtype, np.number):
        wanted = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        raise EvaluatorFileError(
            f"{path}: {what} must be a numeric {wanted} array, got {array.dtype} {array.shape}"
        )
    if not np.isfinite(array).all():
        raise EvaluatorFileError(f"{path}: {what} holds NaN or infinite values")
    return array.astype(np.float32)


# --- text ----------------------------------------------------------------------------------


class WordVectorizer:
    """GloVe vector and part-of-speech one-hot of tagged tokens (``"walk/VERB"``)."""

    def __init__(self, vectors: np.ndarray, word_index: dict[str, int]) -> None:
        if vectors.ndim != 2 or vectors.shape[1] != WORD_DIM:
            raise EvaluatorFileError(
                f"GloVe vectors must be [V, {WORD_DIM}], got {tuple(vectors.shape)}"
            )
        if "unk" not in word_index:
            raise EvaluatorFileError("the GloVe vocabulary has no 'unk' entry for unknown words")
        bad = [w for w, i in word_index.items() if not 0 <= i < len(vectors)]
        if bad:
            raise EvaluatorFileError(
                f"GloVe index points outside the {len(vectors)} vectors for {bad[:5]}"
            )
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.word_index = dict(word_index)

    @classmethod
    def from_dir(cls, glove_dir: str | Path) -> WordVectorizer:
        """Read ``our_vab_data.npy``, ``our_vab_words.pkl`` and ``our_vab_idx.pkl``."""
        data, words_path, index_path = glove_paths(glove_dir)
        vectors = _load_array(data, (None, WORD_DIM), "GloVe vectors")
        words, index = _load_pickle(words_path), _load_pickle(index_path)
        if not isinstance(words, list | tuple) or not all(isinstance(w, str) for w in words):
            raise EvaluatorFileError(f"{words_path}: expected a list of words")
        if not isinstance(index, dict):
            raise EvaluatorFileError(f"{index_path}: expected a dict word -> row")
        unindexed = [w for w in words if w not in index]
        if unindexed:
            raise EvaluatorFileError(f"{index_path}: no row for the words {unindexed[:5]}")
        # As published, the vocabulary is the word list; the index only gives their rows.
        return cls(vectors, {w: int(index[w]) for w in words})

    def __len__(self) -> int:
        return len(self.word_index)

    def one_hot(self, category: str) -> np.ndarray:
        vector = np.zeros(len(POS_CATEGORIES), dtype=np.float32)
        index = POS_CATEGORIES.index(category) if category in POS_CATEGORIES else -1
        vector[index] = 1.0  # -1: OTHER, the last category
        return vector

    def __getitem__(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        word, _, pos = token.rpartition("/")
        if word not in self.word_index:
            return self.vectors[self.word_index["unk"]], self.one_hot("OTHER")
        category = next((c for c, words in VIP_WORDS.items() if word in words), pos)
        return self.vectors[self.word_index[word]], self.one_hot(category)

    def encode(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray, int]:
        """Word vectors ``[22, 300]``, one-hots ``[22, 15]`` and the used length."""
        framed = ["sos/OTHER", *tokens[:MAX_TEXT_TOKENS], "eos/OTHER"]
        length = len(framed)
        framed += ["unk/OTHER"] * (MAX_TEXT_TOKENS + 2 - length)
        vectors, one_hots = zip(*(self[token] for token in framed), strict=True)
        return np.stack(vectors), np.stack(one_hots), length


@functools.lru_cache(maxsize=1)
def _spacy_pipeline():
    import spacy

    return spacy.load("en_core_web_sm")


def _tag_with_spacy(caption: str) -> list[str]:
    try:
        nlp = _spacy_pipeline()
    except (ImportError, OSError) as error:
        raise CaptionTagError(
            f"caption {caption[:60]!r} has no part-of-speech tags: the evaluator needs "
            "HumanML3D's tagged tokens ('a/DET man/NOUN walk/VERB', the second field of "
            "texts/*.txt), or spaCy with en_core_web_sm to tag it "
            f"({type(error).__name__}: {error})"
        ) from None
    tokens = []
    # The tagging rule of the HumanML3D text preprocessing: letters-only tokens, nouns and
    # verbs lemmatised except "left" (which would become "leave").
    for token in nlp(caption.replace("-", "")):
        word = token.text
        if not word.isalpha():
            continue
        if token.pos_ in ("NOUN", "VERB") and word != "left":
            word = token.lemma_
        tokens.append(f"{word}/{token.pos_}")
    return tokens


def _is_tagged(token: str) -> bool:
    word, slash, pos = token.rpartition("/")
    return bool(slash and word and pos)


def caption_tokens(caption: str | Sequence[str]) -> list[str]:
    """Tagged tokens of a caption: a token list, a tagged string, or plain text (spaCy)."""
    tokens = caption.split() if isinstance(caption, str) else list(caption)
    if tokens and all(_is_tagged(t) for t in tokens):
        return tokens
    if isinstance(caption, str) and caption.strip():
        return _tag_with_spacy(caption)
    raise CaptionTagError(f"caption tokens {tokens[:5]} are not all tagged 'word/POS'")


# --- the evaluator -------------------------------------------------------------------------


def _resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _load_checkpoint(path: Path) -> dict:
    try:
        # weights_only: tensors and plain containers only, nothing executed on load.
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        raise EvaluatorFileError(f"{path}: not a readable torch checkpoint ({error})") from None
    if not isinstance(checkpoint, dict):
        raise EvaluatorFileError(f"{path}: expected a dict of state dicts")
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint]
    if missing:
        raise EvaluatorFileError(
            f"{path}: no {', '.join(missing)} (found {sorted(map(str, checkpoint))})"
        )
    return checkpoint


class T2MEvaluator:
    """Text and motion embeddings in the evaluator's joint 512-d space."""

    def __init__(
        self,
        text_encoder: TextEncoderBiGRUCo,
        movement_encoder: MovementConvEncoder,
        motion_encoder: MotionEncoderBiGRUCo,
        vectorizer: WordVectorizer,
        mean: np.ndarray,
        std: np.ndarray,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
    ) -> None:
        if mean.shape != (FEATURE_DIM,) or std.shape != (FEATURE_DIM,):
            raise EvaluatorFileError(
                f"mean/std must be [{FEATURE_DIM}], got {mean.shape} and {std.shape}"
            )
        if not (std > 0).all():
            raise EvaluatorFileError(f"std has {int((std <= 0).sum())} non-positive entries")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = _resolve_device(device)
        self.text_encoder = text_encoder.to(self.device).eval()
        self.movement_encoder = movement_encoder.to(self.device).eval()
        self.motion_encoder = motion_encoder.to(self.device).eval()
        self.vectorizer = vectorizer
        self.mean = mean.astype(np.float32)
        self.std = std.astype(np.float32)
        self.batch_size = batch_size

    @classmethod
    def from_files(
        cls,
        checkpoint: str | Path,
        mean: str | Path,
        std: str | Path,
        glove_dir: str | Path,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
    ) -> T2MEvaluator:
        """Load the networks (strictly), the vocabulary and the feature normalisation."""
        files = T2MEvaluatorFiles(checkpoint, mean, std, glove_dir)  # type: ignore[arg-type]
        state = _load_checkpoint(files.checkpoint)
        networks = {
            "text_encoder": TextEncoderBiGRUCo(),
            "movement_encoder": MovementConvEncoder(),
            "motion_encoder": MotionEncoderBiGRUCo(),
        }
        for key, network in networks.items():
            try:
                network.load_state_dict(state[key], strict=True)
            except (RuntimeError, TypeError, AttributeError) as error:
                raise EvaluatorFileError(
                    f"{files.checkpoint}: '{key}' does not fit the published network: {error}"
                ) from None
        return cls(
            networks["text_encoder"],
            networks["movement_encoder"],
            networks["motion_encoder"],
            WordVectorizer.from_dir(files.glove_dir),
            _load_array(files.mean, (FEATURE_DIM,), "the feature mean"),
            _load_array(files.std, (FEATURE_DIM,), "the feature std"),
            device=device,
            batch_size=batch_size,
        )

    @classmethod
    def from_dir(
        cls, root: str | Path, *, device: str | torch.device = "cpu", batch_size: int = 64
    ) -> T2MEvaluator:
        """Load from a folder laid out like the published release (module docstring)."""
        return cls.from_files(**release_paths(root), device=device, batch_size=batch_size)

    @torch.no_grad()
    def text_embeddings(self, captions: Sequence[str | Sequence[str]]) -> np.ndarray:
        """``[N, 512]`` for captions given as tagged tokens (see :func:`caption_tokens`)."""
        encoded = [self.vectorizer.encode(caption_tokens(c)) for c in captions]
        out = []
        for start in range(0, len(encoded), self.batch_size):
            words, pos, lengths = zip(*encoded[start : start + self.batch_size], strict=True)
            out.append(
                self.text_encoder(
                    torch.from_numpy(np.stack(words)).to(self.device),
                    torch.from_numpy(np.stack(pos)).to(self.device),
                    torch.tensor(lengths),
                ).cpu()
            )
        return _stacked(out)

    def _prepare_motion(self, features: np.ndarray, index: int) -> tuple[np.ndarray, int]:
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != FEATURE_DIM:
            raise EvaluatorInputError(
                f"motion {index}: expected [T, {FEATURE_DIM}] HumanML3D features, "
                f"got {features.shape}"
            )
        frames = min(len(features), MAX_MOTION_FRAMES) // UNIT_LENGTH * UNIT_LENGTH
        if frames == 0:
            raise EvaluatorInputError(
                f"motion {index}: {len(features)} frame(s), need at least {UNIT_LENGTH}"
            )
        if not np.isfinite(features[:frames]).all():
            raise EvaluatorInputError(f"motion {index}: NaN or infinite features")
        normalised = (features[:frames] - self.mean) / self.std
        # Every motion is zero-padded to 196 frames, as in the published loader: the
        # convolutions read two frames past a motion's end, so the padding is part of the
        # published embedding, and a fixed length makes it independent of the batch.
        padded = np.zeros((MAX_MOTION_FRAMES, FEATURE_DIM - CONTACT_CHANNELS), np.float32)
        padded[:frames] = normalised[:, : FEATURE_DIM - CONTACT_CHANNELS]
        return padded, frames // UNIT_LENGTH

    @torch.no_grad()
    def motion_embeddings(self, features_list: Sequence[np.ndarray]) -> np.ndarray:
        """``[N, 512]`` for unnormalised ``[T, 263]`` HumanML3D features of any lengths."""
        prepared = [self._prepare_motion(f, i) for i, f in enumerate(features_list)]
        out = []
        for start in range(0, len(prepared), self.batch_size):
            motions, units = zip(*prepared[start : start + self.batch_size], strict=True)
            movements = self.movement_encoder(torch.from_numpy(np.stack(motions)).to(self.device))
            out.append(self.motion_encoder(movements, torch.tensor(units)).cpu())
        return _stacked(out)


def _stacked(chunks: list[torch.Tensor]) -> np.ndarray:
    if not chunks:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    return torch.cat(chunks).numpy()
