"""`ComfyWorkflow`: one API prompt, loaded once per process and run once per request.

`load` installs what `comfy.lock.json` pins, starts ComfyUI (runtime.engine) and preloads the
workflow's models; `run` applies the request's values to a copy of the prompt, validates it with
ComfyUI's own validation and executes it on the shared executor, so unchanged nodes (the loaders
above all) come from ComfyUI's cache. Errors a user can fix become `RunError`s naming the input.

Preloaded are the loaders: nodes whose inputs are all fixed (literals, or links to other loaders; no
app input) and whose outputs only hold weights, i.e. each output type is a core model type
(`MODEL_TYPES`) or a custom pack's own type (in neither `MODEL_TYPES` nor `CORE_DATA_TYPES`: DAMODEL,
IPADAPTER, ...), and that an output node links to, directly or not. Executing them at start changes no
result: ComfyUI's cache keys a node by its class, its IS_CHANGED value and its inputs down to its
ancestors ([ComfyUI] comfy_execution/caching.py:95-121), all fixed here, so the first request would
execute exactly these nodes with exactly these inputs and later ones reuse their outputs anyway;
preloading only moves that work before the first visitor. A loader that fails at start is logged and
skipped, and the request that needs it reports the error; one whose IS_CHANGED differs each time runs
again per request, and one feeding only a lazy input runs at start even if no request asks for it.

A published app is open to anyone, so a request is handled as hostile:
- an upload must be a file Gradio staged (inside `uploads_from`), never a path string naming a server
  file; an image is refused above its pixel cap from its header, before it is decoded, and a video or
  audio file above its duration cap (`Input.max_pixels`, `Input.max_seconds`);
- a request's files live only while it runs: its uploads are staged into ComfyUI's input folder and
  deleted afterwards, its outputs are moved out of ComfyUI's output folder into a folder of its own
  (deleted once Gradio has copied them into its cache, see `serve`), so `comfy_data/` keeps no visitor file;
- a cancelled request (`serve`) or one over `RUN_TIME_LIMIT_S` interrupts ComfyUI and frees the executor
  within a node step; its outputs are dropped;
- messages for the caller name inputs and nodes, never server paths; the log keeps the details.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import copy
import functools
import hashlib
import io
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from runtime.atomic import free_name
from runtime.comfy_api import api_key_extra_data
from runtime.engine import Engine, ExecutionResult, start
from runtime.errors import (
    ComfyUIStartError,
    InputError,
    MissingModelError,
    NodeExecutionError,
    RunCancelledError,
    RunError,
)
from runtime.links import is_link
from runtime.durations import DURATION_UNMEASURED_S, gpu_duration
from runtime.locate import DATA_DIR_NAME
from runtime.progress import report as report_progress
from runtime.media import (
    AUDIO_EXTENSIONS,
    DEFAULT_MAX_MEDIA_SECONDS,
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    MESH_EXTENSIONS,
    VIDEO_EXTENSIONS,
)

InputKey = tuple[str, str]  # (node id, input name) in the API prompt

_UPLOAD_FLAGS = {
    "image_upload": "image",
    "animated_image_upload": "image",
    "video_upload": "video",
    "audio_upload": "audio",
}
_EXTENSION_KINDS = {
    **{ext: "image" for ext in IMAGE_EXTENSIONS},
    **{ext: "video" for ext in VIDEO_EXTENSIONS},
    **{ext: "audio" for ext in AUDIO_EXTENSIONS},
    **{ext: "mesh" for ext in MESH_EXTENSIONS},
}
# Output types of the core's model loaders: weights loaded once and used by every request.
MODEL_TYPES = frozenset(
    {
        "MODEL",
        "CLIP",
        "VAE",
        "CONTROL_NET",
        "CLIP_VISION",
        "STYLE_MODEL",
        "UPSCALE_MODEL",
        "GLIGEN",
        "PHOTOMAKER",
        "AUDIO_ENCODER",
        "MODEL_PATCH",
        "LATENT_UPSCALE_MODEL",
    }
)
# Every other type the core's nodes produce: data a run computes (images, latents, conditioning, numbers,
# samplers, hooks, ...), never preloaded. From [ComfyUI] comfy_api/latest/_io.py (each `io_type`) and the
# RETURN_TYPES of nodes.py and comfy_extras/ (tests/test_preload.py checks none is missing). A type in
# neither set is a custom pack's own (DAMODEL, IPADAPTER, ...).
CORE_DATA_TYPES = frozenset(
    {
        "*",
        "ACCUMULATION",
        "AUDIO",
        "AUDIO_ENCODER_OUTPUT",
        "BBOX",
        "BOOLEAN",
        "CLIP_VISION_OUTPUT",
        "COMBO",
        "COMFY_AUTOGROW_V3",
        "COMFY_COMBODYNAMIC_V3",
        "COMFY_MATCHTYPE_V3",
        "COMFY_MULTITYPED_V3",
        "CONDITIONING",
        "FACE_ANALYSIS",
        "FLOAT",
        "FLOW_CONTROL",
        "GUIDER",
        "HOOKS",
        "HOOK_KEYFRAMES",
        "IMAGE",
        "INT",
        "LATENT",
        "LATENT_OPERATION",
        "LOAD3D_CAMERA",
        "LOAD_3D",
        "LOAD_3D_ANIMATION",
        "LORA_MODEL",
        "LOSS_MAP",
        "MASK",
        "MESH",
        "NOISE",
        "POINT",
        "SAMPLER",
        "SEGS",
        "SIGMAS",
        "STRING",
        "SVG",
        "TIMESTEPS_RANGE",
        "VIDEO",
        "VOXEL",
        "WAN_CAMERA_EMBEDDING",
        "WEBCAM",
    }
)
MAX_SEED = 2**32 - 1  # every core seed input accepts it, and so do numpy-seeded custom nodes
RUN_TIME_LIMIT_S = 600  # a run longer than this is stopped (on ZeroGPU, `duration` stops it first)
CANCEL_WAIT_S = 10  # how long a cancelled request waits for ComfyUI to stop before it gives up waiting
RESULTS_KEEP_S = 60  # a served request's output folder outlives the response by this much (Gradio copies it)
REQUEST_KEY = "_request"  # an extra input on output nodes: a new value per request, so they run again
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])(?:[A-Za-z]:)?[\\/](?:[^\s'\"<>|:]+[\\/])+([^\s'\"<>|:/\\]*)")


@dataclass
class _RequestScope:
    """One request served through `ComfyWorkflow.serve`: its cancel flag and the output folders it made."""

    cancelled: threading.Event = field(default_factory=threading.Event)
    result_dirs: list[Path] = field(default_factory=list)


_request_scope: contextvars.ContextVar[_RequestScope | None] = contextvars.ContextVar(
    "comfy_request_scope", default=None
)


@dataclass(frozen=True)
class Input:
    """One input of an app: a widget value of the API prompt that each request sets.

    Attributes:
        node_id, input_name: the value in the API prompt.
        label: what the app calls it; error messages name the input by it (None: by node and name).
        also: more values (node id, input name) each request sets to the same value, e.g. the
            refiner's prompt next to the base's.
        max_pixels: for an image file, the largest accepted (width × height, read from its header).
        max_seconds: for a video or audio file, the longest accepted (read from its container).
    """

    node_id: str
    input_name: str
    label: str | None = None
    also: tuple[InputKey, ...] = ()
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_seconds: float = DEFAULT_MAX_MEDIA_SECONDS

    @property
    def targets(self) -> tuple[InputKey, ...]:
        return ((str(self.node_id), self.input_name), *((str(node), name) for node, name in self.also))


@dataclass(frozen=True)
class Output:
    """One output of an app: what an output node produced.

    Attributes:
        node_id: the output node in the API prompt.
        kind: "images" (a list of files), "video", "audio", "mesh" (one file, or None) or "text".
    """

    node_id: str
    kind: str


@dataclass(frozen=True)
class RunOutputs:
    """The files and texts one run produced, by node id (expanded nodes also under their display node),
    and by the app's output names: `outputs["result"]`."""

    files_by_node: dict[str, tuple[str, ...]]
    texts_by_node: dict[str, tuple[str, ...]]
    seconds: float
    named: dict[str, Output] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        """The app's output `name`, as its component shows it (see `Output.kind`)."""
        output = self.named[name]
        if output.kind == "text":
            return self.text(output.node_id)
        files = {
            "images": self.images,
            "video": self.videos,
            "audio": self.audio,
            "mesh": self.meshes,
        }[
            output.kind
        ](output.node_id)
        return files if output.kind == "images" else next(iter(files), None)

    def files(self, node_id: str) -> list[str]:
        return list(self.files_by_node.get(str(node_id), ()))

    def images(self, node_id: str) -> list[str]:
        return self._with_extensions(node_id, IMAGE_EXTENSIONS)

    def videos(self, node_id: str) -> list[str]:
        return self._with_extensions(node_id, VIDEO_EXTENSIONS)

    def audio(self, node_id: str) -> list[str]:
        return self._with_extensions(node_id, AUDIO_EXTENSIONS)

    def meshes(self, node_id: str) -> list[str]:
        return self._with_extensions(node_id, MESH_EXTENSIONS)

    def text(self, node_id: str) -> str:
        return "\n".join(self.texts_by_node.get(str(node_id), ()))

    def _with_extensions(self, node_id: str, extensions: frozenset[str]) -> list[str]:
        return [path for path in self.files(node_id) if Path(path).suffix.lower() in extensions]


