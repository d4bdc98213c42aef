"""A local fake of the Hugging Face Hub HTTP API, faithful enough for huggingface_hub 2.4.0.

Real HTTP on 127.0.0.1 (stdlib `ThreadingHTTPServer`, a free port), so huggingface_hub runs unmodified
against it through `HF_ENDPOINT` (read at import: set it in a subprocess, or before the first import).
Shapes follow `shared/docs/huggingface.md` §5:

- every request that carries `Authorization: Bearer …` is checked, and endpoints that need a user reject a
  missing or unknown token with 401 `Invalid credentials in Authorization header`;
- request bodies are validated (types, required keys, unknown keys, hardware flavors, repo names);
- existing repos give 409 whose JSON also holds `url`, like the real Hub;
- preupload always answers `uploadMode: "regular"`, so uploads never go through LFS or Xet, and a commit
  holding an `lfsFile` line is rejected with 400;
- commits apply atomically (all lines valid, or nothing changes) and `parentCommit` is checked;
- gated models answer 403 `X-Error-Code: GatedRepo` on downloads unless the user was granted access;
- `fail_next` injects any status (with `X-Error-Message` and, for 429, `Retry-After` and `RateLimit`) or a
  dropped connection (the request is read, then the socket closes without a response; nothing is applied);
- with `spaces=SpaceRunConfig(...)`, ZeroGPU Spaces actually build and run (`tests/fakespaces.py`): stages
  through `/api/spaces/{id}/runtime`, logs through `/api/spaces/{id}/logs/{build|run}`, the app at
  `space_info(...).host`.

Usage::

    with FakeHub(users={"hf_alicetoken": "alice"}, orgs={"acme": ["alice"]}) as hub:
        env = {"HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_alicetoken"}
        hub.add_model_file("acme/model", "unet/model.safetensors", b"...", gated=True)
        hub.fail_next(method="POST", path=r"/commit/", status=503)
        ...
        hub.requests  # what huggingface_hub sent, in order
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import yaml

from tests.fakespaces import ZERO_GPU, RunningSpace, SpaceBuild, SpaceLog, SpaceRunConfig, sse_event

REPO_TYPES = ("model", "dataset", "space")
SPACE_SDKS = ("gradio", "streamlit", "docker", "static")
# huggingface_hub 2.4.0 `SpaceHardware` (`_space_api.py`): the flavors the Hub accepts.
SPACE_HARDWARE = (
    "cpu-basic",
    "cpu-upgrade",
    "zero-a10g",
    "t4-small",
    "t4-medium",
    "l4x1",
    "l4x4",
    "l40sx1",
    "l40sx4",
    "l40sx8",
    "a10g-small",
    "a10g-large",
    "a10g-largex2",
    "a10g-largex4",
    "a100-large",
    "a100x4",
    "a100x8",
    "rtx-pro-6000",
    "rtx-pro-6000x2",
    "rtx-pro-6000x4",
    "rtx-pro-6000x8",
)
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"
# The Hub stores these as LFS objects: downloads carry `X-Linked-Etag` (sha256) and `X-Linked-Size`.
LFS_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".sft", ".pkl", ".zip")
LFS_MIN_SIZE = 10 * 1024 * 1024
_NAME_PART = re.compile(r"^[A-Za-z0-9_.\-]{1,96}$")
_DEFAULT_MESSAGES = {
    400: "Bad request",
    401: INVALID_CREDENTIALS,
    402: "Payment required: you have reached the maximum number of ZeroGPU Spaces for your account",
    403: "You don't have the rights to perform this action: this token is missing the `manage-repos` scope",
    404: "Not found",
    409: "You already created this repo",
    412: "A commit has happened since. Please refresh and try again.",
    429: "Too many requests: you have been rate-limited",
    500: "Internal Error - We're working hard to fix this as soon as possible!",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_TIMESTAMP = "2026-01-01T00:00:00.000Z"


def client_env(hub_url: str, hf_home: Path, token: str | None = None, **extra: str) -> dict[str, str]:
    """This process's environment for a huggingface_hub process that talks to the fake Hub at `hub_url`.

    No HF_* or TRANSFORMERS_* setting of the host (a token, offline mode) leaks in, and `hf_home` stands
    for an empty HF_HOME (no saved login); `token` becomes HF_TOKEN; `extra` is set last.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(HF_ENDPOINT=hub_url, HF_HOME=str(hf_home), HF_HUB_DISABLE_TELEMETRY="1")
    if token is not None:
        env["HF_TOKEN"] = token
    env.update(extra)
    return env


def git_blob_oid(data: bytes) -> str:
    """The git blob sha1 of `data`: the `oid` the Hub reports for regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class SizedStandIn(bytes):
    """A file's few stand-in bytes with the size the Hub reports for it (a 6.94 GB checkpoint needs no
    6.94 GB here): metadata (paths-info, tree, `files_metadata`, HEAD) says `size`; a download is refused."""

    size: int

    def __new__(cls, size: int, data: bytes = b"stand-in") -> "SizedStandIn":
        stand_in = super().__new__(cls, data)
        stand_in.size = size
        return stand_in


def file_size(data: bytes) -> int:
    """The size the Hub reports for a stored file."""
    return data.size if isinstance(data, SizedStandIn) else len(data)


def is_lfs_path(path: str, data: bytes) -> bool:
    """Whether the real Hub would store this file as an LFS/Xet object (weights, archives, big files)."""
    return path.lower().endswith(LFS_SUFFIXES) or file_size(data) >= LFS_MIN_SIZE


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it. Header names are lower-case; `failed` names an injected
    failure (`"429"`, `"drop"`…) or is None when the request was served normally."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    failed: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    def ndjson(self) -> list[dict]:
        return [json.loads(line) for line in self.body.splitlines() if line.strip()]


@dataclass(frozen=True)
class Commit:
    oid: str
    parent: str | None
    summary: str
    description: str
    files: dict[str, bytes]
    author: str


@dataclass
class Repo:
    """A repository's state. `files` is the head of `main`; `commits` lists every commit, oldest first."""

    repo_type: str
    repo_id: str
    private: bool = False
    sdk: str | None = None
    hardware: str | None = None
    sleep_time: int | None = None
    secrets: dict[str, dict] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    gated: bool = False
    visibility: str = "public"
    commits: list[Commit] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)
    restarts: int = 0
    paused: bool = False

    @property
    def files(self) -> dict[str, bytes]:
        return dict(self.head("main").files) if "main" in self.refs else {}

    def head(self, revision: str) -> Commit:
        """The commit a branch name or commit oid points to (KeyError when unknown)."""
        oid = self.refs.get(revision, revision)
        for commit in self.commits:
            if commit.oid == oid:
                return commit
        raise KeyError(revision)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]


