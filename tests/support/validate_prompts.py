"""Validate API prompts with ComfyUI's own `execution.validate_prompt`, in this (separate) process.

Usage: python validate_prompts.py COMFYUI_DIR PROMPTS_JSON  (PROMPTS_JSON: {name: prompt}).
Starts ComfyUI headless on the CPU the way `shared/docs/comfyui.md` §9 describes (core, extra and API
nodes, no custom nodes), with empty temporary input/output folders, and prints one JSON line:
`{"node_count": int, "results": {name: {"ok": bool, "error": str|null, "node_errors": {...}}}}`.
The caller decides which errors only mean "a model or input file is absent here".
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import sys
import tempfile


class _ServerStub:
    """What `execution` needs from `server.PromptServer.instance` when nothing is served."""

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


def main(comfyui_dir: str, prompts_path: str) -> None:
    logging.disable(logging.WARNING)
    sys.path.insert(0, comfyui_dir)
    sys.argv = [sys.argv[0]]
    import comfy.options  # noqa: F401  (args keep their defaults: no argv parsing)
    from comfy.cli_args import args

    args.cpu = True
    import folder_paths

    scratch = tempfile.mkdtemp(prefix="validate-prompts-")
    for folder in ("input", "output", "temp"):
        os.makedirs(f"{scratch}/{folder}")
    folder_paths.set_input_directory(f"{scratch}/input")
    folder_paths.set_output_directory(f"{scratch}/output")
    folder_paths.set_temp_directory(f"{scratch}/temp")
    import utils.extra_config  # noqa: F401  (before `nodes`: see comfyui.md §9 step 5)
    import server

    server.PromptServer.instance = _ServerStub()
    import execution
    import nodes

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=True))
    with open(prompts_path, encoding="utf-8") as prompts_file:
        prompts = json.load(prompts_file)
    results = {}
    for name, prompt in prompts.items():
        ok, error, _, node_errors = asyncio.run(execution.validate_prompt(name, copy.deepcopy(prompt), None))
        results[name] = {"ok": bool(ok), "error": error, "node_errors": node_errors}
    print(json.dumps({"node_count": len(nodes.NODE_CLASS_MAPPINGS), "results": results}, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
