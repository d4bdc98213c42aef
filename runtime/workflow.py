"""`ComfyWorkflow`: one API prompt, loaded once per process and run once per request.

`load` installs what `comfy.lock.json` pins, starts ComfyUI (runtime.engine) and preloads the
workflow's models; `run` applies the request's values to a copy of the prompt, validates it with
ComfyUI's own validation and executes it on the shared executor, so unchanged nodes (the loaders
above all) come from ComfyUI's cache. Errors a user can fix become `RunError`s naming the input.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from runtime.comfy_api import api_key_extra_data
from runtime.engine import Engine, ExecutionResult, start
from runtime.errors import ComfyUIStartError, InputError, MissingModelError, NodeExecutionError, RunError
from runtime.links import is_link
from runtime.durations import DURATION_UNMEASURED_S, gpu_duration
from runtime.locate import DATA_DIR_NAME

InputKey = tuple[str, str]  # (node id, input name) in the API prompt

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".webm", ".mov", ".mkv", ".avi", ".m4v"})
AUDIO_EXTENSIONS = frozenset({".flac", ".wav", ".mp3", ".ogg", ".opus", ".m4a", ".aac"})
MESH_EXTENSIONS = frozenset({".glb", ".gltf", ".obj", ".ply", ".stl", ".fbx"})
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
# Output types of nodes that only load weights: the part of a graph preloaded at start.
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
MAX_SEED = 2**32 - 1  # every core seed input accepts it, and so do numpy-seeded custom nodes


@dataclass(frozen=True)
class Input:
    """One input of an app: a widget value of the API prompt that each request sets.

    Attributes:
        node_id, input_name: the value in the API prompt.
        label: what the app calls it; error messages name the input by it (None: by node and name).
        also: more values (node id, input name) each request sets to the same value, e.g. the
            refiner's prompt next to the base's.
    """

    node_id: str
    input_name: str
    label: str | None = None
    also: tuple[InputKey, ...] = ()

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
    ) -> "ComfyWorkflow":
        """Reads the prompt (relative paths of `lock`/`workflow` are next to it), installs what the lock
        pins, starts ComfyUI with its folders in `<app_dir>/comfy_data` (app_dir: the prompt's folder)
        and preloads the models (the nodes no input of `inputs` changes)."""
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
        )
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
        """Runs the prompt with `overrides` (any widget values, by node id and input name) applied."""
        started = time.perf_counter()
        prompt = copy.deepcopy(self.prompt)
        for (node_id, name), value in overrides.items():
            node_id = str(node_id)
            if node_id not in prompt or name not in prompt[node_id]["inputs"]:
                raise KeyError(f"the workflow has no input {name!r} on node {node_id!r}")
            prompt[node_id]["inputs"][name] = self._request_value(node_id, name, value)
        extra_data = {"extra_pnginfo": {"workflow": self.ui_workflow}} if self.ui_workflow else {}
        extra_data.update(api_key_extra_data())  # paid API nodes read the Space's Comfy API key
        with self.engine.lock:
            error, output_ids, node_errors = self.engine.validate(prompt)
            if error is not None or node_errors:
                raise self._validation_error(prompt, error, node_errors)
            result = self.engine.execute(prompt, output_ids, extra_data, self._progress_callback(progress))
        if result.error is not None:
            raise self._execution_error(result.error)
        outputs = self._collect_outputs(result, time.perf_counter() - started)
        self.durations.append(outputs.seconds)
        return outputs

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
        """Executes the loader nodes now, on the same executor, so requests find them in its cache."""
        loader_ids = self._loader_ids()
        if not loader_ids:
            return
        subset = {node_id: copy.deepcopy(self.prompt[node_id]) for node_id in loader_ids}
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
        """Nodes that only produce model-like outputs from fixed values and other such nodes."""
        loaders: list[str] = []
        changed = True
        while changed:
            changed = False
            for node_id, node in self.prompt.items():
                if node_id not in loaders and self._is_loader(node_id, node, loaders):
                    loaders.append(node_id)
                    changed = True
        return loaders

    def _is_loader(self, node_id: str, node: dict[str, Any], loaders: list[str]) -> bool:
        node_class = self.engine.node_class(node["class_type"])
        return_types = [str(kind) for kind in getattr(node_class, "RETURN_TYPES", ())]
        if (
            not return_types
            or not set(return_types) <= MODEL_TYPES
            or getattr(node_class, "OUTPUT_NODE", False)
        ):
            return False
        for name, value in node["inputs"].items():
            if is_link(value) and value[0] not in loaders:
                return False
            if (node_id, name) in self._labels:
                return False
        return True

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

    def _request_value(self, node_id: str, name: str, value: Any) -> Any:
        kind = self._file_kind(node_id, name)
        if kind is None:
            return value
        return self._stage_file(value, kind, self._label(node_id, name))

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

    def _stage_file(self, value: Any, kind: str, label: str) -> str:
        """Copies an uploaded file (path or PIL image) into the input folder under its content hash."""
        if value is None or value == "":
            raise InputError(f"{label}: please provide {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
        if hasattr(value, "save") and hasattr(value, "mode"):  # a PIL image
            buffer = io.BytesIO()
            value.save(buffer, format="PNG")
            data, suffix = buffer.getvalue(), ".png"
        else:
            path = Path(value)
            if not path.is_file():
                raise InputError(f"{label}: the file {path.name!r} was not found")
            data, suffix = path.read_bytes(), path.suffix.lower()
        if kind == "image":
            _check_image(data, label)
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
            suffix = ""
        name = f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
        target = self.engine.folders.input / name
        if not target.exists():
            _write_atomically(target, data)
        return name

    @property
    def _labels(self) -> dict[InputKey, str]:
        """The inputs' labels (their names where they have none), by node id and input name."""
        return {target: item.label or name for name, item in self.inputs.items() for target in item.targets}

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
        return f"{label}: {reason.get('message')} ({reason.get('details')})", False

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
        if "OutOfMemory" in str(error.get("exception_type", "")):
            return NodeExecutionError(f'"{title}" ran out of memory; try a smaller size or fewer images')
        message = str(error.get("exception_message", "")).strip().splitlines()
        return NodeExecutionError(f'"{title}" failed: {message[0] if message else "unknown error"}')

    # --- outputs -------------------------------------------------------------------------------

    def _collect_outputs(self, result: ExecutionResult, seconds: float) -> RunOutputs:
        allowed = {"output": self.engine.folders.output.resolve(), "temp": self.engine.folders.temp.resolve()}
        files: dict[str, list[str]] = {}
        texts: dict[str, list[str]] = {}
        for node_id, ui in result.outputs.items():
            owners = {node_id, str((result.meta.get(node_id) or {}).get("display_node") or node_id)}
            for key, items in ui.items():
                for item in items if isinstance(items, (list, tuple)) else ():
                    if isinstance(item, dict) and "filename" in item:
                        path = _output_path(item, allowed)
                        if path is not None:
                            for owner in owners:
                                files.setdefault(owner, []).append(path)
                    elif key == "text" and isinstance(item, str):
                        for owner in owners:
                            texts.setdefault(owner, []).append(item)
        return RunOutputs(
            files_by_node={node_id: tuple(paths) for node_id, paths in files.items()},
            texts_by_node={node_id: tuple(values) for node_id, values in texts.items()},
            seconds=seconds,
            named=self.outputs,
        )


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


def _check_image(data: bytes, label: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise InputError(
            f"{label}: the file is not an image in a supported format (use PNG, JPEG or WebP)"
        ) from error


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
