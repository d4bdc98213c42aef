"""The local fake Hub (`tests/fakehub.py`) answers huggingface_hub 2.4.0 the way the real Hub does.

huggingface_hub reads HF_ENDPOINT at import, so every client call runs in a subprocess
(`tests/support/publish_hub_calls.py`); raw HTTP checks use urllib from the test process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fakehub import FakeHub, client_env, git_blob_oid

REPO_ROOT = Path(__file__).resolve().parent.parent
CALLS = REPO_ROOT / "tests" / "support" / "publish_hub_calls.py"
ALICE = "hf_alicetoken"


def hub_calls(hub: FakeHub, tmp_path: Path, calls: list[dict], token: str | None = ALICE, **env: str) -> list:
    """Run huggingface_hub calls against `hub` in a fresh process; one {"result"} or {"error"} per call."""
    completed = subprocess.run(
        [sys.executable, str(CALLS), json.dumps(calls)],
        env=client_env(hub.url, tmp_path / "hf_home", token, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def http(
    hub: FakeHub,
    method: str,
    path: str,
    body: bytes | dict | None = None,
    token: str | None = ALICE,
    **headers,
):
    """A raw request to the fake Hub: (status, response headers, parsed JSON body or raw bytes)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(hub.url + path, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if isinstance(body, dict):
        request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, response_headers, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, dict(error.headers), error.read()
    try:
        return status, response_headers, json.loads(raw)
    except ValueError:
        return status, response_headers, raw


def ndjson(*lines: dict) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def space_folder(root: Path) -> Path:
    folder = root / "space"
    (folder / "runtime").mkdir(parents=True)
    (folder / "app.py").write_text(
        "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"
    )
    (folder / "README.md").write_text("---\ntitle: Demo\nsdk: gradio\napp_file: app.py\n---\n\nA demo.\n")
    (folder / "requirements.txt").write_text("gradio==6.31.0\n")
    (folder / "runtime" / "__init__.py").write_text("VERSION = 1\n")
    (folder / "example.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return folder


def test_whoami_checks_the_bearer_token(fake_hub, tmp_path):
    good, bad = hub_calls(
        fake_hub, tmp_path, [{"call": "whoami"}, {"call": "whoami", "args": {"token": "hf_nope"}}]
    )
    assert good["result"]["name"] == "alice" and good["result"]["type"] == "user"
    assert [org["name"] for org in good["result"]["orgs"]] == ["acme"]
    assert good["result"]["auth"]["accessToken"]["role"] == "write"
    assert bad["status"] == 401 and "Invalid user token" in bad["message"]

    for token in (None, "hf_nope"):
        status, headers, body = http(fake_hub, "GET", "/api/whoami-v2", token=token)
        assert status == 401
        assert headers["X-Error-Message"] == body["error"] == "Invalid credentials in Authorization header"
    # a bad token is refused everywhere, even on public downloads, like the real Hub
    fake_hub.add_model_file("acme/public", "a.txt", b"a")
    assert http(fake_hub, "GET", "/acme/public/resolve/main/a.txt", token="hf_nope")[0] == 401
    assert http(fake_hub, "GET", "/acme/public/resolve/main/a.txt", token=None)[2] == b"a"


def test_create_repo_stores_space_settings_and_answers_409_with_its_url(fake_hub, tmp_path):
    create = {
        "repo_id": "alice/demo",
        "repo_type": "space",
        "space_sdk": "gradio",
        "space_hardware": "zero-a10g",
        "private": True,
        "space_secrets": [{"key": "HF_TOKEN", "value": "hf_secretvalue"}],
        "space_variables": [{"key": "MODE", "value": "fast"}],
    }
    results = hub_calls(
        fake_hub,
        tmp_path,
        [
            {"call": "create_repo", "args": create},
            {"call": "create_repo", "args": create},
            {"call": "create_repo", "args": {**create, "exist_ok": True}},
            {
                "call": "create_repo",
                "args": {**create, "repo_id": "alice/bad-hw", "space_hardware": "h100-giant"},
            },
            {"call": "create_repo", "args": {**create, "repo_id": "bob/demo"}},
            {"call": "create_repo", "args": {**create, "repo_id": "acme/demo"}},
            {"call": "get_space_secrets", "args": {"repo_id": "alice/demo"}},
            {"call": "get_space_variables", "args": {"repo_id": "alice/demo"}},
            {"call": "space_info", "args": {"repo_id": "alice/demo"}},
        ],
    )
    created, again, exist_ok, bad_hardware, foreign, org, secrets, variables, info = results
    assert created["result"]["str"] == f"{fake_hub.url}/spaces/alice/demo"
    assert created["result"]["repo_id"] == "alice/demo"
    assert again["status"] == 409
    assert exist_ok["result"]["str"] == f"{fake_hub.url}/spaces/alice/demo"  # parsed from the 409 body's url
    assert bad_hardware["status"] == 400 and "h100-giant" in bad_hardware["message"]
    assert foreign["status"] == 403 and "bob" in foreign["message"]
    assert org["result"]["str"] == f"{fake_hub.url}/spaces/acme/demo"
    assert list(secrets["result"]) == ["HF_TOKEN"] and "hf_secretvalue" not in json.dumps(secrets)
    assert variables["result"]["MODE"]["value"] == "fast"
    assert info["result"]["sdk"] == "gradio" and info["result"]["private"] is True
    assert info["result"]["runtime"]["requested_hardware"] == "zero-a10g"

    repo = fake_hub.repos[("space", "alice/demo")]
    assert (repo.hardware, repo.private, repo.sdk) == ("zero-a10g", True, "gradio")
    assert repo.secrets["HF_TOKEN"]["value"] == "hf_secretvalue"
    assert ("space", "alice/bad-hw") not in fake_hub.repos and ("space", "bob/demo") not in fake_hub.repos
    body = next(r for r in fake_hub.requests if r.path == "/api/repos/create").json()
    assert body == {
        "name": "demo",
        "organization": "alice",
        "visibility": "private",
        "type": "space",
        "sdk": "gradio",
        "hardware": "zero-a10g",
        "secrets": [{"key": "HF_TOKEN", "value": "hf_secretvalue"}],
        "variables": [{"key": "MODE", "value": "fast"}],
    }


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"type": "space", "sdk": "gradio"}, '"name" is required'),
        ({"name": 5, "type": "space", "sdk": "gradio"}, '"name" has the wrong type'),
        ({"name": "x", "type": "space"}, '"sdk" is required'),
        ({"name": "x", "type": "space", "sdk": "flask"}, "Invalid sdk"),
        (
            {"name": "x", "type": "space", "sdk": "gradio", "secrets": {"HF_TOKEN": "v"}},
            '"secrets" has the wrong',
        ),
        ({"name": "x", "type": "space", "sdk": "gradio", "secrets": [{"key": "A"}]}, '"value" is required'),
        ({"name": "x", "type": "space", "sdk": "gradio", "flavour": "zero-a10g"}, 'unknown key "flavour"'),
        ({"name": "a--b", "type": "space", "sdk": "gradio"}, "Invalid name"),
        ({"name": "x" * 97, "type": "space", "sdk": "gradio"}, "Invalid name"),
        ({"name": "x", "type": "model", "hardware": "zero-a10g"}, "only valid for Spaces"),
    ],
)
def test_create_repo_validates_the_body(fake_hub, body, reason):
    status, headers, answer = http(fake_hub, "POST", "/api/repos/create", body)
    assert status == 400 and reason in answer["error"]
    assert fake_hub.repos == {}


