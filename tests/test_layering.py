"""Imports run one way: motion <- dsft <- model <- retargeting/sim/training <- ROS.

Each package of the repository may import only the project packages its layer allows
(the table in docs and DESIGN); a cycle or an upward import fails here, with the module
and the import named. Third-party imports are not checked, except that the motion
representation must stay free of torch so that the retargeter and the importers never
pay for it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("motionvla_model", "retargeting", "sim", "training", "motionvla_ros")

# package (by longest matching prefix) -> project packages it may import
ALLOWED: dict[str, tuple[str, ...]] = {
    "motionvla_model.motion": ("motionvla_model.motion",),
    "motionvla_model.dsft": ("motionvla_model.dsft", "motionvla_model.motion"),
    "motionvla_model": ("motionvla_model",),
    "retargeting": ("retargeting", "motionvla_model.motion"),
    "sim": ("sim", "retargeting"),
    "training": ("training", "motionvla_model", "retargeting", "sim"),
    "motionvla_ros": ("motionvla_ros", "motionvla_model", "retargeting", "sim"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(source: str, package: str) -> set[str]:
    """Absolute names of every module ``source`` (in ``package``) imports."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            else:
                names.add(node.module or "")
    return names


def _upward_imports(source: str, module: str, is_package: bool) -> list[str]:
    package = module if is_package else module.rsplit(".", 1)[0]
    allowed = ALLOWED[_owner(module)]
    return sorted(
        name
        for name in _imports(source, package)
        if name.split(".")[0] in PROJECT and not _within(name, allowed)
    )


def _owner(module: str) -> str:
    matches = [p for p in ALLOWED if module == p or module.startswith(p + ".")]
    return max(matches, key=len)


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)



SOURCES = sorted(p for package in PROJECT for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layers(path):
    module = _module_name(path)
    upward = _upward_imports(path.read_text(), module, path.name == "__init__.py")
    assert not upward, f"{module} imports {upward}; its layer allows {ALLOWED[_owner(module)]}"


def test_motion_representation_does_not_import_torch_at_module_level():
    for path in sorted((ROOT / "motionvla_model" / "motion").glob("*.py")):
        top_level = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                top_level.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                top_level.add((node.module or "").split(".")[0])
        assert not top_level & {"torch", "transformers"}, path.name


def test_the_rule_catches_upward_and_relative_imports():
    motion = "motionvla_model.motion.skeleton"
    assert _upward_imports("from motionvla_model.modeling import MotionVLA", motion, False)
    assert _upward_imports("from ..dsft import DSFTTokenizer", motion, False) == [
        "motionvla_model.dsft"
    ]
    assert not _upward_imports("from .features import FEATURE_DIM", motion, False)
    assert _upward_imports("import training.cli", "motionvla_ros.say", False)
    assert not _upward_imports("from .motion import bvh", "motionvla_model", True)
