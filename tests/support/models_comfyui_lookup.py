"""Asks ComfyUI's own `folder_paths` where a model file is, after registering a models root the way
the runtime does (`add_model_folder_path(folder, <root>/<folder>, is_default=True)`).

    python -m tests.support.models_comfyui_lookup COMFYUI MODELS_ROOT FOLDER NAME

Prints one JSON line: {"full_path": ..., "listed": [...]}. A separate process: ComfyUI edits sys.path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(comfyui: str, models_root: str, folder: str, name: str) -> None:
    sys.path.insert(0, comfyui)
    import folder_paths

    folder_paths.add_model_folder_path(folder, str(Path(models_root, folder)), is_default=True)
    print(
        json.dumps(
            {
                "full_path": folder_paths.get_full_path(folder, name),
                "listed": folder_paths.get_filename_list(folder),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