@pytest.mark.parametrize("disable_xet", ["1", "0"])
def test_upload_folder_lands_as_one_regular_commit(fake_hub, tmp_path, disable_xet):
    """With and without Xet: preupload answers `regular`, so the files travel inline in one NDJSON commit
    (no LFS batch, no Xet token). Uploading the same folder again changes nothing (oids match)."""
    folder = space_folder(tmp_path)
    create = {"repo_id": "alice/demo", "repo_type": "space", "space_sdk": "gradio"}
    upload = {"repo_id": "alice/demo", "repo_type": "space", "folder_path": str(folder)}
    created, first, second, files = hub_calls(
        fake_hub,
        tmp_path,
        [
            {"call": "create_repo", "args": create},
            {"call": "upload_folder", "args": upload},
            {"call": "upload_folder", "args": upload},
            {"call": "list_repo_files", "args": {"repo_id": "alice/demo", "repo_type": "space"}},
        ],
        HF_HUB_DISABLE_XET=disable_xet,
    )
    assert "result" in created and "result" in second, (created, second)
    repo = fake_hub.repos[("space", "alice/demo")]
    assert first["result"]["oid"] == second["result"]["oid"] == repo.refs["main"]
    assert len(repo.commits) == 2  # the creation commit and the upload; the second upload was a no-op
    local = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert {path: repo.files[path] for path in local} == local
    assert sorted(files["result"]) == sorted({*local, ".gitattributes"})
    commits = [r for r in fake_hub.requests if "/commit/" in r.path]
    assert len(commits) == 1 and {line["key"] for line in commits[0].ndjson()} == {"header", "file"}
    assert not [r for r in fake_hub.requests if "xet" in r.path or ".git/info/lfs" in r.path]


