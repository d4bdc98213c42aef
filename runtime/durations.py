"""The GPU duration a generated app asks ZeroGPU for, from a measured run (no ComfyUI import: the wizard
uses it for a Test run on ZeroGPU, the runtime for its own measured runs)."""

from __future__ import annotations

import math

DURATION_HEADROOM_S = 5.0
DURATION_MIN_S = 10
DURATION_MAX_S = 120
DURATION_UNMEASURED_S = 60


def gpu_duration(seconds: float) -> int:
    """Seconds to ask ZeroGPU for a run that took `seconds`: × 1.5 plus headroom, within 10-120 s."""
    return min(max(math.ceil(seconds * 1.5 + DURATION_HEADROOM_S), DURATION_MIN_S), DURATION_MAX_S)
