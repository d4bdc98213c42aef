"""Tier 2: runtime/accel.py on a CPU: the AoT path with the real `spaces` functions (off ZeroGPU they
are plain AOTInductor), and the torch.compile path with the VAE decode compiled too (`DECODE_ENV=1`):
the default workflow on a tiny random SD1.5 checkpoint, compiled at 64x64 by the start-up warm-up, then
requested at 64x64 (covered: the compiled graph runs) and at 72x72 (not covered: the eager model runs),
each with the compiled path on and off.

What is asserted is behaviour, never a timing: which path each request took (the diffusion-model calls
counted by the dispatcher), that the uncovered request gives the eager path's pixels exactly, and that
the compiled graph's image matches eager up to rounding.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.runtime_procs import REPO_ROOT, build_tiny_checkpoint, pixels, subprocess_env

pytestmark = pytest.mark.tier2

ACCEL_TIMEOUT_S = 900  # AOTInductor compiles the tiny UNet's C++ on the CPU: minutes on two cores
SIZE, OTHER_SIZE = 64, 72


def _accelerated_run(work: Path, backend: str, env: dict[str, str]) -> dict:
    checkpoint = build_tiny_checkpoint(work / "tiny.safetensors")
    command = [
        sys.executable,
        str(REPO_ROOT / "tests" / "support" / "accel_run.py"),
        str(work),
        str(checkpoint),
    ]
    command += ["--backend", backend, "--size", str(SIZE), "--other-size", str(OTHER_SIZE)]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=ACCEL_TIMEOUT_S, cwd=REPO_ROOT, env=env
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def aot_run(tmp_path_factory) -> dict:
    return _accelerated_run(tmp_path_factory.mktemp("accel-aot"), "aot", subprocess_env())


@pytest.fixture(scope="module")
def compile_run(tmp_path_factory) -> dict:
    env = dict(subprocess_env(), COMFY_SPACE_ACCEL_DECODE="1")
    return _accelerated_run(tmp_path_factory.mktemp("accel-compile"), "compile", env)


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


def test_the_compile_backend_compiles_the_vae_decode_for_the_warm_ups_latent(compile_run):
    report = compile_run["report"]
    assert report["backend"] == "compile", report["reason"]
    assert report["decode_reason"] == ""
    ((name, shape, kind),) = report["decode_signature"]
    assert (name, shape) == ("z", [1, 4, SIZE // 8, SIZE // 8]) and kind.endswith("@cpu")


def test_a_covered_decode_runs_compiled_and_matches_eager(compile_run):
    covered = _run(compile_run, SIZE, enabled=True)
    assert (covered["decode_compiled"], covered["decode_eager"]) == (1, 0)
    assert covered["compiled_calls"] >= 1 and covered["eager_calls"] == 0
    eager = _run(compile_run, SIZE, enabled=False)
    assert (eager["decode_compiled"], eager["compiled_calls"]) == (0, 0)
    difference = np.abs(pixels(covered["images"][0]).astype(int) - pixels(eager["images"][0]).astype(int))
    assert difference.max() <= 2


def test_an_uncovered_latent_decodes_eager_with_the_same_pixels(compile_run):
    fallback = _run(compile_run, OTHER_SIZE, enabled=True)
    assert (fallback["decode_compiled"], fallback["decode_eager"]) == (0, 1)
    assert fallback["compiled_calls"] == 0 and fallback["eager_calls"] >= 1
    eager = _run(compile_run, OTHER_SIZE, enabled=False)
    assert np.array_equal(pixels(fallback["images"][0]), pixels(eager["images"][0]))
