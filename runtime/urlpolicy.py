"""Which URLs a spec may name and a Space may fetch: one policy for model downloads and pack repositories.

`https://` only, to hosts of an allowlist (the Hub, GitHub, GitLab, the Comfy Registry, Civitai) or
their subdomains, never to a loopback, private, link-local or otherwise non-public address (an IP
literal, or a name that resolves to one). The wizard checks every URL of a spec with `url_problem`;
runtime/download.py checks again at download time, after each redirect, with the same function.

On one's own machine (not on Spaces) `COMFY_WIZARD_ALLOWED_HOSTS` adds entries, comma-separated:
`mirror.example.org` (https, any port) or an origin such as `http://127.0.0.1:8080` (that scheme,
host and port exactly). A listed entry is trusted by its owner, so its address is not checked.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from functools import lru_cache
from urllib.parse import urlsplit

ALLOWED_HOSTS = ("huggingface.co", "hf.co", "github.com", "gitlab.com", "api.comfy.org", "civitai.com")
ALLOWED_HOSTS_ENV = "COMFY_WIZARD_ALLOWED_HOSTS"
DEFAULT_PORTS = {"https": 443, "http": 80}


class UrlPolicyError(ValueError):
    """A URL the policy refuses; the message says why and what is allowed."""


def check_url(url: str, what: str = "URL") -> None:
    """Raise `UrlPolicyError` naming `what` ("model x.safetensors's download URL") unless `url` is allowed."""
    problem = url_problem(url)
    if problem is not None:
        raise UrlPolicyError(f"{what} {url!r} is refused: {problem}")


def url_problem(url: str) -> str | None:
    """Why `url` may not be fetched, or None when it may."""
    if not isinstance(url, str) or not url.strip():
        return "it is empty"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"it does not parse ({error})"
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if parts.username is not None or parts.password is not None:
        return "it holds a user name or password: remove them"
    if (scheme, host, port if port is not None else DEFAULT_PORTS.get(scheme)) in _user_origins():
        return None
    if scheme != "https":
        return f"only https:// URLs are allowed, not {f'{scheme}://' if scheme else 'a path or git@ address'}"
    if not host:
        return "it names no host"
    if host in _user_hosts():
        return None
    if _is_ip_literal(host) and address_problem(host):
        return address_problem(host)
    if not any(host == allowed or host.endswith(f".{allowed}") for allowed in ALLOWED_HOSTS):
        return f"{host} is not an allowed host ({', '.join(ALLOWED_HOSTS)}); {_extend_hint()}"
    return address_problem(host)


def address_problem(host: str) -> str | None:
    """Why `host` (an IP literal or a name, resolved) is not a public address, or None when it is.

    A name that does not resolve here is not refused: the download resolves it again and checks then."""
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        addresses = _resolve(host)
    for address in addresses:
        if not address.is_global or address.is_multicast:
            return f"{host} is a {_address_kind(address)} address, which a Space must never fetch from"
    return None


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    return "non-public"


@lru_cache(maxsize=256)
def _resolve_cached(host: str) -> tuple[str, ...]:
    try:
        return tuple(sorted({info[4][0] for info in socket.getaddrinfo(host, None)}))
    except (OSError, UnicodeError):
        return ()


def _resolve(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [ipaddress.ip_address(text.split("%", 1)[0]) for text in _resolve_cached(host)]


def _on_spaces() -> bool:
    return os.environ.get("SYSTEM") == "spaces"


def _user_entries() -> list[str]:
    if _on_spaces():  # a hosted wizard serves strangers: only its own list applies
        return []
    return [
        entry.strip().lower() for entry in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if entry.strip()
    ]


def _user_hosts() -> set[str]:
    """The plain host names the user listed: https on any port."""
    return {entry for entry in _user_entries() if "://" not in entry and ":" not in entry}


def _user_origins() -> set[tuple[str, str, int | None]]:
    """The origins the user listed ("http://127.0.0.1:8080", "mirror.example.org:8443"): exactly those."""
    origins = set()
    for entry in _user_entries():
        if entry in _user_hosts():
            continue
        parts = urlsplit(entry if "://" in entry else f"https://{entry}")
        try:
            port = parts.port
        except ValueError:
            continue
        origins.add((parts.scheme, parts.hostname or "", port or DEFAULT_PORTS.get(parts.scheme)))
    return origins


def _extend_hint() -> str:
    if _on_spaces():
        return "host the file on the Hub"
    return f"to trust another host on this machine, add it to {ALLOWED_HOSTS_ENV}"