@dataclass
class ComfyWorkflow:
    """A loaded API prompt bound to the started ComfyUI. Build it with `ComfyWorkflow.load`."""

    engine: Engine
    prompt: dict[str, dict[str, Any]]
    ui_workflow: dict[str, Any] | None = None
    inputs: dict[str, Input] = field(default_factory=dict)  # the app's inputs by name
    outputs: dict[str, Output] = field(default_factory=dict)  # the app's outputs by name
    model_folders: dict[str, str] = field(default_factory=dict)  # model file name -> folder, from the lock
    durations: list[float] = field(default_factory=list)
    uploads_from: tuple[Path, ...] | None = None  # folders uploads must lie in; None: any path (CLI, tests)
    results_root: Path = field(default_factory=lambda: _results_root())

    @classmethod
    def load(
        cls,
        prompt_path: str | os.PathLike,
        *,
        lock: str | os.PathLike | None = None,
        workflow: str | os.PathLike | None = None,
        inputs: dict[str, Input] | None = None,
        outputs: dict[str, Output] | None = None,
        app_dir: str | os.PathLike | None = None,
        uploads_from: Sequence[str | os.PathLike] | None = None,
    ) -> "ComfyWorkflow":
        """Reads the prompt (relative paths of `lock`/`workflow` are next to it), installs what the lock
        pins, starts ComfyUI with its folders in `<app_dir>/comfy_data` (app_dir: the prompt's folder)
        and preloads the models (the nodes no input of `inputs` changes).

        `uploads_from`: the folders where the web server stages uploads (Gradio's upload folder); a file
        input's path must lie in one of them (None: any path, for the command line)."""
        prompt_file = Path(prompt_path).resolve()
        base = prompt_file.parent
        app_root = Path(app_dir).resolve() if app_dir is not None else base
        prompt = _read_prompt(prompt_file)
        lock_data = _read_json(base / lock) if lock is not None else {}
        ui_workflow = _read_json(base / workflow) if workflow is not None else None
        data_root = app_root / DATA_DIR_NAME
        comfyui_path = _install(lock_data, data_root / "models")
        engine = start(comfyui_path, data_root, lock_data.get("custom_nodes") or [])
        loaded = cls(
            engine=engine,
            prompt=prompt,
            ui_workflow=ui_workflow,
            inputs={name: replace(item, node_id=str(item.node_id)) for name, item in (inputs or {}).items()},
            outputs={
                name: replace(item, node_id=str(item.node_id)) for name, item in (outputs or {}).items()
            },
            model_folders={model["name"]: model["folder"] for model in lock_data.get("models", [])},
            uploads_from=(
                tuple(Path(folder).resolve() for folder in uploads_from) if uploads_from is not None else None
            ),
        )
        _refuse_pixel_bombs(loaded.inputs.values())
        loaded._check_node_types()
        loaded._preload()
        return loaded

    def random_seed(self) -> int:
        return secrets.randbelow(MAX_SEED + 1)

    def recommended_duration(self) -> int:
        """Seconds to ask ZeroGPU for, from the slowest measured run (`gpu_duration`)."""
        if not self.durations:
            return DURATION_UNMEASURED_S
        return gpu_duration(max(self.durations))

    def run(self, *, progress: Callable | None = None, **values: Any) -> RunOutputs:
        """Runs the prompt with the app's inputs set to `values` (by input name); raises `RunError`
        with a message for the user."""
        unknown = sorted(set(values) - set(self.inputs))
        if unknown:
            raise TypeError(f"the app has no input {unknown[0]!r}; its inputs are {', '.join(self.inputs)}")
        overrides = {target: value for name, value in values.items() for target in self.inputs[name].targets}
        return self.run_overrides(overrides, progress)

    def run_overrides(self, overrides: dict[InputKey, Any], progress: Callable | None = None) -> RunOutputs:
        """Runs the prompt with `overrides` (any widget values, by node id and input name) applied.

        The request's uploads are staged into ComfyUI's input folder and its outputs moved into a folder of
        its own (the paths returned); when the run ends ComfyUI's input, output and temp folders hold none
        of its files."""
        started = time.perf_counter()
        scope = _request_scope.get() or _RequestScope()
        deadline = time.monotonic() + RUN_TIME_LIMIT_S
        with self.engine.lock:
            staged: list[Path] = []
            try:
                if scope.cancelled.is_set():
                    raise RunCancelledError("the request was cancelled before it ran")
                prompt = copy.deepcopy(self.prompt)
                for (node_id, name), value in overrides.items():
                    node_id = str(node_id)
                    if node_id not in prompt or name not in prompt[node_id]["inputs"]:
                        raise KeyError(f"the workflow has no input {name!r} on node {node_id!r}")
                    prompt[node_id]["inputs"][name] = self._request_value(node_id, name, value, staged)
                extra_data = {"extra_pnginfo": {"workflow": self.ui_workflow}} if self.ui_workflow else {}
                extra_data.update(api_key_extra_data())  # paid API nodes read the Space's Comfy API key
                error, output_ids, node_errors = self.engine.validate(prompt)
                if error is not None or node_errors:
                    raise self._validation_error(prompt, error, node_errors)
                request_id = uuid.uuid4().hex
                for node_id in output_ids:  # output nodes run again, so they write this request's files
                    prompt[node_id]["inputs"][REQUEST_KEY] = request_id
                result = self.engine.execute(
                    prompt,
                    output_ids,
                    extra_data,
                    self._progress_callback(progress),
                    should_stop=lambda: scope.cancelled.is_set() or time.monotonic() > deadline,
                )
                if scope.cancelled.is_set():
                    raise RunCancelledError("the request was cancelled; its outputs were dropped")
                if time.monotonic() > deadline:
                    raise RunCancelledError(
                        f"the run took longer than {RUN_TIME_LIMIT_S} s and was stopped; try smaller settings"
                    )
                if result.error is not None:
                    raise self._execution_error(result.error)
                result_dir = Path(tempfile.mkdtemp(prefix="request-", dir=self.results_root))
                scope.result_dirs.append(result_dir)
                outputs = self._collect_outputs(result, time.perf_counter() - started, result_dir)
            finally:
                self._forget_request_files(staged)
        self.durations.append(outputs.seconds)
        return outputs

    def serve(self, function: Callable) -> Callable:
        """`function` (the app's `generate`) as the web server should call it: in a worker thread, with a
        cancelled request (Gradio cancels the awaiting task: the visitor pressed Stop or left) interrupting
        ComfyUI and dropping its outputs, and the request's output folder deleted `RESULTS_KEEP_S` after
        the response, once Gradio has copied its files into its own cache (which `delete_cache` cleans).
        The signature is `function`'s, so Gradio sees the same parameters."""

        @functools.wraps(function)
        async def served(*args: Any, **kwargs: Any) -> Any:
            scope = _RequestScope()
            context = contextvars.copy_context()
            context.run(_request_scope.set, scope)
            loop = asyncio.get_running_loop()
            running = loop.run_in_executor(None, functools.partial(context.run, function, *args, **kwargs))
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                scope.cancelled.set()  # the stop watcher interrupts ComfyUI within STOP_POLL_S
                await asyncio.wait([running], timeout=CANCEL_WAIT_S)
                raise
            finally:
                loop.call_later(RESULTS_KEEP_S, _remove_dirs, list(scope.result_dirs))

        return served

    # --- start ---------------------------------------------------------------------------------

    def _check_node_types(self) -> None:
        missing = sorted({node["class_type"] for node in self.prompt.values()} - self._known_class_types())
        if missing:
            raise ComfyUIStartError(
                f"the workflow needs node types ComfyUI does not have: {', '.join(missing)}; "
                "add the custom-node packs that provide them to comfy.lock.json"
            )

    def _known_class_types(self) -> set[str]:
        return {
            node["class_type"] for node in self.prompt.values() if self.engine.node_class(node["class_type"])
        }

    def _preload(self) -> None:
        """Executes the loader nodes now, on the same executor, so requests find them in its cache
        (why that is safe: the module's docstring). On a GPU the core's models (their ModelPatchers) are
        then moved onto it; a custom pack's loader puts its own modules where it wants them."""
        loader_ids = self._loader_ids()
        if not loader_ids:
            return
        subset = {node_id: copy.deepcopy(self.prompt[node_id]) for node_id in loader_ids}
        report_progress("Loading the models")
        with self.engine.lock:
            invalid = self.engine.validate_nodes(subset, loader_ids)
            if invalid:  # e.g. a missing model file: the request reports it in words
                logging.warning("not preloading models: %s", self._explain_node_errors(subset, invalid)[0])
                return
            result = self.engine.execute(subset, loader_ids, {})
            if result.error is not None:
                logging.warning("not preloading models: %s", self._execution_error(result.error))
                return
            if self.engine.on_gpu:
                self._load_models_on_gpu()

    def _loader_ids(self) -> list[str]:
        """The loaders (see the module's docstring) that an output node needs, in dependency order."""
        loaders: list[str] = []
        changed = True
        while changed:
            changed = False
            for node_id, node in self.prompt.items():
                if node_id not in loaders and self._is_loader(node_id, node, loaders):
                    loaders.append(node_id)
                    changed = True
        needed = self._needed_by_outputs()
        return [node_id for node_id in loaders if node_id in needed]

    def _is_loader(self, node_id: str, node: dict[str, Any], loaders: list[str]) -> bool:
        """Whether the node only produces weights (`_holds_weights`) from fixed values and the nodes in
        `loaders`."""
        node_class = self.engine.node_class(node["class_type"])
        return_types = _return_type_names(node_class)
        if (
            not return_types
            or not all(_holds_weights(kind) for kind in return_types)
            or getattr(node_class, "OUTPUT_NODE", False)
        ):
            return False
        for name, value in node["inputs"].items():
            if is_link(value) and value[0] not in loaders:
                return False
            if (node_id, name) in self._labels:
                return False
        return True

    def _needed_by_outputs(self) -> set[str]:
        """The output nodes and every node they link to, directly or not: what a request executes (outputs
        are the OUTPUT_NODE classes, [ComfyUI] execution.py:989; their uncached ancestors run,
        comfy_execution/graph.py:134-160, a lazy input's only once its node asks for it)."""
        pending = [
            node_id
            for node_id, node in self.prompt.items()
            if getattr(self.engine.node_class(node["class_type"]), "OUTPUT_NODE", False) is True
        ]
        needed: set[str] = set()
        while pending:
            node_id = pending.pop()
            if node_id in needed or node_id not in self.prompt:
                continue
            needed.add(node_id)
            pending.extend(
                str(value[0]) for value in self.prompt[node_id]["inputs"].values() if is_link(value)
            )
        return needed

    def preloaded_patchers(self) -> list:
        """The ModelPatchers of the preloaded models, as the executor caches them for requests."""
        import comfy.model_patcher

        patchers = []
        for node_id in self._loader_ids():
            for values in self.engine.cached_outputs(node_id) or []:
                for value in values:
                    patcher = getattr(value, "patcher", value)  # CLIP and VAE wrap their patcher
                    if isinstance(patcher, comfy.model_patcher.ModelPatcher) and patcher not in patchers:
                        patchers.append(patcher)
        return patchers

    def _load_models_on_gpu(self) -> None:
        import comfy.model_management
        import torch

        patchers = self.preloaded_patchers()
        if patchers:
            # In inference mode, as ComfyUI's executor moves them: weights read in inference mode and
            # moved outside it make every later request fail ("Inference tensors do not track version
            # counter", seen on an H200 with torch 2.11).
            with torch.inference_mode():
                comfy.model_management.load_models_gpu(patchers)

    # --- request values ------------------------------------------------------------------------

    def _request_value(self, node_id: str, name: str, value: Any, staged: list[Path]) -> Any:
        kind = self._file_kind(node_id, name)
        if kind is None:
            return value
        limit = next(
            (item for item in self.inputs.values() if (item.node_id, item.input_name) == (node_id, name)),
            Input(node_id, name),
        )
        return self._stage_file(value, kind, self._label(node_id, name), limit, staged)

    def _file_kind(self, node_id: str, name: str) -> str | None:
        """ "image"/"video"/"audio"/"mesh" when the input names a file in ComfyUI's input folder."""
        import execution

        node_class = self.engine.node_class(self.prompt[node_id]["class_type"])
        _type, _category, options = execution.get_input_info(node_class, name)
        for flag, kind in _UPLOAD_FLAGS.items():
            if (options or {}).get(flag):
                return kind
        original = self.prompt[node_id]["inputs"][name]
        if isinstance(original, str):
            return _EXTENSION_KINDS.get(Path(original).suffix.lower())
        return None

    def _stage_file(self, value: Any, kind: str, label: str, limit: Input, staged: list[Path]) -> str:
        """Copies an uploaded file (path or PIL image) into the input folder under its content hash,
        after checking it is an upload and within `limit`; records the staged file in `staged`."""
        article = "an" if kind[0] in "aeiou" else "a"
        if value is None or value == "":
            raise InputError(f"{label}: please provide {article} {kind}")
        if hasattr(value, "save") and hasattr(value, "mode"):  # a PIL image
            _check_pixels(value.size, label, limit)
            buffer = io.BytesIO()
            value.save(buffer, format="PNG")
            data, suffix = buffer.getvalue(), ".png"
        else:
            if not isinstance(value, (str, os.PathLike)):
                raise InputError(f"{label}: upload {article} {kind} file")
            path = Path(value).resolve()
            if self.uploads_from is not None and not any(
                path.is_relative_to(root) for root in self.uploads_from
            ):
                logging.warning("refused %s: %s is not an upload", label, path)
                raise InputError(
                    f"{label}: upload {article} {kind} file; a path on the server is not accepted"
                )
            if not path.is_file():
                raise InputError(f"{label}: the file {path.name!r} was not found")
            data, suffix = path.read_bytes(), path.suffix.lower()
        if kind == "image":
            _check_image(data, label, limit)
        elif kind in ("video", "audio"):
            _check_duration(data, kind, label, limit)
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
            suffix = ""
        name = f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
        target = self.engine.folders.input / name
        if not target.exists():
            _write_atomically(target, data)
        staged.append(target)
        return name

    @property
    def _labels(self) -> dict[InputKey, str]:
        """The inputs' labels (their names where they have none), by node id and input name."""
        return {target: item.label or name for name, item in self.inputs.items() for target in item.targets}

    def _forget_request_files(self, staged: list[Path]) -> None:
        """Deletes the request's staged uploads and whatever ComfyUI wrote into its output and temp folders."""
        for path in staged:
            path.unlink(missing_ok=True)
        for folder in (self.engine.folders.output, self.engine.folders.temp):
            for entry in folder.iterdir():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def _label(self, node_id: str, name: str | None) -> str:
        if name is not None and (node_id, name) in self._labels:
            return self._labels[(node_id, name)]
        title = self._title(node_id)
        return f'"{name}" of "{title}"' if name else f'"{title}"'

    def _title(self, node_id: str | None) -> str:
        node = self.prompt.get(str(node_id)) if node_id is not None else None
        if node is None:
            return "the workflow"
        return node.get("_meta", {}).get("title") or node["class_type"]

    def _progress_callback(self, progress: Callable | None):
        if progress is None:
            return None

        def report(value: int, total: int, node_id: str | None) -> None:
            progress((value, total), desc=self._title(node_id))

        return report

    # --- errors --------------------------------------------------------------------------------

    def _validation_error(
        self, prompt: dict[str, Any], error: dict | None, node_errors: dict[str, Any]
    ) -> RunError:
        reasons = {node_id: info["errors"] for node_id, info in node_errors.items()}
        messages, missing_model = self._explain_node_errors(prompt, reasons)
        if not messages and error is not None:
            messages = [f"{error['message']} {error.get('details', '')}".strip()]
        error_class = MissingModelError if missing_model else InputError
        return error_class("; ".join(messages))

    def _explain_node_errors(
        self, prompt: dict[str, Any], reasons: dict[str, list[dict]]
    ) -> tuple[list[str], bool]:
        messages, missing_model = [], False
        for node_id, node_reasons in reasons.items():
            for reason in node_reasons:
                message, is_missing_model = self._explain_reason(prompt, node_id, reason)
                messages.append(message)
                missing_model = missing_model or is_missing_model
        return messages, missing_model

    def _explain_reason(self, prompt: dict[str, Any], node_id: str, reason: dict) -> tuple[str, bool]:
        """One validation reason of ComfyUI in plain words; True when it is a missing model file."""
        extra = reason.get("extra_info") or {}
        name = extra.get("input_name")
        label = self._label(node_id, name)
        value = extra.get("received_value")
        options = _input_options(extra.get("input_config"))
        kind = reason.get("type")
        if kind == "value_smaller_than_min":
            return f"{label} must be at least {options.get('min')} (got {value})", False
        if kind == "value_bigger_than_max":
            return f"{label} must be at most {options.get('max')} (got {value})", False
        if kind == "value_not_in_list":
            folder = self._model_folder(prompt[node_id]["class_type"], name, value)
            if folder is not None:
                return f"{label}: model file {value!r} is missing from models/{folder}", True
            choices = extra.get("input_config", [None])[0] if extra.get("input_config") else None
            listed = (
                f": choose one of {', '.join(map(str, choices[:10]))}" if isinstance(choices, list) else ""
            )
            return f"{label}: {value!r} is not one of the choices{listed}", False
        if kind == "invalid_input_type":
            return f"{label}: {value!r} is not a valid value", False
        if kind == "required_input_missing":
            return f'"{self._title(node_id)}" needs its input "{name}"', False
        if kind == "custom_validation_failed" and name is not None and self._file_kind(node_id, name):
            return f"{label}: the file was not found; please upload it again", False
        return public_text(f"{label}: {reason.get('message')} ({reason.get('details')})"), False

    def _model_folder(self, class_type: str, input_name: str | None, value: Any) -> str | None:
        """The model folder a loader input lists, when `value` looks like a model file."""
        if not isinstance(value, str) or input_name is None:
            return None
        if value in self.model_folders:
            return self.model_folders[value]
        import folder_paths

        if Path(value).suffix.lower() not in folder_paths.supported_pt_extensions:
            return None
        listed = _folders_listed_by(self.engine.node_class(class_type))
        return listed[0] if len(set(listed)) == 1 else None

    def _execution_error(self, error: dict[str, Any]) -> NodeExecutionError:
        title = self._title(error.get("node_id"))
        logging.error(
            "node %s failed: %s: %s\n%s",
            error.get("node_id"),
            error.get("exception_type"),
            error.get("exception_message"),
            "".join(error.get("traceback") or []),
        )
        if "OutOfMemory" in str(error.get("exception_type", "")):
            return NodeExecutionError(f'"{title}" ran out of memory; try a smaller size or fewer images')
        message = str(error.get("exception_message", "")).strip().splitlines()
        return NodeExecutionError(
            f'"{title}" failed: {public_text(message[0]) if message else "unknown error"}'
        )

    # --- outputs -------------------------------------------------------------------------------

    def _collect_outputs(self, result: ExecutionResult, seconds: float, result_dir: Path) -> RunOutputs:
        """The files and texts the output nodes reported, the files moved into `result_dir`."""
        allowed = {"output": self.engine.folders.output.resolve(), "temp": self.engine.folders.temp.resolve()}
        moved: dict[str, str] = {}
        files: dict[str, list[str]] = {}
        texts: dict[str, list[str]] = {}
        for node_id, ui in result.outputs.items():
            owners = {node_id, str((result.meta.get(node_id) or {}).get("display_node") or node_id)}
            for key, items in ui.items():
                for item in items if isinstance(items, (list, tuple)) else ():
                    if isinstance(item, dict) and "filename" in item:
                        path = _output_path(item, allowed)
                        if path is not None and path not in moved:
                            moved[path] = _move_unique(Path(path), result_dir)
                        if path is not None:
                            for owner in owners:
                                files.setdefault(owner, []).append(moved[path])
                    elif key == "text" and isinstance(item, str):
                        for owner in owners:
                            texts.setdefault(owner, []).append(item)
        return RunOutputs(
            files_by_node={node_id: tuple(paths) for node_id, paths in files.items()},
            texts_by_node={node_id: tuple(values) for node_id, values in texts.items()},
            seconds=seconds,
            named=self.outputs,
        )


