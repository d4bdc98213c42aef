"""Custom packs' JavaScript that changes how a node the server defines restores its saved widgets.

VideoHelperSuite's `useKVState`, applied to every node type named `VHS_*` ([VHS] web/js/VHS.core.js:1870-1872):
its `onConfigure` runs after `LGraphNode.configure` (which assigns list-form values by position and
leaves record-form ones unread, [FE] LGraphNode.ts `configure`) and sets each widget by name from the
record ([VHS] web/js/VHS.core.js:41-146). Cited at VideoHelperSuite 6e7f638 (`packs.json`).
"""

from __future__ import annotations

from typing import Any

from wizard.nodedefs import NodeDef

VHS_PREFIX = "VHS_"
# VHS_LoadVideo and VHS_LoadVideoPath saved the same widget list.
_VIDEO_LOADER_WIDGETS = (
    "video",
    "force_rate",
    "force_size",
    "frame_load_cap",
    "skip_first_frames",
    "select_every_nth",
)
# Old list-form layouts converted to records; None skips a position ([VHS] web/js/VHS.core.js:33-39).
_VHS_LIST_LAYOUTS: dict[str, tuple[str | None, ...]] = {
    "VHS_LoadImages": ("directory", None, "image_load_cap", "skip_first_images", "select_every_nth"),
    "VHS_LoadImagesPath": ("directory", "image_load_cap", "skip_first_images", "select_every_nth"),
    "VHS_VideoCombine": ("frame_rate", "loop_count", "filename_prefix", "format", "pingpong", "save_image"),
    "VHS_LoadVideo": _VIDEO_LOADER_WIDGETS,
    "VHS_LoadVideoPath": _VIDEO_LOADER_WIDGETS,
}
# Renamed widgets: current name -> the name old records used ([VHS] web/js/VHS.core.js:40).
_VHS_RENAMED = {"VHS_VideoCombine": {"save_output": "save_image"}}


def vhs_record(node_type: str, saved: Any) -> dict[str, Any] | None:
    """The record VHS's `onConfigure` restores widgets from, or None when it leaves them as
    `configure` set them ([VHS] web/js/VHS.core.js:48-96)."""
    if not node_type.startswith(VHS_PREFIX) or not isinstance(saved, (dict, list)):
        return None
    record: Any = dict(saved) if isinstance(saved, dict) else saved
    layout = _VHS_LIST_LAYOUTS.get(node_type)
    if isinstance(saved, list) and saved and layout and len(saved) >= len(layout):
        record = {name: saved[index] for index, name in enumerate(layout) if name}
    if not isinstance(record, dict):
        return None  # "blindly applied" by position ([VHS] web/js/VHS.core.js:143-153)
    if "force_size" in record:  # force_size was phased out: migrate it ([VHS] web/js/VHS.core.js:74-96)
        size = record["force_size"]
        if isinstance(size, str) and "x" in size:
            width, height = (size.split("x") + [""])[:2]
            record["custom_width"] = 0 if width == "?" else _parse_int(width)
            record["custom_height"] = 0 if height == "?" else _parse_int(height)
        else:
            if size in ("Disabled", "Custom Height"):
                record["custom_width"] = 0
            if size in ("Disabled", "Custom Width"):
                record["custom_height"] = 0
    return record


def vhs_restored(node_def: NodeDef, name: str, record: dict[str, Any], current: Any) -> Any:
    """A widget's value after VHS's `onConfigure`: from the record by name (or its old name), else the
    definition's default when that is truthy, else `current` ([VHS] web/js/VHS.core.js:104-137)."""
    if name in record:
        return record[name]
    old_name = _VHS_RENAMED.get(node_def.class_type, {}).get(name)
    if old_name in record:
        return record[old_name]
    declared = node_def.raw.get("input", {})
    for section in ("required", "optional"):
        entry = (declared.get(section) or {}).get(name)
        if not isinstance(entry, list) or not entry:
            continue
        options = entry[1] if len(entry) > 1 and isinstance(entry[1], dict) else {}
        if "default" in options:
            initial = options["default"]
        else:  # `inputs[name][0][0]`: the first choice, or the first letter of a type name
            initial = entry[0][0] if isinstance(entry[0], (list, str)) and entry[0] else None
        return initial if _js_truthy(initial) else current
    return current


def _parse_int(text: str) -> int | None:
    """JavaScript's `parseInt` on a decimal prefix; NaN (None here) without one."""
    digits = text.strip()
    sign = -1 if digits.startswith("-") else 1
    digits = digits.lstrip("+-")
    prefix = digits[: len(digits) - len(digits.lstrip("0123456789"))]
    return sign * int(prefix) if prefix else None


def _js_truthy(value: Any) -> bool:
    return value not in (None, 0, "", False) if not isinstance(value, (list, dict)) else True