def test_commit_is_atomic_rejects_lfs_and_checks_the_parent(fake_hub):
    repo = fake_hub.add_repo("alice/demo", repo_type="space", files={"app.py": b"v1"})
    head = repo.refs["main"]
    path = "/api/spaces/alice/demo/commit/main"
    ctype = {"Content_Type": "application/x-ndjson"}
    header = {"key": "header", "value": {"summary": "s", "description": ""}}
    new_file = {
        "key": "file",
        "value": {"path": "new.py", "content": base64.b64encode(b"x").decode(), "encoding": "base64"},
    }
    lfs = {"key": "lfsFile", "value": {"path": "w.safetensors", "algo": "sha256", "oid": "0" * 64, "size": 9}}
    missing = {"key": "deletedFile", "value": {"path": "nope.py"}}

    status, _, answer = http(fake_hub, "POST", path, ndjson(header, new_file, lfs), **ctype)
    assert status == 400 and "lfsFile" in answer["error"]
    status, headers, _ = http(fake_hub, "POST", path, ndjson(header, new_file, missing), **ctype)
    assert (status, headers["X-Error-Code"]) == (404, "EntryNotFound")
    stale = {"key": "header", "value": {"summary": "s", "parentCommit": "f" * 40}}
    assert http(fake_hub, "POST", path, ndjson(stale, new_file), **ctype)[0] == 412
    assert http(fake_hub, "POST", path, ndjson(header, new_file), token=None, **ctype)[0] == 401
    assert http(fake_hub, "POST", path, ndjson(header, new_file), token="hf_bobtoken", **ctype)[0] == 403
    assert repo.refs["main"] == head and "new.py" not in repo.files  # nothing applied by failed commits

    current = {"key": "header", "value": {"summary": "s", "parentCommit": head}}
    delete = {"key": "deletedFile", "value": {"path": "app.py"}}
    status, _, answer = http(fake_hub, "POST", path, ndjson(current, new_file, delete), **ctype)
    assert status == 200 and answer["commitOid"] == repo.refs["main"] != head
    assert answer["commitUrl"] == f"{fake_hub.url}/spaces/alice/demo/commit/{answer['commitOid']}"
    assert set(repo.files) == {".gitattributes", "README.md", "new.py"}


def test_preupload_answers_regular_with_the_blob_oid(fake_hub):
    fake_hub.add_repo("alice/demo", repo_type="space", files={"app.py": b"print(1)\n"})
    files = [
        {"path": "app.py", "sample": base64.b64encode(b"print(1)\n").decode(), "size": 9},
        {"path": "big.safetensors", "sample": base64.b64encode(b"\0" * 512).decode(), "size": 50_000_000},
    ]
    status, _, answer = http(fake_hub, "POST", "/api/spaces/alice/demo/preupload/main", {"files": files})
    assert status == 200
    assert answer["files"] == [
        {
            "path": "app.py",
            "uploadMode": "regular",
            "shouldIgnore": False,
            "oid": git_blob_oid(b"print(1)\n"),
        },
        {"path": "big.safetensors", "uploadMode": "regular", "shouldIgnore": False, "oid": None},
    ]
    bad = {"files": [{"path": "a", "size": 1}]}
    assert http(fake_hub, "POST", "/api/spaces/alice/demo/preupload/main", bad)[0] == 400
    assert http(fake_hub, "POST", "/api/spaces/alice/demo/preupload/dev", {"files": files})[0] == 404


