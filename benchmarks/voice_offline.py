"""The recogniser alone (no ROS): a fixed set of utterances, cut by the node's utterance
cutter, recognised with and without RNNoise in front (in audible noise).

60 commands from the training captions (seed 2000) said clean and again at 10 dB SNR of
white noise (another voice), and the 60 other sentences of ``benchmarks/voice.py``, all
made once and recognised by each variant, so that variants differ only in the
recogniser. The rates are those of ``benchmarks/voice.py`` (``score``) at each
``min_confidence``. This is where recogniser changes are tried before the end-to-end
benchmark; docs/voice.md has the table.

    .venv/bin/python benchmarks/voice_offline.py

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.voice import (  # noqa: E402
    OUT_OF_GRAMMAR,
    VOICES,
    score,
    spoken_commands,
    utterance_audio,
)
from motionvla_ros.speech_recognition import make_recognizer  # noqa: E402
from motionvla_ros.voice_activity import UtteranceSegmenter, make_vad  # noqa: E402
from motionvla_ros.voice_grammar import CommandGrammar  # noqa: E402

VARIANTS = {"raw": "none", "rnnoise": "rnnoise"}  # name -> the node's noise_filter


def cut(audio: np.ndarray) -> list[np.ndarray]:
    """The utterances the node's cutter (Silero, node defaults) makes of ``audio``."""
    segmenter = UtteranceSegmenter(make_vad("silero"))
    audio = np.concatenate([audio, np.zeros(16000, np.int16)])  # let the last one end
    cuts = [u for i in range(0, len(audio), 1600) for u in segmenter.push(audio[i : i + 1600])]
    return [u.samples for u in cuts if not u.too_long]


def utterances(seed: int, count: int) -> dict[str, list[tuple[str, list[np.ndarray]]]]:
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {"clean": [], "noisy": [], "oog": []}
    for i, text in enumerate(spoken_commands(seed, count)):
        out["clean"].append((text, cut(utterance_audio(text, VOICES[i % len(VOICES)], rng)[0])))
        noisy, _ = utterance_audio(text, VOICES[(i + 1) % len(VOICES)], rng, snr_db=10.0)
        out["noisy"].append((text, cut(noisy)))
    for i, text in enumerate(OUT_OF_GRAMMAR):
        out["oog"].append((text, cut(utterance_audio(text, VOICES[i % len(VOICES)], rng)[0])))
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2000)
    args = parser.parse_args(argv)
    grammar = CommandGrammar()
    data = utterances(args.seed, args.commands)
    summary: dict = {"benchmark": "voice_offline", "commands": args.commands}
    for name, noise_filter in VARIANTS.items():
        recognizer = make_recognizer("pocketsphinx", grammar, noise_filter=noise_filter)
        started, results = time.process_time(), {}
        for kind, items in data.items():
            results[kind] = [
                (said, [{"heard": r.words, "text": grammar.command_for(r.words),
                         "accepted": r.in_grammar,
                         "confidence": r.confidence}
                        for r in map(recognizer.recognize, cuts)])
                for said, cuts in items
            ]  # fmt: skip
        count = sum(len(cuts) for items in data.values() for _, cuts in items)
        summary[name] = {
            "cpu_s_per_utterance": round((time.process_time() - started) / count, 3),
            **{f"{t:.2f}": score(results, t, grammar) for t in (0.0, 0.05, 0.1, 0.2)},
        }
        print(name, json.dumps(summary[name]), flush=True)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
