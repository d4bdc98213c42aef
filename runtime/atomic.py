"""Builds a folder next to its final place and renames it in, so an interrupted install never
leaves a half-made folder where the runtime would take it for a complete one."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable


def build_then_rename(dest: Path, build: Callable[[Path], None], replace: bool = False) -> Path:
    """Calls `build(tmp)` on an empty temporary sibling of `dest`, then renames it to `dest`.

    With `replace`, an existing `dest` is deleted only once the new folder is complete.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    # ".disabled": ComfyUI skips such folders in custom_nodes/, so a crash never leaves a loadable copy.
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", suffix=".disabled", dir=dest.parent))
    try:
        build(tmp)
        if replace and dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