def test_validate_yaml_reports_broken_front_matter(fake_hub, tmp_path):
    folder = space_folder(tmp_path)
    (folder / "README.md").write_text("---\ntitle: [unclosed\nsdk: gradio\n---\n")
    fake_hub.add_repo("alice/demo", repo_type="space")
    (upload,) = hub_calls(
        fake_hub,
        tmp_path,
        [
            {
                "call": "upload_folder",
                "args": {"repo_id": "alice/demo", "repo_type": "space", "folder_path": str(folder)},
            }
        ],
    )
    assert upload["error"] == "ValueError" and "Invalid metadata in README.md" in upload["message"]
    status, _, answer = http(
        fake_hub, "POST", "/api/validate-yaml", {"content": "---\nsdk: flask\n---\n", "repoType": "space"}
    )
    assert status == 400 and "sdk" in answer["errors"][0]["message"]
    ok = http(
        fake_hub, "POST", "/api/validate-yaml", {"content": "---\nsdk: gradio\n---\n", "repoType": "space"}
    )
    assert ok[:1] == (200,) and ok[2] == {"errors": [], "warnings": []}


def test_downloads_gating_revisions_and_missing_entries(fake_hub, tmp_path):
    weights = b"\x01\x02" * 1000
    fake_hub.add_model_file("acme/open", "unet/model.safetensors", weights)
    fake_hub.add_model_file("acme/open", "v1.txt", b"old", revision="v1")
    fake_hub.add_model_file("acme/gated", "model.safetensors", b"secret weights", gated=True)
    download = "hf_hub_download"
    calls = [
        {"call": download, "args": {"repo_id": "acme/open", "filename": "unet/model.safetensors"}},
        {"call": download, "args": {"repo_id": "acme/open", "filename": "v1.txt", "revision": "v1"}},
        {"call": download, "args": {"repo_id": "acme/open", "filename": "v1.txt"}},
        {"call": download, "args": {"repo_id": "acme/missing", "filename": "x"}},
        {"call": download, "args": {"repo_id": "acme/gated", "filename": "model.safetensors"}},
        {"call": "model_info", "args": {"repo_id": "acme/gated"}},
    ]
    weights_path, old, not_on_main, no_repo, gated, gated_info = hub_calls(
        fake_hub, tmp_path, calls, token="hf_bobtoken"
    )
    assert Path(weights_path["result"]).read_bytes() == weights
    blobs = tmp_path / "hf_home" / "hub" / "models--acme--open" / "blobs"
    assert (blobs / hashlib.sha256(weights).hexdigest()).is_file()  # LFS file: ETag is its sha256
    assert Path(old["result"]).read_bytes() == b"old"
    assert not_on_main["error"] == "RemoteEntryNotFoundError"
    assert no_repo["error"] == "RepositoryNotFoundError"
    assert (gated["error"], gated["status"]) == ("GatedRepoError", 403)
    assert gated_info["result"]["gated"] == "auto"

    fake_hub.grant_access("bob", "acme/gated")
    (granted,) = hub_calls(fake_hub, tmp_path, calls[4:5], token="hf_bobtoken")
    assert Path(granted["result"]).read_bytes() == b"secret weights"
    status, headers, body = http(
        fake_hub, "GET", "/acme/open/resolve/main/v1.txt", token=None, Range="bytes=1-"
    )
    assert status == 404  # v1.txt only exists on the v1 branch
    status, headers, body = http(
        fake_hub, "GET", "/acme/open/resolve/v1/v1.txt", token=None, Range="bytes=1-"
    )
    assert (status, body, headers["Content-Range"]) == (206, b"ld", "bytes 1-2/3")
    assert headers["X-Repo-Commit"] == fake_hub.repos[("model", "acme/open")].refs["v1"]


