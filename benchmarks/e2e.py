"""End-to-end latency of the ROS layer: real nodes in separate processes over DDS on loopback.

Starts ``motion_generator`` and ``sim_check`` (as ``motionvla-bringup`` does), streams
640x480 rgb8 frames at 30 Hz into the generator for the whole run, sends commands one
at a time and measures, per command:

* ``command_to_trajectory_ms``: command published -> JointTrajectory received here;
* ``command_to_verdict_ms``: command published -> sim_check report for that stamp.

And over the run: ``image_latency_ms`` (p50 of the generator's own receive latency,
stamp -> callback), ``images_dropped_fraction`` (frames published here that the
generator never received), ``node_restarts`` (node processes that exited: must be 0)
and ``rss_growth_mb`` (resident memory of the node processes, end minus after the
first command).

Each backend runs as its own session (fresh node processes). ``--backend both`` (the
default) runs the recorded-clip backend, the baseline that costs no model time, and
then the model backend; ``model_vs_clips_final_p50`` is the ratio of their
command -> final-status p50 latencies in the same run. The model backend uses
``--model-path``, else the default model (:func:`motionvla_model.bundled.default_model_path`:
a rebuilt one, else the one the repository ships); ``states`` counts how requests ended.

    .venv/bin/python benchmarks/e2e.py --quick               # < 60 s (5 clips + 1 model)
    .venv/bin/python benchmarks/e2e.py --backend model --model-path DIR --commands 50

The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from motionvla_model.bundled import default_model_path  # noqa: E402  (needs ROOT on sys.path)
from motionvla_ros.bringup import dds_environment  # noqa: E402

DOMAIN = 79
COMMANDS = ["walk forward", "jog backward", "turn around", "walk sideways left", "run forward"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ROS_DOMAIN_ID=str(DOMAIN),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        **dds_environment(),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return env


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    return {
        "p50": round(float(np.percentile(values, 50)), 2),
        "p95": round(float(np.percentile(values, 95)), 2),
    }


class Bench:
    def __init__(self) -> None:
        os.environ.update(_env())
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import Image
        from std_msgs.msg import String
        from trajectory_msgs.msg import JointTrajectory

        from motionvla_ros.image_conversion import numpy_to_imgmsg
        from motionvla_ros.trajectory_messages import stamp_key

        self._rclpy = rclpy
        self._String = String
        self._stamp_key = stamp_key
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=DOMAIN)
        self.node = rclpy.create_node("e2e_bench", context=self.context)
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
        self.commands = self.node.create_publisher(String, "/command", reliable)
        self.images = self.node.create_publisher(Image, "/camera/image", qos_profile_sensor_data)
        self.trajectory_times: dict[int, float] = {}
        self.report_times: dict[int, tuple[float, dict]] = {}
        self.status: list[dict] = []
        self.node.create_subscription(
            JointTrajectory,
            "/joint_trajectory",
            lambda m: self.trajectory_times.setdefault(
                stamp_key(m.header.stamp), time.perf_counter()
            ),
            reliable,
        )
        self.node.create_subscription(String, "/sim_check/report", self._on_report, reliable)
        self.node.create_subscription(
            String, "/motion_generator/status", lambda m: self.status.append(json.loads(m.data)),
            reliable,
        )  # fmt: skip
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self._spinner.start()
        self._frame = numpy_to_imgmsg(
            np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8), "rgb8"
        )
        self.images_published = 0
        self._camera_stop = threading.Event()
        self._camera = threading.Thread(target=self._stream_camera, daemon=True)

    def _on_trajectory(self, msg) -> None:
        self.trajectory_times.setdefault(self._stamp_key(msg.header.stamp), time.perf_counter())

    def _on_report(self, msg) -> None:
        report = json.loads(msg.data)
        self.report_times.setdefault(report["stamp_ns"], (time.perf_counter(), report))

    def _stream_camera(self) -> None:
        period = 1 / 30
        next_at = time.perf_counter()
        while not self._camera_stop.is_set():
            now_ns = time.time_ns()
            stamp = self._frame.header.stamp
            stamp.sec, stamp.nanosec = divmod(now_ns, 1_000_000_000)
            self.images.publish(self._frame)
            self.images_published += 1
            next_at += period
            time.sleep(max(0.0, next_at - time.perf_counter()))

    def wait(self, predicate, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.002)
        return None

    def ready(self, use_sim: bool) -> bool:
        def matched() -> bool:
            ok = self.commands.get_subscription_count() and self.images.get_subscription_count()
            beat = self.heartbeat()
            if use_sim:  # the generator itself must see sim_check and this node as readers
                ok = ok and beat and beat.get("trajectory_subscribers", 0) >= 2
                ok = ok and self.node.count_publishers("/sim_check/report")
            return bool(ok and beat)

        return bool(self.wait(matched, 60))

    def heartbeat(self) -> dict | None:
        beats = [s for s in self.status if s.get("heartbeat")]
        return beats[-1] if beats else None

    def run_command(
        self, text: str, use_sim: bool, timeout_s: float
    ) -> tuple[str, float, float | None, float | None]:
        """(final state, ms to it, ms to the trajectory, ms to the verdict) of one command."""
        sent = time.perf_counter()
        sent_wall = time.time()
        self.commands.publish(self._String(data=text))

        def finished() -> dict | None:
            return next(
                (
                    s for s in reversed(self.status)
                    if s.get("command") == text and s["time"] >= sent_wall
                    and s["state"] in ("done", "error", "cancelled", "rejected")
                ),
                None,
            )  # fmt: skip

        status = self.wait(finished, timeout_s)
        if status is None:
            raise RuntimeError(f"command {text!r} got no final status in {timeout_s:g} s")
        to_final = (time.perf_counter() - sent) * 1e3
        if status["state"] != "done":
            return status["state"], to_final, None, None
        stamp = status["stamp_ns"]
        arrived = self.wait(lambda: self.trajectory_times.get(stamp), 10)
        to_trajectory = (arrived - sent) * 1e3
        if not use_sim:
            return "done", to_final, to_trajectory, None
        verdict = self.wait(lambda: self.report_times.get(stamp), timeout_s)
        if verdict is None:
            raise RuntimeError(f"no sim_check report for {text!r}")
        return "done", to_final, to_trajectory, (verdict[0] - sent) * 1e3

    def stop_camera(self) -> int:
        """Stop the camera thread; the number of frames it published."""
        self._camera_stop.set()
        if self._camera.ident is not None:  # started
            self._camera.join(2)
        return self.images_published

    def close(self) -> None:
        self.stop_camera()
        self.executor.shutdown()
        self._spinner.join(2)
        self.node.destroy_node()
        self._rclpy.try_shutdown(context=self.context)


def resolve_model_path(model_path: str) -> tuple[str, str]:
    """(checkpoint directory, what it is): the given one, else the default model."""
    if model_path:
        return model_path, "given"
    default = default_model_path()
    if default is None:
        raise SystemExit("no default model found; pass --model-path")
    return str(default), "default"


def run_session(backend: str, model_path: str, device: str, count: int, use_sim: bool,
                timeout_s: float) -> dict:  # fmt: skip
    """Start the nodes with ``backend``, send ``count`` commands, measure, stop them."""
    params = ROOT / "config" / "motionvla.yaml"
    generator_args = ["-p", f"backend:={backend}", "-p", f"device:={device}",
                      "-p", "status_period_s:=0.25",
                      "-p", f"generation_timeout_s:={timeout_s}"]  # fmt: skip
    if model_path:
        generator_args += ["-p", f"model_path:={model_path}"]
    modules = {"motion_generator": generator_args}
    if use_sim:
        modules["sim_check"] = []
    started = time.perf_counter()
    processes = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                f"motionvla_ros.{name}",
                "--ros-args",
                "--params-file",
                str(params),
                *extra,
            ],
            env=_env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, extra in modules.items()
    }
    bench = Bench()
    try:
        if not bench.ready(use_sim):
            raise RuntimeError("nodes did not come up within 60 s")
        ready_s = time.perf_counter() - started
        bench._camera.start()
        to_final, to_trajectory, to_verdict, states = [], [], [], {}
        rss_start: dict[str, float] = {}
        for i in tqdm(range(count), desc=f"{backend} commands", file=sys.stderr):
            text = f"{COMMANDS[i % len(COMMANDS)]} #{i}"
            state, final, trajectory, verdict = bench.run_command(text, use_sim, timeout_s)
            states[state] = states.get(state, 0) + 1
            to_final.append(final)
            if trajectory is not None:
                to_trajectory.append(trajectory)
            if verdict is not None:
                to_verdict.append(verdict)
            if i == 0:  # after warm-up: caches filled, model loaded
                rss_start = {n: _rss_mb(p.pid) for n, p in processes.items()}
        published = bench.stop_camera()
        # The image counters of a heartbeat sent after the last frame had time to
        # arrive; an older one would count the frames still in flight as dropped.
        settled = time.time() + 0.3
        beat = bench.wait(lambda: (b := bench.heartbeat()) and b["time"] >= settled and b, 5) or {}
        rss_end = {n: _rss_mb(p.pid) for n, p in processes.items()}
        restarts = sum(p.poll() is not None for p in processes.values())
        sim_available = None
        if bench.report_times:
            last = next(reversed(bench.report_times.values()))[1]
            sim_available = "unavailable" not in last.get("reason", "")
    finally:
        bench.close()
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(2)
        for process in processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
    received = beat.get("images_received", 0)
    return {
        "commands": count,
        "states": states,
        "ready_s": round(ready_s, 1),
        "command_to_final_status_ms": _percentiles(to_final),
        "command_to_trajectory_ms": _percentiles(to_trajectory),
        "command_to_verdict_ms": _percentiles(to_verdict),
        "image_latency_ms": {"p50": beat.get("image_latency_ms_p50")},
        "images_published": published,
        "images_dropped_fraction": round(max(0.0, 1 - received / published), 4)
        if published
        else None,
        "node_restarts": restarts,
        "rss_growth_mb": round(sum(rss_end[n] - rss_start.get(n, rss_end[n]) for n in rss_end), 2),
        "sim_checker_available": sim_available,
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 clip + 1 model commands, < 60 s")
    parser.add_argument("--commands", type=int, default=30, help="per backend")
    parser.add_argument("--backend", default="both", choices=("clips", "model", "both"))
    parser.add_argument("--model-path", default="")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-sim", action="store_true")
    parser.add_argument("--timeout-s", type=float, default=120.0)
    args = parser.parse_args()
    use_sim = not args.no_sim
    started = time.perf_counter()
    result: dict = {"benchmark": "e2e", "quick": args.quick}
    runs: dict[str, dict] = {}
    if args.backend in ("clips", "both"):
        count = 5 if args.quick else args.commands
        runs["clips"] = run_session("clips", "", args.device, count, use_sim, args.timeout_s)
    if args.backend in ("model", "both"):
        model_path, kind = resolve_model_path(args.model_path)
        result["model"] = {"path": model_path, "kind": kind}
        count = 1 if args.quick else args.commands
        runs["model"] = run_session("model", model_path, args.device, count, use_sim,
                                    args.timeout_s)  # fmt: skip
    result["runs"] = runs
    if len(runs) == 2:
        model_p50 = runs["model"]["command_to_final_status_ms"]["p50"]
        clips_p50 = runs["clips"]["command_to_final_status_ms"]["p50"]
        result["model_vs_clips_final_p50"] = round(model_p50 / clips_p50, 1) if clips_p50 else None
    result["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
