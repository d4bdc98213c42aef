"""Run `wizard.publish.publish_folder` in a fresh process (huggingface_hub reads HF_ENDPOINT at import).

Usage: python tests/support/publish_run.py '{"folder": ..., "space": ..., "attempts": 2, ...}'
Publishes `attempts` times in a row (a retry after a failure) and prints one JSON line per attempt:
{"ok": true, "url", "repo_id", "commit", "created"} or {"ok": false, "error": class name, "message"}.
Other keys are passed to publish_folder (private, token, hf_token_secret, template); with "progress": true
the progress descriptions are printed on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wizard.errors import PublishError  # noqa: E402
from wizard.publish import publish_folder  # noqa: E402


def main() -> int:
    args = json.loads(sys.argv[1])
    attempts = args.pop("attempts", 1)
    folder = args.pop("folder")
    if args.pop("progress", False):
        args["progress"] = lambda fraction, desc=None: print(
            f"progress {fraction:.1f} {desc}", file=sys.stderr
        )
    status = 0
    for _ in range(attempts):
        try:
            result = publish_folder(folder, **args)
        except PublishError as error:
            print(json.dumps({"ok": False, "error": type(error).__name__, "message": str(error)}), flush=True)
            status = 2
        else:
            print(json.dumps({"ok": True, **result.__dict__}), flush=True)
            status = 0
    return status


if __name__ == "__main__":
    sys.exit(main())