def test_list_models_searches_repo_ids_only_and_expands_siblings(fake_hub, tmp_path):
    fake_hub.add_model_file("acme/flux-dev", "flux1-dev.safetensors", b"f")
    fake_hub.add_model_file("acme/other", "flux-lora.safetensors", b"l")
    fake_hub.add_model_file("zed/FLUX-schnell", "schnell.safetensors", b"s")
    args = {"search": "flux", "sort": "downloads", "limit": 20, "expand": ["siblings"]}
    (found,) = hub_calls(fake_hub, tmp_path, [{"call": "list_models", "args": args}])
    by_id = {model["id"]: [s["rfilename"] for s in model["siblings"]] for model in found["result"]}
    assert by_id == {
        "acme/flux-dev": [".gitattributes", "flux1-dev.safetensors"],
        "zed/FLUX-schnell": [".gitattributes", "schnell.safetensors"],
    }
    request = next(r for r in fake_hub.requests if r.path == "/api/models")
    assert request.query == {
        "search": ["flux"],
        "sort": ["downloads"],
        "limit": ["20"],
        "expand": ["siblings"],
    }


def test_list_models_follows_link_pagination(fake_hub, tmp_path):
    for index in range(5):
        fake_hub.add_model_file(f"acme/m{index}", "w.safetensors", b"w")
    status, headers, page = http(fake_hub, "GET", "/api/models?search=acme&limit=2")
    assert [m["id"] for m in page] == ["acme/m0", "acme/m1"] and 'rel="next"' in headers["Link"]
    (everything,) = hub_calls(fake_hub, tmp_path, [{"call": "list_models", "args": {"author": "acme"}}])
    assert [m["id"] for m in everything["result"]] == [f"acme/m{i}" for i in range(5)]


def test_file_exists_duplicate_and_space_settings(fake_hub, tmp_path):
    fake_hub.add_repo(
        "acme/template", repo_type="space", files={"app.py": b"template", "assets/logo.svg": b"<svg/>"}
    )
    duplicate = {
        "from_id": "acme/template",
        "to_id": "alice/copy",
        "repo_type": "space",
        "space_hardware": "zero-a10g",
        "space_secrets": [{"key": "HF_TOKEN", "value": "hf_gatedsecret"}],
    }
    results = hub_calls(
        fake_hub,
        tmp_path,
        [
            {
                "call": "file_exists",
                "args": {"repo_id": "acme/template", "filename": "app.py", "repo_type": "space"},
            },
            {
                "call": "file_exists",
                "args": {"repo_id": "acme/template", "filename": "no.py", "repo_type": "space"},
            },
            {"call": "duplicate_repo", "args": duplicate},
            {"call": "duplicate_repo", "args": duplicate},
            {"call": "get_space_runtime", "args": {"repo_id": "alice/copy"}},
            {"call": "request_space_hardware", "args": {"repo_id": "alice/copy", "hardware": "a100-large"}},
            {"call": "request_space_hardware", "args": {"repo_id": "alice/copy", "hardware": "tpu-v9"}},
            {"call": "restart_space", "args": {"repo_id": "alice/copy"}},
            {"call": "add_space_variable", "args": {"repo_id": "alice/copy", "key": "A", "value": "1"}},
            {"call": "delete_space_secret", "args": {"repo_id": "alice/copy", "key": "HF_TOKEN"}},
            {
                "call": "get_paths_info",
                "args": {"repo_id": "alice/copy", "paths": ["app.py", "assets"], "repo_type": "space"},
            },
            {"call": "delete_repo", "args": {"repo_id": "alice/copy", "repo_type": "space"}},
            {"call": "repo_exists", "args": {"repo_id": "alice/copy", "repo_type": "space"}},
        ],
    )
    exists, absent, copied, again, runtime, upgraded, bogus, restarted, variable, _, paths, deleted, gone = (
        results
    )
    assert (exists["result"], absent["result"]) == (True, False)
    assert copied["result"]["str"] == f"{fake_hub.url}/spaces/alice/copy"
    assert again["status"] == 409
    assert (runtime["result"]["stage"], runtime["result"]["hardware"]) == ("RUNNING", "zero-a10g")
    assert upgraded["result"]["requested_hardware"] == "a100-large"
    assert bogus["status"] == 400
    assert restarted["result"]["stage"] == "RUNNING"
    assert variable["result"]["A"]["value"] == "1"
    assert sorted((p["path"], "blob_id" in p) for p in paths["result"]) == [
        ("app.py", True),
        ("assets", False),
    ]
    assert "error" not in deleted and gone["result"] is False
    duplicate_request = next(r for r in fake_hub.requests if r.path.endswith("/duplicate"))
    assert duplicate_request.json()["hardware"] == "zero-a10g"
    secrets_after = [r for r in fake_hub.requests if r.path.endswith("/secrets") and r.method == "DELETE"]
    assert secrets_after and secrets_after[0].json() == {"key": "HF_TOKEN"}


