"""A generated app against ComfyUI itself: the standard text-to-image workflow on a random-weight SD1.5
checkpoint, measured in one process.

    python bench/gpu/bench.py --device cpu --layout tiny          # here: 64x64, 3 steps
    python bench/gpu/bench.py --device gpu --layout full          # a GPU: 512x512, 20 steps
    python bench/gpu/bench.py --device gpu --layout full --app .gpu_carry/space   # app built by prepare.py
    python bench/gpu/bench.py --device gpu --layout sdxl --accel compile          # SDXL, torch.compile

Measures (a) the generated app's warm request through its `generate` function with the compiled path
off (ComfyUI's eager model), (b) ComfyUI's own `PromptExecutor` on the same prompt and checkpoint in the
same process, (e) the app's warm request accelerated (runtime/accel.py), (a), (b) and (e) interleaved,
same seed per round, (c) the naive pattern of an exported script: every node's function called
directly, models loaded inside each call, (d) cold start: process start to the first image of the app,
(f) the one-time compile cost at start, (g) the app's first request after start (after its warm-up).
Prints a Markdown table of medians with the ratios to (b), the difference of accelerated and eager
images of the same seed (max absolute difference, PSNR), peak GPU memory, the `duration` the app
recommends and the model loads of each request (file reads through `comfy.utils.load_torch_file` and
loads of weights onto the compute device through `ModelPatcher.load`). Never asserts on timings.

`--accel compile,aot` measures each backend in its own process (one table each); the layout "sdxl"
measures SDXL's architecture at 1024x1024.

The orchestrator (this file's `main`) builds the app with the wizard (unless `--app` names one already
built), builds the checkpoint in a subprocess (`tests/random_checkpoint.py`) and links it where the app
looks for the workflow's model, so nothing is downloaded; the measuring process (`--measure`) imports
only the app, as a Space would.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import importlib.util
import inspect
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "default.json"  # comfyui-workflow-templates: SD1.5 text to image, 512x512, 20 steps
PROMPT_TEXT = "beautiful scenery nature glass bottle landscape, purple galaxy bottle"
FIRST_SEED = 1000
# Per device: image size, sampler steps, warm requests per measurement, naive calls, warm-ups.
DEFAULTS = {
    "gpu": {"size": 512, "steps": 20, "requests": 18, "naive_requests": 5, "warmup": 2},
    "cpu": {"size": 64, "steps": 3, "requests": 5, "naive_requests": 3, "warmup": 1},
}
LAYOUT_SIZES = {"sdxl": 1024}  # the image size of a layout on a GPU, where it is not the device's default
# auto: what the app chooses where it runs; compile+decode: "compile" with the VAE decode compiled too
ACCEL_BACKENDS = ("auto", "compile", "compile+decode", "aot", "off")
ACCEL_ENV = "COMFY_SPACE_ACCEL"  # runtime/accel.py's BACKEND_ENV (the bench imports no runtime module)
DECODE_ENV = "COMFY_SPACE_ACCEL_DECODE"  # runtime/accel.py's DECODE_ENV
MEASURE_TIMEOUT_S = 1800
# The order of (e), (a), (b) in successive rounds: over 6 rounds every kind runs twice in each position and
# follows each kind (itself included) exactly twice, so neither drift nor what ran just before favours one;
# "e before a" and "a before e" alternate, so the app's executor never runs one prompt twice in a row ((e)
# runs round r's prompt, (a) round r-1's, and ComfyUI's cache would skip the sampler).
ROUND_ORDERS = (
    ("accel", "app", "comfyui"),
    ("comfyui", "app", "accel"),
    ("accel", "comfyui", "app"),
    ("app", "accel", "comfyui"),
    ("comfyui", "accel", "app"),
    ("app", "comfyui", "accel"),
)

InputKey = tuple[str, str]


# --- orchestrator ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    options = _parse_args(argv)
    if options.measure is not None:
        return _measure_main(options)
    work = Path(options.work or tempfile.mkdtemp(prefix="comfy-bench-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    app_dir = work / "app"
    if app_dir.exists():
        shutil.rmtree(app_dir)
    if options.app is not None:
        shutil.copytree(options.app, app_dir, ignore=shutil.ignore_patterns("comfy_data", "__pycache__"))
    else:
        build_app(app_dir)
    checkpoint, build_seconds = _checkpoint(options, work)
    link_checkpoint(app_dir, checkpoint)
    save_workflow_size(app_dir, options.size)
    all_results = []
    for index, backend in enumerate(options.accel):
        results = _run_measuring_process(options, app_dir, backend, measure_naive=index == 0)
        results["checkpoint_build_s"] = build_seconds
        print(format_table(results), flush=True)
        all_results.append(results)
    if options.json:
        data = all_results[0] if len(all_results) == 1 else all_results
        Path(options.json).write_text(json.dumps(data, indent=2))
    return 0


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=sorted(DEFAULTS), default="cpu")
    parser.add_argument(
        "--layout", choices=["tiny", "full", "sdxl"], default="tiny", help="random checkpoint shape"
    )
    parser.add_argument(
        "--accel",
        default="auto",
        help=f"backends, comma-separated, one measuring process each ({', '.join(ACCEL_BACKENDS)})",
    )
    parser.add_argument("--app", type=Path, help="an app folder already built from the template")
    parser.add_argument("--checkpoint", type=Path, help="an SD1.5-shaped checkpoint (else one is built)")
    parser.add_argument("--work", type=Path, help="work folder (default: a new temporary folder)")
    parser.add_argument("--size", type=int, help="image width and height")
    parser.add_argument("--steps", type=int, help="sampler steps")
    parser.add_argument("--requests", type=int, help="warm requests of (a) and of (b) (at least 5)")
    parser.add_argument("--naive-requests", type=int, help="calls of the naive pattern (c)")
    parser.add_argument("--warmup", type=int, help="requests of each kind before measuring")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the measuring process: app folder
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    options.accel = [item.strip() for item in options.accel.split(",") if item.strip()]
    if not options.accel or set(options.accel) - set(ACCEL_BACKENDS):
        parser.error(f"--accel takes backends among {', '.join(ACCEL_BACKENDS)}, comma-separated")
    if options.size is None and options.device == "gpu":
        options.size = LAYOUT_SIZES.get(options.layout)
    for name, value in DEFAULTS[options.device].items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if options.requests < 5:
        parser.error("--requests must be at least 5: the table reports medians of at least 5 warm requests")
    return options


def build_app(app_dir: Path) -> Path:
    """The wizard's Space for the standard text-to-image template, with its default inputs."""
    sys.path.insert(0, str(REPO_ROOT))
    from importlib.resources import files

    from wizard.analyze import analyze
    from wizard.appspec import auto_spec
    from wizard.codegen import build_space
    from wizard.convert import convert
    from wizard.ingest import load_path
    from wizard.nodedefs import NodeDefs

    template = Path(str(files("comfyui_workflow_templates") / "templates" / TEMPLATE))
    node_defs = NodeDefs.snapshot()
    conversion = convert(load_path(template), node_defs)
    spec = auto_spec(conversion, analyze(conversion, node_defs))
    return build_space(conversion, spec, app_dir)


