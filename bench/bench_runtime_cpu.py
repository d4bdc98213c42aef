"""Benchmark: a generated app's warm request against ComfyUI itself, on a random SD1.5 checkpoint.

Measures, on the same text-to-image prompt and the same weights:
  (a) app    - `runtime.ComfyWorkflow.run`, what a generated app's `generate` calls;
  (b) comfy  - ComfyUI's own `PromptExecutor` (validate + execute, as its server does), same process;
  (c) naive  - the exported-script pattern: the checkpoint loaded inside every call, nodes called directly;
  (d) cold   - a fresh process, from its start to the first image, through `ComfyWorkflow`.
Every request uses a new seed and prompt, as users do; (a) and (b) alternate (ABBA); (a)-(c) print
medians of `--repeats` warm requests (after one warm-up each) and the ratios a/b and c/b.
No assertions: numbers only.

    python bench/bench_runtime_cpu.py                          # CPU: tiny checkpoint, 64x64, 3 steps
    python bench/bench_runtime_cpu.py --layout full --device gpu --size 512 --steps 20   # issue 5 on a GPU

Needs a ComfyUI checkout (COMFYUI_PATH or the default install dir). Each measurement runs in its
own process (ComfyUI's state is process-wide); the checkpoint is built once into --work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_NAME = "random-sd15.safetensors"


def text_to_image_prompt(size: int, steps: int) -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CHECKPOINT_NAME}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a red fox", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, watermark", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": size, "height": size, "batch_size": 1}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 0,
                "steps": steps,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "bench", "images": ["8", 0]}},
    }


def request_values(index: int) -> tuple[int, str]:
    """The seed and prompt of request `index`: different for every request."""
    return 1000 + index, f"a red fox, photo number {index}"


# --- the orchestrating process ---------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", choices=["tiny", "full"], default="tiny")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--size", type=int, default=64, help="image width and height")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="timed warm requests per pattern")
    parser.add_argument(
        "--work", type=Path, help="folder for the checkpoint and app data (default: a temp dir)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", choices=["warm", "cold"], help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        return _worker(options)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-runtime-") as scratch:
        work = options.work or Path(scratch)
        results = _run_all(options, work.resolve())
    # Other work on the machine moves every number; the load average says how much there was.
    results["load_average"] = [load_before, os.getloadavg()[0]]
    _print_table(options, results)
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))
    return 0


def _run_all(options: argparse.Namespace, work: Path) -> dict:
    checkpoint = work / "app" / "comfy_data" / "models" / "checkpoints" / CHECKPOINT_NAME
    if not checkpoint.exists():
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "tests" / "random_checkpoint.py"),
                str(checkpoint),
                "--layout",
                options.layout,
                "--device",
                options.device,
            ],
            check=True,
        )
        print(
            f"built {checkpoint.name} ({options.layout}) in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    (work / "app" / "workflow_api.json").write_text(
        json.dumps(text_to_image_prompt(options.size, options.steps))
    )
    results = {"warm": _worker_process(options, work, "warm")}
    started = time.perf_counter()
    cold = _worker_process(options, work, "cold")
    cold["process_start_to_first_image_s"] = time.perf_counter() - started
    results["cold"] = cold
    return results


def _worker_process(options: argparse.Namespace, work: Path, kind: str) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--work", str(work)]
    command += ["--size", str(options.size), "--steps", str(options.steps), "--repeats", str(options.repeats)]
    command += ["--layout", options.layout, "--device", options.device]
    result = subprocess.run(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _print_table(options: argparse.Namespace, results: dict) -> None:
    warm, cold = results["warm"], results["cold"]
    app, comfy, naive = (statistics.median(warm[key]) for key in ("app", "comfy", "naive"))
    print(
        f"\nrandom SD1.5 ({options.layout}), {options.size}x{options.size}, {options.steps} steps, "
        f"{warm['device']}, torch {warm['torch']}, median of {options.repeats} warm requests"
    )
    print(f"{'pattern':<44}{'median s':>10}{'ratio to b':>12}")
    rows = [
        ("(a) generated app (ComfyWorkflow.run)", app),
        ("(b) ComfyUI PromptExecutor, same process", comfy),
        ("(c) naive: load the checkpoint every call", naive),
    ]
    for label, seconds in rows:
        print(f"{label:<44}{seconds:>10.3f}{seconds / comfy:>12.3f}")
    print(f"a/b = {app / comfy:.3f}   c/b = {naive / comfy:.3f}")
    print(
        f"(d) cold start, process start to first image: {cold['process_start_to_first_image_s']:.1f} s "
        f"(load {cold['load_s']:.1f} s, first request {cold['first_request_s']:.2f} s)"
    )
    print(
        f"checkpoint loads during the app's {options.repeats + 1} requests: {warm['app_request_checkpoint_loads']}"
    )
    print(f"recommended @spaces.GPU duration: {warm['recommended_duration']} s")
    print(
        f"1-minute load average before/after: {results['load_average'][0]:.1f}/{results['load_average'][1]:.1f}"
    )
    if warm.get("gpu_peak_memory_gb") is not None:
        print(f"GPU peak memory: {warm['gpu_peak_memory_gb']:.2f} GB")


# --- the measuring processes -------------------------------------------------------------------------


def _worker(options: argparse.Namespace) -> int:
    sys.path.insert(0, str(REPO_ROOT))
    if options.device == "gpu" and not _cuda_available():
        print("error: --device gpu but torch sees no CUDA device", file=sys.stderr)
        return 2
    app_dir = options.work / "app"
    result = _cold(app_dir) if options.worker == "cold" else _warm(app_dir, options)
    print(json.dumps(result))
    return 0


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def _cold(app_dir: Path) -> dict:
    from runtime import ComfyWorkflow

    started = time.perf_counter()
    workflow = ComfyWorkflow.load(app_dir / "workflow_api.json")
    loaded = time.perf_counter()
    seed, text = request_values(0)
    workflow.run({("3", "seed"): seed, ("6", "text"): text})
    return {"load_s": loaded - started, "first_request_s": time.perf_counter() - loaded}


def _warm(app_dir: Path, options: argparse.Namespace) -> dict:
    from runtime import ComfyWorkflow
    from runtime.engine import start
    from runtime.locate import find_comfyui

    start(find_comfyui(), app_dir / "comfy_data")
    import comfy.sd
    import torch

    loads = _count_checkpoint_loads(comfy.sd)
    workflow = ComfyWorkflow.load(app_dir / "workflow_api.json")
    prompt = text_to_image_prompt(options.size, options.steps)
    app_loads = 0  # checkpoint loads inside the app's requests (b's own loads are not its)

    def app_request(index: int) -> None:
        nonlocal app_loads
        seed, text = request_values(index)
        before = loads["count"]
        workflow.run({("3", "seed"): seed, ("6", "text"): text})
        app_loads += loads["count"] - before

    comfy_request = _comfy_executor_request(prompt)
    app, comfy = _timed_alternately(app_request, comfy_request, options.repeats)
    naive = _timed_alternately(_naive_request(options.size, options.steps), None, options.repeats)[0]
    on_gpu = torch.cuda.is_available()
    return {
        "app": app,
        "comfy": comfy,
        "naive": naive,
        "app_request_checkpoint_loads": app_loads,
        "recommended_duration": workflow.recommended_duration(),
        "device": torch.cuda.get_device_name(0) if on_gpu else "CPU",
        "torch": torch.__version__,
        "gpu_peak_memory_gb": torch.cuda.max_memory_allocated() / 2**30 if on_gpu else None,
    }


def _count_checkpoint_loads(comfy_sd) -> dict:
    loads = {"count": 0}
    original = comfy_sd.load_checkpoint_guess_config

    def counting(*args, **kwargs):
        loads["count"] += 1
        return original(*args, **kwargs)

    comfy_sd.load_checkpoint_guess_config = counting
    return loads


def _timed_alternately(first, second, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of `repeats` requests of each pattern after one untimed warm-up each, in ABBA order
    (request i of both with the same seed and prompt), so drift in the machine hits both alike."""
    patterns = [pattern for pattern in (first, second) if pattern is not None]
    for pattern in patterns:
        pattern(-1)
        _sync()
    seconds: list[list[float]] = [[] for _ in patterns]
    for index in range(repeats):
        order = list(enumerate(patterns)) if index % 2 == 0 else list(reversed(list(enumerate(patterns))))
        for position, pattern in order:
            started = time.perf_counter()
            pattern(index)
            _sync()
            seconds[position].append(time.perf_counter() - started)
    return seconds[0], (seconds[1] if len(seconds) > 1 else [])


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _comfy_executor_request(prompt: dict):
    """ComfyUI's own path for one queued prompt: validate_prompt, then PromptExecutor.execute."""
    import asyncio
    import copy
    import uuid

    import execution
    import server

    executor = execution.PromptExecutor(server.PromptServer.instance, cache_type=execution.CacheType.CLASSIC)

    def request(index: int) -> None:
        seed, text = request_values(index)
        queued = copy.deepcopy(prompt)
        queued["3"]["inputs"]["seed"] = seed
        queued["6"]["inputs"]["text"] = text
        prompt_id = uuid.uuid4().hex
        ok, error, outputs, _ = asyncio.run(execution.validate_prompt(prompt_id, queued, None))
        assert ok, error
        executor.execute(queued, prompt_id, {}, outputs)
        assert executor.success, executor.status_messages

    return request


def _naive_request(size: int, steps: int):
    """An exported script's `generate`: every node called directly, the checkpoint loaded each call."""
    import nodes
    import torch

    def request(index: int) -> None:
        seed, text = request_values(index)
        with torch.inference_mode():
            model, clip, vae = nodes.CheckpointLoaderSimple().load_checkpoint(CHECKPOINT_NAME)[:3]
            positive = nodes.CLIPTextEncode().encode(clip, text)[0]
            negative = nodes.CLIPTextEncode().encode(clip, "blurry, watermark")[0]
            latent = nodes.EmptyLatentImage().generate(size, size, 1)[0]
            samples = nodes.KSampler().sample(
                model, seed, steps, 7.0, "euler", "normal", positive, negative, latent, denoise=1.0
            )[0]
            image = nodes.VAEDecode().decode(vae, samples)[0]
            nodes.SaveImage().save_images(image, "naive")

    return request


if __name__ == "__main__":
    sys.exit(main())