def public_text(text: str) -> str:
    """`text` with every absolute path cut to its last part: messages for remote callers name files,
    never where they are on the server."""
    return _ABSOLUTE_PATH.sub(lambda match: match.group(1) or "…", text)


def _results_root() -> Path:
    """This process's folder for request outputs, outside `comfy_data/`, removed when the process exits."""
    root = Path(tempfile.mkdtemp(prefix="comfy-space-results-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def _return_type_names(node_class: Any) -> list[str]:
    """A node's output types by name; an output given as its list of choices is a COMBO."""
    return [kind if isinstance(kind, str) else "COMBO" for kind in getattr(node_class, "RETURN_TYPES", ())]


def _holds_weights(output_type: str) -> bool:
    """Whether a loader may output `output_type`: a core model type, or a type the core does not have (a
    custom pack's loader returns its model under a name of its own). A union "T1,T2" must hold weights in
    each part ([ComfyUI] comfy_execution/validation.py:31, how ComfyUI splits a type)."""
    return all(
        kind in MODEL_TYPES or kind not in CORE_DATA_TYPES
        for kind in (part.strip() for part in output_type.split(","))
    )


def _remove_dirs(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _move_unique(source: Path, folder: Path) -> str:
    target = free_name(folder, source.name)
    shutil.move(source, target)
    return str(target)


def _refuse_pixel_bombs(inputs: Iterable[Input]) -> None:
    """Pillow's own guard, process-wide, for any image decoded outside `_check_image` (by the web
    server's components or by a node): Pillow raises above twice MAX_IMAGE_PIXELS. It is set to twice the
    largest cap, so an image between the cap and 4× the cap reaches `_check_image` and its clear message."""
    from PIL import Image

    largest = max([item.max_pixels for item in inputs] + [DEFAULT_MAX_PIXELS])
    Image.MAX_IMAGE_PIXELS = 2 * largest


def _install(lock: dict[str, Any], models_root: Path) -> Path:
    """Makes sure ComfyUI, the custom-node packs and the model files of the lock are here."""
    from runtime.install import ensure_comfyui
    from runtime.locate import COMFYUI_COMMIT, COMFYUI_GIT_URL

    pin = lock.get("comfyui") or {}
    comfyui_path = ensure_comfyui(pin.get("repo") or COMFYUI_GIT_URL, pin.get("commit") or COMFYUI_COMMIT)
    if lock.get("custom_nodes"):
        from runtime.custom_nodes import install_packs

        install_packs(lock["custom_nodes"], comfyui_path)
    if lock.get("models"):
        from runtime.models import ensure_models

        ensure_models(lock["models"], models_root)
    return comfyui_path


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ComfyUIStartError(f"cannot read {path.name}: {error}") from error


def _read_prompt(path: Path) -> dict[str, dict[str, Any]]:
    prompt = _read_json(path)
    if not isinstance(prompt, dict) or not all(
        isinstance(node, dict)
        and isinstance(node.get("class_type"), str)
        and isinstance(node.get("inputs"), dict)
        for node in prompt.values()
    ):
        raise ComfyUIStartError(f"{path.name} is not a ComfyUI API prompt")
    return {str(node_id): node for node_id, node in prompt.items()}


def _input_options(input_config: Any) -> dict[str, Any]:
    if (
        isinstance(input_config, (list, tuple))
        and len(input_config) > 1
        and isinstance(input_config[1], dict)
    ):
        return input_config[1]
    return {}


def _folders_listed_by(node_class: Any) -> list[str]:
    """The model folders a node's `INPUT_TYPES` lists, recorded while it runs."""
    import folder_paths

    listed: list[str] = []
    original = folder_paths.get_filename_list

    def recording(folder_name: str) -> list[str]:
        listed.append(folder_paths.map_legacy(folder_name))
        return original(folder_name)

    folder_paths.get_filename_list = recording
    try:
        node_class.INPUT_TYPES()
    finally:
        folder_paths.get_filename_list = original
    return listed


def _check_image(data: bytes, label: str, limit: Input) -> None:
    """Refuses a file that is not an image, or one above `limit.max_pixels`, from its header alone."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the cap below is the check
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                _check_pixels(image.size, label, limit)
                image.verify()
    except Image.DecompressionBombError:  # above Pillow's own guard (4× the largest cap)
        raise InputError(
            f"{label}: the image has too many pixels; the limit is {_megapixels(limit.max_pixels)} MP"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(
            f"{label}: the file is not an image in a supported format (use PNG, JPEG or WebP)"
        ) from error


def _check_pixels(size: tuple[int, int], label: str, limit: Input) -> None:
    width, height = size
    if width * height > limit.max_pixels:
        raise InputError(
            f"{label}: the image is {width}×{height} ({_megapixels(width * height)} MP); the limit is "
            f"{_megapixels(limit.max_pixels)} MP: upload a smaller image"
        )


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f}" if pixels >= 1e7 else f"{pixels / 1e6:.1f}"


def _check_duration(data: bytes, kind: str, label: str, limit: Input) -> None:
    """Refuses a video or audio file longer than `limit.max_seconds`, from its container's header."""
    import av

    try:
        with av.open(io.BytesIO(data)) as container:
            seconds = container.duration / av.time_base if container.duration else None
            if seconds is None:
                spans = [
                    float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base
                ]
                seconds = max(spans, default=None)
    except (av.FFmpegError, OSError, ValueError) as error:
        raise InputError(
            f"{label}: the file is not {'a video' if kind == 'video' else 'an audio'} file it can read"
        ) from error
    if seconds is not None and seconds > limit.max_seconds:
        raise InputError(
            f"{label}: the {kind} is {seconds:.0f} s long; the limit is {limit.max_seconds:.0f} s: upload a shorter one"
        )


def _write_atomically(target: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)
    os.replace(temporary, target)


def _output_path(item: dict[str, Any], allowed: dict[str, Path]) -> str | None:
    """The file an output entry names, if it lies inside the app's output or temp folder."""
    base = allowed.get(item.get("type", "output"))
    if base is None:
        return None
    path = (base / str(item.get("subfolder") or "") / str(item["filename"])).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return str(path)
