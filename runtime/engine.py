"""ComfyUI started headless inside this process, once, and the one executor that runs prompts.

The start order follows ComfyUI's own `main.py` minus the web server (shared docs, comfyui.md §9):
arguments are set before `comfy.model_management` is imported, `server` is imported before `nodes`,
and the server is replaced by a stub that drops UI events. On ZeroGPU (`SPACES_ZERO_GPU` set) the
`spaces` package emulates CUDA in the main process, so nothing here may initialize CUDA (§12).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from runtime.errors import ComfyUIStartError
from runtime.progress import report as report_progress

# Called as (value, total, node_id) while a node reports progress (sampler steps, decoders).
ProgressCallback = Callable[[int, int, str | None], None]
STOP_POLL_S = 0.1


@dataclass(frozen=True)
class DataFolders:
    """The app's own ComfyUI folders: nothing is read from or written to the ComfyUI checkout's."""

    models: Path
    input: Path
    output: Path
    temp: Path
    user: Path

    @classmethod
    def under(cls, root: Path) -> "DataFolders":
        return cls(
            models=root / "models",
            input=root / "input",
            output=root / "output",
            temp=root / "temp",
            user=root / "user",
        )


@dataclass(frozen=True)
class ExecutionResult:
    """What one execution left: the UI outputs per node, their metadata, and the error if it failed."""

    outputs: dict[str, dict[str, Any]]
    meta: dict[str, dict[str, Any]]
    error: dict[str, Any] | None


class _ServerStub:
    """Stands in for `server.PromptServer.instance`: executions report to it, nobody listens.

    Custom-node packs register HTTP routes on it at import, so it carries a route table too.
    """

    def __init__(self) -> None:
        from aiohttp import web

        self.client_id = None
        self.last_node_id = None
        self.last_prompt_id = None
        self.sockets_metadata: dict[str, Any] = {}
        self.routes = web.RouteTableDef()

    def send_sync(self, event, data, sid=None) -> None:
        pass

    def send_progress_text(self, text, node_id, sid=None) -> None:
        pass

    def queue_updated(self) -> None:
        pass


class Engine:
    """The started ComfyUI: its folders, whether it runs on a GPU, and the one `PromptExecutor`.

    `lock` serializes executions: the executor, its caches and ComfyUI's loaded models are shared
    by every request of the process.
    """

    def __init__(
        self, comfyui_path: Path, folders: DataFolders, on_gpu: bool, server_stub: _ServerStub
    ) -> None:
        import execution

        self.comfyui_path = comfyui_path
        self.folders = folders
        self.on_gpu = on_gpu
        self.lock = threading.Lock()
        self._executor = execution.PromptExecutor(server_stub, cache_type=execution.CacheType.CLASSIC)
        self._progress: ProgressCallback | None = None
        self._install_progress_hook()

    def node_class(self, class_type: str):
        import nodes

        return nodes.NODE_CLASS_MAPPINGS.get(class_type)

    def validate(self, prompt: dict[str, Any]) -> tuple[dict | None, list[str], dict[str, Any]]:
        """ComfyUI's `validate_prompt` on `prompt` (cast in place): (error, output ids, node errors)."""
        import execution

        ok, error, outputs, node_errors = asyncio.run(execution.validate_prompt(_new_id(), prompt, None))
        return (None if ok else error), outputs, node_errors

    def validate_nodes(self, prompt: dict[str, Any], node_ids: list[str]) -> dict[str, list[dict]]:
        """Validates (and casts in place) only `node_ids` and their ancestors: node id -> reasons."""
        import execution

        async def validate_all() -> dict[str, Any]:
            validated: dict[str, Any] = {}
            for node_id in node_ids:
                try:
                    await execution.validate_inputs("preload", prompt, node_id, validated)
                except Exception as error:  # a node's own validation raised, as validate_prompt allows
                    reason = {"type": "exception_during_validation", "message": str(error), "details": ""}
                    validated[node_id] = (False, [reason], node_id)
            return validated

        validated = asyncio.run(validate_all())
        return {node_id: reasons for node_id, (ok, reasons, _) in validated.items() if not ok and reasons}

    def execute(
        self,
        prompt: dict[str, Any],
        output_ids: list[str],
        extra_data: dict[str, Any],
        progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> ExecutionResult:
        """Executes `output_ids` and their ancestors; the caller holds `lock`.

        `should_stop` is polled every 0.1 s while the prompt runs; once it says True, ComfyUI's execution
        is interrupted (`comfy.model_management.interrupt_current_processing`, which the executor checks
        before each node and samplers check at each step), so the executor is free within a node's step."""
        import comfy.model_management

        self._progress = progress
        finished = threading.Event()

        def watch() -> None:
            while not finished.wait(STOP_POLL_S):
                if should_stop():
                    comfy.model_management.interrupt_current_processing(True)

        watcher = threading.Thread(target=watch, name="comfy-stop-watcher", daemon=True)
        if should_stop is not None:
            watcher.start()
        try:
            self._executor.execute(prompt, _new_id(), extra_data, output_ids)
        finally:
            finished.set()
            if should_stop is not None:
                watcher.join()
            comfy.model_management.interrupt_current_processing(False)
            self._progress = None
        error = next(
            (data for event, data in self._executor.status_messages if event == "execution_error"), None
        )
        if error is None and not self._executor.success:
            error = {"node_id": None, "exception_message": "the run was interrupted", "exception_type": ""}
        history = self._executor.history_result
        return ExecutionResult(outputs=history["outputs"], meta=history["meta"], error=error)

    def cached_outputs(self, node_id: str) -> list | None:
        """The outputs the executor cached for `node_id` in the prompt it executed last."""
        return self._executor.caches.outputs.get(node_id)

    def _install_progress_hook(self) -> None:
        import comfy.model_management
        import comfy.utils
        from comfy_execution.utils import get_executing_context

        def hook(value, total, preview_image, prompt_id=None, node_id=None):
            context = get_executing_context()
            if node_id is None and context is not None:
                node_id = context.node_id
            comfy.model_management.throw_exception_if_processing_interrupted()
            if self._progress is not None:
                self._progress(int(value), int(total), node_id)

        comfy.utils.set_progress_bar_global_hook(hook)


_engine: Engine | None = None
_start_lock = threading.Lock()


def start(comfyui_path: Path, data_root: Path, packs: list[dict[str, Any]] = ()) -> Engine:
    """Starts ComfyUI in this process (once) with its folders under `data_root`; returns the engine.

    `packs` are the lock's custom-node packs: one that failed to import raises `CustomNodeError`.

    A second call with the same folders returns the same engine; with other folders it refuses,
    since ComfyUI's folder settings are process-wide.
    """
    global _engine
    comfyui_path = comfyui_path.resolve()
    folders = DataFolders.under(data_root.resolve())
    with _start_lock:
        if _engine is not None:
            if _engine.folders != folders or _engine.comfyui_path != comfyui_path:
                raise ComfyUIStartError(
                    f"ComfyUI already runs in this process for {_engine.folders.models.parent}; "
                    "one app per process"
                )
            return _engine
        report_progress("Starting ComfyUI")
        _engine = _start(comfyui_path, folders, list(packs))
        return _engine


def running_on_zerogpu() -> bool:
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def _start(comfyui_path: Path, folders: DataFolders, packs: list[dict[str, Any]]) -> Engine:
    if "comfy.model_management" in sys.modules:
        raise ComfyUIStartError("comfy.model_management was imported before the runtime started ComfyUI")
    # First on sys.path: ComfyUI's top-level `app`, `utils` and `server` must win over an app's `app.py`.
    sys.path.insert(0, str(comfyui_path))
    on_gpu = _configure_arguments()
    _configure_folders(folders)
    import utils.extra_config  # noqa: F401  (before `nodes`, which puts comfy/ first on sys.path)
    import server

    stub_server = _ServerStub()
    server.PromptServer.instance = stub_server
    import nodes

    failed = asyncio.run(nodes.init_extra_nodes(init_custom_nodes=True, init_api_nodes=False))
    if failed:
        logging.warning("ComfyUI nodes that did not import: %s", ", ".join(failed))
    if packs:
        from runtime.custom_nodes import raise_for_failed_packs

        raise_for_failed_packs(nodes, packs)
    return Engine(comfyui_path, folders, on_gpu, stub_server)


def _configure_arguments() -> bool:
    """Sets ComfyUI's arguments before `comfy.model_management` reads them; True when on a GPU."""
    import comfy.options  # noqa: F401  (imported, never `enable_args_parsing()`: sys.argv is the app's)
    import torch
    from comfy.cli_args import args

    # On ZeroGPU `spaces` reports CUDA in the main process; --cpu there would keep models off the GPU.
    on_gpu = running_on_zerogpu() or torch.cuda.is_available()
    if on_gpu:
        args.highvram = True  # keep the preloaded models on the GPU between requests
    else:
        args.cpu = True
    return on_gpu


def _configure_folders(folders: DataFolders) -> None:
    import folder_paths

    for folder in (folders.models, folders.input, folders.output, folders.temp, folders.user):
        folder.mkdir(parents=True, exist_ok=True)
    folder_paths.set_input_directory(str(folders.input))
    folder_paths.set_output_directory(str(folders.output))
    folder_paths.set_temp_directory(str(folders.temp))
    folder_paths.set_user_directory(str(folders.user))
    comfy_models = Path(folder_paths.models_dir).resolve()
    for name, (paths, _extensions) in list(folder_paths.folder_names_and_paths.items()):
        # Mirror every default subfolder (`text_encoders` and legacy `clip`, ...) under the app's models,
        # first in the search order; reversed so the first default stays first.
        for default in reversed(paths):
            default_path = Path(default).resolve()
            if default_path.parent == comfy_models:
                folder_paths.add_model_folder_path(
                    name, str(folders.models / default_path.name), is_default=True
                )


def _new_id() -> str:
    return uuid.uuid4().hex
