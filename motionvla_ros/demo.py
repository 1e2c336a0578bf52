"""``motionvla-demo``: the whole system once, end to end, with a person watching.

Starts both nodes through ``motionvla-bringup`` in a seeded MuJoCo scene with
coloured objects, with ``sim_check``'s simulated head camera as the generator's
camera (the loop closed in simulation), sends a few commands (one of them names
an object of the scene), then says one (``--voice-command``: eSpeak NG speech on
``audio``, recognised by ``voice_command``, which sends it to the generator), waits for
each verdict and its video, and leaves in the output directory:

* ``summary.md`` and ``summary.json``: per command the generator's result, the
  latencies (command -> trajectory, command -> verdict), pass/fail with the
  reason, the simulation metrics and the video; for the spoken command also what
  ``voice_command`` heard, its confidence and latency;
* ``videos/trajectory_<stamp>_<passed|failed>.mp4``: every checked trajectory;
* ``head_camera.png``: what the robot's head camera saw; ``scene.yaml``;
  ``parameters.yaml`` (the parameter file the nodes ran with) and ``nodes.log``.

::

    motionvla-demo                                   # outputs/demo/, default model if built
    motionvla-demo --backend model --model-path DIR --device cuda
    motionvla-demo --quick --output-dir /tmp/demo    # two short commands

``--backend auto`` (the default) runs the bundled default model when it has been
built (``motionvla-train default`` caches it in ``$MOTIONVLA_DEFAULT_MODEL`` or
``~/.cache/motionvla/default-model``) and the recorded-clip backend otherwise.

Exit status: 0 when every command got a verdict (passed or failed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from motionvla_model.bundled import default_model_path
from motionvla_ros.bringup import dds_environment, find_share_file

__all__ = ["CommandOutcome", "DemoClient", "main", "run_demo"]

DEFAULT_SCENE = 25  # SceneDescription.random(25): white cylinder, red box, green box
DEFAULT_COMMANDS = ("walk forward", "walk to the red box", "turn around")
DEFAULT_VOICE_COMMAND = "wave with your right hand"
QUICK_COMMANDS = ("walk forward", "walk to the red box")
_FINAL_STATES = ("done", "error", "rejected", "cancelled")


def _resolve_backend(args: argparse.Namespace) -> None:
    if args.backend != "auto":
        return
    model_dir = args.model_path or default_model_path()
    if model_dir is not None and (model_dir / "motionvla.json").is_file():
        args.backend, args.model_path = "model", model_dir
        _say(f"model: {model_dir}")
    else:
        args.backend = "clips"
        _say("no model found (build the default with `motionvla-train default`); "
             "using recorded G1 clips")  # fmt: skip


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


@dataclass
class CommandOutcome:
    """What happened to one command (the rows of the summary)."""

    command: str
    state: str = "timed out"
    source: str = ""
    image_stamp_ns: int | None = None
    frames: int | None = None
    duration_s: float | None = None
    to_trajectory_s: float | None = None
    to_verdict_s: float | None = None
    passed: bool | None = None
    forwarded: bool | None = None
    reason: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    video: str | None = None
    video_written: bool | None = None
    # The model's grounded plan, scored by sim_check against the scene (plan_check).
    plan: dict[str, Any] | None = None


class DemoClient:
    """A node in this process: sends commands, follows status, reports, videos, camera."""

    def __init__(self, domain_id: int, voice: bool = False) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import Image
        from std_msgs.msg import String, UInt8MultiArray

        self._rclpy = rclpy
        self._String = String
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(f"motionvla_demo_{os.getpid()}", context=self.context)
        reliable = QoSProfile(depth=200, reliability=ReliabilityPolicy.RELIABLE)
        self._lock = threading.Lock()
        self.status: list[tuple[float, dict]] = []
        self.reports: dict[int, tuple[float, dict]] = {}
        self.videos: dict[int, dict] = {}
        self.latest_frame = None
        self.commands = self.node.create_publisher(String, "command", reliable)
        self.node.create_subscription(String, "motion_generator/status", self._on_status, reliable)
        self.node.create_subscription(String, "sim_check/report", self._on_report, reliable)
        self.node.create_subscription(String, "sim_check/video", self._on_video, reliable)
        self.node.create_subscription(
            Image, "camera/image", self._on_frame, qos_profile_sensor_data
        )
        self.voice = voice
        self._Audio = UInt8MultiArray
        self.audio = self.node.create_publisher(UInt8MultiArray, "audio", reliable)
        self.transcripts: list[dict] = []
        self.node.create_subscription(
            String, "voice_command/transcript",
            lambda m: self.transcripts.append(json.loads(m.data)), reliable,
        )  # fmt: skip
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self._spinner.start()

    def _on_status(self, msg) -> None:
        with self._lock:
            self.status.append((time.perf_counter(), json.loads(msg.data)))

    def _on_report(self, msg) -> None:
        report = json.loads(msg.data)
        with self._lock:
            self.reports.setdefault(report["stamp_ns"], (time.perf_counter(), report))

    def _on_video(self, msg) -> None:
        event = json.loads(msg.data)
        with self._lock:
            self.videos[event["stamp_ns"]] = event

    def _on_frame(self, msg) -> None:
        self.latest_frame = msg

    def missing(self) -> str:
        """What the system still lacks before a command can be judged ('' when ready)."""
        if self.commands.get_subscription_count() == 0:
            return "motion_generator (command subscriber)"
        if self.node.count_subscribers("/joint_trajectory") == 0:
            return "sim_check (joint_trajectory subscriber)"
        if self.node.count_publishers("/sim_check/video") == 0:
            return "sim_check's video publisher"
        if self.latest_frame is None:
            return "the first simulated head-camera frame"
        if self.voice and self.audio.get_subscription_count() == 0:
            return "voice_command (audio subscriber)"
        with self._lock:
            beat = next((s for _, s in reversed(self.status) if s.get("heartbeat")), None)
        if beat is None:
            return "the generator's heartbeat"
        # The generator's own publisher must have matched sim_check, or the first
        # trajectory could be published before sim_check receives it.
        if beat.get("trajectory_subscribers", 0) < 1:
            return "the generator to match sim_check"
        return ""

    @staticmethod
    def _wait(predicate, deadline: float):
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        return None

    def say_command(self, text: str, timeout_s: float) -> tuple[dict | None, CommandOutcome | None]:
        """Say ``text`` on ``audio`` (real-time pace); (voice_command's transcript, and when it
        sent a command, that command's outcome as :meth:`run_command` follows it)."""
        from motionvla_ros.say import CHUNK_S, speech_chunks
        from motionvla_ros.speech_synthesis import Voice

        with self._lock:
            first = len(self.status)
        heard_before = len(self.transcripts)
        for chunk in speech_chunks(text, Voice("en-us", 175), 16000):
            self.audio.publish(self._Audio(data=chunk))
            time.sleep(CHUNK_S)
        spoken = time.perf_counter()
        if not self._wait(lambda: len(self.transcripts) > heard_before,
                          time.monotonic() + 30.0):  # fmt: skip
            return None, None
        transcript = self.transcripts[heard_before]
        if not transcript["accepted"] or transcript["action"] != "command":
            return transcript, None
        return transcript, self.run_command(transcript["text"], timeout_s, (first, spoken))

    def run_command(
        self, text: str, timeout_s: float, sent_by_voice: tuple[int, float] | None = None
    ) -> CommandOutcome:
        """Send ``text`` (unless ``voice_command`` sent it: then ``sent_by_voice`` holds the
        status count and the time before it was said) and wait for its status, its verdict
        and its video."""
        outcome = CommandOutcome(text)
        deadline = time.monotonic() + timeout_s
        if sent_by_voice is None:
            with self._lock:
                first = len(self.status)
            sent = time.perf_counter()
            self.commands.publish(self._String(data=text))
        else:
            first, sent = sent_by_voice

        def ours(state: str | tuple[str, ...]) -> tuple[float, dict] | None:
            states = (state,) if isinstance(state, str) else state
            with self._lock:
                return next(
                    ((t, s) for t, s in self.status[first:]
                     if s.get("command") == text and s.get("state") in states),
                    None,
                )  # fmt: skip

        final = self._wait(lambda: ours(_FINAL_STATES), deadline)
        if final is None:
            outcome.reason = f"no result from the generator within {timeout_s:g} s"
            return outcome
        arrived, status = final
        generating = ours("generating")
        if generating is not None:
            outcome.image_stamp_ns = generating[1].get("image_stamp_ns")
        outcome.state = status["state"]
        if status["state"] != "done":
            outcome.reason = status.get("reason", "")
            return outcome
        stamp = status["stamp_ns"]
        outcome.source = status.get("source", "")
        outcome.frames, outcome.duration_s = status.get("frames"), status.get("duration_s")
        outcome.plan = status.get("plan")
        outcome.to_trajectory_s = round(arrived - sent, 3)
        verdict = self._wait(lambda: self.reports.get(stamp), deadline)
        if verdict is None:
            outcome.reason = f"no sim_check verdict within {timeout_s:g} s"
            return outcome
        judged, report = verdict
        outcome.to_verdict_s = round(judged - sent, 3)
        outcome.passed, outcome.forwarded = report["passed"], report["forwarded"]
        outcome.reason = report.get("reason", "")
        outcome.metrics = report.get("report", {}).get("metrics", {})
        outcome.plan = report.get("plan") or outcome.plan
        outcome.video = report.get("video")
        if outcome.video:
            verdict = "PASSED" if outcome.passed else "FAILED"
            _say(f"  ... {verdict} in {outcome.to_verdict_s} s; rendering its video")
            video = self._wait(lambda: self.videos.get(stamp), deadline)
            outcome.video_written = bool(video and video.get("written"))
        return outcome

    def close(self) -> None:
        self.executor.shutdown()
        self._spinner.join(2.0)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)


