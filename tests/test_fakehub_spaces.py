"""The fake Hub's running Spaces (`tests/fakespaces.py`): a commit to a ZeroGPU Space builds it, starts its
app in a subprocess and serves it at `space_info(...).host`, with stages and logs as huggingface_hub 2.4.0
reads them; private Spaces need the token. The apps here are small Gradio apps (tier 1); the generated
ComfyUI app runs on it in tests/test_space_run.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fakehub import FakeHub
from tests.fakespaces import SpaceRunConfig
from tests.test_fakehub import hub_calls

ALICE, BOB = "hf_alicetoken", "hf_bobtoken"
ECHO_APP = (
    "import os\nimport gradio as gr\n\n"
    "print('echo app starting in', os.environ['SPACE_ID'], flush=True)\n\n"
    "def shout(text):\n    return text.upper() + '|' + os.environ.get('GREETING', '')\n\n"
    "gr.Interface(shout, 'text', 'text', api_name='generate').launch()\n"
)
README = "---\ntitle: Echo\nsdk: gradio\nsdk_version: {version}\napp_file: app.py\n---\n"


@pytest.fixture
def hub(tmp_path):
    config = SpaceRunConfig(workdir=tmp_path / "spaces", start_timeout_s=120)
    with FakeHub(users={ALICE: "alice", BOB: "bob"}, spaces=config) as running_hub:
        yield running_hub


def gradio_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("gradio")


def echo_files(app: str = ECHO_APP, requirements: str = "gradio\n") -> dict[str, bytes]:
    return {
        "app.py": app.encode(),
        "README.md": README.format(version=gradio_version()).encode(),
        "requirements.txt": requirements.encode(),
    }


def create_space(hub: FakeHub, repo_id: str, files: dict[str, bytes], private: bool = False, **settings):
    repo = hub.add_repo(repo_id, repo_type="space", private=private, hardware="zero-a10g")
    for key, value in settings.items():
        repo.variables[key] = {"value": value, "description": None, "updatedAt": ""}
    hub._commit(repo, "main", {**repo.files, **files}, "Add app", "", repo.namespace)
    return repo


def call(host: str, token: str | None, text: str):
    from gradio_client import Client

    client = Client(host, token=token, verbose=False) if token else Client(host, verbose=False)
    try:
        return client.predict(text, api_name="/generate")
    finally:
        client.close()


def test_a_zerogpu_commit_builds_runs_and_serves_the_app(hub, tmp_path):
    create_space(hub, "alice/echo", echo_files(), GREETING="hi")
    stages = []
    [runtime] = hub_calls(hub, tmp_path, [{"call": "get_space_runtime", "args": {"repo_id": "alice/echo"}}])
    stages.append(runtime["result"]["stage"])
    assert hub.wait_for_stage("alice/echo", ("RUNNING",), timeout_s=120) == "RUNNING"
    runtime, info, build_log, run_log = hub_calls(
        hub,
        tmp_path,
        [
            {"call": "get_space_runtime", "args": {"repo_id": "alice/echo"}},
            {"call": "space_info", "args": {"repo_id": "alice/echo"}},
            {"call": "fetch_space_logs", "args": {"repo_id": "alice/echo", "build": True, "follow": True}},
            {"call": "fetch_space_logs", "args": {"repo_id": "alice/echo"}},
        ],
    )
    stages.append(runtime["result"]["stage"])
    assert stages[0] in ("BUILDING", "APP_STARTING") and stages[1] == "RUNNING"
    assert runtime["result"]["hardware"] == "zero-a10g"
    host = info["result"]["host"]
    assert host.startswith("http://127.0.0.1:") and host != hub.url
    assert "--> RUN pip install --no-cache-dir -r requirements.txt\n" in build_log["result"]
    assert build_log["result"][-1] == "DONE\n"
    assert "echo app starting in alice/echo\n" in run_log["result"]
    # the Space's variables are its environment; anyone may call a public Space
    assert call(host, None, "quiet") == "QUIET|hi"


def test_a_private_space_answers_only_to_a_token_that_may_read_it(hub, tmp_path):
    create_space(hub, "alice/secret-echo", echo_files(), private=True)
    hub.wait_for_stage("alice/secret-echo", ("RUNNING",), timeout_s=120)
    host = hub.running["alice/secret-echo"].host
    assert call(host, ALICE, "psst") == "PSST|"
    for token in (None, BOB, "hf_unknown"):
        request = urllib.request.Request(host + "/config")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 404
    [info] = hub_calls(hub, tmp_path, [{"call": "space_info", "args": {"repo_id": "alice/secret-echo"}}], BOB)
    assert info["status"] == 404  # the Hub API hides it too


def test_an_unsatisfiable_requirement_is_a_build_error_with_pips_lines(hub, tmp_path):
    create_space(hub, "alice/broken", echo_files(requirements="gradio\nno-such-package-xyz==1.0\n"))
    assert hub.wait_for_stage("alice/broken", ("BUILD_ERROR",), timeout_s=30) == "BUILD_ERROR"
    runtime, build_log = hub_calls(
        hub,
        tmp_path,
        [
            {"call": "get_space_runtime", "args": {"repo_id": "alice/broken"}},
            {"call": "fetch_space_logs", "args": {"repo_id": "alice/broken", "build": True, "follow": True}},
        ],
    )
    assert runtime["result"]["stage"] == "BUILD_ERROR"
    assert runtime["result"]["raw"]["errorMessage"] == "Build failed with exit code: 1"
    assert "ERROR: No matching distribution found for no-such-package-xyz==1.0\n" in build_log["result"]
    assert hub.running["alice/broken"].app_port is None


def test_an_app_that_crashes_is_a_runtime_error_with_its_output(hub, tmp_path):
    crash = "print('loading the model', flush=True)\nraise RuntimeError('CUDA out of memory (simulated)')\n"
    create_space(hub, "alice/crash", echo_files(app=crash))
    assert hub.wait_for_stage("alice/crash", ("RUNTIME_ERROR",), timeout_s=60) == "RUNTIME_ERROR"
    runtime, run_log = hub_calls(
        hub,
        tmp_path,
        [
            {"call": "get_space_runtime", "args": {"repo_id": "alice/crash"}},
            {"call": "fetch_space_logs", "args": {"repo_id": "alice/crash", "follow": True}},
        ],
    )
    message = runtime["result"]["raw"]["errorMessage"]
    assert message == "Exit code: 1. Reason: RuntimeError: CUDA out of memory (simulated)"
    assert "loading the model\n" in run_log["result"]


def test_a_new_commit_replaces_the_running_app_and_other_hardware_does_not_run(hub, tmp_path):
    repo = create_space(hub, "alice/echo", echo_files())
    hub.wait_for_stage("alice/echo", ("RUNNING",), timeout_s=120)
    first = hub.running["alice/echo"].app_port
    changed = ECHO_APP.replace("text.upper()", "text[::-1]")
    hub._commit(repo, "main", {**repo.files, "app.py": changed.encode()}, "Reverse", "", "alice")
    # the old app is stopped at once; the new build may already have reached APP_STARTING
    assert hub.running["alice/echo"].stage in ("BUILDING", "APP_STARTING")
    hub.wait_for_stage("alice/echo", ("RUNNING",), timeout_s=120)
    assert hub.running["alice/echo"].app_port != first
    assert call(hub.running["alice/echo"].host, None, "abc") == "cba|"
    assert hub.running["alice/echo"].builds == 2
    cpu = hub.add_repo("alice/cpu-echo", repo_type="space", files=echo_files())
    assert cpu.hardware == "cpu-basic" and "alice/cpu-echo" not in hub.running


def test_logs_need_write_access_and_a_deleted_space_stops(hub, tmp_path):
    create_space(hub, "alice/echo", echo_files())
    hub.wait_for_stage("alice/echo", ("RUNNING",), timeout_s=120)
    process = hub.running["alice/echo"]._process
    [bob_logs] = hub_calls(
        hub, tmp_path, [{"call": "fetch_space_logs", "args": {"repo_id": "alice/echo", "build": True}}], BOB
    )
    assert bob_logs["status"] == 403
    [deleted] = hub_calls(
        hub, tmp_path, [{"call": "delete_repo", "args": {"repo_id": "alice/echo", "repo_type": "space"}}]
    )
    assert "error" not in deleted, deleted
    assert process.poll() is not None and "alice/echo" not in hub.running


def test_preload_from_hub_fills_the_spaces_cache_and_a_gated_repo_fails_the_build(hub, tmp_path):
    hub.add_model_file("acme/tiny", "tiny.safetensors", b"weights")
    reads_cache = ECHO_APP.replace(
        "def shout(text):\n",
        "from huggingface_hub import hf_hub_download\n"
        "PRELOADED = open(hf_hub_download('acme/tiny', 'tiny.safetensors', local_files_only=True)).read()\n\n"
        "def shout(text):\n",
    ).replace("text.upper()", "PRELOADED")
    files = echo_files(app=reads_cache)
    files["README.md"] = files["README.md"].replace(
        b"app_file: app.py\n", b"app_file: app.py\npreload_from_hub:\n- acme/tiny tiny.safetensors\n"
    )
    create_space(hub, "alice/preloaded", files)
    hub.wait_for_stage("alice/preloaded", ("RUNNING",), timeout_s=120)
    assert call(hub.running["alice/preloaded"].host, None, "x") == "weights|"
    hub.add_model_file("acme/gated", "g.safetensors", b"secret", gated=True)
    files["README.md"] = files["README.md"].replace(
        b"acme/tiny tiny.safetensors", b"acme/gated g.safetensors"
    )
    create_space(hub, "alice/gated-preload", files)
    assert hub.wait_for_stage("alice/gated-preload", ("BUILD_ERROR",), timeout_s=30) == "BUILD_ERROR"
    assert "preload_from_hub: cannot download 'acme/gated' (missing, private or gated)" in (
        hub.running["alice/gated-preload"].build_log.text
    )
