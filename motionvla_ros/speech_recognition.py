"""Speech recognisers behind one small interface: 16 kHz samples in, words and a confidence out.

:class:`PocketSphinxRecognizer` (the default) decodes with the JSGF grammar of
:mod:`motionvla_ros.voice_grammar` and PocketSphinx's shipped US-English acoustic model.
A grammar decoder always answers with *some* path through the grammar, so the
confidence compares it with free phone recognition (the shipped phone language
model) over the same frames ``F``, from the first recognised word to the last:
``r = (log p(x_F | grammar path) - log p(x_F | best phones)) / |F|``, the mean
per-frame log-likelihood ratio, with the silences and fillers inside ``F`` counted (a
word the grammar lacks is otherwise taken for a filler and escapes the comparison), and
the confidence is ``clip(1 + r / 5, 0, 1)``. Speech that is a command matches the
grammar almost as well as free phones (``r`` about -2 to -4); other speech forced into
the grammar matches worse. When the search ends in a state that
is not final (PocketSphinx then returns a partial path), the words are not a
sentence of the grammar and the caller rejects them. Audio with an audible background
(:func:`~motionvla_ros.noise_reduction.background_rms` of at least ``min_noise_rms``)
is recognised after RNNoise (:mod:`motionvla_ros.noise_reduction`) instead of as it
came; clean audio is left as it is.

:class:`WhisperRecognizer` is open-vocabulary (``faster-whisper`` with a CTranslate2
model directory the user provides; nothing is downloaded): its text is read aloud
with :func:`~motionvla_ros.voice_grammar.spoken_form` and must still be a sentence
of the grammar; its confidence is ``exp`` of the mean token log-probability.
"""

from __future__ import annotations

import abc
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motionvla_ros.noise_reduction import NoiseFilterUnavailable, RNNoiseFilter, background_rms
from motionvla_ros.voice_activity import SAMPLE_RATE
from motionvla_ros.voice_grammar import CommandGrammar, spoken_form

__all__ = [
    "NOISE_FILTERS",
    "RECOGNIZERS",
    "PocketSphinxRecognizer",
    "Recognition",
    "RecognizerUnavailable",
    "SpeechRecognizer",
    "WhisperRecognizer",
    "make_recognizer",
]

RECOGNIZERS = ("pocketsphinx", "whisper")
NOISE_FILTERS = ("rnnoise", "none")
_DITHER_RMS = 8.0  # 16-bit steps
_CONFIDENCE_SCALE = 5.0  # r = -5 (per frame, natural log) maps to confidence 0


class RecognizerUnavailable(RuntimeError):
    """The recogniser's package or model is not installed where it was asked for."""


@dataclass(frozen=True)
class Recognition:
    """What a recogniser heard: lower-case ``words`` ("" for nothing), a ``confidence``
    in [0, 1], and whether the words are a sentence of the grammar."""

    words: str
    confidence: float
    in_grammar: bool


class SpeechRecognizer(abc.ABC):
    """Recognises one utterance of 16 kHz mono 16-bit samples."""

    sample_rate = SAMPLE_RATE

    @abc.abstractmethod
    def recognize(self, samples: np.ndarray) -> Recognition:
        """Recognise ``samples`` (``int16 [n]``, 16 kHz)."""


