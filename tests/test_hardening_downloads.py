"""Downloads of models, packs and registry answers go through the URL policy (runtime/urlpolicy.py; its own
cases are in test_urlpolicy.py) also after a redirect, refused before connecting, and have a size limit
from the lock file or a cap, failing with a message that names the file. Served by a loopback HTTP server
that each test lists in `COMFY_WIZARD_ALLOWED_HOSTS` (the policy's own way to trust an origin on one's
machine); nothing here contacts another address.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from runtime.download import DownloadError, download_file, fetch_json
from runtime.errors import ModelDownloadError
from runtime.models import ensure_models
from runtime.urlpolicy import ALLOWED_HOSTS_ENV
from tests.fakehub import client_env

REPO_ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = bytes(range(256)) * 64  # 16 KiB


class _Server:
    """Answers /file (with Content-Length), /stream (without), /redirect?to=URL and /json."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("=", 1)[1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/file":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(PAYLOAD)))
                    self.end_headers()
                    self.wfile.write(PAYLOAD)
                elif self.path == "/stream":
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(PAYLOAD)
                    self.close_connection = True
                elif self.path == "/json":
                    body = json.dumps({"padding": "x" * 4096}).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server(monkeypatch) -> Iterator[_Server]:
    served = _Server()
    monkeypatch.delenv("SYSTEM", raising=False)
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, served.url)
    thread = threading.Thread(target=served.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()


def test_an_unlisted_loopback_download_is_refused_before_connecting(server, monkeypatch, tmp_path):
    monkeypatch.delenv(ALLOWED_HOSTS_ENV)
    with pytest.raises(DownloadError, match="only https:// URLs are allowed"):
        download_file(f"{server.url}/file", tmp_path / "x.bin")
    assert server.paths == [] and list(tmp_path.iterdir()) == []


def test_a_redirect_to_the_metadata_address_is_refused_before_connecting(server, tmp_path):
    """In a fresh process whose audit hook records every socket.connect: the loopback server is
    contacted, 169.254.169.254 never."""
    target = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "connects = []\n"
        "sys.addaudithook(lambda event, args: connects.append(str(args[1])) if event == 'socket.connect' else None)\n"
        "from runtime.download import DownloadError, download_file\n"
        "try:\n"
        "    download_file(sys.argv[1], Path(sys.argv[2]))\n"
        "    outcome = 'downloaded'\n"
        "except DownloadError as error:\n"
        "    outcome = str(error)\n"
        "print(json.dumps({'outcome': outcome, 'connects': connects}))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, f"{server.url}/redirect?to={target}", str(tmp_path / "creds")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert "redirects to a refused URL" in result["outcome"] and "169.254.169.254" in result["outcome"]
    assert result["connects"] and all("127.0.0.1" in address for address in result["connects"])
    assert server.paths == [f"/redirect?to={target}"]
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_to_an_allowed_url_is_followed(server, tmp_path):
    path = download_file(f"{server.url}/redirect?to={server.url}/file", tmp_path / "x.bin")
    assert path.read_bytes() == PAYLOAD


def test_a_file_larger_than_the_lock_expects_fails_before_its_body_is_read(server, tmp_path):
    with pytest.raises(DownloadError, match=r"^model\.bin: .* is larger than the 1000 bytes the lock file"):
        download_file(f"{server.url}/file", tmp_path / "model.bin", expected_size=1000)
    assert list(tmp_path.iterdir()) == []


def test_a_file_of_another_size_than_the_lock_expects_fails(server, tmp_path):
    with pytest.raises(DownloadError, match=r"^model\.bin: .* the lock file expects 20000"):
        download_file(f"{server.url}/file", tmp_path / "model.bin", expected_size=20000)
    with pytest.raises(
        DownloadError, match=r"^model\.bin: .* sent 16384 bytes, but the lock file expects 20000"
    ):
        download_file(f"{server.url}/stream", tmp_path / "model.bin", expected_size=20000)
    assert list(tmp_path.iterdir()) == []


def test_a_download_of_unknown_size_stops_at_the_cap(server, tmp_path):
    with pytest.raises(DownloadError, match=r"^model\.bin: .* larger than the 4096 byte limit"):
        download_file(f"{server.url}/stream", tmp_path / "model.bin", max_bytes=4096)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadError, match="more than 1024 bytes of JSON"):
        fetch_json(f"{server.url}/json", max_bytes=1024)


def test_a_url_model_larger_than_its_lock_size_names_the_model(server, tmp_path):
    model = {"name": "up/x4.pth", "folder": "upscale_models", "url": f"{server.url}/file", "size": 100}
    with pytest.raises(ModelDownloadError, match=r"^Model up/x4\.pth: x4\.pth: .* larger than the 100 bytes"):
        ensure_models([model], tmp_path / "models")
    assert list((tmp_path / "models" / "upscale_models" / "up").iterdir()) == []


def test_a_hub_model_larger_than_its_lock_size_is_refused_when_the_hub_states_its_size(fake_hub, tmp_path):
    fake_hub.add_model_file("acme/tiny", "tiny.safetensors", PAYLOAD)
    model = {
        "name": "tiny.safetensors",
        "folder": "checkpoints",
        "repo_id": "acme/tiny",
        "path": "tiny.safetensors",
        "revision": None,
        "url": None,
        "size": 1000,
    }
    completed = subprocess.run(
        [sys.executable, "-m", "tests.support.models_ensure", str(tmp_path / "models"), json.dumps([model])],
        cwd=REPO_ROOT,
        env=client_env(fake_hub.url, tmp_path / "hf_home", None, HF_HUB_DISABLE_XET="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    error = json.loads(completed.stdout.strip().splitlines()[-1])["error"]
    assert error == (
        "Model tiny.safetensors: acme/tiny/tiny.safetensors is 16384 bytes, larger than the 1000 bytes "
        "comfy.lock.json expects"
    )
    assert not (tmp_path / "models" / "checkpoints" / "tiny.safetensors").exists()
    blobs = [path for path in (tmp_path / "hf_home").rglob("blobs/*") if path.is_file()]
    assert blobs == []  # not one byte was kept
