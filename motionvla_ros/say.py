"""``motionvla-say "walk to the red box"``: send one command and wait for its verdict.

Publishes the text on ``command``, follows ``motion_generator/status`` until the
request ends, then (unless ``--no-sim``) waits for the ``sim_check/report`` with
the same trajectory stamp, and prints that report as JSON. Exit status: 0 the
trajectory passed (or was generated, with ``--no-sim``), 1 it failed or was
refused, 2 nothing answered within ``--timeout``.

With ``--speak`` the sentence is spoken instead: synthesised with eSpeak NG
(``--voice``, ``--wpm``), published on ``audio`` in real time as 16-bit PCM at
``--rate`` Hz, and the command is whatever ``voice_command`` heard; its transcript
comes first in the output. A rejected utterance exits with 1, a "stop" that reached
the generator's ``~/cancel`` with 0.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from typing import Any

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import String, UInt8MultiArray

from motionvla_ros.audio_input import StreamResampler
from motionvla_ros.speech_synthesis import Voice, synthesize
from motionvla_ros.voice_grammar import spoken_form

__all__ = ["main", "say", "speech_chunks"]

CHUNK_S = 0.1  # audio message length, as a microphone driver sends it

_FINAL_STATES = ("done", "error", "rejected", "cancelled")


def speech_chunks(
    text: str, voice: Voice, rate: int, silence_s: tuple[float, float] = (0.3, 1.0)
) -> list[bytes]:
    """``text`` read aloud (:func:`spoken_form`) by ``voice`` as 16-bit PCM at ``rate`` Hz,
    with silence before and after, cut into messages of :data:`CHUNK_S`."""
    samples, native_rate = synthesize(spoken_form(text), voice)
    audio = np.concatenate([np.zeros(int(silence_s[0] * native_rate), np.int16), samples,
                            np.zeros(int((silence_s[1] + 0.1) * native_rate), np.int16)])
    audio = StreamResampler(native_rate, rate).process(audio)
    step = int(CHUNK_S * rate)
    return [audio[i : i + step].astype("<i2").tobytes() for i in range(0, len(audio), step)]


def say(
    text: str,
    timeout_s: float = 60.0,
    use_sim: bool = True,
    domain_id: int | None = None,
    speak: Voice | None = None,
    rate: int = 16000,
) -> tuple[int, dict[str, Any]]:
    """Send ``text`` (or with ``speak``, say it) and return (exit status, the verdict or the
    reason there is none; with ``speak`` the voice node's transcript under ``transcript``)."""
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=domain_id)
    node = rclpy.create_node(f"motionvla_say_{os.getpid()}", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    answers: dict[str, Any] = {}
    arrived = threading.Event()
    sent_at: list[float] = []
    expected = [text.strip()]  # with speak: what voice_command heard

    def on_status(msg: String) -> None:
        status = json.loads(msg.data)
        if status.get("heartbeat"):
            answers["heartbeat"] = status
        if (
            sent_at
            and "status" not in answers
            and status.get("command") == expected[0]
            and status.get("state") in _FINAL_STATES
            and status.get("time", 0) >= sent_at[0] - 1.0
        ):
            answers["status"] = status
            arrived.set()

    def on_report(msg: String) -> None:
        report = json.loads(msg.data)
        answers.setdefault("reports", {})[report.get("stamp_ns")] = report
        arrived.set()

    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    publisher = node.create_publisher(String, "command", reliable)
    node.create_subscription(String, "motion_generator/status", on_status, reliable)
    node.create_subscription(String, "sim_check/report", on_report, reliable)
    audio_pub = node.create_publisher(UInt8MultiArray, "audio", reliable)
    transcripts: list[dict[str, Any]] = []
    node.create_subscription(
        String, "voice_command/transcript", lambda m: transcripts.append(json.loads(m.data)),
        reliable,
    )  # fmt: skip
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    deadline = time.monotonic() + timeout_s
    try:
        namespace = node.get_namespace().rstrip("/")

        def missing() -> str:
            if speak is not None and audio_pub.get_subscription_count() == 0:
                return "no voice_command is listening on 'audio'"
            if speak is not None and node.count_publishers(
                f"{namespace}/voice_command/transcript"
            ) == 0:  # fmt: skip
                return "voice_command/transcript has no publisher"
            if publisher.get_subscription_count() == 0:
                return "no motion_generator is listening on 'command'"
            if node.count_publishers(f"{namespace}/motion_generator/status") == 0:
                return "motion_generator/status has no publisher"
            # A trajectory published before sim_check subscribes would never be judged.
            if use_sim and node.count_subscribers(f"{namespace}/joint_trajectory") == 0:
                return "no sim_check is listening on 'joint_trajectory'"
            if use_sim and node.count_publishers(f"{namespace}/sim_check/report") == 0:
                return "sim_check/report has no publisher"
            # The generator's own view: its trajectory publisher has matched sim_check.
            beat = answers.get("heartbeat")
            if use_sim and (beat is None or beat.get("trajectory_subscribers", 0) < 1):
                return "motion_generator has not matched sim_check yet"
            return ""

        while reason := missing():
            if time.monotonic() > deadline:
                return 2, {"reason": reason}
            time.sleep(0.05)
        sent_at.append(time.time())
        heard: dict[str, Any] = {}
        if speak is None:
            publisher.publish(String(data=text))
        else:
            for chunk in speech_chunks(text, speak, rate):  # paced as a microphone would
                audio_pub.publish(UInt8MultiArray(data=chunk))
                time.sleep(CHUNK_S)
            while not transcripts:
                if time.monotonic() > deadline:
                    return 2, {"reason": "voice_command published no transcript"}
                time.sleep(0.02)
            heard = {"transcript": transcripts[0]}
            if not transcripts[0]["accepted"]:
                return 1, heard
            if transcripts[0]["action"] == "cancel":
                return 0, heard
            expected[0] = transcripts[0]["text"]
        while time.monotonic() < deadline:
            arrived.wait(0.1)
            arrived.clear()
            status = answers.get("status")
            if status is None:
                continue
            if status["state"] != "done":
                return 1, {**heard, **status}
            if not use_sim:
                return 0, {**heard, **status}
            report = answers.get("reports", {}).get(status.get("stamp_ns"))
            if report is not None:
                return (0 if report.get("passed") else 1), {**heard, **report}
        waiting_for = "a sim_check report" if "status" in answers else "the generator"
        return 2, {"reason": f"timed out after {timeout_s:g} s waiting for {waiting_for}",
                   **answers.get("status", {})}  # fmt: skip
    finally:
        executor.shutdown()
        spinner.join(2.0)
        node.destroy_node()
        rclpy.try_shutdown(context=context)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="motionvla-say", description=__doc__.split("\n")[0])
    parser.add_argument("text", help="the command, e.g. 'walk to the red box'")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait")
    parser.add_argument("--no-sim", action="store_true", help="do not wait for sim_check")
    parser.add_argument("--speak", action="store_true",
                        help="say it: eSpeak NG speech on 'audio' for voice_command")
    parser.add_argument("--voice", default="en-us", help="eSpeak NG voice (e.g. en-us+f1)")
    parser.add_argument("--wpm", type=int, default=175, help="speaking speed, words/minute")
    parser.add_argument("--rate", type=int, default=16000, help="audio sample rate, Hz")
    args = parser.parse_args(argv)
    voice = Voice(args.voice, args.wpm) if args.speak else None
    status, verdict = say(args.text, timeout_s=args.timeout, use_sim=not args.no_sim,
                          speak=voice, rate=args.rate)  # fmt: skip
    print(json.dumps(verdict, indent=2))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
