"""Runs `runtime.models.ensure_models` in a fresh process (huggingface_hub reads HF_ENDPOINT at import).

    python -m tests.support.models_ensure MODELS_ROOT MODELS_JSON

Prints one JSON line: {"error": message or null, "progress": [[fraction, desc], ...]}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runtime.errors import ModelDownloadError
from runtime.models import ensure_models


def main(models_root: str, models_json: str) -> None:
    calls: list[tuple[float, str]] = []
    error = None
    try:
        ensure_models(
            json.loads(models_json), Path(models_root), progress=lambda f, desc: calls.append((f, desc))
        )
    except ModelDownloadError as failure:
        error = str(failure)
    print(json.dumps({"error": error, "progress": calls}))


if __name__ == "__main__":
    main(*sys.argv[1:])
