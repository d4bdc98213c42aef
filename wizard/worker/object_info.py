"""Prints the `/object_info` JSON (node definitions) of the installed ComfyUI, custom nodes included.

    python -m wizard.worker.object_info [--comfyui PATH] [--no-custom-nodes]
        [--packs PACKS_JSON --failures FILE] [--progress FILE] [--output FILE]

`--failures` writes `{pack: one-line error}` for the lock-file entries of `--packs` that did not
import, `--progress` each custom node's path as its import starts. For packs it runs in the sandboxed
worker (`wizard.sandbox`) on a shadow of the checkout, since importing a pack runs its code.

ComfyUI starts in-process with a temp folder added in front of each model folder, holding one empty
sentinel file `__folder__<folder>__<ext>`, and a temp input folder holding `__input__.png/.mp4/.wav/.glb`
(the convention of the bundled snapshot, see shared/README.md). A model-file COMBO then lists the
option naming the folder it reads, whatever model files this machine has. The JSON comes from ComfyUI's
own `GET /object_info` handler (server.py), called without starting the web server; API nodes are
included, as in a normal ComfyUI. Only the JSON goes to stdout; ComfyUI's logging goes to stderr.
`wizard.nodedefs.NodeDefs.live()` runs this in a subprocess; only the wizard uses it (so it is not in
`runtime/`, which every generated Space copies).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from runtime.locate import default_install_dir, find_comfyui

FOLDER_SENTINEL = "__folder__{folder}__{ext}"
INPUT_SENTINELS = ("__input__.png", "__input__.mp4", "__input__.wav", "__input__.glb")
_PREFERRED_EXTENSION = ".safetensors"
_NOT_MODEL_FOLDERS = ("custom_nodes",)


def dump_object_info(
    comfyui_path: Path, custom_nodes: bool = True, on_import: Callable[[str], None] | None = None
) -> tuple[dict[str, Any], ModuleType]:
    """Node definitions of the ComfyUI at `comfyui_path`, with its custom nodes unless told otherwise;
    also ComfyUI's `nodes` module, which knows what loaded.
    `on_import(path)` is called as each custom node starts importing.

    Imports ComfyUI into this process, which can then not dump another checkout.
    """
    with tempfile.TemporaryDirectory(prefix="object-info-") as work_dir:
        work = Path(work_dir)
        folder_paths = _import_comfyui(comfyui_path, work)
        _point_folders_at_sentinels(folder_paths, work)
        import nodes

        if on_import is not None:
            _report_imports(nodes, on_import)
        import server

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            prompt_server = server.PromptServer(loop)  # custom nodes register routes on it at import
            loop.run_until_complete(
                nodes.init_extra_nodes(init_custom_nodes=custom_nodes, init_api_nodes=True)
            )
            response = loop.run_until_complete(_object_info_handler(prompt_server)(None))
        finally:
            loop.close()
        return json.loads(response.text), nodes


def _report_imports(nodes: ModuleType, on_import: Callable[[str], None]) -> None:
    """Wraps ComfyUI's `load_custom_node`, which `init_external_custom_nodes` calls per pack (nodes.py)."""
    load_custom_node = nodes.load_custom_node

    async def reporting(module_path: str, *args: Any, **kwargs: Any) -> bool:
        if kwargs.get("module_parent", "custom_nodes") == "custom_nodes":
            on_import(module_path)
        return await load_custom_node(module_path, *args, **kwargs)

    nodes.load_custom_node = reporting