@dataclass
class _Failure:
    method: str | None
    path: re.Pattern
    status: int
    times: int
    error_code: str | None
    message: str | None
    drop_connection: bool
    retry_after: int


class HubError(Exception):
    """An HTTP error answer: status, message (JSON `error` and `X-Error-Message`), optional error code."""

    def __init__(self, status: int, message: str, error_code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.extra = extra or {}


@dataclass
class _Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Response:
    return _Response(
        status, json.dumps(value).encode(), {"Content-Type": "application/json", **(headers or {})}
    )


class FakeHub:
    """The fake Hub: a server thread plus the repositories, users and recorded requests."""

    def __init__(
        self,
        users: dict[str, str] | None = None,
        orgs: dict[str, list[str] | dict[str, str]] | None = None,
        spaces: SpaceRunConfig | None = None,
    ):
        # token -> user name; org name -> {member: role}. A list of members means role "write" for each;
        # "read" members see the org's private repos but may not create or write repos there.
        self.users: dict[str, str] = dict(users or {})
        self.orgs: dict[str, dict[str, str]] = {
            name: dict(members) if isinstance(members, dict) else {member: "write" for member in members}
            for name, members in (orgs or {}).items()
        }
        self.read_only_tokens: set[str] = set()
        self.repos: dict[tuple[str, str], Repo] = {}
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._access: set[tuple[str, str]] = set()  # (user, model repo id) allowed past gating
        self.spaces_config = spaces
        self.running: dict[str, RunningSpace] = {}  # Space id -> its builds and app (with `spaces` only)
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FakeHub":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.hub = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop_spaces()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeHub is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ test controls

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget repositories, recorded requests, pending failures and granted access (users stay)."""
        self._stop_spaces()
        with self._lock:
            self.repos.clear()
            self._requests.clear()
            self._failures.clear()
            self._access.clear()

    def add_user(self, token: str, name: str, *, read_only: bool = False) -> None:
        with self._lock:
            self.users[token] = name
            if read_only:
                self.read_only_tokens.add(token)

    def grant_access(self, user: str, repo_id: str) -> None:
        """Let `user` download from the gated model `repo_id` (as if they accepted its licence)."""
        with self._lock:
            self._access.add((user, repo_id))

    def fail_next(
        self,
        method: str | None = None,
        path: str = ".*",
        status: int = 500,
        times: int = 1,
        error_code: str | None = None,
        message: str | None = None,
        drop_connection: bool = False,
        retry_after: int = 1,
    ) -> None:
        """Make the next `times` requests matching `method` and the `path` regex (searched in the URL path)
        fail with `status`, or close the connection without answering when `drop_connection`."""
        with self._lock:
            self._failures.append(
                _Failure(
                    method.upper() if method else None,
                    re.compile(path),
                    status,
                    times,
                    error_code,
                    message,
                    drop_connection,
                    retry_after,
                )
            )

    def add_repo(
        self,
        repo_id: str,
        *,
        repo_type: str = "model",
        files: dict[str, bytes] | None = None,
        private: bool = False,
        gated: bool = False,
        sdk: str | None = None,
        hardware: str | None = None,
    ) -> Repo:
        """Create a repository directly (no HTTP): the Hub's initial commit, then one adding `files`."""
        with self._lock:
            repo = self._create(
                repo_type,
                repo_id,
                author=repo_id.split("/")[0],
                private=private,
                sdk=sdk or ("gradio" if repo_type == "space" else None),
                hardware=hardware,
            )
            repo.gated = gated
            if files:
                self._commit(repo, "main", {**repo.files, **files}, "Add files", "", repo.namespace)
            return repo

    def add_model_file(
        self,
        repo_id: str,
        path: str,
        data: bytes | None = None,
        *,
        size: int | None = None,
        gated: bool = False,
        revision: str = "main",
    ) -> str:
        """Add one file to a model repo (created if needed) on `revision` (a branch, created from main if
        needed): its `data`, or with `size` alone a `SizedStandIn` of that size. Returns the new commit oid.
        """
        if data is None:
            assert size is not None, "give the file's data or its size"
            data = SizedStandIn(size)
        with self._lock:
            repo = self.repos.get(("model", repo_id)) or self.add_repo(repo_id)
            repo.gated = repo.gated or gated
            if revision not in repo.refs:
                repo.refs[revision] = repo.refs["main"]
            files = {**repo.head(revision).files, path: data}
            return self._commit(repo, revision, files, f"Add {path}", "", repo.namespace).oid

    # ------------------------------------------------------------------ running Spaces

    def wait_for_stage(self, repo_id: str, stages: tuple[str, ...], timeout_s: float = 300) -> str:
        """Block until the running Space `repo_id` reaches one of `stages`; returns it (AssertionError on
        timeout, with the logs)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            space = self.running.get(repo_id)
            if space is not None and space.stage in stages:
                return space.stage
            time.sleep(0.2)
        space = self.running.get(repo_id)
        logs = "" if space is None else space.build_log.text + space.run_log.text
        raise AssertionError(f"{repo_id} is not in {stages} after {timeout_s} s:\n{logs[-4000:]}")

    def head_oid(self, repo_type: str, repo_id: str) -> str:
        with self._lock:
            return self.repos[(repo_type, repo_id)].refs["main"]

    def may_read_space(self, repo_id: str, token: str | None) -> bool:
        """Whether a request with `token` (or none) may see the Space `repo_id`, as its host checks."""
        with self._lock:
            repo = self.repos.get(("space", repo_id))
            if repo is None:
                return False
            if not repo.private:
                return True
            user = self.users.get(token or "")
            return user is not None and (repo.namespace == user or user in self.orgs.get(repo.namespace, {}))

    def preload_into(self, entry: str, cache_dir: Path) -> str | None:
        """Copy a `preload_from_hub` entry ("repo", "repo f1,f2" or "repo file commit") from this Hub's
        public repos into a huggingface_hub cache at `cache_dir`, as the Hub does at build time. Returns why
        it cannot (a private, gated or missing repo or file), or None."""
        parts = entry.split()
        repo_id = parts[0] if parts else ""
        with self._lock:
            repo = self.repos.get(("model", repo_id))
            if repo is None or repo.private or repo.gated:
                return f"preload_from_hub: cannot download {repo_id!r} (missing, private or gated)"
            try:
                commit = repo.head(parts[2] if len(parts) > 2 else "main")
            except KeyError:
                return f"preload_from_hub: {repo_id} has no revision {parts[2]!r}"
            names = parts[1].split(",") if len(parts) > 1 else sorted(commit.files)
            missing = [name for name in names if name not in commit.files]
            if missing:
                return f"preload_from_hub: {repo_id} has no file {missing[0]!r}"
            files = {name: commit.files[name] for name in names}
        folder = cache_dir / f"models--{repo_id.replace('/', '--')}"
        for name, data in files.items():
            target = folder / "snapshots" / commit.oid / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (folder / "refs").mkdir(parents=True, exist_ok=True)
        (folder / "refs" / "main").write_text(commit.oid)
        return None

    def _space_changed(self, repo: Repo) -> None:
        """(Re)build a ZeroGPU Space after a commit to main or a restart, when Spaces run (lock held)."""
        if self.spaces_config is None or repo.repo_type != "space" or repo.hardware != ZERO_GPU:
            return
        files = repo.files
        metadata, _ = _front_matter(files.get("README.md", b"").decode("utf-8", "replace"))
        app_file = metadata.get("app_file", "app.py") if isinstance(metadata, dict) else "app.py"
        space = self.running.get(repo.repo_id)
        if app_file not in files:  # NO_APP_FILE, as the Hub reports it
            if space is not None:
                space.shutdown()
                del self.running[repo.repo_id]
            return
        if space is None:
            space = self.running[repo.repo_id] = RunningSpace(self, repo.repo_id, self.spaces_config)
        space.rebuild(
            SpaceBuild(
                files=files,
                secrets={key: item["value"] for key, item in repo.secrets.items()},
                variables={key: item["value"] for key, item in repo.variables.items()},
            )
        )

    def _stop_spaces(self) -> None:
        with self._lock:
            spaces, self.running = list(self.running.values()), {}
        for space in spaces:
            space.shutdown()

    # ------------------------------------------------------------------ state helpers (lock held)

    def _new_oid(self, *parts: str) -> str:
        return hashlib.sha1("\0".join((str(next(self._counter)), *parts)).encode()).hexdigest()

    def _create(
        self,
        repo_type: str,
        repo_id: str,
        *,
        author: str,
        private: bool,
        sdk: str | None,
        hardware: str | None,
        visibility: str | None = None,
    ) -> Repo:
        repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private, sdk=sdk)
        repo.visibility = visibility or ("private" if private else "public")
        if repo_type == "space":
            repo.hardware = hardware or "cpu-basic"
        # Like the Hub: a new repo starts with one commit holding `.gitattributes` (and a card for Spaces).
        files = {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}
        if repo_type == "space":
            name = repo_id.split("/")[1]
            files["README.md"] = (
                f"---\ntitle: {name}\nemoji: 🚀\ncolorFrom: blue\ncolorTo: green\nsdk: {sdk}\n"
                f"pinned: false\n---\n\nCheck out the configuration reference at "
                f"https://huggingface.co/docs/hub/spaces-config-reference\n"
            ).encode()
        self.repos[(repo_type, repo_id)] = repo
        self._commit(repo, "main", files, "initial commit", "", author)
        return repo

    def _commit(
        self, repo: Repo, branch: str, files: dict[str, bytes], summary: str, description: str, author: str
    ) -> Commit:
        parent = repo.refs.get(branch)
        commit = Commit(
            oid=self._new_oid(repo.repo_id, branch, summary),
            parent=parent,
            summary=summary,
            description=description,
            files=dict(files),
            author=author,
        )
        repo.commits.append(commit)
        repo.refs[branch] = commit.oid
        if branch == "main":
            self._space_changed(repo)
        return commit

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if (failure.method in (None, method)) and failure.path.search(path):
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real Hub (huggingface_hub reuses connections)
    server_version = "FakeHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `hub.requests`
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = parse_qs(split.query, keep_blank_values=True)
        failure = hub._take_failure(method, split.path)
        failed = None if failure is None else ("drop" if failure.drop_connection else str(failure.status))
        hub._record(RecordedRequest(method, split.path, query, headers, body, failed))
        if failure is not None and failure.drop_connection:
            self.close_connection = True  # the socket closes with no answer: the client sees a dropped link
            return
        if failure is not None:
            response = _error_response(
                HubError(
                    failure.status,
                    failure.message or _DEFAULT_MESSAGES.get(failure.status, "Error"),
                    failure.error_code,
                ),
                retry_after=failure.retry_after,
            )
        else:
            api = _Api(hub, method, split.path, query, headers, body, self._base_url())
            logs = re.fullmatch(r"/api/spaces/(?P<repo>[^/]+/[^/]+)/logs/(?P<kind>build|run)", split.path)
            try:
                if logs and method == "GET":
                    api.authenticate()
                    return self._stream_logs(api.space_logs(unquote(logs["repo"]), logs["kind"]))
                response = api.dispatch()
            except HubError as error:
                response = _error_response(error)
        self._send(method, response)

    def _stream_logs(self, log) -> None:
        """Server-sent events, one per log line, open until that phase of the Space ends (as on the Hub)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        hub: FakeHub = self.server.hub  # type: ignore[attr-defined]
        try:
            for line, timestamp in log.follow(stop=lambda: hub._server is None):
                event = sse_event(line, timestamp)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away
            self.close_connection = True

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _send(self, method: str, response: _Response) -> None:
        self.send_response(response.status)
        headers = {"Content-Length": str(len(response.body)), **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD" and response.body:
            self.wfile.write(response.body)


def _error_response(error: HubError, retry_after: int = 1) -> _Response:
    headers = {"X-Error-Message": error.message.encode("ascii", "replace").decode()}
    if error.error_code:
        headers["X-Error-Code"] = error.error_code
    if error.status == 429:
        headers["Retry-After"] = str(retry_after)
        headers["RateLimit"] = f'"api";r=0;t={retry_after}'
        headers["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
    return _json_response({"error": error.message, **error.extra}, error.status, headers)


# --------------------------------------------------------------------------- body validation


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise HubError(400, message)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise HubError(400, "Invalid JSON body") from None


def _check_object(
    value: Any, required: dict[str, type | tuple], optional: dict[str, type | tuple], what: str
):
    _require(isinstance(value, dict), f"{what} must be a JSON object")
    for key, kind in required.items():
        _require(key in value, f'{what}: "{key}" is required')
        _require(isinstance(value[key], kind), f'{what}: "{key}" has the wrong type')
    for key, item in value.items():
        if key in required:
            continue
        _require(key in optional, f'{what}: unknown key "{key}"')
        _require(isinstance(item, optional[key]), f'{what}: "{key}" has the wrong type')


def _check_key_values(value: Any, what: str) -> None:
    _require(isinstance(value, list), f'"{what}" must be a list')
    for item in value:
        _check_object(item, {"key": str, "value": str}, {"description": (str, type(None))}, what)
        _require(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", item["key"]) is not None, f"{what}: invalid key")


def _check_repo_name(name: str, what: str = "name") -> None:
    _require(
        _NAME_PART.fullmatch(name) is not None
        and "--" not in name
        and ".." not in name
        and not name.startswith(("-", "."))
        and not name.endswith(("-", ".", ".git")),
        f"Invalid {what} {name!r}: use letters, digits, '-', '_' and '.', at most 96 characters, "
        "no '--' or '..', not starting or ending with '-' or '.'",
    )


def _check_hardware(flavor: Any) -> None:
    _require(isinstance(flavor, str), '"hardware" must be a string')
    _require(
        flavor in SPACE_HARDWARE,
        f'Invalid hardware flavor "{flavor}", expected one of {", ".join(SPACE_HARDWARE)}',
    )


def _front_matter(content: str) -> tuple[Any, str | None]:
    """The YAML front matter of a README (None when there is none) and a parse error, if any."""
    match = re.match(r"^---\s*\n(.*?)\n---\s*(\n|$)", content, flags=re.DOTALL)
    if match is None:
        return None, None
    try:
        return yaml.safe_load(match.group(1)), None
    except yaml.YAMLError as error:
        return None, f"Invalid YAML in README.md front matter: {error}".replace("\n", " ")


# --------------------------------------------------------------------------- the API


class _Api:
    """One request's dispatch and handling (every method runs with the hub's lock held)."""

    def __init__(
        self, hub: FakeHub, method: str, path: str, query: dict, headers: dict, body: bytes, base_url: str
    ):
        self.hub = hub
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.base_url = base_url
        self.user: str | None = None
        self.token: str | None = None

    # routing: (method, regex on the raw path, handler); repo ids are `ns/name`, revisions are quoted
    ROUTES: list[tuple[str, str, str]] = [
        ("GET", r"/api/whoami-v2", "whoami"),
        ("GET", r"/api/agent-harnesses", "agent_harnesses"),
        ("POST", r"/api/repos/create", "create_repo"),
        ("DELETE", r"/api/repos/delete", "delete_repo"),
        ("POST", r"/api/validate-yaml", "validate_yaml"),
        ("GET", r"/api/(?P<plural>models|datasets|spaces)", "list_repos"),
        (
            "POST",
            r"/api/(?P<plural>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)",
            "preupload",
        ),
        (
            "POST",
            r"/api/(?P<plural>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)",
            "commit",
        ),
        ("POST", r"/api/(?P<plural>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)/duplicate", "duplicate"),
        ("PUT", r"/api/(?P<plural>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)/settings", "update_settings"),
        (
            "GET",
            r"/api/(?P<plural>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?",
            "tree",
        ),
        (
            "POST",
            r"/api/(?P<plural>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)/paths-info/(?P<rev>[^/]+)",
            "paths_info",
        ),
        (
            "GET",
            r"/api/(?P<plural>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?",
            "repo_info",
        ),
        ("GET", r"/api/spaces/(?P<repo>[^/]+/[^/]+)/(?P<kind>secrets|variables)", "list_settings"),
        ("POST", r"/api/spaces/(?P<repo>[^/]+/[^/]+)/(?P<kind>secrets|variables)", "add_setting"),
        ("DELETE", r"/api/spaces/(?P<repo>[^/]+/[^/]+)/(?P<kind>secrets|variables)", "delete_setting"),
        ("GET", r"/api/spaces/(?P<repo>[^/]+/[^/]+)/runtime", "runtime"),
        ("POST", r"/api/spaces/(?P<repo>[^/]+/[^/]+)/hardware", "request_hardware"),
        ("POST", r"/api/spaces/(?P<repo>[^/]+/[^/]+)/sleeptime", "sleep_time"),
        ("POST", r"/api/spaces/(?P<repo>[^/]+/[^/]+)/(?P<action>restart|pause)", "restart"),
        (
            "GET|HEAD",
            r"/(?:(?P<plural>datasets|spaces)/)?(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)",
            "resolve",
        ),
    ]

    def dispatch(self) -> _Response:
        self.authenticate()
        for methods, pattern, handler in self.ROUTES:
            match = re.fullmatch(pattern, self.path)
            if match and self.method in methods.split("|"):
                params = {
                    key: unquote(value) for key, value in match.groupdict().items() if value is not None
                }
                with self.hub._lock:
                    return getattr(self, handler)(**params)
        raise HubError(404, f"Sorry, we can't find the page you are looking for ({self.method} {self.path})")

    # ---------------------------------------------------------------- auth and access

    def authenticate(self) -> None:
        authorization = self.headers.get("authorization")
        if authorization is None:
            return
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token not in self.hub.users:
            raise HubError(401, INVALID_CREDENTIALS)
        self.token, self.user = token, self.hub.users[token]

    def require_user(self) -> str:
        if self.user is None:
            raise HubError(401, INVALID_CREDENTIALS)
        return self.user

    def can_write(self, namespace: str) -> bool:
        return (
            self.user is not None
            and self.token not in self.hub.read_only_tokens
            and (namespace == self.user or self.hub.orgs.get(namespace, {}).get(self.user, "read") != "read")
        )

    def require_write(self, namespace: str, action: str) -> str:
        user = self.require_user()
        if self.token in self.hub.read_only_tokens:
            raise HubError(403, f"This token has read access only: it cannot {action}")
        if not self.can_write(namespace):
            raise HubError(403, f'You don\'t have the rights to {action} under the namespace "{namespace}"')
        return user

    def can_read(self, repo: Repo) -> bool:
        if not repo.private:
            return True
        return self.user is not None and (
            repo.namespace == self.user or self.user in self.hub.orgs.get(repo.namespace, {})
        )

    def find_repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.hub.repos.get((repo_type, repo_id))
        if repo is None or not self.can_read(repo):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    def writable_repo(self, repo_type: str, repo_id: str, action: str) -> Repo:
        repo = self.find_repo(repo_type, repo_id)
        self.require_write(repo.namespace, action)
        return repo

    def revision(self, repo: Repo, rev: str) -> Commit:
        try:
            return repo.head(rev)
        except KeyError:
            raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound") from None

    def repo_url(self, repo_type: str, repo_id: str) -> str:
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        return f"{self.base_url}/{prefix}{repo_id}"

    # ---------------------------------------------------------------- account

    def whoami(self) -> _Response:
        user = self.require_user()
        role = "read" if self.token in self.hub.read_only_tokens else "write"
        orgs = [
            {
                "type": "org",
                "name": org,
                "fullname": org.title(),
                "roleInOrg": members[user],
                "isEnterprise": False,
            }
            for org, members in sorted(self.hub.orgs.items())
            if user in members
        ]
        return _json_response(
            {
                "type": "user",
                "id": hashlib.md5(user.encode()).hexdigest()[:24],
                "name": user,
                "fullname": user.title(),
                "email": f"{user}@example.com",
                "emailVerified": True,
                "canPay": False,
                "isPro": False,
                "periodEnd": None,
                "avatarUrl": f"/avatars/{user}.svg",
                "orgs": orgs,
                "auth": {"type": "access_token", "accessToken": {"displayName": "fake", "role": role}},
            }
        )

    def agent_harnesses(self) -> _Response:
        # huggingface_hub fetches this registry once a day to tag requests made by AI agents; none here.
        return _json_response({"standardEnvVars": [], "harnesses": {}})

    # ---------------------------------------------------------------- repositories

    def create_repo(self) -> _Response:
        payload = _parse_json(self.body)
        nullable_str = (str, type(None))
        _check_object(
            payload,
            {"name": str},
            {
                "organization": nullable_str,
                "type": str,
                "sdk": str,
                "visibility": str,
                "private": bool,
                "hardware": str,
                "sleepTimeSeconds": int,
                "secrets": list,
                "variables": list,
                "volumes": list,
                "template": str,
                "resourceGroupId": str,
                "region": str,
            },
            "create repo",
        )
        repo_type = payload.get("type", "model")
        _require(repo_type in REPO_TYPES, f'Invalid repo type "{repo_type}"')
        _check_repo_name(payload["name"])
        visibility = payload.get("visibility", "private" if payload.get("private") else "public")
        _require(visibility in ("public", "private", "protected"), f'Invalid visibility "{visibility}"')
        _require(visibility != "protected" or repo_type == "space", "Only Spaces can be protected")
        if repo_type == "space":
            _require("sdk" in payload, '"sdk" is required for a Space')
            _require(payload["sdk"] in SPACE_SDKS, f'Invalid sdk "{payload["sdk"]}"')
            if "hardware" in payload:
                _check_hardware(payload["hardware"])
            for kind in ("secrets", "variables"):
                if kind in payload:
                    _check_key_values(payload[kind], kind)
        else:
            for key in ("sdk", "hardware", "sleepTimeSeconds", "secrets", "variables", "volumes", "template"):
                _require(key not in payload, f'"{key}" is only valid for Spaces')
        user = self.require_user()
        namespace = payload.get("organization") or user
        _check_repo_name(namespace, "namespace")
        repo_id = f"{namespace}/{payload['name']}"
        url = self.repo_url(repo_type, repo_id)
        # Members of the namespace (even read-only ones) learn that the name is taken; others get 403.
        if (repo_type, repo_id) in self.hub.repos and (
            namespace == user or user in self.hub.orgs.get(namespace, {})
        ):
            raise HubError(409, "You already created this repo", extra={"url": url})
        self.require_write(namespace, f"create a {repo_type}")
        repo = self.hub._create(
            repo_type,
            repo_id,
            author=user,
            private=visibility == "private",
            sdk=payload.get("sdk"),
            hardware=payload.get("hardware"),
            visibility=visibility,
        )
        repo.sleep_time = payload.get("sleepTimeSeconds")
        self.store_settings(repo, payload)
        return _json_response({"url": url, "name": repo_id, "id": self.hub._new_oid(repo_id)[:24]})

    def store_settings(self, repo: Repo, payload: dict) -> None:
        for item in payload.get("secrets", []):
            repo.secrets[item["key"]] = {
                "value": item["value"],
                "description": item.get("description"),
                "updatedAt": _TIMESTAMP,
            }
        for item in payload.get("variables", []):
            repo.variables[item["key"]] = {
                "value": item["value"],
                "description": item.get("description"),
                "updatedAt": _TIMESTAMP,
            }

    def delete_repo(self) -> _Response:
        payload = _parse_json(self.body)
        _check_object(
            payload,
            {"name": str},
            {"organization": (str, type(None)), "type": (str, type(None))},
            "delete repo",
        )
        repo_type = payload.get("type") or "model"
        namespace = payload.get("organization") or self.require_user()
        repo = self.writable_repo(repo_type, f"{namespace}/{payload['name']}", f"delete a {repo_type}")
        del self.hub.repos[(repo.repo_type, repo.repo_id)]
        if repo.repo_type == "space" and repo.repo_id in self.hub.running:
            self.hub.running.pop(repo.repo_id).shutdown()
        return _Response(200, b"")

    def validate_yaml(self) -> _Response:
        payload = _parse_json(self.body)
        _check_object(payload, {"content": str}, {"repoType": str}, "validate-yaml")
        repo_type = payload.get("repoType", "model")
        _require(repo_type in REPO_TYPES, f'Invalid repoType "{repo_type}"')
        metadata, error = _front_matter(payload["content"])
        errors: list[dict] = []
        warnings: list[dict] = []
        if error is not None:
            errors.append({"message": error})
        elif metadata is None:
            warnings.append({"message": "empty or missing yaml metadata in repo card"})
        elif not isinstance(metadata, dict):
            errors.append({"message": "YAML front matter must be a mapping"})
        elif repo_type == "space" and "sdk" in metadata and metadata["sdk"] not in SPACE_SDKS:
            errors.append({"message": f'"sdk" must be one of [{", ".join(SPACE_SDKS)}]'})
        status = 400 if errors else 200
        return _json_response({"errors": errors, "warnings": warnings}, status)

    def preupload(self, plural: str, repo: str, rev: str) -> _Response:
        target = self.writable_repo(plural[:-1], repo, "upload files")
        payload = _parse_json(self.body)
        _check_object(payload, {"files": list}, {"gitIgnore": str, "gitAttributes": str}, "preupload")
        _require(len(payload["files"]) <= 256, "At most 256 files per preupload call")
        current = self.revision(target, rev).files
        answers = []
        for item in payload["files"]:
            _check_object(item, {"path": str, "sample": str, "size": int}, {}, "preupload file")
            try:
                base64.b64decode(item["sample"], validate=True)
            except ValueError:
                raise HubError(400, f"preupload file: sample of {item['path']!r} is not base64") from None
            existing = current.get(item["path"])
            answers.append(
                {
                    "path": item["path"],
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": git_blob_oid(existing) if existing is not None else None,
                }
            )
        return _json_response({"files": answers, "commitOid": target.refs.get(rev)})

    def commit(self, plural: str, repo: str, rev: str) -> _Response:
        target = self.writable_repo(plural[:-1], repo, "commit")
        _require(
            self.headers.get("content-type", "").startswith("application/x-ndjson"),
            "commit: Content-Type must be application/x-ndjson",
        )
        try:
            lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        except ValueError:
            raise HubError(400, "commit: body is not valid NDJSON") from None
        _require(
            bool(lines) and isinstance(lines[0], dict) and lines[0].get("key") == "header",
            "commit: no header",
        )
        header = lines[0].get("value")
        _check_object(header, {"summary": str}, {"description": str, "parentCommit": str}, "commit header")
        _require(header["summary"].strip() != "", "commit: the summary is empty")
        create_pr = self.query.get("create_pr", ["0"])[0] in ("1", "true", "True")
        base = self.revision(target, rev)
        if "parentCommit" in header and header["parentCommit"] != base.oid:
            raise HubError(412, _DEFAULT_MESSAGES[412])
        files = dict(base.files)
        for line in lines[1:]:
            _require(isinstance(line, dict) and set(line) == {"key", "value"}, "commit: malformed line")
            self.apply_operation(files, line["key"], line["value"])
        branch = rev
        pull_request_url = None
        if create_pr:
            number = sum(1 for ref in target.refs if ref.startswith("refs/pr/")) + 1
            branch = f"refs/pr/{number}"
            target.refs[branch] = base.oid
            pull_request_url = f"{self.repo_url(target.repo_type, target.repo_id)}/discussions/{number}"
        elif rev not in target.refs:
            raise HubError(400, f"commit: {rev!r} is not a branch")
        commit = self.hub._commit(
            target, branch, files, header["summary"], header.get("description", ""), self.user or ""
        )
        return _json_response(
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.repo_url(target.repo_type, target.repo_id)}/commit/{commit.oid}",
                "pullRequestUrl": pull_request_url,
                "hookOutput": "",
            }
        )

    def apply_operation(self, files: dict[str, bytes], key: str, value: Any) -> None:
        """Apply one NDJSON commit line to `files` (a copy: the commit lands only if every line is valid)."""
        if key == "file":
            _check_object(value, {"path": str, "content": str, "encoding": str}, {}, "commit file")
            _require(value["encoding"] == "base64", "commit file: only base64 encoding is supported")
            _check_path(value["path"])
            try:
                files[value["path"]] = base64.b64decode(value["content"], validate=True)
            except ValueError:
                raise HubError(400, f"commit file: content of {value['path']!r} is not base64") from None
        elif key == "lfsFile":
            raise HubError(
                400,
                "commit: lfsFile is not supported by this fake Hub (preupload always answers 'regular'; "
                "LFS/Xet uploads must not happen)",
            )
        elif key == "deletedFile":
            _check_object(value, {"path": str}, {}, "commit deletedFile")
            if value["path"] not in files:
                raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
            del files[value["path"]]
        elif key == "deletedFolder":
            _check_object(value, {"path": str}, {}, "commit deletedFolder")
            prefix = value["path"].rstrip("/") + "/"
            doomed = [path for path in files if path.startswith(prefix)]
            if not doomed:
                raise HubError(404, "A folder with this name doesn't exist", "EntryNotFound")
            for path in doomed:
                del files[path]
        else:
            raise HubError(400, f"commit: unknown operation {key!r}")

    def repo_info(self, plural: str, repo: str, rev: str | None = None) -> _Response:
        target = self.find_repo(plural[:-1], repo)
        commit = self.revision(target, rev or "main")
        blobs = self.query.get("blobs", ["false"])[0].lower() == "true"
        info = self.info_json(target, commit, blobs)
        expand = self.query.get("expand", []) + self.query.get("expand[]", [])
        if expand:
            info = {key: value for key, value in info.items() if key in ("_id", "id", *expand)}
        return _json_response(info)

    def info_json(self, repo: Repo, commit: Commit, blobs: bool) -> dict:
        siblings = [
            {"rfilename": path, **(self.blob_json(path, data) if blobs else {})}
            for path, data in sorted(commit.files.items())
        ]
        info: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.namespace,
            "sha": commit.oid,
            "createdAt": _TIMESTAMP,
            "lastModified": _TIMESTAMP,
            "private": repo.private,
            "disabled": False,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
            "usedStorage": sum(file_size(data) for data in commit.files.values()),
        }
        if repo.repo_type == "model":
            info.update({"modelId": repo.repo_id, "downloads": 0, "gated": "auto" if repo.gated else False})
        if repo.repo_type == "dataset":
            info.update({"downloads": 0, "gated": False})
        if repo.repo_type == "space":
            info.update(
                {
                    "sdk": repo.sdk,
                    "subdomain": repo.repo_id.replace("/", "-").lower(),
                    "host": (
                        self.hub.running[repo.repo_id].host
                        if repo.repo_id in self.hub.running
                        else f"{self.base_url}/spaces/{repo.repo_id}"
                    ),
                    "runtime": self.runtime_json(repo),
                }
            )
        return info

    def blob_json(self, path: str, data: bytes) -> dict:
        size = file_size(data)
        info: dict[str, Any] = {"size": size, "blobId": git_blob_oid(data)}
        if is_lfs_path(path, data):
            info["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": size, "pointerSize": 134}
        return info

    def tree_entry(self, path: str, data: bytes) -> dict:
        size = file_size(data)
        entry: dict[str, Any] = {"type": "file", "oid": git_blob_oid(data), "size": size, "path": path}
        if is_lfs_path(path, data):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": size, "pointerSize": 134}
        return entry

    def tree(self, plural: str, repo: str, rev: str, sub: str | None = None) -> _Response:
        target = self.find_repo(plural[:-1], repo)
        files = self.revision(target, rev).files
        recursive = self.query.get("recursive", ["false"])[0].lower() == "true"
        prefix = sub.strip("/") + "/" if sub else ""
        if prefix and not any(path.startswith(prefix) for path in files):
            raise HubError(404, f"Entry not found: {sub}", "EntryNotFound")
        entries: dict[str, dict] = {}
        for path, data in sorted(files.items()):
            if not path.startswith(prefix):
                continue
            parts = path[len(prefix) :].split("/")
            for depth in range(1, len(parts)):
                folder = prefix + "/".join(parts[:depth])
                if depth == 1 or recursive:
                    entries.setdefault(
                        folder,
                        {
                            "type": "directory",
                            "oid": git_blob_oid(folder.encode()),
                            "size": 0,
                            "path": folder,
                        },
                    )
            if len(parts) == 1 or recursive:
                entries[path] = self.tree_entry(path, data)
        return _json_response(list(entries.values()))

    def paths_info(self, plural: str, repo: str, rev: str) -> _Response:
        target = self.find_repo(plural[:-1], repo)
        files = self.revision(target, rev).files
        content_type = self.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            form = _parse_json(self.body)
            paths = form.get("paths", [])
        else:
            form = parse_qs(self.body.decode(), keep_blank_values=True)
            paths = form.get("paths", [])
        _require(isinstance(paths, list) and all(isinstance(p, str) for p in paths), "paths-info: bad paths")
        entries = []
        for path in paths:
            if path in files:
                entries.append(self.tree_entry(path, files[path]))
            elif any(name.startswith(path.rstrip("/") + "/") for name in files):
                entries.append(
                    {
                        "type": "directory",
                        "oid": git_blob_oid(path.encode()),
                        "size": 0,
                        "path": path.rstrip("/"),
                    }
                )
        return _json_response(entries)

    def duplicate(self, plural: str, repo: str) -> _Response:
        repo_type = plural[:-1]
        source = self.find_repo(repo_type, repo)
        payload = _parse_json(self.body)
        _check_object(
            payload,
            {"repository": str},
            {
                "visibility": str,
                "private": bool,
                "hardware": str,
                "sleepTimeSeconds": int,
                "secrets": list,
                "variables": list,
                "volumes": list,
                "resourceGroupId": str,
            },
            "duplicate",
        )
        _require(payload["repository"].count("/") == 1, '"repository" must be "namespace/name"')
        namespace, name = payload["repository"].split("/")
        _check_repo_name(namespace, "namespace")
        _check_repo_name(name)
        if "hardware" in payload:
            _require(repo_type == "space", '"hardware" is only valid for Spaces')
            _check_hardware(payload["hardware"])
        for kind in ("secrets", "variables"):
            if kind in payload:
                _check_key_values(payload[kind], kind)
        visibility = payload.get("visibility", "private" if payload.get("private") else source.visibility)
        _require(visibility in ("public", "private", "protected"), f'Invalid visibility "{visibility}"')
        user = self.require_write(namespace, f"create a {repo_type}")
        url = self.repo_url(repo_type, payload["repository"])
        if (repo_type, payload["repository"]) in self.hub.repos:
            raise HubError(409, "You already created this repo", extra={"url": url})
        copy = self.hub._create(
            repo_type,
            payload["repository"],
            author=user,
            private=visibility == "private",
            sdk=source.sdk,
            hardware=payload.get("hardware"),
            visibility=visibility,
        )
        copy.sleep_time = payload.get("sleepTimeSeconds")
        self.hub._commit(copy, "main", source.files, f"Duplicate from {source.repo_id}", "", user)
        self.store_settings(copy, payload)
        return _json_response({"url": url, "filesCopyPending": False})

    def update_settings(self, plural: str, repo: str) -> _Response:
        target = self.writable_repo(plural[:-1], repo, "change the settings of a repo")
        payload = _parse_json(self.body)
        _check_object(
            payload, {}, {"gated": (str, bool), "visibility": str, "discussionsDisabled": bool}, "settings"
        )
        _require(payload != {}, "settings: nothing to update")
        if "gated" in payload:
            _require(
                payload["gated"] in ("auto", "manual", False), f'Invalid gated value {payload["gated"]!r}'
            )
            target.gated = payload["gated"] is not False
        if "visibility" in payload:
            visibility = payload["visibility"]
            _require(visibility in ("public", "private", "protected"), f'Invalid visibility "{visibility}"')
            _require(visibility != "protected" or target.repo_type == "space", "Only Spaces can be protected")
            target.visibility, target.private = visibility, visibility == "private"
        return _json_response({})

    def list_repos(self, plural: str) -> _Response:
        repo_type = plural[:-1]
        search = self.query.get("search", [""])[0].lower()
        author = self.query.get("author", [None])[0]
        sort = self.query.get("sort", [None])[0]
        _require(
            sort in (None, "downloads", "likes", "lastModified", "createdAt", "trendingScore", "id"),
            f'Invalid sort "{sort}"',
        )
        try:
            limit = int(self.query.get("limit", ["1000"])[0])
            offset = int(self.query.get("cursor", ["0"])[0])
        except ValueError:
            raise HubError(400, "limit and cursor must be integers") from None
        expand = self.query.get("expand", []) + self.query.get("expand[]", [])
        full = self.query.get("full", ["False"])[0].lower() == "true"
        # Like the real Hub, the free-text search matches repository ids only (never file names).
        matches = [
            repo
            for (kind, repo_id), repo in sorted(self.hub.repos.items())
            if kind == repo_type
            and search in repo_id.lower()
            and (author is None or repo.namespace == author)
            and self.can_read(repo)
        ]
        page = matches[offset : offset + min(limit, 1000)]
        items = []
        for repo in page:
            info = self.info_json(repo, repo.head("main"), blobs=False)
            if expand:
                item = {key: value for key, value in info.items() if key in ("_id", "id", *expand)}
            else:
                keys = (
                    "_id",
                    "id",
                    "likes",
                    "downloads",
                    "private",
                    "tags",
                    "createdAt",
                    "modelId",
                    "gated",
                    "sdk",
                )
                item = {
                    key: value for key, value in info.items() if key in keys or (full and key == "siblings")
                }
            items.append(item)
        headers = {}
        if offset + len(page) < len(matches):
            next_query = {key: values for key, values in self.query.items() if key != "cursor"}
            next_query["cursor"] = [str(offset + len(page))]
            headers["Link"] = f'<{self.base_url}{self.path}?{urlencode(next_query, doseq=True)}>; rel="next"'
        return _json_response(items, headers=headers)

    # ---------------------------------------------------------------- Space settings and runtime

    def space(self, repo: str, action: str) -> Repo:
        return self.writable_repo("space", repo, action)

    def list_settings(self, repo: str, kind: str) -> _Response:
        target = self.space(repo, f"read the {kind} of a Space")
        if kind == "secrets":  # secret values are write-only: never returned
            return _json_response(
                {
                    key: {"description": item["description"], "updatedAt": item["updatedAt"]}
                    for key, item in target.secrets.items()
                }
            )
        return _json_response(target.variables)

    def add_setting(self, repo: str, kind: str) -> _Response:
        target = self.space(repo, f"change the {kind} of a Space")
        payload = _parse_json(self.body)
        _check_key_values([payload], kind)
        self.store_settings(target, {kind: [payload]})
        if kind == "secrets":
            return _Response(200, b"")
        return _json_response(target.variables)

    def delete_setting(self, repo: str, kind: str) -> _Response:
        target = self.space(repo, f"change the {kind} of a Space")
        payload = _parse_json(self.body)
        _check_object(payload, {"key": str}, {}, f"delete {kind}")
        getattr(target, kind).pop(payload["key"], None)
        if kind == "secrets":
            return _Response(200, b"")
        return _json_response(target.variables)

    def space_logs(self, repo: str, kind: str):
        """The build or run log of a running Space (write access, like the Hub); an empty, closed one else."""
        target = self.space(repo, "read the logs of a Space")
        running = self.hub.running.get(target.repo_id)
        if running is None:
            empty = SpaceLog()
            empty.close()
            return empty
        return running.build_log if kind == "build" else running.run_log

    def runtime_json(self, repo: Repo) -> dict:
        running = self.hub.running.get(repo.repo_id) if repo.repo_type == "space" else None
        if running is not None and running.reported()[0] is not None:
            return self.running_json(repo, running)
        app_file = "app.py"
        metadata, _ = _front_matter(repo.files.get("README.md", b"").decode("utf-8", "replace"))
        if isinstance(metadata, dict) and isinstance(metadata.get("app_file"), str):
            app_file = metadata["app_file"]
        if repo.paused:
            stage = "PAUSED"
        elif repo.sdk in ("gradio", "streamlit") and app_file not in repo.files:
            stage = "NO_APP_FILE"
        else:
            stage = "RUNNING"
        return {
            "stage": stage,
            "hardware": {
                "current": repo.hardware if stage == "RUNNING" else None,
                "requested": repo.hardware,
            },
            "storage": None,
            "gcTimeout": repo.sleep_time,
            "replicas": {"current": 1, "requested": 1},
            "devMode": False,
            "domains": [{"domain": f"{repo.repo_id.replace('/', '-').lower()}.hf.space", "stage": "READY"}],
        }

    def running_json(self, repo: Repo, running: RunningSpace) -> dict:
        """The runtime of a Space the fake builds and runs: its real stage, and why it failed."""
        stage, error_message = running.reported()
        answer = {
            "stage": stage,
            "hardware": {
                "current": repo.hardware if stage == "RUNNING" else None,
                "requested": repo.hardware,
            },
            "storage": None,
            "gcTimeout": repo.sleep_time,
            "replicas": {"current": 1, "requested": 1},
            "devMode": False,
            "domains": [{"domain": running.host.split("://", 1)[1], "stage": "READY"}],
        }
        if error_message is not None:
            answer["errorMessage"] = error_message
        return answer

    def runtime(self, repo: str) -> _Response:
        return _json_response(self.runtime_json(self.find_repo("space", repo)))

    def request_hardware(self, repo: str) -> _Response:
        target = self.space(repo, "change the hardware of a Space")
        payload = _parse_json(self.body)
        _check_object(payload, {"flavor": str}, {"sleepTimeSeconds": (int, type(None))}, "hardware")
        _check_hardware(payload["flavor"])
        target.hardware = payload["flavor"]
        if payload.get("sleepTimeSeconds") is not None:
            target.sleep_time = payload["sleepTimeSeconds"]
        return _json_response(self.runtime_json(target))

    def sleep_time(self, repo: str) -> _Response:
        target = self.space(repo, "change the sleep time of a Space")
        payload = _parse_json(self.body)
        _check_object(payload, {"seconds": int}, {}, "sleeptime")
        target.sleep_time = payload["seconds"]
        return _json_response(self.runtime_json(target))

    def restart(self, repo: str, action: str) -> _Response:
        target = self.space(repo, f"{action} a Space")
        target.paused = action == "pause"
        target.restarts += action == "restart"
        if action == "restart":
            self.hub._space_changed(target)
        elif target.repo_id in self.hub.running:
            self.hub.running.pop(target.repo_id).shutdown()
        return _json_response(self.runtime_json(target))

    # ---------------------------------------------------------------- downloads

    def resolve(self, repo: str, rev: str, file: str, plural: str = "models") -> _Response:
        target = self.find_repo(plural[:-1], repo)
        commit = self.revision(target, rev)
        if target.gated and (self.user is None or not self.has_access(target)):
            status = 401 if self.user is None else 403
            raise HubError(
                status,
                f"Access to model {target.repo_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in.",
                "GatedRepo",
            )
        data = commit.files.get(file)
        if data is None:
            raise HubError(404, "Entry not found", "EntryNotFound")
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{git_blob_oid(data)}"',
        }
        if is_lfs_path(file, data):
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
            headers["X-Linked-Size"] = str(file_size(data))
        if isinstance(data, SizedStandIn):
            if self.method == "HEAD":
                return _Response(200, b"", {**headers, "Content-Length": str(data.size)})
            raise HubError(501, f"fake Hub: {file} is a {data.size}-byte stand-in, for its metadata only")
        byte_range = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("range", ""))
        if byte_range and self.method == "GET":
            start = int(byte_range.group(1))
            end = int(byte_range.group(2)) if byte_range.group(2) else len(data) - 1
            if start >= len(data):
                return _Response(416, b"", {"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return _Response(206, data[start : end + 1], headers)
        return _Response(200, data, headers)

    def has_access(self, repo: Repo) -> bool:
        return self.can_write(repo.namespace) or (self.user, repo.repo_id) in self.hub._access


def _check_path(path: str) -> None:
    _require(
        path != "" and not path.startswith("/") and ".." not in path.split("/") and "\\" not in path,
        f"commit file: invalid path {path!r}",
    )
