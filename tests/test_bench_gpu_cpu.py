"""Tier 2: the GPU benchmark (bench/gpu/bench.py) in its CPU mode, so it cannot rot between GPU runs.

It builds the app from the template with the wizard, a tiny random checkpoint, and measures the app,
ComfyUI's own executor and the naive pattern in one process. Timings are printed, never asserted; what
is asserted is behaviour: the table with its ratios, the app's second request loading no model, the
naive pattern reading the checkpoint on every call, and the app giving ComfyUI's own pixels.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.tier2

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_TIMEOUT_S = 840
REQUESTS = 5
NAIVE_REQUESTS = 1


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> tuple[str, dict]:
    work = tmp_path_factory.mktemp("bench-gpu-cpu")
    command = [sys.executable, str(REPO_ROOT / "bench" / "gpu" / "bench.py"), "--device", "cpu"]
    command += ["--layout", "tiny", "--steps", "1", "--requests", str(REQUESTS)]
    command += ["--naive-requests", str(NAIVE_REQUESTS), "--warmup", "1"]
    command += ["--work", str(work), "--json", str(work / "results.json")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout, json.loads((work / "results.json").read_text())


def test_prints_the_table_with_ratios(bench_run):
    table, results = bench_run
    rows = ("(a) generated app", "(b) ComfyUI `PromptExecutor`", "(c) naive", "(d) cold start")
    rows += ("(e) generated app", "(f) one-time compile cost", "(g) first request after start")
    for row in rows:
        assert re.search(rf"^\| {re.escape(row)}.*\| [0-9.]+ \|", table, re.MULTILINE), row
    ratios = re.search(r"a/b = ([0-9.]+), c/b = ([0-9.]+)", table)
    assert ratios and float(ratios[1]) > 0 and float(ratios[2]) > 0
    assert len(results["timings"]["app"]) == len(results["timings"]["comfyui"]) == REQUESTS
    assert len(results["timings"]["accel"]) == REQUESTS
    assert len(results["timings"]["naive"]) == NAIVE_REQUESTS
    assert 10 <= results["recommended_duration"] <= 120


def test_app_requests_load_no_model_and_the_naive_pattern_does(bench_run):
    _table, results = bench_run
    loads = results["loads"]
    assert loads["app_second_request"] == {"file_reads": 0, "device_loads": 0}
    assert loads["app_warm"] == {"file_reads": 0, "device_loads": 0}
    assert loads["naive"]["file_reads"] >= NAIVE_REQUESTS  # the checkpoint, read again on every call


def test_app_gives_comfyuis_own_pixels(bench_run):
    _table, results = bench_run
    assert results["same_pixels"] == "identical"


def test_on_a_cpu_the_app_stays_eager_and_its_images_match(bench_run):
    _table, results = bench_run
    assert results["accel"]["backend"] == "off"  # compiling was not measured to help on a CPU
    assert results["numerics"] == f"identical in all {REQUESTS - 1} rounds"