def _import_comfyui(comfyui_path: Path, work: Path) -> ModuleType:
    """Imports ComfyUI the way the shared docs describe (no argv parsing, CPU when there is no CUDA)."""
    sys.path.insert(0, str(comfyui_path))
    import torch

    import comfy.options  # noqa: F401  (args keep their defaults: this process's argv is never parsed)
    from comfy.cli_args import args

    args.cpu = not torch.cuda.is_available()
    import folder_paths

    # Before `server` is imported: its UserManager creates the user folder.
    for name, setter in (
        ("user", folder_paths.set_user_directory),
        ("output", folder_paths.set_output_directory),
    ):
        (work / name).mkdir()
        setter(str(work / name))
    folder_paths.set_temp_directory(str(work / "temp"))
    import utils.extra_config  # noqa: F401  (before nodes: nodes.py puts comfy/ first on sys.path)

    return folder_paths


def _point_folders_at_sentinels(folder_paths: ModuleType, work: Path) -> None:
    for folder, (_paths, extensions) in list(folder_paths.folder_names_and_paths.items()):
        if folder in _NOT_MODEL_FOLDERS or "folder" in extensions:  # "folder": lists directories, not files
            continue
        sentinel_dir = work / "models" / folder
        sentinel_dir.mkdir(parents=True)
        (sentinel_dir / FOLDER_SENTINEL.format(folder=folder, ext=_sentinel_extension(extensions))).touch()
        # Added in front, not instead: files ComfyUI ships (models/configs/*.yaml) stay listed, as in ComfyUI.
        folder_paths.add_model_folder_path(folder, str(sentinel_dir), is_default=True)
    input_dir = work / "input"
    input_dir.mkdir()
    for name in INPUT_SENTINELS:
        (input_dir / name).touch()
    folder_paths.set_input_directory(str(input_dir))


def _sentinel_extension(extensions: Any) -> str:
    if not extensions or _PREFERRED_EXTENSION in extensions:
        return _PREFERRED_EXTENSION
    return sorted(extensions)[0]


def _object_info_handler(prompt_server: Any) -> Any:
    for route in prompt_server.routes:
        if getattr(route, "method", None) == "GET" and getattr(route, "path", None) == "/object_info":
            return route.handler
    raise RuntimeError("this ComfyUI has no GET /object_info route")


def _progress_writer(path: Path) -> Callable[[str], None]:
    def write(module_path: str) -> None:
        with path.open("a", encoding="utf-8") as progress:
            progress.write(module_path + "\n")

    return write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wizard.worker.object_info", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--comfyui", type=Path, help="ComfyUI checkout (default: COMFYUI_PATH or the install dir)"
    )
    parser.add_argument(
        "--no-custom-nodes", action="store_true", help="core nodes only (what the bundled snapshot holds)"
    )
    parser.add_argument("--packs", type=Path, help="JSON list of the lock-file entries of those packs")
    parser.add_argument("--failures", type=Path, help="where to write {pack: error} for packs that failed")
    parser.add_argument("--output", type=Path, help="write the JSON here instead of stdout")
    parser.add_argument("--progress", type=Path, help="append each custom node's path here as it imports")
    options = parser.parse_args(argv)
    comfyui_path = options.comfyui or find_comfyui()
    if comfyui_path is None:
        expected_at = os.environ.get("COMFYUI_PATH") or default_install_dir()
        print(
            f"error: no ComfyUI checkout at {expected_at}; install it with `python -m runtime.install` "
            "or set COMFYUI_PATH",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from runtime.custom_nodes import failed_packs  # before ComfyUI loads packs: records their failures

    with contextlib.redirect_stdout(sys.stderr):  # ComfyUI and custom nodes print; stdout is for the JSON
        object_info, nodes = dump_object_info(
            comfyui_path,
            custom_nodes=not options.no_custom_nodes,
            on_import=_progress_writer(options.progress) if options.progress else None,
        )
    if options.failures is not None:
        packs = json.loads(options.packs.read_text(encoding="utf-8")) if options.packs else []
        options.failures.write_text(json.dumps(failed_packs(nodes, packs)), encoding="utf-8")
    if options.output is not None:
        options.output.write_text(json.dumps(object_info, sort_keys=True), encoding="utf-8")
    else:
        json.dump(object_info, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
