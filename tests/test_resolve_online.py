"""Online model resolution against the local fake Hub (real HTTP, huggingface_hub unmodified).

huggingface_hub reads HF_ENDPOINT at import, so each resolution runs in a fresh process
(`tests/support/resolve_online.py`) pointed at the fake Hub.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakehub import FakeHub, client_env
from wizard.records import ModelFile

SCRIPT = Path(__file__).resolve().parent / "support" / "resolve_online.py"
TOKEN = "hf_resolvetesttoken"


@pytest.fixture
def hub():
    with FakeHub(users={TOKEN: "tester"}) as fake:
        fake.add_model_file("acme/myflux-dev", "myflux-dev-fp8.safetensors", b"x" * 1234)
        fake.add_model_file("acme/myflux-dev", "README.md", b"# flux")
        fake.add_model_file("other/myflux-dev-mirror", "weights/myflux-dev-fp8.safetensors", b"y" * 10)
        fake.add_model_file("gated-org/secret-lora", "secret-lora-v2.safetensors", b"z" * 77, gated=True)
        fake.add_model_file("aaa/4x-special-collection", "4x-special.pth", b"b" * 6)
        fake.add_model_file("zzz/4x-special", "sub/4x-special.pth", b"a" * 5)
        fake.add_model_file(
            "Comfy-Org/stable-diffusion-v1-5-archive", "v1-5-pruned-emaonly-fp16.safetensors", b"c" * 42
        )
        yield fake


@pytest.fixture
def run_resolve(hub, tmp_path):
    """`resolve_models` in a fresh process pointed at the fake Hub (and an empty HF_HOME: no stored login)."""

    def run(models: list[ModelFile], *, token=None, extra_env=None) -> list[ModelFile]:
        request = {"models": [dataclasses.asdict(model) for model in models], "online": True, "token": token}
        completed = subprocess.run(
            [sys.executable, str(SCRIPT)],
            input=json.dumps(request),
            env=client_env(hub.url, tmp_path / "hf-home", **(extra_env or {})),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert completed.returncode == 0, completed.stderr
        return [
            ModelFile(**{**fields, "node_ids": tuple(fields["node_ids"])})
            for fields in json.loads(completed.stdout)
        ]

    return run


def searches(hub: FakeHub) -> list[dict]:
    return [r.query for r in hub.requests if r.method == "GET" and r.path == "/api/models"]


def test_search_finds_the_exact_file_and_its_size(hub, run_resolve):
    [model] = run_resolve([ModelFile("myflux-dev-fp8.safetensors", "checkpoints", node_ids=("4",))])
    # "myflux-dev-fp8" matches no repo id; "myflux-dev" matches two, both holding the file:
    # the file at the same path wins over the one in a subfolder.
    assert model == ModelFile(
        "myflux-dev-fp8.safetensors",
        "checkpoints",
        repo_id="acme/myflux-dev",
        path="myflux-dev-fp8.safetensors",
        revision="main",
        size=1234,
        gated=False,
        source="hub-search",
        node_ids=("4",),
    )
    queries = searches(hub)
    assert [q["search"] for q in queries] == [["myflux-dev-fp8"], ["myflux-dev"]]
    assert all(q["sort"] == ["downloads"] and q["limit"] == ["20"] for q in queries)
    assert all("siblings" in q.get("expand", []) + q.get("expand[]", []) for q in queries)


def test_exact_path_beats_basename_and_gated_is_recorded(hub, run_resolve):
    models = run_resolve(
        [
            ModelFile("sub/4x-special.pth", "upscale_models"),
            ModelFile("4x-special.pth", "upscale_models"),
            ModelFile("elsewhere/4x-special.pth", "upscale_models"),
            ModelFile("secret-lora-v2.safetensors", "loras"),
        ],
    )
    assert [(m.repo_id, m.path, m.size, m.gated, m.source) for m in models] == [
        ("zzz/4x-special", "sub/4x-special.pth", 5, False, "hub-search"),
        ("aaa/4x-special-collection", "4x-special.pth", 6, False, "hub-search"),
        # no repo holds that path: the first repo (in the Hub's download order) holding the basename
        ("aaa/4x-special-collection", "4x-special.pth", 6, False, "hub-search"),
        ("gated-org/secret-lora", "secret-lora-v2.safetensors", 77, True, "hub-search"),
    ]


def test_unfindable_files_stay_unresolved(hub, run_resolve):
    [model] = run_resolve([ModelFile("nobody-has-this-file.safetensors", "loras")])
    assert not model.resolved and model.source is None
    assert len(searches(hub)) == 4  # bounded: at most four queries per file


def test_index_and_workflow_files_get_size_and_gated_online(hub, run_resolve):
    url = "https://huggingface.co/gated-org/secret-lora/resolve/main/secret-lora-v2.safetensors?download=true"
    models = run_resolve(
        [
            ModelFile("v1-5-pruned-emaonly-fp16.safetensors", "checkpoints"),
            ModelFile("lora.safetensors", "loras", url=url),
        ],
        token=TOKEN,
    )
    assert [(m.repo_id, m.size, m.gated, m.source) for m in models] == [
        ("Comfy-Org/stable-diffusion-v1-5-archive", 42, False, "index"),
        ("gated-org/secret-lora", 77, True, "workflow"),
    ]
    assert searches(hub) == []  # nothing left to search for
    model_requests = [r for r in hub.requests if r.path.startswith("/api/models")]
    assert len(model_requests) == 4  # paths-info and model info for each of the two repos
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in model_requests)


def test_hf_hub_offline_means_no_request_at_all(hub, run_resolve):
    models = run_resolve(
        [ModelFile("myflux-dev-fp8.safetensors", "checkpoints"), ModelFile("ae.safetensors", "vae")],
        extra_env={"HF_HUB_OFFLINE": "1"},
    )
    assert [m.resolved for m in models] == [False, True]
    assert hub.requests == []


def test_an_unreachable_hub_stops_the_search(hub, run_resolve):
    """huggingface_hub retries a dropped connection with backoff (about 25 s); after that the search
    gives up on every remaining file instead of waiting again for each."""
    hub.fail_next(method="GET", path=r"^/api/models$", drop_connection=True, times=100)
    models = run_resolve(
        [
            ModelFile("myflux-dev-fp8.safetensors", "checkpoints"),
            ModelFile("secret-lora-v2.safetensors", "loras"),
        ],
    )
    assert [m.resolved for m in models] == [False, False]
    assert {q["search"][0] for q in searches(hub)} == {"myflux-dev-fp8"}


def test_a_failed_query_moves_on_to_the_next(hub, run_resolve):
    hub.fail_next(method="GET", path=r"^/api/models$", status=400, times=1)
    [model] = run_resolve([ModelFile("myflux-dev-fp8.safetensors", "checkpoints")])
    assert (model.repo_id, model.source) == ("acme/myflux-dev", "hub-search")
    assert [r.failed for r in hub.requests if r.path == "/api/models"] == ["400", None]
