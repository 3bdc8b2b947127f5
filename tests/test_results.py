"""Atomic result files and provenance."""
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
    assert results.read_json(path) == {"ok": 1}
    assert os.listdir(tmp_path) == ["r.json"], "temporary file left behind"


def test_provenance_has_versions_sha_and_device():
    p = results.provenance("cpu", seed=3)
    assert {"git_sha", "versions", "device", "device_name", "time_utc"} <= set(p)
    assert p["versions"]["deeprelax"] and p["seed"] == 3


def test_benchmarks_reads_gpu_files_only_oldest_first(tmp_path):
    benchmarks, write_json = results.benchmarks, results.write_json
    entry = {"net": "lenet", "engine_s_per_epoch": 0.1, "eager_s_per_epoch": 1.4,
             "ratio": 14.0, "device": "X"}
    write_json(tmp_path / "benchmark-nvidia-h200.json", [dict(entry, device="H200")])
    write_json(tmp_path / "benchmark-nvidia-h100.json", [dict(entry, device="H100")])
    write_json(tmp_path / "benchmark-nvidia-h100-details.json", [{"net": "lenet"}])
    write_json(tmp_path / "benchmark-cpu.json", [dict(entry, device="CPU")])
    os.utime(tmp_path / "benchmark-nvidia-h200.json", (1e9, 1e9))   # the older file
    got = benchmarks(tmp_path)
    assert [(e["device"], e["file"]) for e in got] == [
        ("H200", "benchmark-nvidia-h200.json"), ("H100", "benchmark-nvidia-h100.json")]
    assert benchmarks(tmp_path / "missing") == []


def test_a_truncated_result_json_names_the_file(tmp_path):
    path = results.write_json(tmp_path / "cell.json", {"a": [1, 2, 3]})
    path.write_text(path.read_text()[:7])
    with pytest.raises(results.ResultError, match="cell.json is not valid JSON"):
        results.read_json(path)
