"""`wizard.worker.object_info` (what `NodeDefs.live()` runs) and `scripts/dump_object_info.py` (what
regenerates the bundled snapshot), checked against the shipped snapshot of ComfyUI 0.3.64."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.nodedefs import SNAPSHOT_PATH, NodeDefs

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.tier2
def test_live_definitions_equal_the_snapshot_for_every_core_class(comfyui_path: Path) -> None:
    snapshot = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))

    live = {node_def.class_type: node_def.raw for node_def in NodeDefs.live(comfyui_path)}

    assert len(snapshot) == 495
    differing = sorted(name for name in snapshot if live.get(name) != snapshot[name])
    assert differing == [], f"live definitions differ from the snapshot for {differing}"
    # The only extra classes are custom nodes: the pinned checkout ships custom_nodes/websocket_image_save.py.
    extra = {name: live[name]["python_module"] for name in set(live) - set(snapshot)}
    assert extra == {"SaveImageWebsocket": "custom_nodes.websocket_image_save"}


@pytest.mark.tier2
def test_script_regenerates_the_snapshot_byte_for_byte(comfyui_path: Path, tmp_path: Path) -> None:
    output = tmp_path / "object_info.json"

    completed = subprocess.run(
        [sys.executable, "scripts/dump_object_info.py", "--comfyui", str(comfyui_path), "-o", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert output.read_bytes() == SNAPSHOT_PATH.read_bytes()
    assert completed.stderr.strip().endswith("495 node classes")


def test_without_comfyui_it_says_how_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "COMFYUI_PATH": str(tmp_path / "no-comfyui")}

    completed = subprocess.run(
        [sys.executable, "-m", "wizard.worker.object_info"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        f"error: no ComfyUI checkout at {tmp_path / 'no-comfyui'}; install it with `python -m runtime.install` "
        "or set COMFYUI_PATH"
    ]
