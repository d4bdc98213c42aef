"""Plain HTTP downloads (registry archives, non-Hub model URLs): streamed to a temp file, then renamed."""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

_CHUNK_BYTES = 1 << 20
_TIMEOUT_SECONDS = 60
_USER_AGENT = "comfyui-space-runtime/0.1"

BytesCallback = Callable[[int, Optional[int]], None]  # (bytes so far, total bytes when known)


class DownloadError(Exception):
    """An HTTP download failed; the message names the URL and the reason."""


def fetch_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(_request(url), timeout=_TIMEOUT_SECONDS) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url} answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise DownloadError(f"{url} could not be read: {_reason(error)}") from None


def download_file(url: str, dest: Path, on_bytes: BytesCallback | None = None) -> Path:
    """Streams `url` into `dest`; a partial download never appears under `dest`'s name."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(_request(url), timeout=_TIMEOUT_SECONDS) as response,
        ):
            total = (
                int(response.headers["Content-Length"]) if response.headers.get("Content-Length") else None
            )
            received = 0
            while chunk := response.read(_CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
                if on_bytes is not None:
                    on_bytes(received, total)
        if total is not None and received != total:
            raise DownloadError(f"{url} ended after {received} of {total} bytes")
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


def _request(url: str) -> urllib.request.Request:
    if not url.startswith(("https://", "http://")):
        raise DownloadError(f"{url!r} is not an http(s) URL")
    return urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})


def _reason(error: Exception) -> str:
    return str(getattr(error, "reason", None) or error)
