"""Test helpers that run ComfyUI in subprocesses (it mutates sys.path and globals, so never in pytest).

`RuntimeSession` drives tests/support/runtime_session.py (the runtime, one process per test module);
`run_direct_comfy` runs tests/support/runtime_direct_comfy.py (ComfyUI's own executor, the reference);
`build_tiny_checkpoint` runs tests/random_checkpoint.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent
START_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300


class RuntimeSession:
    """One runtime_session.py process; `run` sends a request and returns its JSON answer."""

    def __init__(
        self,
        app_dir: Path,
        workflows: dict[str, dict],
        labels: dict[str, list[list[str]]] | None = None,
        checkpoint: Path | None = None,
        custom_nodes: Path | None = None,
    ) -> None:
        command = [sys.executable, str(SUPPORT / "runtime_session.py"), str(app_dir)]
        app_dir.mkdir(parents=True, exist_ok=True)
        for name, prompt in workflows.items():
            path = app_dir / f"{name}_api.json"
            path.write_text(json.dumps(prompt))
            command += ["--workflow", f"{name}={path}"]
        for name, rows in (labels or {}).items():
            path = app_dir / f"{name}_labels.json"
            path.write_text(json.dumps(rows))
            command += ["--labels", f"{name}={path}"]
        if checkpoint is not None:
            command += ["--checkpoint", str(checkpoint)]
        if custom_nodes is not None:
            command += ["--custom-nodes", str(custom_nodes)]
        self.stderr_path = app_dir / "session.stderr.txt"
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=REPO_ROOT,
        )
        self.ready = self._read()

    def run(self, workflow: str, overrides: list[list[Any]]) -> dict:
        return self._ask({"op": "run", "workflow": workflow, "overrides": overrides})

    def stats(self, workflow: str) -> dict:
        return self._ask({"op": "stats", "workflow": workflow})

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()

    def _ask(self, command: dict) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=30)
            raise AssertionError(f"runtime session ended:\n{self.stderr_path.read_text()[-4000:]}")
        return json.loads(line)


def run_direct_comfy(prompt: dict, work_dir: Path, inputs: list[Path] = ()) -> dict[str, list[str]]:
    """Runs `prompt` with ComfyUI's own executor in a subprocess; returns {node id: [image paths]}."""
    work_dir.mkdir(parents=True, exist_ok=True)
    prompt_path = work_dir / "prompt.json"
    prompt_path.write_text(json.dumps(prompt))
    command = [sys.executable, str(SUPPORT / "runtime_direct_comfy.py"), str(prompt_path), str(work_dir)]
    for path in inputs:
        command += ["--input", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["error"] is None, answer["error"]
    return answer["files"]


def build_tiny_checkpoint(path: Path) -> Path:
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "random_checkpoint.py"), str(path), "--layout", "tiny"],
        check=True,
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
    )
    return path


def pixels(path: str | Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def noise_image(path: Path, size: tuple[int, int] = (48, 40), seed: int = 0) -> Path:
    """A PNG of random pixels: any wrong pixel operation shows up in a comparison."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SPACES_ZERO_GPU", None)
    env.update(extra)
    return env


def ui_node(
    node_id: int,
    class_type: str,
    widgets: list | None = None,
    inputs: list[tuple] = (),
    outputs: list[tuple] = (),
    mode: int = 0,
    title: str | None = None,
) -> dict:
    """A UI-format (v0.4) node as ComfyUI's frontend saves it.

    `inputs`: (name, type, link id[, widget name]); `outputs`: (name, type, [link ids][, widget name]).
    """
    node = {
        "id": node_id,
        "type": class_type,
        "mode": mode,
        "pos": [node_id * 350, 0],
        "size": [300, 120],
        "flags": {},
        "order": node_id,
        "properties": {"Node name for S&R": class_type},
        "inputs": [
            {
                "name": item[0],
                "type": item[1],
                "link": item[2],
                **({"widget": {"name": item[3]}} if len(item) > 3 else {}),
            }
            for item in inputs
        ],
        "outputs": [
            {
                "name": item[0],
                "type": item[1],
                "links": item[2],
                **({"widget": {"name": item[3]}} if len(item) > 3 else {}),
            }
            for item in outputs
        ],
    }
    if widgets is not None:
        node["widgets_values"] = widgets
    if title is not None:
        node["title"] = title
    return node


def ui_workflow(nodes: list[dict], links: list[list]) -> dict:
    """A UI-format (v0.4) workflow; `links` are [id, origin, origin slot, target, target slot, type]."""
    return {
        "last_node_id": max(node["id"] for node in nodes),
        "last_link_id": max(link[0] for link in links),
        "nodes": nodes,
        "links": links,
        "groups": [],
        "config": {},
        "extra": {},
        "version": 0.4,
    }
