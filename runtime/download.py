"""Plain HTTP downloads (registry archives, non-Hub model URLs): streamed to a temp file, then renamed.

Every URL, and every URL a redirect leads to, passes `runtime.urlpolicy.check_url` (https only, allowed
public hosts) before a connection is made to it. Every download has a size limit: the size the lock file expects when it knows it
(a different Content-Length, or more bytes than that, fail at once), else a cap for the kind of file.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

from runtime.urlpolicy import UrlPolicyError, check_url

_CHUNK_BYTES = 1 << 20
_TIMEOUT_SECONDS = 60
_USER_AGENT = "comfyui-space-runtime/0.1"
JSON_MAX_BYTES = 10 * 1024**2  # a registry answer is a few KB
DEFAULT_MAX_BYTES = 64 * 1024**3  # a file of unknown size: the largest checkpoints are ~40 GB

BytesCallback = Callable[[int, Optional[int]], None]  # (bytes so far, total bytes when known)


class DownloadError(Exception):
    """An HTTP download failed; the message names the URL and the reason."""


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to a URL the policy allows, checked before connecting to it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            check_url(newurl, "the redirect target")
        except UrlPolicyError as error:
            raise DownloadError(f"{req.full_url} redirects to a refused URL: {error}") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_CheckedRedirects)


def fetch_json(url: str, max_bytes: int = JSON_MAX_BYTES) -> Any:
    try:
        with _open(url) as response:
            data = response.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise DownloadError(f"{url} answered more than {max_bytes} bytes of JSON")
        return json.loads(data)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url} answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DownloadError(f"{url} could not be read: {_reason(error)}") from None


def download_file(
    url: str,
    dest: Path,
    on_bytes: BytesCallback | None = None,
    *,
    expected_size: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Streams `url` into `dest`; a partial download never appears under `dest`'s name.

    `expected_size`: the exact size the file must have (from the lock file); without it, at most
    `max_bytes` are accepted."""
    limit = expected_size if expected_size is not None else max_bytes
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, _open(url) as response:
            total = (
                int(response.headers["Content-Length"]) if response.headers.get("Content-Length") else None
            )
            if total is not None and total > limit:
                raise DownloadError(_too_large(url, dest, total, expected_size, max_bytes))
            if total is not None and expected_size is not None and total != expected_size:
                raise DownloadError(
                    f"{dest.name}: {url} is {total} bytes, but the lock file expects {expected_size}"
                )
            received = 0
            while chunk := response.read(_CHUNK_BYTES):
                received += len(chunk)
                if received > limit:
                    raise DownloadError(_too_large(url, dest, received, expected_size, max_bytes))
                out.write(chunk)
                if on_bytes is not None:
                    on_bytes(received, total)
        if total is not None and received != total:
            raise DownloadError(f"{url} ended after {received} of {total} bytes")
        if expected_size is not None and received != expected_size:
            raise DownloadError(
                f"{dest.name}: {url} sent {received} bytes, but the lock file expects {expected_size}"
            )
        os.replace(tmp_name, dest)
    except urllib.error.HTTPError as error:
        os.unlink(tmp_name)
        raise DownloadError(f"{url} answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        os.unlink(tmp_name)
        raise DownloadError(f"{url} could not be downloaded: {_reason(error)}") from None
    except BaseException:
        os.unlink(tmp_name)
        raise
    return dest


def _too_large(url: str, dest: Path, size: int, expected_size: int | None, max_bytes: int) -> str:
    if expected_size is not None:
        return f"{dest.name}: {url} is larger than the {expected_size} bytes the lock file expects"
    return f"{dest.name}: {url} is larger than the {max_bytes} byte limit for a download of unknown size"


def _open(url: str):
    try:
        check_url(url, "the download URL")
    except UrlPolicyError as error:
        raise DownloadError(str(error)) from None
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    return _OPENER.open(request, timeout=_TIMEOUT_SECONDS)


def _reason(error: Exception) -> str:
    return str(getattr(error, "reason", None) or error)
