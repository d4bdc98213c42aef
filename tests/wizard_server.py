"""Start the wizard (`python app.py`) in a subprocess, as a user would, against a local fake Hub.

huggingface_hub reads `HF_ENDPOINT` at import, and Gradio's `gr.LoginButton` calls `whoami()` while the
page is built outside Spaces, so the app runs in its own process with `HF_ENDPOINT` pointing at the
`tests.fakehub.FakeHub` of the test process and `HF_TOKEN` holding one of its users' tokens.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tests.processes import free_port, stop_process, wait_until_serving

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 90


@contextmanager
def wizard_app(hub_url: str, token: str, home: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """Yield the URL of a running wizard; its output goes to `home/wizard.log`, shown if it fails. `env` is
    set last (for example `SYSTEM=spaces` to run it as on Spaces)."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        "HF_ENDPOINT": hub_url,
        "HF_TOKEN": token,
        "HF_HOME": str(home / "hf-home"),  # no saved login of this machine leaks in
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(home / "gradio"),
        "TMPDIR": str(home),
        "PYTHONUNBUFFERED": "1",
    }
    environment.pop("SYSTEM", None)
    environment.update(env or {})
    log_path = home / "wizard.log"
    url = f"http://127.0.0.1:{port}"
    print(f"wizard at {url}, log: {log_path}")  # shown by pytest when a test fails
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(url, process, log_path, START_TIMEOUT_S, "the wizard")
            yield url
        finally:
            stop_process(process, timeout_s=15)
