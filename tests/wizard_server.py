"""Start the wizard (`python app.py`) in a subprocess, as a user would, against a local fake Hub.

huggingface_hub reads `HF_ENDPOINT` at import, and Gradio's `gr.LoginButton` calls `whoami()` while the
page is built outside Spaces, so the app runs in its own process with `HF_ENDPOINT` pointing at the
`tests.fakehub.FakeHub` of the test process and `HF_TOKEN` holding one of its users' tokens.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def wizard_app(hub_url: str, token: str, home: Path) -> Iterator[str]:
    """Yield the URL of a running wizard; its output goes to `home/wizard.log`, shown if it fails."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    env = {
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
    env.pop("SYSTEM", None)
    log_path = home / "wizard.log"
    url = f"http://127.0.0.1:{port}"
    print(f"wizard at {url}, log: {log_path}")  # shown by pytest when a test fails
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the wizard exited with {process.returncode}:\n{log_path.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(
        f"the wizard did not start within {START_TIMEOUT_S} s:\n{log_path.read_text()[-4000:]}"
    )