def link_checkpoint(app_dir: Path, checkpoint: Path) -> list[Path]:
    """Links `checkpoint` under every checkpoint name the app's lock pins, where the runtime finds it
    already present and downloads nothing."""
    lock = json.loads((app_dir / "comfy.lock.json").read_text())
    linked = []
    for model in lock["models"]:
        if model["folder"] != "checkpoints":
            raise SystemExit(f"error: the app needs a model this benchmark cannot make: {model['name']}")
        target = app_dir / "comfy_data" / "models" / "checkpoints" / model["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        target.symlink_to(checkpoint.resolve())
        linked.append(target)
    return linked


def save_workflow_size(app_dir: Path, size: int) -> None:
    """Saves the app's workflow at the measured image size (as a user's SDXL workflow is saved at
    1024x1024): its start compiles for the saved shapes, and other sizes run eager."""
    path = app_dir / "workflow_api.json"
    prompt = json.loads(path.read_text())
    for node in prompt.values():
        if node["class_type"] == "EmptyLatentImage":
            node["inputs"].update(width=size, height=size)
    path.write_text(json.dumps(prompt, indent=2))


def _checkpoint(options: argparse.Namespace, work: Path) -> tuple[Path, float | None]:
    if options.checkpoint is not None:
        return options.checkpoint, None
    path = work / f"sd15-random-{options.layout}.safetensors"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "tests" / "random_checkpoint.py"),
            str(path),
            "--layout",
            options.layout,
            "--device",
            options.device,
        ],
        check=True,
        env=_child_env(options.device),
        stdout=sys.stderr,
    )
    return path, time.perf_counter() - started


