"""The motionvla-generate command line, run in-process."""

import json

import numpy as np
import pytest
from PIL import Image

from motionvla_model.generate_cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny")
    assert main(["--write-tiny", str(folder)]) == 0
    return folder


def test_generate_writes_a_motion_file(checkpoint, tmp_path, capsys):
    capsys.readouterr()
    image = np.random.default_rng(0).integers(0, 256, size=(48, 64, 4), dtype=np.uint8)
    Image.fromarray(image, mode="RGBA").save(tmp_path / "scene.png")
    out = tmp_path / "motion.npz"
    code = main(
        [
            "--model", str(checkpoint), "--text", "walk forward", "--image",
            str(tmp_path / "scene.png"), "--duration", "1", "--seed", "0",
            "--device", "cpu", "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["stop_reason"] == "complete" and summary["well_formed"]
    assert "RGBA image composited over white" in summary["notes"]
    saved = np.load(out)
    assert saved["joints"].shape == (summary["frames"], 22, 3) and float(saved["fps"]) == 20.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "   "], "InvalidCommandError"),
        (["--text", "walk", "--duration", "-1"], "ConfigurationError"),
        (["--text", "walk", "--image", "missing.png"], "InvalidImageError"),
    ],
)
def test_bad_input_exits_with_a_named_error(checkpoint, capsys, args, message):
    assert main(["--model", str(checkpoint), "--device", "cpu", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_folder_that_is_no_checkpoint(tmp_path, capsys):
    assert main(["--model", str(tmp_path), "--text", "walk"]) == 2
    assert "CheckpointError" in capsys.readouterr().err
