"""Tier 2: runtime/accel.py's AoT path on a CPU, with the real `spaces` functions (off ZeroGPU they
are plain AOTInductor): the default workflow on a tiny random SD1.5 checkpoint, compiled at 64x64 by
the start-up warm-up, then requested at 64x64 (covered: the compiled graph runs) and at 72x72 (not
covered: the eager model runs), each with the compiled path on and off.

What is asserted is behaviour, never a timing: which path each request took (the diffusion-model calls
counted by the dispatcher), that the uncovered request gives the eager path's pixels exactly, and that
the compiled graph's image matches eager up to rounding.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from support.runtime_procs import REPO_ROOT, build_tiny_checkpoint, pixels, subprocess_env

pytestmark = pytest.mark.tier2

ACCEL_TIMEOUT_S = 900  # AOTInductor compiles the tiny UNet's C++ on the CPU: minutes on two cores
SIZE, OTHER_SIZE = 64, 72


@pytest.fixture(scope="module")
def aot_run(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("accel-aot")
    checkpoint = build_tiny_checkpoint(work / "tiny.safetensors")
    command = [
        sys.executable,
        str(REPO_ROOT / "tests" / "support" / "accel_run.py"),
        str(work),
        str(checkpoint),
    ]
    command += ["--backend", "aot", "--size", str(SIZE), "--other-size", str(OTHER_SIZE)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=ACCEL_TIMEOUT_S, cwd=REPO_ROOT, env=subprocess_env()
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _run(answer: dict, size: int, enabled: bool) -> dict:
    (run,) = [run for run in answer["runs"] if run["size"] == size and run["enabled"] == enabled]
    return run


def test_the_start_compiles_for_the_workflows_shapes(aot_run):
    report = aot_run["report"]
    assert report["backend"] == "aot", report["reason"]
    shapes = {name: shape for name, shape, _kind in report["signature"]}
    assert shapes["x"] == [2, 4, SIZE // 8, SIZE // 8]  # CFG: cond and uncond batched, 64 px -> 8 latent
    assert report["cuda_graph"] is False


def test_a_covered_request_runs_the_compiled_graph(aot_run):
    covered = _run(aot_run, SIZE, enabled=True)
    assert covered["compiled_calls"] >= 1 and covered["eager_calls"] == 0
    eager = _run(aot_run, SIZE, enabled=False)
    assert eager["compiled_calls"] == 0
    difference = np.abs(pixels(covered["images"][0]).astype(int) - pixels(eager["images"][0]).astype(int))
    assert difference.max() <= 2  # the same function, rounded differently by inductor's fused kernels


def test_an_uncovered_shape_falls_back_to_eager_with_the_same_pixels(aot_run):
    fallback = _run(aot_run, OTHER_SIZE, enabled=True)
    assert fallback["compiled_calls"] == 0 and fallback["eager_calls"] >= 1
    eager = _run(aot_run, OTHER_SIZE, enabled=False)
    assert eager["compiled_calls"] == 0
    assert np.array_equal(pixels(fallback["images"][0]), pixels(eager["images"][0]))
