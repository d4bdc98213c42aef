"""Ground truth for the converter: what ComfyUI's real frontend (1.27.10) queues for a workflow.

Usage: python frontend_oracle.py OUT_DIR WORKFLOW.json [...]   (ComfyUI found via COMFYUI_PATH)

Starts ComfyUI's own server from the checkout (`main.py --cpu`, every writable folder in a temporary
base directory, so the checkout is never touched), opens the frontend it serves in headless
Chromium, and for each workflow runs, in the page, exactly what the Queue button does before
posting: `app.loadGraphData(workflow)` then `app.graphToPrompt()`. Writes `OUT_DIR/<stem>.json`
= {"output": <the API prompt>, "errors": [page errors], "seconds": float} per workflow,
`OUT_DIR/_titles.json` = {node type: the title the frontend gives a new node of that type}, and
`OUT_DIR/_session.json` with timings.

Dynamic prompts (`{a|b}`) pick with `Math.random`; it is pinned to 0 during `graphToPrompt`, so the
frontend always takes the first option (the converter's tests pin theirs the same way).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 180
# Folders ComfyUI reads models from, pointed at the temporary base directory by the extra paths file.
MODEL_FOLDERS = (
    "checkpoints",
    "clip",
    "clip_vision",
    "configs",
    "controlnet",
    "diffusion_models",
    "embeddings",
    "loras",
    "style_models",
    "text_encoders",
    "unet",
    "upscale_models",
    "vae",
    "vae_approx",
)
# In the page: load like a drag-and-drop (no dialogs), then serialise like the Queue button.
CONVERT_JS = """
async (workflow) => {
  const app = window.app;
  await app.loadGraphData(workflow, true, false, null,
                          {showMissingNodesDialog: false, showMissingModelsDialog: false});
  const random = Math.random;
  Math.random = () => 0;
  try {
    const { output } = await app.graphToPrompt();
    return JSON.stringify(output);
  } finally {
    Math.random = random;
  }
}
"""

# The title a new node of each type gets: the frontend's English locale name when it has one, else
# /object_info's display_name, else the type ([FE] src/scripts/app.ts #getNodeDefs, translateNodeDef).
TITLES_JS = """
() => Object.fromEntries(
  Object.entries(window.LiteGraph.registered_node_types).map(([type, node]) => [type, node.title ?? null]))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(comfyui: Path, base: Path, port: int) -> subprocess.Popen:
    """ComfyUI's real server, every folder it writes under `base`."""
    for name in ("input", "output", "temp", "user", "custom_nodes", "models"):
        (base / name).mkdir(parents=True, exist_ok=True)
    extra_paths = base / "extra_model_paths.yaml"
    extra_paths.write_text(
        "oracle:\n"
        f"  base_path: {base / 'models'}\n" + "".join(f"  {folder}: {folder}\n" for folder in MODEL_FOLDERS),
        encoding="utf-8",
    )
    command = [
        sys.executable,
        str(comfyui / "main.py"),
        "--cpu",
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-auto-launch",
        "--base-directory",
        str(base),
        "--input-directory",
        str(base / "input"),
        "--output-directory",
        str(base / "output"),
        "--temp-directory",
        str(base / "temp"),
        "--user-directory",
        str(base / "user"),
        "--extra-model-paths-config",
        str(extra_paths),
        "--database-url",
        "sqlite:///:memory:",
    ]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ inside the checkout
    log = (base / "server.log").open("w")
    return subprocess.Popen(command, cwd=base, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for_server(server: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"ComfyUI exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/system_stats", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"ComfyUI did not answer within {SERVER_START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def convert_all(url: str, workflows: list[Path], out_dir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    timings = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 600})  # a small canvas draws faster
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error).splitlines()[0]))
            started = time.monotonic()
            page.goto(url)
            page.wait_for_function(
                "() => window.app !== undefined && window.app.graph !== undefined", timeout=120_000
            )
            page.wait_for_load_state("networkidle")
            timings["frontend_ready_s"] = round(time.monotonic() - started, 2)
            titles = page.evaluate(TITLES_JS)
            (out_dir / "_titles.json").write_text(json.dumps(titles, sort_keys=True), encoding="utf-8")
            for path in workflows:
                errors.clear()
                started = time.monotonic()
                workflow = json.loads(path.read_text(encoding="utf-8"))
                output = json.loads(page.evaluate(CONVERT_JS, workflow))
                seconds = round(time.monotonic() - started, 3)
                result = {"output": output, "errors": list(errors), "seconds": seconds}
                (out_dir / f"{path.stem}.json").write_text(json.dumps(result), encoding="utf-8")
                print(f"{path.name}: {len(output)} nodes, {seconds:.2f} s", file=sys.stderr, flush=True)
        finally:
            browser.close()
    return timings


def main() -> None:
    out_dir = Path(sys.argv[1])
    workflows = [Path(argument) for argument in sys.argv[2:]]
    out_dir.mkdir(parents=True, exist_ok=True)
    comfyui = Path(os.environ["COMFYUI_PATH"]).resolve()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="frontend-oracle-") as temporary:
        base = Path(temporary)
        port = free_port()
        server = start_server(comfyui, base, port)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_server(server, url, base / "server.log")
            timings = {"server_ready_s": round(time.monotonic() - started, 2)}
            timings.update(convert_all(url, workflows, out_dir))
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    timings["total_s"] = round(time.monotonic() - started, 2)
    timings["workflows"] = len(workflows)
    (out_dir / "_session.json").write_text(json.dumps(timings), encoding="utf-8")
    print(json.dumps(timings))


if __name__ == "__main__":
    main()
