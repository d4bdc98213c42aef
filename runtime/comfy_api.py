"""ComfyUI's paid API nodes (comfy_api_nodes) and the key they need.

ComfyUI hands a prompt's extra_data["api_key_comfy_org"] to their hidden API_KEY_COMFY_ORG input
([C] execution.py:199-200); a generated Space keeps the key in the secret of the same name.
"""

from __future__ import annotations

import os

COMFY_API_KEY_SECRET = "API_KEY_COMFY_ORG"


def api_key_extra_data() -> dict[str, str]:
    """The extra_data entry that gives API nodes the Space's key; empty when the secret is not set."""
    key = os.environ.get(COMFY_API_KEY_SECRET)
    return {"api_key_comfy_org": key} if key else {}