def _run_measuring_process(
    options: argparse.Namespace, app_dir: Path, backend: str, measure_naive: bool
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--measure",
        str(app_dir),
        "--device",
        options.device,
        "--layout",
        options.layout,
        "--size",
        str(options.size),
        "--steps",
        str(options.steps),
        "--requests",
        str(options.requests),
        "--naive-requests",
        str(options.naive_requests if measure_naive else 0),
        "--warmup",
        str(options.warmup),
    ]
    env = _child_env(options.device)
    if backend != "auto":
        env[ACCEL_ENV] = backend.removesuffix("+decode")
    if backend.endswith("+decode"):
        env[DECODE_ENV] = "1"
    spawned_at = time.time()  # the cold start counts from here: the process does not exist yet
    process = subprocess.run(
        [*command, "--spawned-at", repr(spawned_at)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        timeout=MEASURE_TIMEOUT_S,
        cwd=app_dir,
    )
    if process.returncode != 0:
        raise SystemExit(
            f"error: the measuring process failed (exit {process.returncode}); see its log above"
        )
    return json.loads(process.stdout.strip().splitlines()[-1])


def _child_env(device: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # the runtime then starts ComfyUI with --cpu, as on a CPU Space
    return env


# --- the table -------------------------------------------------------------------------------------


def format_table(results: dict[str, Any]) -> str:
    """The results as Markdown: medians, ratios to ComfyUI's executor, numerics, memory, loads."""
    timings, env, memory, loads = (results[key] for key in ("timings", "environment", "memory", "loads"))
    median_b = statistics.median(timings["comfyui"])
    app_error = results.get("app_error")
    accel = results.get("accel") or {}

    def row(label: str, values: list[float]) -> str:
        if not values:
            return f"| {label} | {'failed' if app_error else 'not run'} | | | 0 | |"
        median = statistics.median(values)
        return (
            f"| {label} | {median:.3f} | {min(values):.3f} | {max(values):.3f} | {len(values)} "
            f"| {median / median_b:.3f} |"
        )

    def ratio(key: str) -> str:
        return f"{statistics.median(timings[key]) / median_b:.3f}" if timings[key] else "n/a"

    cold = "failed" if app_error else f"{results['cold_start_s']:.2f}"
    first = "failed" if app_error else f"{results['first_request_s']:.3f}"
    backend = accel.get("backend", "n/a")
    lines = [
        f"Text to image ({TEMPLATE}), {env['size']}x{env['size']}, {env['steps']} steps, random "
        f"{'SDXL' if env['layout'] == 'sdxl' else 'SD1.5'} ({env['layout']} layout), {env['device_name']}, "
        f"torch {env['torch']}, Python {env['python']}, acceleration: {backend}",
        "",
        "| measurement | median s | min s | max s | runs | ratio to (b) |",
        "| --- | --- | --- | --- | --- | --- |",
        row("(a) generated app, warm request, eager (compiled path off)", timings["app"]),
        row("(b) ComfyUI `PromptExecutor`, same prompt and process", timings["comfyui"]),
        row("(c) naive: models loaded inside each call", timings["naive"]),
        f"| (d) cold start: process start to first image | {cold} | | | 1 | |",
        row(f"(e) generated app, warm request, accelerated ({backend})", timings["accel"]),
        f"| (f) one-time compile cost at start | {accel.get('compile_s', 0.0):.2f} | | | 1 | |",
        f"| (g) first request after start (after the warm-up) | {first} | | | 1 | |",
        "",
        f"- e/b = {ratio('accel')}, a/b = {ratio('app')}, c/b = {ratio('naive')} (medians; (a), (b) and (e) "
        "interleaved, same seed per round)",
    ]
    outside = results.get("outside_executor") or {}
    if outside.get("app"):
        lines.append(
            "- per request outside ComfyUI's `PromptExecutor.execute` (validation, files, the app's own code), "
            "median: "
            + ", ".join(
                f"{label} {statistics.median(outside[key]) * 1000:.1f} ms"
                for label, key in (("(a)", "app"), ("(b)", "comfyui"), ("(e)", "accel"))
                if outside.get(key)
            )
        )
    if app_error:
        lines.append(f"- (a) the app failed: {app_error}")
    else:
        second = loads["app_second_request"]
        warm_e = statistics.median(timings["accel"])
        lines += [
            f"- acceleration: {backend}{' (' + accel['reason'] + ')' if accel.get('reason') else ''}; "
            f"CUDA graph: {accel.get('cuda_graph')}; compiled for "
            + (
                ", ".join(f"{name} {list(shape)} {kind}" for name, shape, kind in accel.get("signature", []))
                or "-"
            ),
            f"- diffusion-model calls in (e)'s warm requests: {results['accel_calls']['compiled']} compiled, "
            f"{results['accel_calls']['eager']} eager; VAE decodes: {results['accel_calls']['decode_compiled']} "
            f"compiled, {results['accel_calls']['decode_eager']} eager; VAE decode compiled for "
            + (
                ", ".join(f"{n} {list(shape)} {kind}" for n, shape, kind in accel.get("decode_signature", []))
                or f"- ({accel.get('decode_reason') or 'not compiled'})"
            ),
            f"- (e) against (a), same seed: {results['numerics']}",
            f"- (g) ÷ (e) = {results['first_request_s'] / warm_e:.2f}; start: warm-up request "
            f"{accel.get('warm_up_s', 0.0):.2f} s (eager, recording the inputs), compile + compiled warm-up "
            f"{accel.get('compile_s', 0.0):.2f} s",
            f"- (d) split: app import (ComfyUI start, preload, warm-up, compile) {results['import_s']:.2f} s, "
            f"first request {results['first_request_s']:.2f} s",
            f"- model loads in the app's second request: {second['file_reads']} file reads, "
            f"{second['device_loads']} weight loads onto the device",
            f"- (a) and (b) images of the same seed: {results['same_pixels']}",
        ]
    lines += [
        "- model loads over all warm requests (file reads/weight loads): "
        + ", ".join(f"{kind} {_loads(loads[key])}" for kind, key in _LOAD_ROWS),
        f"- GPU memory, app alone after its warm-up: max allocated {_gib(memory['app_max_allocated'])}, "
        f"max reserved {_gib(memory['app_max_reserved'])}; with (b)'s own copy of the models: "
        f"{_gib(memory['ab_max_allocated'])} / {_gib(memory['ab_max_reserved'])}",
        f"- `duration` the app recommends for `@spaces.GPU`: {results['recommended_duration']} s",
    ]
    if results.get("checkpoint_build_s") is not None:
        lines.append(f"- random checkpoint built in {results['checkpoint_build_s']:.1f} s (CPU)")
    return "\n".join(lines)


_LOAD_ROWS = (("(a)", "app_warm"), ("(b)", "comfyui_warm"), ("(c)", "naive"), ("(e)", "accel_warm"))


def _loads(counts: dict[str, int]) -> str:
    return f"{counts.get('file_reads', 0)}/{counts.get('device_loads', 0)}" if counts else "-"


def _gib(value: int | None) -> str:
    return "n/a (CPU)" if value is None else f"{value / 2**30:.2f} GiB"


# --- the measuring process -------------------------------------------------------------------------


@dataclass
class LoadCounter:
    """Counts model loads: weight files read (`comfy.utils.load_torch_file`, under every loader node),
    and weights loaded onto the compute device (`ModelPatcher.load`; `load_models_gpu` skips it for a
    model already there)."""

    file_reads: int = 0
    device_loads: int = 0

    def install(self) -> None:
        import comfy.model_patcher
        import comfy.utils

        read_file = comfy.utils.load_torch_file
        load_weights = comfy.model_patcher.ModelPatcher.load

        def counting_read(*args, **kwargs):
            self.file_reads += 1
            return read_file(*args, **kwargs)

        def counting_load(patcher, *args, **kwargs):
            self.device_loads += 1
            return load_weights(patcher, *args, **kwargs)

        comfy.utils.load_torch_file = counting_read
        comfy.model_patcher.ModelPatcher.load = counting_load

    def snapshot(self) -> dict[str, int]:
        return {"file_reads": self.file_reads, "device_loads": self.device_loads}

    @contextmanager
    def counting(self, into: dict[str, int]) -> Iterator[None]:
        before = self.snapshot()
        try:
            yield
        finally:
            for key, value in self.snapshot().items():
                into[key] = into.get(key, 0) + value - before[key]


@dataclass
class ExecutorClock:
    """Adds up the time spent inside ComfyUI's `PromptExecutor.execute` (any executor): what a request
    costs beyond it is the caller's own code."""

    seconds: float = 0.0

    def install(self) -> None:
        import execution

        execute = execution.PromptExecutor.execute

        def timed(executor, *args, **kwargs):
            started = time.perf_counter()
            try:
                return execute(executor, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        execution.PromptExecutor.execute = timed


def _decode_calls(acceleration: Any) -> tuple[int, int]:
    decoders = getattr(acceleration, "decoders", [])
    return sum(d.compiled_calls for d in decoders), sum(d.eager_calls for d in decoders)


class ComfyUIItself:
    """ComfyUI's own path for a queued prompt (main.py's prompt worker, minus HTTP): `validate_prompt`,
    then `execute` on a `PromptExecutor` of its own, so it loads and caches its own models."""

    def __init__(self, ui_workflow: dict | None) -> None:
        import execution
        import server

        self.executor = execution.PromptExecutor(
            server.PromptServer.instance, cache_type=execution.CacheType.CLASSIC
        )
        self.extra_data = {"extra_pnginfo": {"workflow": ui_workflow}} if ui_workflow else {}

    def run(self, prompt: dict[str, Any]) -> list[str]:
        import execution

        prompt_id = uuid.uuid4().hex
        ok, error, output_ids, node_errors = asyncio.run(execution.validate_prompt(prompt_id, prompt, None))
        if not ok:
            raise RuntimeError(f"ComfyUI refused the prompt: {error} {node_errors}")
        self.executor.execute(prompt, prompt_id, self.extra_data, output_ids)
        if not self.executor.success:
            raise RuntimeError(f"ComfyUI failed: {self.executor.status_messages[-1]}")
        return _image_files(self.executor.history_result["outputs"])


def run_exported_script_style(prompt: dict[str, Any]) -> list[str]:
    """What an exported script does per call: every node's function called directly in graph order,
    the loader included, so the models are read and moved to the device again each time."""
    import nodes
    import torch

    results: dict[str, Any] = {}
    ui_outputs: dict[str, Any] = {}
    with torch.inference_mode():
        for node_id in _graph_order(prompt):
            node = prompt[node_id]
            node_class = nodes.NODE_CLASS_MAPPINGS[node["class_type"]]
            inputs = {
                name: results[value[0]][value[1]] if _is_link(value) else value
                for name, value in node["inputs"].items()
            }
            output = getattr(node_class(), node_class.FUNCTION)(**inputs)
            if isinstance(output, dict):  # an output node: {"ui": ..., "result": ...}
                ui_outputs[node_id] = output.get("ui", {})
                output = output.get("result", ())
            results[node_id] = output
    return _image_files(ui_outputs)


def _graph_order(prompt: dict[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(node_id: str) -> None:
        if node_id in order:
            return
        for value in prompt[node_id]["inputs"].values():
            if _is_link(value):
                visit(value[0])
        order.append(node_id)

    for node_id in prompt:
        visit(node_id)
    return order


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _image_files(ui_outputs: dict[str, Any]) -> list[str]:
    import folder_paths

    files = []
    for ui in ui_outputs.values():
        for item in ui.get("images", []):
            base = folder_paths.get_directory_by_type(item.get("type", "output"))
            files.append(os.path.join(base, item.get("subfolder", ""), item["filename"]))
    return files


class GeneratedApp:
    """The built app.py imported as a module (a Space imports it the same way), and its `generate`
    called with the app's own parameters."""

    def __init__(self, app_dir: Path) -> None:
        sys.path.insert(0, str(app_dir))  # the app's own copy of runtime/
        spec = importlib.util.spec_from_file_location("generated_app", app_dir / "app.py")
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        appspec = json.loads((app_dir / "appspec.json").read_text())
        self.parameters = {(item["node_id"], item["input_name"]): item for item in appspec["inputs"]}
        self.prompt = json.loads((app_dir / "workflow_api.json").read_text())
        workflow_file = app_dir / "workflow.json"
        self.ui_workflow = json.loads(workflow_file.read_text()) if workflow_file.exists() else None

    def request_values(self, overrides: dict[InputKey, Any]) -> dict[InputKey, Any]:
        """Every exposed input's value for one request: `overrides`, else the app's default."""
        unknown = set(overrides) - set(self.parameters)
        if unknown:
            raise SystemExit(f"error: the app exposes no input {sorted(unknown)}")
        return {key: overrides.get(key, item["default"]) for key, item in self.parameters.items()}

    def generate(self, values: dict[InputKey, Any]) -> list[str]:
        by_name = {self.parameters[key]["name"]: value for key, value in values.items()}
        arguments = {}
        for name, parameter in inspect.signature(self.module.generate).parameters.items():
            if name in by_name:
                arguments[name] = by_name[name]
            elif name == "randomize_seed":
                arguments[name] = False  # the same seed as (b), to compare like with like
            elif parameter.default is inspect.Parameter.empty:
                raise SystemExit(f"error: generate() needs {name!r}, which this benchmark does not know")
        images, *_rest = self.module.generate(**arguments)
        return list(images)

    def prompt_with(self, values: dict[InputKey, Any]) -> dict[str, Any]:
        prompt = copy.deepcopy(self.prompt)
        for (node_id, name), value in values.items():
            prompt[node_id]["inputs"][name] = value
        return prompt


def _measure_main(options: argparse.Namespace) -> int:
    import torch

    on_gpu = options.device == "gpu"
    if on_gpu and not torch.cuda.is_available():
        raise SystemExit("error: --device gpu, but torch sees no CUDA device")
    app = GeneratedApp(options.measure.resolve())  # imports app.py: start, preload, warm-up, compile
    imported_at = time.time()
    acceleration = app.module.acceleration
    counter = LoadCounter()
    counter.install()
    executor_clock = ExecutorClock()
    executor_clock.install()

    def request(index: int) -> dict[InputKey, Any]:
        overrides = {("6", "text"): f"{PROMPT_TEXT}, {index}", ("3", "seed"): FIRST_SEED + index}
        overrides.update({("5", "width"): options.size, ("5", "height"): options.size})
        overrides[("3", "steps")] = options.steps
        return app.request_values(overrides)

    def eager_app(values: dict[InputKey, Any]) -> list[str]:
        acceleration.enabled = False
        try:
            return app.generate(values)
        finally:
            acceleration.enabled = True

    results: dict[str, Any] = {
        "import_s": imported_at - options.spawned_at,
        "app_error": None,
        "accel": dict(acceleration.report.__dict__),
    }
    loads: dict[str, dict[str, int]] = {
        "app_second_request": {},
        "app_warm": {},
        "accel_warm": {},
        "comfyui_warm": {},
        "naive": {},
    }
    try:
        started = time.perf_counter()
        _require_images(app.generate(request(0)), "the app's first request")
        results["first_request_s"] = time.perf_counter() - started
        results["cold_start_s"] = time.time() - options.spawned_at
        with counter.counting(loads["app_second_request"]):
            _require_images(app.generate(request(1)), "the app's second request")
        for index in range(2, 1 + options.warmup):
            app.generate(request(index))
            eager_app(request(50 + index))
    except Exception as error:  # ComfyUI itself is still measured; the table says what failed
        traceback.print_exc()
        results["app_error"] = f"{type(error).__name__}: {error}".splitlines()[0]
    memory = {"app_max_allocated": _max_allocated(on_gpu), "app_max_reserved": _max_reserved(on_gpu)}

    comfyui = ComfyUIItself(app.ui_workflow)
    for index in range(options.warmup):
        comfyui.run(app.prompt_with(request(1000 + index)))
    calls: dict[str, Callable[[dict[InputKey, Any]], list[str]]] = {
        "accel": app.generate,
        "app": eager_app,
        "comfyui": lambda values: comfyui.run(app.prompt_with(values)),
    }
    if results["app_error"] is not None:
        del calls["accel"], calls["app"]
    timings: dict[str, list[float]] = {"accel": [], "app": [], "comfyui": [], "naive": []}
    outside: dict[str, list[float]] = {kind: [] for kind in calls}
    differences: list[tuple[int, float]] = []
    compiled_before, eager_before = acceleration.compiled_calls, acceleration.eager_calls
    decodes_before = _decode_calls(acceleration)
    # (e) runs round r's seed, (a) and (b) round r-1's: no two consecutive requests on one executor are
    # the same prompt (ComfyUI's cache would skip the sampler), and (a) of round r has the seed and
    # text of (e) in round r-1, whose image it is compared with.
    accel_images: dict[int, str] = {}
    for round_index in range(options.requests):
        order = [kind for kind in ROUND_ORDERS[round_index % len(ROUND_ORDERS)] if kind in calls]
        images = {}
        for kind in order:
            values = request(100 + round_index - (kind != "accel"))
            with counter.counting(loads[f"{kind}_warm"]):
                executor_clock.seconds = 0.0
                started = time.perf_counter()
                images[kind] = calls[kind](values)
                timings[kind].append(time.perf_counter() - started)
                outside[kind].append(timings[kind][-1] - executor_clock.seconds)
            _require_images(images[kind], kind)
        if "app" in images:
            accel_images[round_index] = images["accel"][0]
            if round_index - 1 in accel_images:
                differences.append(image_difference(accel_images[round_index - 1], images["app"][0]))
            if round_index == 0:
                results["same_pixels"] = _compare_pixels(images["app"][0], images["comfyui"][0])
    decodes_after = _decode_calls(acceleration)
    results["accel_calls"] = {
        "compiled": acceleration.compiled_calls - compiled_before,
        "eager": acceleration.eager_calls - eager_before,
        "decode_compiled": decodes_after[0] - decodes_before[0],
        "decode_eager": decodes_after[1] - decodes_before[1],
    }
    results["outside_executor"] = outside
    results["numerics"] = describe_differences(differences)
    results["differences"] = differences
    memory.update(ab_max_allocated=_max_allocated(on_gpu), ab_max_reserved=_max_reserved(on_gpu))

    if options.naive_requests:
        run_exported_script_style(app.prompt_with(request(2000)))  # warm-up: kernels, caches of the OS
    for index in range(options.naive_requests):
        prompt = app.prompt_with(request(100 + index))
        with counter.counting(loads["naive"]):
            started = time.perf_counter()
            _require_images(run_exported_script_style(prompt), "naive")
            timings["naive"].append(time.perf_counter() - started)
        gc.collect()  # what a script's next run would start from: the last call's models are gone

    results.update(
        timings=timings,
        loads=loads,
        memory=memory,
        recommended_duration=app.module.workflow.recommended_duration(),
        environment=_environment(options, torch),
    )
    sys.stdout.write(json.dumps(results) + "\n")
    return 0


def image_difference(first: str, second: str) -> tuple[int, float]:
    """(max absolute difference in 0-255, PSNR in dB; inf when identical) of two same-size images."""
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(first).convert("RGB"), dtype=np.float64)
    b = np.asarray(Image.open(second).convert("RGB"), dtype=np.float64)
    if a.shape != b.shape:
        raise RuntimeError(f"images of different sizes {a.shape} and {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return int(np.abs(a - b).max()), math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def describe_differences(differences: list[tuple[int, float]]) -> str:
    if not differences:
        return "not measured"
    if all(peak == 0 for peak, _psnr in differences):
        return f"identical in all {len(differences)} rounds"
    psnrs = [psnr for _peak, psnr in differences]
    return (
        f"PSNR min {min(psnrs):.1f} dB, median {statistics.median(psnrs):.1f} dB; max absolute difference "
        f"{max(peak for peak, _psnr in differences)}/255 ({len(differences)} rounds)"
    )


def _require_images(files: list[str], what: str) -> None:
    if not files or not all(os.path.isfile(path) for path in files):
        raise RuntimeError(f"{what} produced no image")


def _compare_pixels(first: str, second: str) -> str:
    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(first).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(second).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        return f"different sizes {a.shape} and {b.shape}"
    difference = int(np.abs(a - b).max())
    return "identical" if difference == 0 else f"max difference {difference}/255"


def _max_allocated(on_gpu: bool) -> int | None:
    import torch

    return torch.cuda.max_memory_allocated() if on_gpu else None


def _max_reserved(on_gpu: bool) -> int | None:
    import torch

    return torch.cuda.max_memory_reserved() if on_gpu else None


def _environment(options: argparse.Namespace, torch: Any) -> dict[str, Any]:
    on_gpu = options.device == "gpu"
    return {
        "device": options.device,
        "device_name": torch.cuda.get_device_name(0) if on_gpu else f"CPU ({platform.processor() or 'x86'})",
        "torch": torch.__version__,
        "cuda": torch.version.cuda if on_gpu else None,
        "python": platform.python_version(),
        "layout": options.layout,
        "size": options.size,
        "steps": options.steps,
        "requests": options.requests,
        "naive_requests": options.naive_requests,
        "warmup": options.warmup,
    }


if __name__ == "__main__":
    sys.exit(main())
