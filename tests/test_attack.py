"""The hosted wizard under attack: every endpoint `gradio_client.view_api()` lists is called anonymously with
hostile arguments, the wizard running as on Spaces (`SYSTEM=spaces`, the OAuth variables and its own
`HF_TOKEN` set to canaries). Nothing may be built, run or published, and no canary may appear in any answer,
file or log.

The wizard's own token is a valid user of the fake Hub here, so a wizard that used it for a visitor's work
would really publish (and this test would see the Space). Calls come anonymously, with Gradio's local mock
OAuth token, and with a forged token; hostile values include paths to the process's own environment
(`/proc/self/environ`), `file://` URLs, a workflow whose pack is a `file://` repository, and bodies past the cap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from tests.fakehub import FakeHub
from tests.wizard_server import wizard_app

CANARIES = {
    "HF_TOKEN": "hf_CANARYwizardownertoken0001",
    "OAUTH_CLIENT_ID": "canary-oauth-client-id-0002",
    "OAUTH_CLIENT_SECRET": "canary-oauth-client-secret-0003",
}
OWNER = "wizard-owner"
FORGED = "hf_forgedattackertoken"
MOCK = "mock-oauth-token-for-local-dev"
EXAMPLE = Path(__file__).resolve().parent.parent / "wizard" / "examples" / "blur_and_invert.json"
HOSTILE_STRINGS = [
    "../../../../proc/self/environ",
    "file:///proc/self/environ",
    "$(env > /tmp/pwned); `id`",
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "owner/../../wizard-owner/stolen",
    "{{ config }}{% for k in range(9) %}x{% endfor %}",
    "x" * 5000,
]


def hostile_workflow() -> str:
    """The example, plus a node of a pack whose repository is a local path and a `file://` URL."""
    workflow = json.loads(EXAMPLE.read_text())
    workflow["nodes"].append(
        {
            "id": 99,
            "type": "EvilNode",
            "mode": 0,
            "pos": [0, 0],
            "size": [10, 10],
            "inputs": [],
            "outputs": [],
            "properties": {"cnr_id": "file:///proc/self", "aux_id": "../../runtime", "ver": "1.0"},
            "widgets_values": ["$(id)"],
        }
    )
    return json.dumps(workflow)


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """The wizard, as on Spaces, with a fake Hub that knows the wizard's own (canary) token."""
    home = tmp_path_factory.mktemp("attacked")
    with FakeHub(users={CANARIES["HF_TOKEN"]: OWNER}) as hub:
        env = {
            **CANARIES,
            "SYSTEM": "spaces",
            "SPACE_ID": f"{OWNER}/comfyui-wizard",
            "OAUTH_SCOPES": "openid profile manage-repos",
            "OPENID_PROVIDER_URL": hub.url,
            "WIZARD_WORK_DIR": str(home / "work"),
        }
        with wizard_app(hub.url, CANARIES["HF_TOKEN"], home, env) as url:
            yield hub, url, home


def hostile_values(parameter: dict, home: Path) -> list:
    """Argument values for one endpoint parameter, by its component."""
    from gradio_client import handle_file

    component = parameter["component"]
    if component in ("File", "Uploadbutton"):
        payload = home / "hostile.json"
        payload.write_text(hostile_workflow())
        traversal = {"path": "/proc/self/environ", "meta": {"_type": "gradio.FileData"}}
        value = [handle_file(str(payload)), traversal]
        return [value, [traversal]] if parameter["python_type"]["type"].startswith("list") else value
    if component == "Dataframe":
        return [
            {
                "headers": ["Pack", "Repo", "Version"],
                "data": [["evil", "file:///proc/self", "main"]],
                "metadata": None,
            },
            {"headers": ["x"], "data": [[True, "../../runtime", "$(id)", 10**30]] * 3, "metadata": None},
        ]
    if component == "Radio":
        return ["public", "../../private"]
    return [hostile_workflow(), *HOSTILE_STRINGS]


def call_everything(url: str, home: Path) -> list[str]:
    """Every listed endpoint, with each hostile value per parameter, in sessions that first opened a
    workflow (so build, run and publish have something to act on). Returns every answer and error, as text."""
    from gradio_client import Client

    answers: list[str] = []
    for oauth_token in (None, MOCK, FORGED):
        client = Client(url, verbose=False, oauth_token=oauth_token, download_files=str(home / "downloads"))
        try:
            endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
            for name, endpoint in endpoints.items():
                client.reset_session()
                client.predict(hostile_workflow(), api_name="/open_json")  # a session with a workflow
                options = [hostile_values(parameter, home) for parameter in endpoint["parameters"]]
                rounds = max((len(values) for values in options), default=1)
                for index in range(rounds):
                    arguments = [values[index % len(values)] for values in options]
                    try:
                        answers.append(repr(client.predict(*arguments, api_name=name)))
                    except Exception as error:  # refused: what matters is what it says
                        answers.append(f"{name}: {type(error).__name__}: {error}")
        finally:
            client.close()
    return answers


def oversized_status(url: str, length: int) -> int:
    """The status the wizard answers to a queue request announcing `length` bytes, none of them sent."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", "/gradio_api/queue/join")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_anonymous_hostile_calls_build_run_and_publish_nothing_and_leak_no_canary(attacked):
    hub, url, home = attacked
    answers = call_everything(url, home)
    # an oversized body is refused by its announced length, before a byte of it is read
    assert oversized_status(url, 9 * 1024 * 1024) == 413

    refusals = [answer for answer in answers if "sign in with Hugging Face first" in answer]
    assert len(refusals) >= 3 * 2  # build, test run on ZeroGPU and publish, for each anonymous/mock caller
    forged = [answer for answer in answers if "the Hugging Face Hub rejected your token" in answer]
    assert len(forged) >= 3  # the forged token is checked with the Hub before anything is built
    # nothing published: no repository, no Hub call with the wizard's own token
    assert not [key for key in hub.repos if key[0] == "space"]
    owner_calls = [r.path for r in hub.requests if CANARIES["HF_TOKEN"] in r.headers.get("authorization", "")]
    assert owner_calls == []
    assert not [
        r for r in hub.requests if r.method == "POST" and r.failed is None and r.path.endswith("/commit/main")
    ]
    # nothing built or run: no app folder anywhere the wizard writes, no process left by it
    written = list(home.rglob("app.py")) + list(home.rglob("comfy.lock.json"))
    assert written == []
    wizard = [
        p
        for p in psutil.process_iter(["cmdline", "cwd"])
        if p.info["cmdline"] == [os.sys.executable, "app.py"]
    ]
    assert wizard and all(not process.children(recursive=True) for process in wizard)
    # no canary in any answer, file or log
    texts = answers + [path.read_text(errors="replace") for path in home.rglob("*") if path.is_file()]
    for name, canary in CANARIES.items():
        leaks = [text[:200] for text in texts if canary in text]
        assert leaks == [], f"{name} leaked"
