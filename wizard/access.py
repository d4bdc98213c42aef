"""Who may build, run and publish through the wizard's page, and how long a visitor's state lives.

Gradio-free rules the page calls in a few places:

- On Spaces (`SYSTEM=spaces`) every action that builds, runs or publishes needs the visitor's OAuth login and
  uses only that visitor's token: the wizard never acts with a token of its own for someone's work.
- Off Spaces, the page may use this machine's own Hugging Face login only while the wizard listens on
  loopback (`GRADIO_SERVER_NAME`, Gradio's default 127.0.0.1): then only this machine's user can reach it.
- A visitor's state and work folder live `SESSION_TTL_S` seconds after their last use: `gr.State(time_to_live=…)`
  deletes the state, and a sweeper thread deletes every work folder unused for that long, whatever became of
  its session (Gradio keeps a closed tab's state an hour whatever its TTL, and API clients never close one);
  Gradio's own cache is cleaned on the same clock (`delete_cache`).
- A request body is capped at `MAX_REQUEST_BYTES` while it arrives (an ASGI middleware), before Gradio reads
  it into memory: a pasted workflow travels in one. File uploads have their own cap (`max_file_size`).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from wizard.errors import WizardError, hosted
from wizard.publish import MOCK_OAUTH_PREFIX, resolve_token, whoami

SESSION_TTL_S = int(os.environ.get("WIZARD_SESSION_TTL_S", "3600"))
MAX_REQUEST_BYTES = 8 * 1024 * 1024  # a pasted workflow JSON; files go through /upload and its own cap
UPLOAD_PATH_SUFFIX = "/upload"  # Gradio's file upload route, capped by `max_file_size` instead
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SIGN_IN = "sign in with Hugging Face first (the button at the top of the page)"


class AccessError(WizardError):
    """The visitor may not do this yet (not signed in, or this wizard may not use the machine's login)."""


@dataclass(frozen=True)
class Limits:
    """The clocks and caps of a visitor's state.

    Attributes:
        session_ttl_s: seconds a session and its work folder live after their last change.
        max_request_bytes: the largest request body the page accepts (a pasted workflow).
        work_root: the folder every visitor's work folder is made in.
    """

    session_ttl_s: int
    max_request_bytes: int
    work_root: Path


def limits() -> Limits:
    root = Path(os.environ.get("WIZARD_WORK_DIR") or Path(tempfile.gettempdir()) / "comfy-wizard")
    return Limits(session_ttl_s=SESSION_TTL_S, max_request_bytes=MAX_REQUEST_BYTES, work_root=root)


def on_spaces() -> bool:
    return hosted()


def listening_on_loopback() -> bool:
    """Whether the wizard serves this machine only (Gradio binds to `GRADIO_SERVER_NAME`, else 127.0.0.1)."""
    return os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1") in LOOPBACK_HOSTS


def acting_token(oauth_token: str | None) -> str:
    """The token to build, run or publish with for the visitor whose OAuth token (or None) this is."""
    signed_in = oauth_token if oauth_token and not oauth_token.startswith(MOCK_OAUTH_PREFIX) else None
    if signed_in is None and on_spaces():
        raise AccessError(f"{SIGN_IN}: on the hosted wizard everything runs in your own account")
    if signed_in is not None:
        # A token may also come in an API call's body: the Hub must know it before anything is built.
        whoami(signed_in)
        return signed_in
    if not listening_on_loopback():
        raise AccessError(
            f"{SIGN_IN}: this wizard listens on {os.environ.get('GRADIO_SERVER_NAME')}, so it does not use this "
            "machine's Hugging Face login (start it with GRADIO_SERVER_NAME=127.0.0.1 to use that)"
        )
    return resolve_token()


def lookup_token(oauth_token: str | None) -> str | None:
    """The token to read the Hub with for this visitor (gated or private model files), or None to ask it
    anonymously: the same rules as `acting_token`, without refusing."""
    try:
        return acting_token(oauth_token)
    except WizardError:
        return None


def require_sign_in(oauth_token: str | None) -> None:
    """On Spaces, building needs the visitor's login too (it spends the Space's CPU and disk); elsewhere not."""
    if on_spaces():
        acting_token(oauth_token)


def account_note(signed_in_as: str | None) -> str:
    """Whose account Publish and Test run on ZeroGPU use, said on the page before the first click;
    `signed_in_as`: the visitor's OAuth username (on Spaces), or None."""
    if on_spaces():
        if signed_in_as:
            return f"Publishes to **{signed_in_as}** (your Hugging Face account)."
        return "Sign in with Hugging Face (the button at the top of the page): the Test run and the Space go to **your own account**."
    if not listening_on_loopback():
        return (
            f"This wizard listens on {os.environ.get('GRADIO_SERVER_NAME')}, so it never uses this machine's "
            "Hugging Face login (and signing in with Hugging Face works only on Spaces): start it with "
            "GRADIO_SERVER_NAME=127.0.0.1 to publish from this machine."
        )
    try:
        name = whoami(resolve_token()).name
    except WizardError as error:
        return f"Publishing needs a Hugging Face login: {error}. Then open this step again."
    return f"Publishes to **{name}** (this machine's Hugging Face login)."


# --- work folders -----------------------------------------------------------------------------------


WORKDIR_PREFIX = "session-"


def use_workdir(folder: str | None) -> str:
    """The session's work folder, made when it has none (or it was swept), marked as used now."""
    if folder and Path(folder).is_dir():
        os.utime(folder)
        return folder
    root = limits().work_root
    root.mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=root)


