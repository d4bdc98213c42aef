"""Spaces that actually run, for the fake Hub of `tests/fakehub.py`.

When a ZeroGPU Space (hardware `zero-a10g`) of a `FakeHub(spaces=SpaceRunConfig(...))` receives a commit on
`main` (or is restarted), the fake "builds" it the way the Hub does, in a thread:

- BUILDING: the commit's files are written to a fresh folder; README.md's front matter is read (`sdk_version`
  must be the installed Gradio: the fake cannot install another one); every line of `requirements.txt` must be
  satisfied by this interpreter's installed distributions (the fake's stand-in for `pip install`, with pip's
  own error lines when one is not); `preload_from_hub` files are copied from the fake Hub's own public repos
  into the Space's Hugging Face cache, as the Hub does at build time (private or gated repos fail the build);
- APP_STARTING: `python <app_file>` starts in that folder on a free port, with the Space's secrets and
  variables as environment variables, `SYSTEM=spaces`, `SPACE_ID`, `HF_ENDPOINT` = the fake Hub, and the
  config's `env` (for example `COMFYUI_PATH`: the test's ComfyUI checkout). ZeroGPU itself is not emulated:
  `SPACES_ZERO_GPU` is unset, so `@spaces.GPU` runs the function as it is;
- RUNNING once the app answers on its port; RUNTIME_ERROR when the process exits (then or later) or does not
  answer within `start_timeout_s`; BUILD_ERROR when a build step fails. `errorMessage` says why, like the Hub.

The build log and the app's output are served by `GET /api/spaces/{id}/logs/build|run` as the Hub serves
them (SSE `data: {"data", "timestamp"}`, open while that phase runs), and the Space's host (`space_info(…).host`)
is a reverse proxy on a port of its own, which forwards to the app and, for a private Space, first requires
the token of a user who may read it (`X-HF-Authorization`, as gradio_client sends it, or `Authorization`).
"""

from __future__ import annotations

import http.client
import importlib.metadata
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import yaml
from packaging.requirements import InvalidRequirement, Requirement

if TYPE_CHECKING:
    from tests.fakehub import FakeHub

ZERO_GPU = "zero-a10g"
# The stages huggingface_hub 2.4.0 waits through (`_space_api.py` INTERMEDIATE_SPACE_STAGES).
BUILDING, APP_STARTING, RUNNING = "BUILDING", "APP_STARTING", "RUNNING"
BUILD_ERROR, RUNTIME_ERROR = "BUILD_ERROR", "RUNTIME_ERROR"
# Environment of the test process that must not reach a Space: the Hub gives a Space only its own settings.
_PRIVATE_ENV_PREFIXES = ("HF_", "HUGGINGFACE_", "GRADIO_", "SPACE_", "SPACES_", "OAUTH_", "OPENID_")
_PRIVATE_ENV_NAMES = ("SYSTEM", "COMFYUI_PATH", "PYTHONPATH")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


@dataclass(frozen=True)
class SpaceRunConfig:
    """How the fake Hub runs ZeroGPU Spaces.

    Attributes:
        workdir: where each build gets a folder (the app's files, its HF cache and Gradio temp files).
        env: set in every Space process after the Space's own variables (e.g. COMFYUI_PATH).
        start_timeout_s: how long an app may take to answer on its port before RUNTIME_ERROR.
        unavailable: distributions the fake's package index lacks (installed here or not), to fail a build
            the way a yanked or unpublished requirement does.
        stage_lag_s: for this long after a commit the runtime API still reports the previous build's stage,
            as the Hub's does for a moment.
    """

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    start_timeout_s: float = 600.0
    unavailable: frozenset[str] = frozenset()
    stage_lag_s: float = 0.0


