"""Regenerates the bundled node-definitions snapshot from a ComfyUI checkout (core nodes only).

    python scripts/dump_object_info.py [--comfyui PATH] [-o FILE]

Writes `wizard/data/object_info-comfyui-<version>.json` (the version read from the checkout's
`comfyui_version.py`) with sorted keys, so regenerating from the same checkout gives the same bytes.
The dump itself is `python -m wizard.worker.object_info --no-custom-nodes`, run in a subprocess because
ComfyUI changes the importing process (sys.path, globals).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # scripts/ is not a package: make `runtime` importable
from runtime.locate import find_comfyui  # noqa: E402

DATA_DIR = REPO_ROOT / "wizard" / "data"


def comfyui_version(comfyui_path: Path) -> str:
    match = re.search(
        r"__version__\s*=\s*['\"]([^'\"]+)['\"]", (comfyui_path / "comfyui_version.py").read_text()
    )
    if match is None:
        raise SystemExit(f"error: no __version__ in {comfyui_path / 'comfyui_version.py'}")
    return match[1]


def dump_core_object_info(comfyui_path: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "wizard.worker.object_info", "--comfyui", str(comfyui_path), "--no-custom-nodes"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"error: dumping node definitions failed: {completed.stderr.strip()[-2000:]}")
    return json.loads(completed.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--comfyui", type=Path, help="ComfyUI checkout (default: COMFYUI_PATH or the install dir)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="file to write (default: wizard/data/...-<version>.json)"
    )
    options = parser.parse_args()
    comfyui_path = options.comfyui or find_comfyui()
    if comfyui_path is None:
        raise SystemExit("error: no ComfyUI checkout found; pass --comfyui PATH or set COMFYUI_PATH")
    output = options.output or DATA_DIR / f"object_info-comfyui-{comfyui_version(comfyui_path)}.json"
    object_info = dump_core_object_info(comfyui_path)
    output.write_text(json.dumps(object_info, sort_keys=True), encoding="utf-8")
    print(f"{output}: {len(object_info)} node classes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
