"""Drives `runtime.ComfyWorkflow` in its own process for tests: one JSON command per stdin line,
one JSON answer per stdout line (ComfyUI's own output goes to stderr).

    python tests/support/runtime_session.py APP_DIR --workflow NAME=PROMPT.json [--workflow ...]
        [--labels NAME=LABELS.json] [--checkpoint MODEL.safetensors] [--custom-nodes DIR]

All workflows share one ComfyUI (one app dir). LABELS.json is `[[node_id, input, label], ...]`;
`--checkpoint` builds a tiny random SD1.5 checkpoint there (tests/random_checkpoint.py) first;
`--custom-nodes` makes ComfyUI load its custom-node packs from DIR instead of the checkout's custom_nodes/.
First line out: {"ready": true, "checkpoint_loads": n}. Commands:
    {"op": "run", "workflow": NAME, "overrides": [[node_id, input, value], ...]}  ({"pil": PATH}: a PIL image)
        -> {"ok": true, "files": {node: [...]}, "images": {...}, "texts": {...}, "seconds": s,
            "progress": [[value, total, desc], ...]}
        or {"ok": false, "error": "InputError", "message": "..."}
    {"op": "stats", "workflow": NAME}
        -> {"checkpoint_loads": n, "recommended_duration": s, "cuda_initialized": bool}

Checkpoint loads are counted by wrapping `comfy.sd.load_checkpoint_guess_config`, the function
every checkpoint loader node calls, before the workflow is loaded and preloaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from runtime import ComfyWorkflow, Input, RunError  # noqa: E402
from runtime.engine import start  # noqa: E402
from runtime.locate import find_comfyui  # noqa: E402

checkpoint_loads = 0


def count_checkpoint_loads() -> None:
    import comfy.sd

    original = comfy.sd.load_checkpoint_guess_config

    def counting(*args, **kwargs):
        global checkpoint_loads
        checkpoint_loads += 1
        return original(*args, **kwargs)

    comfy.sd.load_checkpoint_guess_config = counting


def load_custom_nodes_from(comfyui: Path, folder: Path) -> None:
    """Points ComfyUI's custom-node folder at `folder` before `start` (whose init_extra_nodes reads
    `folder_paths.folder_names_and_paths["custom_nodes"]`, [ComfyUI] nodes.py:2217), as
    tests/support/comfy_headless.py does; folder_paths imports no more of ComfyUI than comfy.cli_args."""
    sys.path.insert(0, str(comfyui))
    import folder_paths

    folder_paths.folder_names_and_paths["custom_nodes"] = ([str(folder.resolve())], set())


def answer(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def request_value(value):
    """JSON cannot carry a PIL image: `{"pil": path}` stands for the image opened from that file."""
    if isinstance(value, dict) and "pil" in value:
        from PIL import Image

        return Image.open(value["pil"])
    return value


def run(workflow: ComfyWorkflow, command: dict) -> dict:
    overrides = {
        (node_id, name): request_value(value) for node_id, name, value in command.get("overrides", [])
    }
    progress: list[list] = []

    def record(step, desc=None):
        progress.append([step[0], step[1], desc])

    try:
        outputs = workflow.run_overrides(overrides, progress=record)
    except RunError as error:
        return {"ok": False, "error": type(error).__name__, "message": str(error)}
    return {
        "ok": True,
        "files": {node: list(paths) for node, paths in outputs.files_by_node.items()},
        "images": {node: outputs.images(node) for node in outputs.files_by_node},
        "texts": {node: list(texts) for node, texts in outputs.texts_by_node.items()},
        "seconds": outputs.seconds,
        "progress": progress,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("app_dir", type=Path)
    parser.add_argument("--workflow", action="append", default=[], metavar="NAME=PROMPT")
    parser.add_argument("--labels", action="append", default=[], metavar="NAME=LABELS")
    parser.add_argument("--checkpoint", type=Path, help="build a tiny random checkpoint here before loading")
    parser.add_argument("--custom-nodes", type=Path, help="load the custom-node packs in this folder")
    options = parser.parse_args()
    inputs: dict[str, dict] = {}
    for item in options.labels:
        name, _, path = item.partition("=")
        inputs[name] = {
            f"{node}.{key}": Input(node, key, label)
            for node, key, label in json.loads(Path(path).read_text())
        }
    # Start ComfyUI first (ComfyWorkflow.load reuses it) so the loader can be wrapped before preloading.
    comfyui = find_comfyui()
    if options.custom_nodes:
        load_custom_nodes_from(comfyui, options.custom_nodes)
    start(comfyui, options.app_dir / "comfy_data")
    count_checkpoint_loads()
    if options.checkpoint:
        sys.path.insert(0, str(REPO_ROOT / "tests"))
        from random_checkpoint import make_checkpoint

        make_checkpoint(options.checkpoint, "tiny")
    workflows = {}
    for item in options.workflow:
        name, _, path = item.partition("=")
        workflows[name] = ComfyWorkflow.load(path, inputs=inputs.get(name), app_dir=options.app_dir)
    answer({"ready": True, "checkpoint_loads": checkpoint_loads})
    for line in sys.stdin:
        command = json.loads(line)
        workflow = workflows.get(command.get("workflow"))
        if command["op"] == "run":
            answer(run(workflow, command))
        elif command["op"] == "stats":
            import torch

            answer(
                {
                    "checkpoint_loads": checkpoint_loads,
                    "recommended_duration": workflow.recommended_duration(),
                    "cuda_initialized": torch.cuda.is_initialized(),
                }
            )
        else:
            answer({"ok": False, "error": "unknown op"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
