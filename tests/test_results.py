"""Atomic result files and provenance."""
import json
import os
import stat

import pytest

from deeprelax import results


def test_write_json_is_atomic_and_readable(tmp_path):
    path = tmp_path / "sub" / "r.json"
    results.write_json(path, {"a": [1, 2.5, None]})
    assert results.read_json(path) == {"a": [1, 2.5, None]}
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode & 0o044, "result files must be readable by others (mkstemp gives 0600)"


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.json"
    results.write_json(path, {"ok": 1})
    with pytest.raises(TypeError):
        results.write_json(path, {"bad": object()})          # not JSON-serialisable
    assert json.loads(path.read_text()) == {"ok": 1}
    assert os.listdir(tmp_path) == ["r.json"], "temporary file left behind"


def test_provenance_has_versions_sha_and_device():
    p = results.provenance("cpu", seed=3)
    assert {"git_sha", "versions", "device", "device_name", "time_utc"} <= set(p)
    assert p["versions"]["deeprelax"] and p["seed"] == 3