def _write_parameters(path: Path, args: argparse.Namespace, video_dir: Path) -> None:
    """The shipped parameter file with the demo's settings on top."""
    params = yaml.safe_load(find_share_file("config/motionvla.yaml").read_text())
    generator = params["motion_generator"]["ros__parameters"]
    generator.update(backend=args.backend, device=args.device, duration_s=args.duration_s,
                     max_image_age_s=0.0, generation_timeout_s=args.timeout_s)  # fmt: skip
    if args.model_path:
        generator["model_path"] = str(args.model_path)
    params["sim_check"]["ros__parameters"].update(
        scene_seed=args.scene, head_camera_rate_hz=10.0, video_dir=str(video_dir)
    )
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _save_frame(msg, path: Path) -> None:
    from PIL import Image

    from motionvla_ros.image_conversion import imgmsg_to_rgb8

    Image.fromarray(imgmsg_to_rgb8(msg)).save(path)


def _plan_cell(plan: dict[str, Any] | None) -> str:
    """The plan as the model wrote it, then how far it is from the scene's truth."""
    if not plan:
        return "-"
    if "target_in_scene" not in plan:
        return plan["text"]
    if not plan["target_in_scene"]:
        return f"{plan['text']} (no {plan['target']} in the scene)"
    cell = (
        f"{plan['text']} (off by {plan['distance_error_m']:.2f} m, "
        f"{plan['bearing_error_deg']:.0f}°)"
    )
    if plan.get("end_distance_m") is not None:
        cell += f"; ends {plan['end_distance_m']:.2f} m from it"
    return cell