def remove_workdir(folder: str | None) -> None:
    """The session's state expired or its tab closed: its work folder goes (only ever one of ours)."""
    if not folder:
        return
    path = Path(folder).resolve()
    if path.parent == limits().work_root.resolve():
        shutil.rmtree(path, ignore_errors=True)


def sweep_workdirs(now: float | None = None) -> int:
    """Delete every work folder unused for the session TTL; returns how many went."""
    settings = limits()
    if not settings.work_root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - settings.session_ttl_s
    swept = 0
    for folder in settings.work_root.glob(f"{WORKDIR_PREFIX}*"):
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                swept += 1
        except FileNotFoundError:  # removed meanwhile, by its session's state
            continue
    return swept


@functools.cache
def start_sweeper() -> threading.Thread:
    """Sweep the work folders in the background (one thread per process), every tenth of the TTL (at least
    every 60 s)."""
    interval = max(1.0, min(limits().session_ttl_s / 10, 60.0))

    def sweep_forever() -> None:
        while True:
            sweep_workdirs()
            time.sleep(interval)

    thread = threading.Thread(target=sweep_forever, name="workdir-sweeper", daemon=True)
    thread.start()
    return thread


def delete_cache() -> tuple[int, int]:
    """`gr.Blocks(delete_cache=…)`: (how often, how old) for Gradio's uploaded and generated files."""
    ttl = limits().session_ttl_s
    return (max(1, min(ttl, 600)), ttl)


# --- the request cap --------------------------------------------------------------------------------

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class RequestSizeLimit:
    """ASGI middleware: a body larger than `max_bytes` is refused with 413 while it arrives, by its
    Content-Length or by counting, before the app reads it (file uploads excepted: they have their own cap).
    """

    def __init__(self, app: Callable, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(UPLOAD_PATH_SUFFIX):
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self._refuse(send)
        received = 0

        async def counting_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except RequestTooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (
            f"The request is larger than {self.max_bytes // (1024 * 1024)} MB: upload the workflow as a file "
            "instead of pasting it"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"%d" % len(body)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestTooLarge(Exception):
    """Raised inside the app's receive when the body passes the cap; the middleware answers 413."""


def app_kwargs() -> dict[str, Any]:
    """`demo.launch(app_kwargs=…)`: the request cap, installed when Gradio creates its FastAPI app."""
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(RequestSizeLimit, max_bytes=limits().max_request_bytes)]}
