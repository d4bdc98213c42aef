"""The reference: runs an API prompt with ComfyUI's own `PromptExecutor`, set up by hand as in
comfyui.md §9, without `runtime/`, so tests can compare the runtime's pixels against ComfyUI's.

    python tests/support/runtime_direct_comfy.py PROMPT.json WORK_DIR [--input FILE ...]

Each `--input` file is copied into WORK_DIR/input under its own name (the prompt names it).
Prints one JSON line on stdout: `{"files": {node_id: [path, ...]}, "error": null | str}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import uuid
from pathlib import Path

from comfy_headless import start_comfyui

REPO_ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("prompt", type=Path)
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--input", type=Path, action="append", default=[])
    options = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    from runtime.locate import find_comfyui

    work = options.work_dir.resolve()
    (work / "input").mkdir(parents=True, exist_ok=True)
    for item in options.input:
        shutil.copyfile(item, work / "input" / item.name)
    comfy = start_comfyui(find_comfyui(), work)
    execution = comfy.execution
    prompt = json.loads(options.prompt.read_text())
    prompt_id = uuid.uuid4().hex
    ok, error, outputs, node_errors = asyncio.run(execution.validate_prompt(prompt_id, prompt, None))
    if not ok:
        print(json.dumps({"files": {}, "error": f"{error}: {node_errors}"}))
        return 0
    executor = execution.PromptExecutor(comfy.stub, cache_type=execution.CacheType.CLASSIC)
    executor.execute(prompt, prompt_id, {}, outputs)
    folders = {"output": work / "output", "temp": work / "temp"}
    files = {
        node_id: [
            str(folders[item["type"]] / item["subfolder"] / item["filename"]) for item in ui.get("images", [])
        ]
        for node_id, ui in executor.history_result["outputs"].items()
    }
    print(json.dumps({"files": files, "error": None if executor.success else str(executor.status_messages)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
