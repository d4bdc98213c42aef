"""Call huggingface_hub in a fresh process (it reads HF_ENDPOINT at import) and print the results as JSON.

Usage: python tests/support/publish_hub_calls.py '[{"call": "whoami"}, {"call": "create_repo", "args": {...}}]'
Each call is an `HfApi` method (the generators of `list_*` and `fetch_*` become lists), or `hf_hub_download` /
`snapshot_download`; the output is one JSON list with, per call, {"result": ...} (objects flattened to their
attributes; a str subclass such as RepoUrl or CommitInfo becomes {"str": its text, **attributes}) or
{"error": class name, "status": HTTP status or null, "message": str}. Calls after a failing one still run.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import sys
from typing import Any

import huggingface_hub
from huggingface_hub.errors import HfHubHTTPError


def _jsonable(value: Any) -> Any:
    if isinstance(value, str) and type(value) is not str:  # RepoUrl, CommitInfo: a str with attributes
        return {
            "str": str(value),
            **_jsonable({k: v for k, v in vars(value).items() if not k.startswith("_")}),
        }
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if dataclasses.is_dataclass(value) or hasattr(value, "__dict__"):
        return {key: _jsonable(item) for key, item in vars(value).items() if not key.startswith("_")}
    return repr(value)


def _run(call: str, args: dict) -> Any:
    if call in ("hf_hub_download", "snapshot_download"):
        return getattr(huggingface_hub, call)(**args)
    result = getattr(huggingface_hub.HfApi(), call)(**args)
    return list(result) if call.startswith(("list_", "fetch_")) else result  # generators


def main() -> int:
    outputs = []
    for item in json.loads(sys.argv[1]):
        try:
            outputs.append({"result": _jsonable(_run(item["call"], item.get("args", {})))})
        except HfHubHTTPError as error:
            status = error.response.status_code if error.response is not None else None
            outputs.append({"error": type(error).__name__, "status": status, "message": str(error)})
        except Exception as error:  # noqa: BLE001 - reported to the test, which asserts on it
            outputs.append({"error": type(error).__name__, "status": None, "message": str(error)})
    print(json.dumps(outputs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
