"""Runs the default text-to-image workflow with `runtime.accel` in its own process, for tests.

    python tests/support/accel_run.py WORK_DIR CHECKPOINT --backend aot --size 64 --other-size 72

Loads the workflow at `--size` (so the warm-up request, and the compiled graph, use that size),
accelerates it with `--backend`, then runs one request at `--size` and one at `--other-size` (a shape
the graph does not cover) with the compiled path on, then both again with it off (same seed and text;
the size changes between consecutive requests, so ComfyUI's cache never skips the sampler). Prints one
JSON line: the report, each request's compiled/eager diffusion-model calls and VAE decodes, and its image
paths.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tests"))

from runtime import ComfyWorkflow  # noqa: E402
from runtime.accel import accelerate  # noqa: E402
from workflows import t2i_prompt  # noqa: E402

CHECKPOINT_NAME = "random-sd15-tiny.safetensors"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", type=Path)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--other-size", type=int, default=72)
    parser.add_argument("--steps", type=int, default=1)
    options = parser.parse_args()
    app = options.work / "app"
    checkpoints = app / "comfy_data" / "models" / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / CHECKPOINT_NAME).unlink(missing_ok=True)
    (checkpoints / CHECKPOINT_NAME).symlink_to(options.checkpoint.resolve())
    prompt = t2i_prompt()
    prompt["4"]["inputs"]["ckpt_name"] = CHECKPOINT_NAME
    prompt["5"]["inputs"].update(width=options.size, height=options.size)
    prompt["3"]["inputs"].update(steps=options.steps, seed=7)
    (app / "workflow_api.json").write_text(json.dumps(prompt))
    workflow = ComfyWorkflow.load(app / "workflow_api.json")
    acceleration = accelerate(workflow, backend=options.backend)
    runs = []
    for enabled in (True, False):
        for size in (options.size, options.other_size):
            acceleration.enabled = enabled
            before = (acceleration.compiled_calls, acceleration.eager_calls)
            decodes_before = _decodes(acceleration)
            overrides = {("5", "width"): size, ("5", "height"): size, ("6", "text"): "a bottle"}
            outputs = workflow.run_overrides(overrides)
            runs.append(
                {
                    "size": size,
                    "enabled": enabled,
                    "compiled_calls": acceleration.compiled_calls - before[0],
                    "eager_calls": acceleration.eager_calls - before[1],
                    "decode_compiled": _decodes(acceleration)[0] - decodes_before[0],
                    "decode_eager": _decodes(acceleration)[1] - decodes_before[1],
                    "images": _keep(outputs.images("9"), options.work / "images"),
                }
            )
    report = acceleration.report
    print(json.dumps({"report": report.__dict__, "runs": runs}, default=list))
    return 0


def _decodes(acceleration) -> tuple[int, int]:
    return (
        sum(decoder.compiled_calls for decoder in acceleration.decoders),
        sum(decoder.eager_calls for decoder in acceleration.decoders),
    )


def _keep(paths: list[str], folder: Path) -> list[str]:
    """Copies of the request's images in `folder`: the app removes its result folders when it exits."""
    folder.mkdir(parents=True, exist_ok=True)
    kept = []
    for path in paths:
        target = folder / f"{len(list(folder.iterdir())):03d}-{Path(path).name}"
        shutil.copyfile(path, target)
        kept.append(str(target))
    return kept


if __name__ == "__main__":
    sys.exit(main())
