"""Run `wizard.resolve.resolve_models` in a fresh process (huggingface_hub reads HF_ENDPOINT at import).

stdin: `{"models": [ModelFile fields...], "online": bool, "token": str | null}`;
stdout: the resolved models as a JSON list of ModelFile fields.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wizard.records import ModelFile  # noqa: E402
from wizard.resolve import resolve_models  # noqa: E402


def main() -> None:
    request = json.load(sys.stdin)
    models = [
        ModelFile(**{**fields, "node_ids": tuple(fields.get("node_ids", ()))}) for fields in request["models"]
    ]
    resolved = resolve_models(models, online=request["online"], token=request.get("token"))
    json.dump([dataclasses.asdict(model) for model in resolved], sys.stdout)


if __name__ == "__main__":
    main()