class PocketSphinxRecognizer(SpeechRecognizer):
    """Grammar-constrained PocketSphinx with a phone-loop confidence (see the module doc).

    ``language_weight`` 1.0 (the default 6.5 favours the grammar's short, low-branching
    paths: "turn left ninety degrees" came out as "turn eight degree") and
    ``silence_probability`` 1.0 (trailing silence was otherwise taken for "and") were
    chosen on eSpeak-spoken commands; docs/voice.md has the measurements.
    ``noise_filters`` empty recognises all audio as it came; otherwise audio with a
    background of at least ``min_noise_rms`` (16-bit steps; 50 is -56 dBFS) is
    recognised through each filter in turn until one gives a whole sentence of the
    grammar (a command, or one naming an object the scene cannot hold).
    """

    _SEARCH, _PHONES = "commands", "phones"
    _FILLERS = re.compile(r"^(<.*>|\[.*\])$")

    def __init__(
        self,
        grammar: CommandGrammar,
        language_weight: float = 1.0,
        silence_probability: float = 1.0,
        noise_filters: Sequence[Callable[[np.ndarray], np.ndarray]] = (),
        min_noise_rms: float = 50.0,
    ) -> None:
        if min_noise_rms < 0.0:
            raise ValueError(f"min_noise_rms must be >= 0, got {min_noise_rms}")
        try:
            import pocketsphinx
        except ImportError as error:
            raise RecognizerUnavailable(
                "the pocketsphinx recogniser needs the pocketsphinx package "
                "(pip install pocketsphinx)"
            ) from error
        model = Path(pocketsphinx.get_model_path())
        config = pocketsphinx.Config(
            hmm=str(model / "en-us" / "en-us"),
            dict=str(model / "en-us" / "cmudict-en-us.dict"),
            lm=None,
            samprate=SAMPLE_RATE,
            lw=language_weight,
            silprob=silence_probability,
            loglevel="FATAL",  # a partial result is reported by us, not logged as ERROR
        )
        self._decoder = pocketsphinx.Decoder(config)
        missing = sorted(w for w in grammar.words if self._decoder.lookup_word(w) is None)
        if missing:
            raise ValueError(f"no pronunciation for grammar words {missing}")
        self._decoder.add_jsgf_string(self._SEARCH, grammar.jsgf)
        self._decoder.add_allphone_file(self._PHONES, str(model / "en-us" / "en-us-phone.lm.bin"))
        self.grammar = grammar
        self.noise_filters = tuple(noise_filters)
        self.min_noise_rms = min_noise_rms

    def _decode(self, samples: np.ndarray, search: str) -> list[tuple[str, int, int, float]]:
        """(word, first frame, last frame, log acoustic score) of the best path."""
        decoder = self._decoder
        decoder.activate_search(search)
        decoder.start_utt()
        decoder.process_raw(samples.astype("<i2").tobytes(), full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return []
        return [
            (s.word, s.start_frame, s.end_frame, math.log(max(s.ascore, 1e-300)))
            for s in decoder.seg()
        ]

    def recognize(self, samples: np.ndarray) -> Recognition:
        if len(samples) < SAMPLE_RATE // 10:
            return Recognition("", 0.0, False)
        if not self.noise_filters or background_rms(samples) < self.min_noise_rms:
            return self._recognize(_dithered(samples))
        results = []
        for noise_filter in self.noise_filters:
            results.append(self._recognize(_dithered(noise_filter(samples))))
            if results[-1].in_grammar or self.grammar.unknown_names(results[-1].words):
                return results[-1]
        return results[0]

    def _recognize(self, samples: np.ndarray) -> Recognition:
        """The grammar's best path and its phone-loop confidence (see the module doc)."""
        segments = self._decode(samples, self._SEARCH)
        words = [(w, a, b, s) for w, a, b, s in segments if not self._FILLERS.match(w)]
        text = " ".join(re.sub(r"\(\d+\)$", "", w) for w, *_ in words)
        if not words:
            return Recognition("", 0.0, False)
        # The search sometimes ends inside a connector nobody said: the breath or
        # background after the last word taken for "and" (4 of 300 eSpeak commands, clean
        # and noisy; docs/voice.md). What comes before it is the whole sentence heard.
        complete = self.grammar.before_trailing_connector(text)
        if complete is not None:
            text, words = complete, words[: len(complete.split())]
        phones = self._decode(samples, self._PHONES)
        frames = max(b for _, _, b, _ in segments + phones) + 1
        phone_score = np.zeros(frames)
        for _, first, last, score in phones:
            if last >= first:
                phone_score[first : last + 1] = score / (last - first + 1)
        start, end = words[0][1], words[-1][2]
        grammar_score = sum(score for _, first, last, score in segments
                            if first >= start and last <= end)  # fmt: skip
        ratio = (grammar_score - phone_score[start : end + 1].sum()) / max(end - start + 1, 1)
        confidence = float(np.clip(1.0 + ratio / _CONFIDENCE_SCALE, 0.0, 1.0))
        return Recognition(text, round(confidence, 4), self.grammar.accepts(text))


def _dithered(samples: np.ndarray) -> np.ndarray:
    """``samples`` with a -72 dBFS noise floor, seeded so that results repeat. Digital
    silence (exact zeros, as synthesised or gated audio has) gives frames the acoustic
    model never saw: the search then ended early or took the silence for words."""
    noise = np.random.default_rng(0).normal(0.0, _DITHER_RMS, len(samples))
    return np.clip(samples + np.round(noise), -32768, 32767).astype(np.int16)


class WhisperRecognizer(SpeechRecognizer):
    """Open-vocabulary recognition with faster-whisper and a model directory the user
    provides (a CTranslate2 conversion of a Whisper model); its words must still be a
    sentence of the grammar to be sent."""

    def __init__(self, grammar: CommandGrammar, model_path: str, device: str = "cpu") -> None:
        if not model_path or not os.path.isdir(model_path):
            raise RecognizerUnavailable(
                f"the whisper recogniser needs model_path: a local faster-whisper model "
                f"directory (nothing is downloaded); got {model_path!r}"
            )
        try:
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise RecognizerUnavailable(
                "the whisper recogniser needs the faster-whisper package "
                "(pip install faster-whisper) and a model directory"
            ) from error
        self._model = WhisperModel(model_path, device=device, local_files_only=True)
        self.grammar = grammar

    def recognize(self, samples: np.ndarray) -> Recognition:
        audio = samples.astype(np.float32) / 32768.0
        segments, _info = self._model.transcribe(audio, language="en", beam_size=5)
        segments = list(segments)
        if not segments:
            return Recognition("", 0.0, False)
        text = " ".join(s.text for s in segments)
        words = spoken_form(re.sub(r"[^\w\s.,]|(?<!\d)\.|\.(?!\d)", " ", text))
        logprob = float(np.mean([s.avg_logprob for s in segments]))
        return Recognition(words, round(math.exp(logprob), 4), self.grammar.accepts(words))


def make_recognizer(
    name: str,
    grammar: CommandGrammar,
    model_path: str = "",
    device: str = "cpu",
    noise_filter: str = "rnnoise",
) -> SpeechRecognizer:
    """``noise_filter`` ("rnnoise" or "none") is PocketSphinx's; Whisper is trained on
    noisy speech and takes the audio as it came."""
    if noise_filter not in NOISE_FILTERS:
        raise ValueError(f"noise_filter must be one of {NOISE_FILTERS}, got {noise_filter!r}")
    if name == "pocketsphinx":
        filters: tuple[RNNoiseFilter, ...] = ()
        if noise_filter == "rnnoise":
            try:
                # With 5 % of the input back first; where that is no sentence, RNNoise
                # alone (docs/voice.md: 1 more of 60 noisy commands, none wrong).
                filters = (RNNoiseFilter(), RNNoiseFilter(input_share=0.0))
            except NoiseFilterUnavailable as error:
                raise RecognizerUnavailable(str(error)) from error
        return PocketSphinxRecognizer(grammar, noise_filters=filters)
    if name == "whisper":
        return WhisperRecognizer(grammar, model_path, device)
    raise ValueError(f"recognizer must be one of {RECOGNIZERS}, got {name!r}")