def _markdown(summary: dict[str, Any]) -> str:
    lines = [
        "# MotionVLA-ROS demo",
        "",
        f"Backend `{summary['backend']}`, scene seed {summary['scene']} "
        f"({', '.join(summary['scene_objects']) or 'no objects'}), "
        f"{summary['date']}, {summary['machine']}.",
        f"Start-up {summary['startup_s']} s; total {summary['total_s']} s.",
        "",
        "![head camera](head_camera.png)",
        "",
        "| command | result | camera frame | plan | source | frames | to trajectory (s) "
        "| to verdict (s) | verdict | video |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in summary["commands"]:
        verdict = {True: "PASSED", False: "FAILED", None: "-"}[o["passed"]]
        video = f"[{Path(o['video']).name}](videos/{Path(o['video']).name})" if o["video"] else "-"
        lines.append(
            f"| {o['command']} | {o['state']} | {'yes' if o['image_stamp_ns'] else 'none'} "
            f"| {_plan_cell(o['plan'])} | {o['source'] or '-'} | {o['frames'] or '-'} "
            f"| {o['to_trajectory_s'] or '-'} | {o['to_verdict_s'] or '-'} | {verdict} | {video} |"
        )
    voice = summary.get("voice")
    if voice:
        heard = voice.get("transcript") or {}
        lines += ["", "## Spoken command", "",
                  f"Said (eSpeak NG, en-us): *{voice['said']}*. "
                  f"Heard: *{heard.get('heard', '(nothing)')}*, confidence "
                  f"{heard.get('confidence', '-')}, sent as `{heard.get('text') or '-'}` "
                  f"{heard.get('latency_ms', '-')} ms after the end of speech"
                  + ("" if heard.get("accepted") else f" (not sent: {heard.get('reason')})")
                  + "."]  # fmt: skip
        outcome = voice.get("outcome")
        if outcome:
            verdict = {True: "PASSED", False: "FAILED", None: "-"}[outcome["passed"]]
            lines.append(f"The generator: {outcome['state']}; simulation verdict: {verdict}.")
    lines += ["", "## Reasons and metrics", ""]
    for o in summary["commands"]:
        lines.append(f"- **{o['command']}**: {o['reason'] or '-'}")
        if o["metrics"]:
            shown = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in o["metrics"].items()
            )
            lines.append(f"  - metrics: {shown}")
    return "\n".join(lines) + "\n"


