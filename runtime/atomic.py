"""Builds a folder next to its final place and renames it in, so an interrupted install never
leaves a half-made folder where the runtime would take it for a complete one."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable


def build_then_rename(
    dest: Path, build: Callable[[Path], None], replace: bool = False, keep: Iterable[str] = ()
) -> Path:
    """Calls `build(tmp)` on an empty temporary sibling of `dest`, then renames it to `dest`.

    With `replace`, an existing `dest` is swapped out only once the new folder is complete; the entries
    of the old `dest` named in `keep` (top-level names) are then moved into the new one, and the rest of
    the old folder is deleted. Nothing in `keep` is ever deleted: a crash mid-way leaves it in the hidden
    `.<name>.old-*` sibling.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    # ".disabled": ComfyUI skips such folders in custom_nodes/, so a crash never leaves a loadable copy.
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", suffix=".disabled", dir=dest.parent))
    old = None
    try:
        build(tmp)
        if replace and dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            dest.rename(old / dest.name)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and (old / dest.name).exists() and not dest.exists():
            (old / dest.name).rename(dest)  # the swap failed: the old folder goes back, untouched
            old.rmdir()
        raise
    if old is not None:
        for name in keep:
            if (old / dest.name / name).exists() and not (dest / name).exists():
                (old / dest.name / name).rename(dest / name)
        shutil.rmtree(old)
    return dest


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/<stem>_<n><suffix>` with the smallest n that names no existing file."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 1
    while target.exists():
        target = folder / f"{stem}_{counter}{suffix}"
        counter += 1
    return target