def test_injected_failures(fake_hub, tmp_path):
    create = {"repo_id": "alice/demo", "repo_type": "space", "space_sdk": "gradio"}
    fake_hub.fail_next("POST", r"^/api/repos/create$", status=429, retry_after=42)
    fake_hub.fail_next("POST", r"^/api/repos/create$", status=402, message="Payment required for ZeroGPU")
    fake_hub.fail_next("GET", r"whoami", drop_connection=True)
    fake_hub.fail_next(path=r"whoami", status=503, times=2)
    results = hub_calls(
        fake_hub,
        tmp_path,
        [
            {"call": "create_repo", "args": create},
            {"call": "create_repo", "args": create},
            {"call": "whoami"},
            {"call": "whoami"},
            {"call": "whoami"},
            {"call": "create_repo", "args": create},
        ],
    )
    limited, payment, dropped, unavailable, unavailable_again, created = results
    assert limited["status"] == 429 and "Retry after 42 seconds" in limited["message"]
    assert payment["status"] == 402 and "Payment required for ZeroGPU" in payment["message"]
    assert dropped["error"] == "RemoteProtocolError" and dropped["status"] is None
    assert unavailable["status"] == unavailable_again["status"] == 503
    assert "result" in created
    failed = [r.failed for r in fake_hub.requests if r.failed]
    assert failed == ["429", "402", "drop", "503", "503"]


def test_reset_forgets_state(fake_hub):
    fake_hub.add_model_file("acme/open", "a.txt", b"a")
    fake_hub.fail_next(path=".*", status=500)
    http(fake_hub, "GET", "/api/models")
    fake_hub.reset()
    assert fake_hub.repos == {} and fake_hub.requests == []
    assert http(fake_hub, "GET", "/api/models")[:1] == (200,)


def test_update_repo_settings(fake_hub, tmp_path):
    fake_hub.add_model_file("alice/weights", "w.safetensors", b"w")
    settings = {"repo_id": "alice/weights"}
    gated, private, foreign, empty = hub_calls(
        fake_hub,
        tmp_path,
        [
            {"call": "update_repo_settings", "args": {**settings, "gated": "manual"}},
            {"call": "update_repo_settings", "args": {**settings, "private": True}},
            {"call": "update_repo_settings", "args": {**settings, "private": False, "token": "hf_bobtoken"}},
            {"call": "model_info", "args": {**settings, "token": "hf_bobtoken"}},
        ],
    )
    assert "error" not in gated and "error" not in private
    repo = fake_hub.repos[("model", "alice/weights")]
    assert repo.gated and repo.private and repo.visibility == "private"
    assert (
        foreign["status"] == 404 and empty["error"] == "RepositoryNotFoundError"
    )  # private: hidden from bob
    assert [r.json() for r in fake_hub.requests if r.method == "PUT"] == [
        {"gated": "manual"},
        {"visibility": "private"},
        {"visibility": "public"},
    ]
