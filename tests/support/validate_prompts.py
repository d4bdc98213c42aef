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
import sys
import tempfile

from comfy_headless import start_comfyui


def main(comfyui_dir: str, prompts_path: str) -> None:
    logging.disable(logging.WARNING)
    comfy = start_comfyui(comfyui_dir, tempfile.mkdtemp(prefix="validate-prompts-"), api_nodes=True)
    with open(prompts_path, encoding="utf-8") as prompts_file:
        prompts = json.load(prompts_file)
    results = {}
    for name, prompt in prompts.items():
        ok, error, _, node_errors = asyncio.run(
            comfy.execution.validate_prompt(name, copy.deepcopy(prompt), None)
        )
        results[name] = {"ok": bool(ok), "error": error, "node_errors": node_errors}
    print(json.dumps({"node_count": len(comfy.nodes.NODE_CLASS_MAPPINGS), "results": results}, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
