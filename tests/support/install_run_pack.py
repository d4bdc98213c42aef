"""Starts the pinned ComfyUI headless, in-process, with custom nodes loaded from a given folder,
checks the given packs imported (runtime.custom_nodes.raise_for_failed_packs), and runs a prompt.

    python -m tests.support.install_run_pack COMFYUI CUSTOM_NODES_DIR WORK_DIR JOB_JSON

JOB_JSON: {"packs": [pack, ...], "prompt": {...}}. Prints one JSON line:
{"pack_errors": {label: message or null}, "success": bool, "outputs": {node_id: ui}, "messages": [...]}.
Runs in its own process because ComfyUI changes sys.path and module globals.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import runtime.custom_nodes  # before ComfyUI starts, so import failures are recorded
from runtime.errors import CustomNodeError


class _ServerStub:
    """The parts of PromptServer.instance that execution and nodes call (shared docs, §9)."""

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


def main(comfyui: str, custom_nodes_dir: str, work_dir: str, job_json: str) -> None:
    job = json.loads(job_json)
    sys.path.insert(0, comfyui)
    import comfy.options  # noqa: F401  (args keep their defaults: the host's argv is never parsed)
    from comfy.cli_args import args

    args.cpu = True
    import folder_paths

    folder_paths.folder_names_and_paths["custom_nodes"] = ([custom_nodes_dir], set())
    for kind in ("input", "output", "temp"):
        Path(work_dir, kind).mkdir(parents=True, exist_ok=True)
    folder_paths.set_input_directory(str(Path(work_dir, "input")))
    folder_paths.set_output_directory(str(Path(work_dir, "output")))
    folder_paths.set_temp_directory(str(Path(work_dir, "temp")))
    import utils.extra_config  # noqa: F401  (before nodes: nodes.py puts comfy/ first on sys.path)
    import server

    stub = _ServerStub()
    server.PromptServer.instance = stub
    import execution
    import nodes

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=True, init_api_nodes=False))
    pack_errors = {}
    for pack in job["packs"]:
        try:
            runtime.custom_nodes.raise_for_failed_packs(nodes, [pack])
            pack_errors[pack["pack"]] = None
        except CustomNodeError as error:
            pack_errors[pack["pack"]] = str(error)

    executor = execution.PromptExecutor(stub, cache_type=execution.CacheType.CLASSIC)
    valid, error, outputs, _node_errors = asyncio.run(execution.validate_prompt("1", job["prompt"], None))
    result = {"pack_errors": pack_errors, "success": False, "outputs": {}, "messages": []}
    if not valid:
        result["messages"] = [error]
    else:
        executor.execute(job["prompt"], "1", {}, outputs)
        result["success"] = executor.success
        result["outputs"] = executor.history_result.get("outputs", {})
        result["messages"] = [event for event, _data in executor.status_messages]
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:])