@dataclass(frozen=True)
class SpaceBuild:
    """What one build of a Space starts from: the commit's files and the Space's settings then.

    Attributes:
        files: path -> content at the commit. secrets, variables: key -> value (the app's environment).
    """

    files: dict[str, bytes]
    secrets: dict[str, str]
    variables: dict[str, str]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SpaceLog:
    """One phase's log lines with their timestamps; readers follow it until it is closed."""

    def __init__(self) -> None:
        self._lines: list[tuple[str, str]] = []
        self._closed = False
        self._changed = threading.Condition()

    def add(self, line: str) -> None:
        with self._changed:
            self._lines.append((line.rstrip("\n") + "\n", _now()))
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(line for line, _ in self._lines)

    def follow(self, stop: Callable[[], bool]) -> Iterator[tuple[str, str]]:
        """Every line, then each new one as it comes, until the log is closed (or `stop()` says so)."""
        sent = 0
        while True:
            with self._changed:
                while sent == len(self._lines) and not self._closed and not stop():
                    self._changed.wait(timeout=0.5)
                pending, closed = self._lines[sent:], self._closed
            for item in pending:
                yield item
            sent += len(pending)
            if (closed and sent == len(self._lines)) or stop():
                return


class RunningSpace:
    """A ZeroGPU Space of the fake Hub: its current build, its app process and the proxy serving its host."""

    def __init__(self, hub: "FakeHub", repo_id: str, config: SpaceRunConfig) -> None:
        self.hub = hub
        self.repo_id = repo_id
        self.config = config
        self.stage: str | None = None
        self.error_message: str | None = None
        self.build_log = SpaceLog()
        self.run_log = SpaceLog()
        self.builds = 0
        self._process: subprocess.Popen | None = None
        self._generation = 0
        self._lock = threading.RLock()
        self._app_port: int | None = None
        self._previous: tuple[str | None, str | None] = (None, None)  # reported until `_lag_until`
        self._lag_until = 0.0
        self._proxy = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self._proxy.daemon_threads = True
        self._proxy.space = self  # type: ignore[attr-defined]
        threading.Thread(target=self._proxy.serve_forever, name=f"space-{repo_id}", daemon=True).start()

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self._proxy.server_address[1]}"

    def reported(self) -> tuple[str | None, str | None]:
        """(stage, errorMessage) as the runtime API reports them: the previous build's during the lag."""
        with self._lock:
            if time.monotonic() < self._lag_until:
                return self._previous
            return self.stage, self.error_message

    @property
    def app_port(self) -> int | None:
        with self._lock:
            return self._app_port if self.stage == RUNNING else None

    def rebuild(self, build: SpaceBuild) -> None:
        """Stop what runs now and build `build` in a thread (BUILDING at once)."""
        with self._lock:
            self._stop_process()
            self._generation += 1
            self.builds += 1
            if self.stage is not None:
                self._previous = (self.stage, self.error_message)
                self._lag_until = time.monotonic() + self.config.stage_lag_s
            self.stage, self.error_message, self._app_port = BUILDING, None, None
            self.build_log.close()
            self.run_log.close()
            self.build_log, self.run_log = SpaceLog(), SpaceLog()
            generation, build_log, run_log = self._generation, self.build_log, self.run_log
        threading.Thread(
            target=self._build_and_run,
            args=(generation, build, build_log, run_log),
            name=f"build-{self.repo_id}",
            daemon=True,
        ).start()

    def shutdown(self) -> None:
        with self._lock:
            self._generation += 1
            self._stop_process()
            self.build_log.close()
            self.run_log.close()
        self._proxy.shutdown()
        self._proxy.server_close()

    # ---------------------------------------------------------------- build

    def _current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation

    def _set_stage(self, generation: int, stage: str, error_message: str | None = None) -> bool:
        with self._lock:
            if generation != self._generation:
                return False
            self.stage, self.error_message = stage, error_message
            return True

    def _fail_build(self, generation: int, log: SpaceLog, lines: list[str], message: str) -> None:
        for line in lines:
            log.add(line)
        log.add(f"--> ERROR: {message}")
        log.close()
        self._set_stage(generation, BUILD_ERROR, message)

    def _build_and_run(self, generation: int, build: SpaceBuild, log: SpaceLog, run_log: SpaceLog) -> None:
        folder = self.config.workdir / f"{self.repo_id.replace('/', '--')}-{generation}"
        shutil.rmtree(folder, ignore_errors=True)
        log.add(
            f"===== Build Queued at {_now()} / Commit SHA: {self.hub.head_oid('space', self.repo_id)} ====="
        )
        for path, data in build.files.items():
            target = folder / "app" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        metadata = _front_matter(build.files.get("README.md", b""))
        app_file = str(metadata.get("app_file") or "app.py")
        sdk_version = str(metadata.get("sdk_version") or "")
        gradio_version = importlib.metadata.version("gradio")
        if metadata.get("sdk", "gradio") != "gradio":
            return self._fail_build(
                generation, log, [], f"this fake Hub runs Gradio Spaces only, not {metadata['sdk']}"
            )
        if sdk_version and sdk_version != gradio_version:
            return self._fail_build(
                generation,
                [f"ERROR: Could not find a version that satisfies the requirement gradio=={sdk_version}"],
                f"sdk_version {sdk_version}: this fake Hub has Gradio {gradio_version} only",
            )
        log.add("--> RUN pip install --no-cache-dir -r requirements.txt")
        problems = _unsatisfied_requirements(
            build.files.get("requirements.txt", b"").decode("utf-8", "replace"), self.config.unavailable
        )
        if problems:
            return self._fail_build(generation, log, problems, "Build failed with exit code: 1")
        for entry in metadata.get("preload_from_hub") or []:
            log.add(f"--> Preloading {entry}")
            problem = self.hub.preload_into(str(entry), folder / "hf_home" / "hub")
            if problem:
                return self._fail_build(generation, log, [], problem)
        log.add("--> Pushing image")
        log.add("DONE")
        log.close()
        if self._set_stage(generation, APP_STARTING):
            self._start_app(generation, build, folder, app_file, run_log)

    # ---------------------------------------------------------------- run

    def _space_env(self, build: SpaceBuild, folder: Path, port: int) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(_PRIVATE_ENV_PREFIXES) and key not in _PRIVATE_ENV_NAMES
        }
        author, name = self.repo_id.split("/")
        (folder / "gradio").mkdir(parents=True, exist_ok=True)
        env.update(
            {
                "SYSTEM": "spaces",
                "SPACE_ID": self.repo_id,
                "SPACE_AUTHOR_NAME": author,
                "SPACE_REPO_NAME": name,
                "SPACE_HOST": self.host.split("://", 1)[1],
                "HF_ENDPOINT": self.hub.url,
                "HF_HOME": str(folder / "hf_home"),
                "HF_HUB_DISABLE_TELEMETRY": "1",
                "GRADIO_SERVER_NAME": "127.0.0.1",
                "GRADIO_SERVER_PORT": str(port),
                "GRADIO_ANALYTICS_ENABLED": "False",
                "GRADIO_TEMP_DIR": str(folder / "gradio"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(build.variables)
        env.update(build.secrets)
        env.update(self.config.env)
        return env

    def _start_app(
        self, generation: int, build: SpaceBuild, folder: Path, app_file: str, run_log: SpaceLog
    ) -> None:
        port = _free_port()
        with self._lock:
            if generation != self._generation:
                return
            self._process = subprocess.Popen(
                [sys.executable, app_file],
                cwd=folder / "app",
                env=self._space_env(build, folder, port),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its whole process group is stopped with it
            )
            process = self._process
        reader = threading.Thread(target=self._read_output, args=(process, run_log), daemon=True)
        reader.start()
        deadline = time.monotonic() + self.config.start_timeout_s
        while process.poll() is None and time.monotonic() < deadline and self._current(generation):
            if _answers(f"http://127.0.0.1:{port}/"):
                with self._lock:
                    if generation == self._generation:
                        self._app_port = port
                        self.stage = RUNNING
                break
            time.sleep(0.3)
        else:
            if process.poll() is None and self._current(generation):  # never answered
                self._set_stage(
                    generation,
                    RUNTIME_ERROR,
                    f"Launch timed out, workload was not healthy after {self.config.start_timeout_s:g} s",
                )
                self._stop_process()
        code = process.wait()
        reader.join(timeout=5)
        run_log.close()
        with self._lock:
            if generation == self._generation and self.stage in (APP_STARTING, RUNNING):
                last = run_log.text.strip().splitlines()[-1:] or [""]
                self.stage = RUNTIME_ERROR
                self.error_message = f"Exit code: {code}. Reason: {last[0][:300]}"
                self._app_port = None

    @staticmethod
    def _read_output(process: subprocess.Popen, log: SpaceLog) -> None:
        for raw in iter(process.stdout.readline, b""):
            log.add(raw.decode("utf-8", "replace"))
        process.stdout.close()

    def _stop_process(self) -> None:
        """Stop the app's whole process group (lock held)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue


def _front_matter(readme: bytes) -> dict:
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", readme.decode("utf-8", "replace"), flags=re.DOTALL)
    if match is None:
        return {}
    try:
        metadata = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _unsatisfied_requirements(text: str, unavailable: frozenset[str]) -> list[str]:
    """pip's error lines for each requirement this interpreter's installed distributions (less the
    `unavailable` ones) do not satisfy."""
    problems: list[str] = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"ERROR: Invalid requirement: {line!r}")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if requirement.name.lower() in unavailable:
            installed = None
        if installed is None or not requirement.specifier.contains(installed, prereleases=True):
            versions = installed or "none"
            problems.append(
                f"ERROR: Could not find a version that satisfies the requirement {line} (from versions: {versions})"
            )
            problems.append(f"ERROR: No matching distribution found for {line}")
    return problems


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def sse_event(line: str, timestamp: str) -> bytes:
    """One log line as the Hub's logs endpoints send it."""
    return b"data: " + json.dumps({"data": line, "timestamp": timestamp}).encode() + b"\n\n"


class _ProxyHandler(BaseHTTPRequestHandler):
    """The Space's host: checks access to a private Space, then forwards the request to the app, streaming."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._forward("GET")

    def do_HEAD(self) -> None:
        self._forward("HEAD")

    def do_POST(self) -> None:
        self._forward("POST")

    def do_PUT(self) -> None:
        self._forward("PUT")

    def do_DELETE(self) -> None:
        self._forward("DELETE")

    def do_OPTIONS(self) -> None:
        self._forward("OPTIONS")

    def _answer(self, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, method: str) -> None:
        space: RunningSpace = self.server.space  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        token = None
        for name in ("X-HF-Authorization", "Authorization"):
            scheme, _, value = (self.headers.get(name) or "").partition(" ")
            if scheme.lower() == "bearer" and value:
                token = value
                break
        if not space.hub.may_read_space(space.repo_id, token):
            return self._answer(404, "Sorry, we can't find the page you are looking for.")
        port = space.app_port
        if port is None:
            return self._answer(503, f"The Space is not running (stage {space.stage})")
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() not in ("host", "content-length")
        }
        headers["Host"] = self.headers.get("Host") or f"127.0.0.1:{port}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            connection.request(method, self.path, body=body, headers=headers)
            upstream = connection.getresponse()
        except OSError as error:
            connection.close()
            return self._answer(502, f"The Space's app did not answer: {error}")
        try:
            self.send_response(upstream.status, upstream.reason)
            for name, value in upstream.getheaders():
                if name.lower() not in _HOP_BY_HOP and (method == "HEAD" or name.lower() != "content-length"):
                    self.send_header(name, value)
            if method != "HEAD":
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while method != "HEAD":
                chunk = upstream.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            if method != "HEAD":
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            connection.close()
