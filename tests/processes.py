"""Servers that tests start as subprocesses: a free port for each, waiting until it answers, stopping it."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(
    url: str, process: subprocess.Popen, log_path: Path, timeout_s: float, what: str
) -> None:
    """Returns once `url` answers 200; raises AssertionError with the end of `log_path` if `process` (`what`,
    for the message) exits first or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}:\n{_log_tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{what} did not serve within {timeout_s} s:\n{_log_tail(log_path)}")


def stop_process(process: subprocess.Popen, timeout_s: float = 30) -> None:
    """Terminates `process`, and kills it if it has not ended after `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-4000:]
