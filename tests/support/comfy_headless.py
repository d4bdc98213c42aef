"""ComfyUI 0.3.64 started headless on the CPU inside this (subprocess) process, by hand, without `runtime/`.

The start sequence of shared docs comfyui.md §9, shared by the support scripts that need ComfyUI's own
`execution` as the reference: arguments before `comfy.model_management`, `utils.extra_config` and
`server` before `nodes`, a PromptServer stub, then `nodes.init_extra_nodes`. Call it once per process:
ComfyUI changes `sys.path` and module globals.
"""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path


class ServerStub:
    """The parts of `server.PromptServer.instance` that `execution` and `nodes` call when nothing is served."""

    client_id = None
    last_node_id = None
    last_prompt_id = None
    sockets_metadata: dict = {}

    def send_sync(self, event, data, sid=None):
        pass

    def send_progress_text(self, text, node_id, sid=None):
        pass

    def queue_updated(self):
        pass


def start_comfyui(
    comfyui_path: str | Path,
    work_dir: str | Path,
    *,
    custom_nodes_dir: str | Path | None = None,
    api_nodes: bool = False,
) -> types.SimpleNamespace:
    """Starts ComfyUI with its input/output/temp folders under `work_dir`.

    `custom_nodes_dir` loads custom nodes from that folder (none without it); `api_nodes` loads the API
    nodes. Returns the started modules (`nodes`, `execution`, `server`, `folder_paths`) and the `stub`
    server as a namespace.
    """
    sys.path.insert(0, str(comfyui_path))
    sys.argv = sys.argv[:1]  # ComfyUI's modules see none of this script's arguments
    import comfy.options  # noqa: F401  (imported, never `enable_args_parsing()`: args keep their defaults)
    from comfy.cli_args import args

    args.cpu = True  # this machine has no GPU; must precede comfy.model_management
    import folder_paths

    work = Path(work_dir).resolve()
    for name in ("input", "output", "temp"):
        (work / name).mkdir(parents=True, exist_ok=True)
    folder_paths.set_input_directory(str(work / "input"))
    folder_paths.set_output_directory(str(work / "output"))
    folder_paths.set_temp_directory(str(work / "temp"))
    if custom_nodes_dir is not None:
        folder_paths.folder_names_and_paths["custom_nodes"] = ([str(custom_nodes_dir)], set())
    import utils.extra_config  # noqa: F401  (before `nodes`: nodes.py puts comfy/ first on sys.path)
    import server

    stub = ServerStub()
    server.PromptServer.instance = stub
    import execution
    import nodes

    asyncio.run(
        nodes.init_extra_nodes(init_custom_nodes=custom_nodes_dir is not None, init_api_nodes=api_nodes)
    )
    return types.SimpleNamespace(
        nodes=nodes, execution=execution, server=server, folder_paths=folder_paths, stub=stub
    )
