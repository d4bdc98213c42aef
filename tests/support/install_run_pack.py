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

import runtime.custom_nodes  # before ComfyUI starts, so import failures are recorded
from runtime.errors import CustomNodeError
from tests.support.comfy_headless import start_comfyui


def main(comfyui: str, custom_nodes_dir: str, work_dir: str, job_json: str) -> None:
    job = json.loads(job_json)
    comfy = start_comfyui(comfyui, work_dir, custom_nodes_dir=custom_nodes_dir)
    nodes, execution = comfy.nodes, comfy.execution
    pack_errors = {}
    for pack in job["packs"]:
        try:
            runtime.custom_nodes.raise_for_failed_packs(nodes, [pack])
            pack_errors[pack["pack"]] = None
        except CustomNodeError as error:
            pack_errors[pack["pack"]] = str(error)

    executor = execution.PromptExecutor(comfy.stub, cache_type=execution.CacheType.CLASSIC)
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
