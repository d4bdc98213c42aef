"""A local fake of the Comfy Registry's read API (https://api.comfy.org), over real HTTP on 127.0.0.1.

Paths and response shapes follow the registry's OpenAPI (https://api.comfy.org/openapi: the schemas
Node, NodeVersion, ComfyNode and ErrorResponse, as in the frontend's `src/types/comfyRegistryTypes.ts`;
`ListComfyNodes` for the paged comfy-nodes list):

- `GET /nodes/{nodeId}` -> Node `{id, name, repository, latest_version: NodeVersion, ...}`;
- `GET /nodes/{nodeId}/versions/{version}` -> NodeVersion `{id, version, createdAt, dependencies,
  downloadUrl, status, node_id, comfy_node_extract_status}`;
- `GET /nodes/{nodeId}/versions/{version}/comfy-nodes?page=&limit=` -> `{comfy_nodes: ComfyNode[],
  totalNumberOfPages}`, each ComfyNode `{comfy_node_name, category, description, input_types,
  return_types, return_names, output_is_list, deprecated, experimental, function, policy}`, where the
  schema types `input_types`, `return_types` and `return_names` as strings: JSON text here;
- `GET /comfy-nodes/{comfyNodeName}/node` -> the Node holding that class;
- anything unknown -> 404 `ErrorResponse {error, message}`.

The node metadata it serves is whatever a test adds; `comfy_nodes_from_object_info` makes it from an
/object_info dump (the tests use the shared corpus' dump of the 10 packs), so it is *derived* data, not
a recording of the real registry. `down=True` answers every request with 503.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class _Version:
    version: str
    created_at: str
    dependencies: list[str]
    comfy_nodes: list[dict[str, Any]]


@dataclass
class _Pack:
    id: str
    repository: str
    versions: dict[str, _Version] = field(default_factory=dict)


def comfy_nodes_from_object_info(object_info: dict[str, dict[str, Any]], classes) -> list[dict[str, Any]]:
    """Registry ComfyNode records for `classes`, made from their /object_info entries."""
    nodes = []
    for name in classes:
        entry = object_info[name]
        nodes.append(
            {
                "comfy_node_name": name,
                "category": entry.get("category", ""),
                "description": entry.get("description", ""),
                "input_types": json.dumps(entry.get("input", {})),
                "return_types": json.dumps(entry.get("output", [])),
                "return_names": json.dumps(entry.get("output_name", [])),
                "output_is_list": list(entry.get("output_is_list", [])),
                "deprecated": bool(entry.get("deprecated", False)),
                "experimental": bool(entry.get("experimental", False)),
                "function": "",
                "policy": "ComfyNodePolicyActive",
            }
        )
    return nodes


class FakeRegistry:
    """`with FakeRegistry() as registry: registry.add_version(...)`; `registry.url` for COMFY_REGISTRY_URL."""

    def __init__(self, *, down: bool = False):
        self.down = down
        self.packs: dict[str, _Pack] = {}
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_version(
        self,
        pack_id: str,
        repository: str,
        version: str,
        *,
        created_at: str = "2025-01-01T00:00:00Z",
        dependencies: list[str] | None = None,
        comfy_nodes: list[dict[str, Any]] | None = None,
    ) -> None:
        pack = self.packs.setdefault(pack_id, _Pack(pack_id, repository))
        pack.versions[version] = _Version(
            version, created_at, list(dependencies or []), list(comfy_nodes or [])
        )

    @property
    def url(self) -> str:
        assert self._server is not None, "start the registry first (use it as a context manager)"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeRegistry:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                registry.requests.append(self.path)
                status, body = (503, _error("unavailable")) if registry.down else registry.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------------- the API

    def answer(self, raw_path: str) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        segments = [unquote(segment) for segment in parts.path.strip("/").split("/")]
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        match segments:
            case ["nodes", pack_id] if pack_id in self.packs:
                return 200, self._node(self.packs[pack_id])
            case ["nodes", pack_id, "versions", version] if self._version(pack_id, version):
                return 200, self._node_version(self.packs[pack_id], self._version(pack_id, version))
            case ["nodes", pack_id, "versions", version, "comfy-nodes"] if self._version(pack_id, version):
                return self._comfy_nodes(self._version(pack_id, version), query)
            case ["comfy-nodes", name, "node"]:
                for pack in self.packs.values():
                    if any(
                        node["comfy_node_name"] == name
                        for v in pack.versions.values()
                        for node in v.comfy_nodes
                    ):
                        return 200, self._node(pack)
        return 404, _error(f"not found: {parts.path}")

    def _version(self, pack_id: str, version: str) -> _Version | None:
        pack = self.packs.get(pack_id)
        return pack.versions.get(version) if pack else None

    def _node(self, pack: _Pack) -> dict[str, Any]:
        latest = max(pack.versions.values(), key=lambda v: v.created_at)
        return {
            "id": pack.id,
            "name": pack.id,
            "repository": pack.repository,
            "latest_version": self._node_version(pack, latest),
            "status": "NodeStatusActive",
        }

    def _node_version(self, pack: _Pack, version: _Version) -> dict[str, Any]:
        return {
            "id": f"{pack.id}-{version.version}",
            "version": version.version,
            "createdAt": version.created_at,
            "dependencies": version.dependencies,
            "downloadUrl": f"{self.url}/archives/{pack.id}-{version.version}.zip",
            "status": "NodeVersionStatusActive",
            "node_id": pack.id,
            "comfy_node_extract_status": "success" if version.comfy_nodes else "",
        }

    def _comfy_nodes(self, version: _Version, query: dict[str, str]) -> tuple[int, Any]:
        if not all(re.fullmatch(r"\d+", query.get(key, "1")) for key in ("page", "limit")):
            return 400, _error("page and limit are integers")
        page, limit = int(query.get("page", 1)), int(query.get("limit", 10))
        if page < 1 or limit < 1:
            return 400, _error("page and limit start at 1")
        chunk = version.comfy_nodes[(page - 1) * limit : page * limit]
        return 200, {
            "comfy_nodes": chunk,
            "totalNumberOfPages": max(1, math.ceil(len(version.comfy_nodes) / limit)),
        }


def _error(message: str) -> dict[str, str]:
    return {"error": message, "message": message}
