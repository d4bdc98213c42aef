"""The build manifest: the list of files `build` wrote, written last, so a folder holding it is complete.

`build` (wizard/codegen.py) writes `wizard-manifest.json` into the new folder after every other file,
before the folder is renamed into place. `publish` refuses a folder without it (a half-written or
foreign folder) and uses the copy on the Hub to know which files of a Space the wizard wrote before:
those are the files a new publish may update or delete; any other file in the Space is the user's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "wizard-manifest.json"
GENERATOR = "comfyui-space-wizard"


@dataclass(frozen=True)
class SpaceManifest:
    """What one build wrote.

    Attributes:
        files: every file of the build as sorted POSIX paths relative to the Space folder, the manifest
            itself excluded.
    """

    files: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"generator": GENERATOR, "files": list(self.files)}, indent=2) + "\n"


def write_manifest(folder: Path) -> SpaceManifest:
    """Lists every file now in `folder` into its manifest (call it after the build wrote everything)."""
    files = tuple(sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()))
    manifest = SpaceManifest(files=tuple(name for name in files if name != MANIFEST_NAME))
    (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8", newline="\n")
    return manifest


def parse_manifest(data: bytes) -> SpaceManifest | None:
    """The manifest in `data`, or None when it is not one this wizard wrote."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("generator") != GENERATOR:
        return None
    files = value.get("files")
    if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
        return None
    return SpaceManifest(files=tuple(files))


def read_manifest(folder: Path) -> SpaceManifest | None:
    """The manifest of the built `folder`, or None when it has none (not built, or the build stopped)."""
    try:
        return parse_manifest((folder / MANIFEST_NAME).read_bytes())
    except OSError:
        return None