def _stop(bringup: subprocess.Popen, timeout_s: float = 30.0) -> int:
    if bringup.poll() is None:
        bringup.send_signal(signal.SIGINT)
    try:
        return bringup.wait(timeout_s)
    except subprocess.TimeoutExpired:
        bringup.kill()
        return bringup.wait()


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    """Run the demo described by ``args`` (see :func:`parse_args`); returns the summary."""
    from sim.scene import SceneDescription

    started = time.perf_counter()
    _resolve_backend(args)
    out: Path = args.output_dir
    video_dir = out / "videos"
    video_dir.mkdir(parents=True, exist_ok=True)
    scene = SceneDescription.random(args.scene)
    scene.to_yaml(out / "scene.yaml")
    labels = [o.label for o in scene.objects]
    _say(f"scene {args.scene}: {', '.join(labels) or 'no objects'}")
    _write_parameters(out / "parameters.yaml", args, video_dir)

    os.environ.update(ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    if "FASTDDS_DEFAULT_PROFILES_FILE" not in os.environ:
        os.environ.update(dds_environment())
    env = {**os.environ, "ROS_DOMAIN_ID": str(args.domain_id), "PYTHONUNBUFFERED": "1"}
    voice = bool(args.voice_command)
    _say(f"starting motion_generator ({args.backend}), sim_check"
         f"{' and voice_command' if voice else ''} (ROS_DOMAIN_ID "
         f"{args.domain_id}); node output in {out / 'nodes.log'}")  # fmt: skip
    log = (out / "nodes.log").open("w")
    bringup = subprocess.Popen(
        [sys.executable, "-m", "motionvla_ros.bringup", "--params-file",
         str(out / "parameters.yaml"), "--backend", args.backend, "--scene", str(args.scene),
         "--head-camera-hz", "10", "--video-dir", str(video_dir), "--device", args.device,
         "--use-voice", str(voice).lower(),
         *(["--model-path", str(args.model_path)] if args.model_path else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = DemoClient(args.domain_id, voice)
    outcomes: list[CommandOutcome] = []
    spoken: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + args.startup_timeout_s
        waiting_for = client.missing()
        while waiting_for:
            if bringup.poll() is not None:
                raise RuntimeError(f"the nodes exited ({bringup.returncode}); see nodes.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"still waiting for {waiting_for} after "
                                   f"{args.startup_timeout_s:g} s; see nodes.log")  # fmt: skip
            now_missing = client.missing()
            if now_missing != waiting_for and now_missing:
                _say(f"  ... waiting for {now_missing}")
            waiting_for = now_missing
            time.sleep(0.1)
        startup_s = round(time.perf_counter() - started, 1)
        _say(f"nodes up in {startup_s} s; the generator sees the simulated head camera")
        _save_frame(client.latest_frame, out / "head_camera.png")
        for i, text in enumerate(args.commands, 1):
            _say(f"command {i}/{len(args.commands)}: {text!r}")
            outcome = client.run_command(text, args.timeout_s)
            outcomes.append(outcome)
            if outcome.passed is None:
                _say(f"  -> {outcome.state}: {outcome.reason}")
            else:
                verdict = "PASSED" if outcome.passed else "FAILED"
                _say(f"  -> {outcome.source}: trajectory in {outcome.to_trajectory_s} s, "
                     f"{verdict} in {outcome.to_verdict_s} s ({outcome.reason})")  # fmt: skip
                if outcome.video:
                    _say(f"     video {outcome.video} "
                         f"({'written' if outcome.video_written else 'NOT written'})")  # fmt: skip
        if voice:
            _say(f"saying {args.voice_command!r} (eSpeak NG on 'audio' -> voice_command)")
            transcript, outcome = client.say_command(args.voice_command, args.timeout_s)
            spoken = {"said": args.voice_command, "transcript": transcript,
                      "outcome": asdict(outcome) if outcome else None}  # fmt: skip
            if transcript is None:
                _say("  -> voice_command published no transcript")
            else:
                sent = "sent" if transcript["accepted"] else f"not sent: {transcript['reason']}"
                result = f"; {outcome.state}, passed={outcome.passed}" if outcome else ""
                _say(f"  -> heard {transcript['heard']!r} (confidence "
                     f"{transcript['confidence']}), {sent}{result}")  # fmt: skip
    finally:
        client.close()
        code = _stop(bringup)
        log.close()
    _say(f"nodes stopped (bring-up exit status {code})")
    summary = {
        "backend": args.backend,
        "model_path": str(args.model_path or ""),
        "scene": args.scene,
        "scene_objects": labels,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()}-core CPU",
        "startup_s": startup_s,
        "total_s": round(time.perf_counter() - started, 1),
        "bringup_exit_status": code,
        "commands": [asdict(o) for o in outcomes],
        "voice": spoken,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(_markdown(summary))
    _say(f"summary: {out / 'summary.md'}")
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="motionvla-demo", description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("outputs/demo"))
    parser.add_argument("--backend", default="auto", choices=("auto", "model", "clips"))
    parser.add_argument("--model-path", type=Path, default=None, help="checkpoint directory")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    parser.add_argument("--scene", type=int, default=DEFAULT_SCENE, help="scene seed")
    parser.add_argument("--commands", nargs="+", default=None, help="commands to send")
    parser.add_argument("--voice-command", default=DEFAULT_VOICE_COMMAND,
                        help="then say this one ('' : no voice command)")
    parser.add_argument("--duration-s", type=float, default=3.0, help="motion length, seconds")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="per command")
    parser.add_argument("--startup-timeout-s", type=float, default=180.0)
    parser.add_argument("--domain-id", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "42")))
    parser.add_argument("--quick", action="store_true", help="two short commands")
    args = parser.parse_args(argv)
    if args.backend == "model" and args.model_path is None:
        parser.error("--backend model needs --model-path")
    if args.commands is None:
        args.commands = list(QUICK_COMMANDS if args.quick else DEFAULT_COMMANDS)
    if args.quick:
        args.duration_s = min(args.duration_s, 1.5)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        summary = run_demo(args)
    except RuntimeError as error:
        _say(f"failed: {error}")
        return 1
    judged = all(o["passed"] is not None for o in summary["commands"])
    heard = not args.voice_command or bool(summary["voice"].get("transcript"))
    return 0 if judged and heard and len(summary["commands"]) == len(args.commands) else 1


if __name__ == "__main__":
    raise SystemExit(main())
