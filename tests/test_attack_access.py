"""The access rules of `wizard/access.py` on their own: whose token acts, the request-size cap while a body
arrives, and the work folders' lifetime. (The whole wizard under attack: tests/test_attack.py.)"""

from __future__ import annotations

import os
import time

import pytest

from wizard import access
from wizard.access import AccessError, RequestSizeLimit, acting_token


def test_on_spaces_only_a_signed_in_visitor_acts(monkeypatch):
    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("HF_TOKEN", "hf_thewizardsowntoken")  # never used for a visitor
    for token in (None, "", "mock-oauth-token-for-local-dev"):
        with pytest.raises(AccessError, match="^sign in with Hugging Face first"):
            acting_token(token)
    with pytest.raises(AccessError):
        access.require_sign_in(None)


def test_off_spaces_the_machine_login_only_on_loopback(monkeypatch):
    monkeypatch.delenv("SYSTEM", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_machinelogin")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    with pytest.raises(AccessError, match="listens on 0.0.0.0"):
        acting_token("mock-oauth-token-for-local-dev")
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.1")
    assert acting_token("mock-oauth-token-for-local-dev") == "hf_machinelogin"
    assert access.require_sign_in(None) is None  # building needs no login off Spaces


async def _call(
    app, body_chunks: list[bytes], headers: list[tuple[bytes, bytes]], path: str = "/gradio_api/queue/join"
):
    sent: list[dict] = []
    chunks = list(body_chunks)

    async def receive() -> dict:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "headers": headers}, receive, send)
    return sent


async def _reading_app(scope, receive, send) -> None:
    """An app that reads the whole body, then answers 200 with its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size, more = size + len(message.get("body", b"")), message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


@pytest.mark.parametrize(
    ("chunks", "headers", "status"),
    [
        ([b"x" * 100], [(b"content-length", b"100")], 200),
        ([b"x" * 10], [(b"content-length", b"5000")], 413),  # refused by its announced length
        ([b"x" * 600] * 3, [], 413),  # chunked: refused once the count passes the cap
        ([b"x" * 300] * 3, [], 200),
    ],
)
def test_the_request_cap_applies_while_the_body_arrives(chunks, headers, status):
    import asyncio

    sent = asyncio.run(_call(RequestSizeLimit(_reading_app, max_bytes=1000), chunks, headers))
    assert sent[0]["status"] == status
    if status == 413:
        assert b"upload the workflow as a file" in sent[1]["body"]


def test_uploads_keep_their_own_cap():
    import asyncio

    sent = asyncio.run(
        _call(RequestSizeLimit(_reading_app, max_bytes=10), [b"x" * 100], [], path="/gradio_api/upload")
    )
    assert sent[0]["status"] == 200


def test_work_folders_are_swept_after_the_ttl_and_only_ours_are_removed(monkeypatch, tmp_path):
    monkeypatch.setenv("WIZARD_WORK_DIR", str(tmp_path / "work"))
    old, fresh = access.use_workdir(None), access.use_workdir(None)
    stale = time.time() - access.SESSION_TTL_S - 5
    os.utime(old, (stale, stale))
    assert access.sweep_workdirs() == 1
    assert not os.path.exists(old) and os.path.isdir(fresh)
    assert access.use_workdir(old) != old  # a swept session gets a new folder
    os.utime(fresh, (stale, stale))
    assert access.use_workdir(fresh) == fresh and access.sweep_workdirs() == 0  # use keeps it alive
    elsewhere = tmp_path / "not-ours"
    elsewhere.mkdir()
    access.remove_workdir(str(elsewhere))
    assert elsewhere.is_dir()
    access.remove_workdir(fresh)
    assert not os.path.exists(fresh)
