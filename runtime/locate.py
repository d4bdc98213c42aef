"""Where ComfyUI lives: the pinned commit, and the folder the product installs it to."""

from __future__ import annotations

import os
from pathlib import Path

COMFYUI_COMMIT = "a125cd84b054a57729b5eecab930ca9408719832"  # ComfyUI 0.3.64
COMFYUI_VERSION = "0.3.64"
# A running app keeps its uploads, outputs and model links here, inside the app folder; never published.
DATA_DIR_NAME = "comfy_data"
COMFYUI_GIT_URL = os.environ.get("COMFYUI_GIT_URL", "https://github.com/Comfy-Org/ComfyUI.git")


def default_install_dir() -> Path:
    """`$COMFYUI_HOME/ComfyUI-<commit>`, by default under `~/.cache/comfyui-space-wizard`."""
    home = os.environ.get("COMFYUI_HOME") or Path.home() / ".cache" / "comfyui-space-wizard"
    return Path(home) / f"ComfyUI-{COMFYUI_COMMIT[:8]}"


def is_comfyui_checkout(path: Path) -> bool:
    return (path / "comfy" / "model_management.py").is_file() and (path / "nodes.py").is_file()


def find_comfyui() -> Path | None:
    """`COMFYUI_PATH` when set, else the default install dir; None when neither holds ComfyUI."""
    configured = os.environ.get("COMFYUI_PATH")
    candidate = Path(configured) if configured else default_install_dir()
    return candidate if is_comfyui_checkout(candidate) else None
