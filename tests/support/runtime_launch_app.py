"""Launches a built app as `python app.py` would, but counts real checkpoint loads first.

    python tests/support/runtime_launch_app.py APP_DIR

ComfyUI is started through the app's own `runtime/` (the app's `ComfyWorkflow.load` then reuses
it), `comfy.sd.load_checkpoint_guess_config` is wrapped to print `CHECKPOINT LOADED` on stderr for
every call, and `app.py` runs as `__main__` with the app folder as working directory.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path


def main() -> None:
    app_dir = Path(sys.argv[1]).resolve()
    os.chdir(app_dir)
    sys.path.insert(0, str(app_dir))
    from runtime.engine import start
    from runtime.locate import find_comfyui

    start(find_comfyui(), app_dir / "comfy_data")
    import comfy.sd

    original = comfy.sd.load_checkpoint_guess_config

    def counting(*args, **kwargs):
        print("CHECKPOINT LOADED", file=sys.stderr, flush=True)
        return original(*args, **kwargs)

    comfy.sd.load_checkpoint_guess_config = counting
    sys.argv = [str(app_dir / "app.py")]
    runpy.run_path(str(app_dir / "app.py"), run_name="__main__")


if __name__ == "__main__":
    main()
