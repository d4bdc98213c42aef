"""The reference: runs an API prompt with ComfyUI's own `PromptExecutor`, set up by hand as in
comfyui.md §9, without `runtime/`, so tests can compare the runtime's pixels against ComfyUI's.

    python tests/support/runtime_direct_comfy.py PROMPT.json WORK_DIR [--input FILE ...]
        [--model FOLDER=FILE ...]

Each `--input` file is copied into WORK_DIR/input under its own name (the prompt names it);
each `--model` file is linked into WORK_DIR/models/FOLDER. Prints one JSON line on stdout:
`{"files": {node_id: [path, ...]}, "error": null | str}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


class Server:
    """The PromptServer stub of comfyui.md §9 step 6."""

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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("prompt", type=Path)
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--input", type=Path, action="append", default=[])
    parser.add_argument("--model", action="append", default=[], metavar="FOLDER=FILE")
    options = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))
    from runtime.locate import find_comfyui

    sys.path.insert(0, str(find_comfyui()))
    import comfy.options  # noqa: F401
    from comfy.cli_args import args

    args.cpu = True
    import folder_paths

    work = options.work_dir.resolve()
    for name in ("input", "output", "temp", "models"):
        (work / name).mkdir(parents=True, exist_ok=True)
    folder_paths.set_input_directory(str(work / "input"))
    folder_paths.set_output_directory(str(work / "output"))
    folder_paths.set_temp_directory(str(work / "temp"))
    for item in options.input:
        shutil.copyfile(item, work / "input" / item.name)
    for item in options.model:
        folder, _, file = item.partition("=")
        (work / "models" / folder).mkdir(exist_ok=True)
        os.symlink(Path(file).resolve(), work / "models" / folder / Path(file).name)
        folder_paths.add_model_folder_path(folder, str(work / "models" / folder), is_default=True)

    import utils.extra_config  # noqa: F401
    import server

    server.PromptServer.instance = Server()
    import execution
    import nodes

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    prompt = json.loads(options.prompt.read_text())
    prompt_id = uuid.uuid4().hex
    ok, error, outputs, node_errors = asyncio.run(execution.validate_prompt(prompt_id, prompt, None))
    if not ok:
        print(json.dumps({"files": {}, "error": f"{error}: {node_errors}"}))
        return 0
    executor = execution.PromptExecutor(Server(), cache_type=execution.CacheType.CLASSIC)
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
