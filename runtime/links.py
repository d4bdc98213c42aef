"""The one test of what a value in an API prompt's `inputs` is: a link, or a widget value.

ComfyUI's own rule (comfy_execution/graph_utils.py:1 `is_link`): a link is `[origin node id, output
slot]`, a list of two whose first item is a string and whose second is a number. Shared by runtime/ and the wizard (runtime imports nothing back).
"""

from __future__ import annotations

from typing import Any


def is_link(value: Any) -> bool:
    """True for `[origin_id, slot]`, the API prompt's form of a link."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], (int, float))
    )
