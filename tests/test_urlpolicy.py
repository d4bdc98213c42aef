"""One URL policy (runtime/urlpolicy.py) for model downloads and pack repositories, applied by the spec's
own validation: so the UI's tables, an imported spec and the CLI all refuse the same URLs."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from runtime.urlpolicy import ALLOWED_HOSTS_ENV, UrlPolicyError, address_problem, check_url, url_problem
from tests.wizard_cli import run_wizard
from wizard import session as wizard_session
from wizard.appspec import AppSpec
from wizard.errors import SpecError, WizardError
from wizard.records import NodePack
from wizard.ui import tables

# (URL, what the refusal says)
REFUSED = [
    ("http://huggingface.co/a/b/resolve/main/x.safetensors", "only https://"),
    ("file:///etc/passwd", "only https://"),
    ("/home/me/models/x.safetensors", "only https://"),
    ("./x.safetensors", "only https://"),
    ("https://127.0.0.1/x.safetensors", "loopback"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://[::1]:8080/x", "loopback"),
    ("https://10.0.0.7/x", "private"),
    ("https://[::ffff:127.0.0.1]/x", "private"),  # IPv4-mapped loopback
    ("https://2130706433/x", "not an allowed host"),  # 127.0.0.1 as one number
    ("https://localhost/x", "not an allowed host"),
    ("https://example.com/x.safetensors", "not an allowed host"),
    ("https://huggingface.co.evil.example/x", "not an allowed host"),
    ("https://user:secret@huggingface.co/x", "user name or password"),
    ("git@github.com:user/repo.git", "only https://"),
    ("https:///x.safetensors", "names no host"),
]
ALLOWED = [
    "https://huggingface.co/user/repo/resolve/main/x.safetensors",
    "https://hf.co/user/repo",
    "https://github.com/kijai/ComfyUI-KJNodes",
    "https://gitlab.com/user/pack.git",
    "https://civitai.com/api/download/models/12345",
    "https://api.comfy.org/nodes/x",
    "https://cdn-lfs.huggingface.co/repos/x",
]


@pytest.fixture(autouse=True)
def no_user_hosts(monkeypatch):
    monkeypatch.delenv(ALLOWED_HOSTS_ENV, raising=False)
    monkeypatch.delenv("SYSTEM", raising=False)


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_the_policy_refuses(url, reason):
    problem = url_problem(url)
    assert problem is not None and reason in problem, problem
    with pytest.raises(UrlPolicyError, match="is refused"):
        check_url(url, "the download URL")


@pytest.mark.parametrize("url", ALLOWED)
def test_the_policy_allows_the_known_hosts(url):
    assert url_problem(url) is None


def test_addresses_are_checked_as_ip_literals_and_resolved_names():
    assert "loopback" in address_problem("127.0.0.2")
    assert "private" in address_problem("192.168.1.1")
    assert "link-local" in address_problem("fe80::1")
    assert address_problem("8.8.8.8") is None
    assert "loopback" in address_problem("localhost")  # resolves to 127.0.0.1


def test_the_user_extends_the_list_on_their_own_machine_only(monkeypatch):
    monkeypatch.setenv(ALLOWED_HOSTS_ENV, "mirror.example.org, http://127.0.0.1:8080")
    assert url_problem("https://mirror.example.org/x") is None
    assert url_problem("http://127.0.0.1:8080/x") is None
    assert url_problem("http://127.0.0.1:8081/x") is not None, "only the listed origin"
    assert url_problem("http://mirror.example.org/x") is not None, "a plain host means https"
    monkeypatch.setenv("SYSTEM", "spaces")  # a hosted wizard ignores the variable
    assert "not an allowed host" in url_problem("https://mirror.example.org/x")
    assert "only https://" in url_problem("http://127.0.0.1:8080/x")


# --- through the spec's own validation: UI tables, import_spec, CLI ------------------------------


@pytest.fixture(scope="module")
def default_session(templates_dir):
    return wizard_session.open_workflow((templates_dir / "default.json").read_bytes(), "default.json")


@pytest.mark.parametrize(("url", "reason"), REFUSED[:8])
def test_the_models_table_refuses_the_url(default_session, url, reason):
    rows = tables.model_rows(default_session)
    rows[0][2:5] = ["", "", url]
    with pytest.raises(SpecError, match=reason):
        tables.with_model_rows(default_session, rows)


def test_the_models_table_takes_an_allowed_url(default_session):
    rows = tables.model_rows(default_session)
    rows[0][2:5] = ["", "", ALLOWED[4]]
    (model,) = tables.with_model_rows(default_session, rows).spec.models
    assert (model.url, model.source) == (ALLOWED[4], "user")


@pytest.mark.parametrize(
    "repo", ["file:///tmp/evil-pack", "http://github.com/a/b", "/tmp/evil-pack", "git@github.com:a/b"]
)
def test_the_packs_table_refuses_the_repository(default_session, repo):
    pack = NodePack(None, None, None, ("Mystery",), None)
    session = replace(default_session, spec=replace(default_session.spec, custom_nodes=(pack,)))
    rows = tables.pack_rows(session)
    rows[0][1] = repo
    with pytest.raises(SpecError, match="is refused"):
        tables.with_pack_rows(session, rows)
    rows[0][1] = "https://github.com/someone/mystery-nodes"
    (chosen,) = tables.with_pack_rows(session, rows).spec.custom_nodes
    assert (chosen.pack, chosen.repo) == ("mystery-nodes", "https://github.com/someone/mystery-nodes")


def _spec_with_model_url(spec: AppSpec, url: str) -> str:
    data = json.loads(spec.to_json())
    data["models"][0]["url"] = url
    return json.dumps(data)


@pytest.mark.parametrize(("url", "reason"), REFUSED[:8])
def test_an_imported_spec_is_refused(default_session, url, reason):
    with pytest.raises(WizardError, match=reason):
        wizard_session.with_imported_spec(default_session, _spec_with_model_url(default_session.spec, url))


def test_an_imported_spec_with_a_file_pack_is_refused(default_session):
    data = json.loads(default_session.spec.to_json())
    data["custom_nodes"] = [
        {"pack": "x", "repo": "file:///tmp/x", "version": None, "class_types": ["X"], "source": "user"}
    ]
    with pytest.raises(SpecError, match="custom-node pack x's repository 'file:///tmp/x' is refused"):
        wizard_session.with_imported_spec(default_session, json.dumps(data))
    data["custom_nodes"] = []
    data["comfyui"]["repo"] = "file:///tmp/my-comfyui"
    with pytest.raises(SpecError, match="ComfyUI repository"):
        wizard_session.with_imported_spec(default_session, json.dumps(data))


@pytest.mark.parametrize(
    ("url", "reason"),
    [("http://127.0.0.1:9/x.safetensors", "only https://"), ("https://169.254.169.254/x", "link-local")],
)
def test_the_cli_refuses_a_spec_with_a_bad_url(default_session, templates_dir, tmp_path, url, reason):
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(_spec_with_model_url(default_session.spec, url))
    env = {key: value for key, value in os.environ.items() if key not in (ALLOWED_HOSTS_ENV, "SYSTEM")}
    built = run_wizard(
        "build", templates_dir / "default.json", "--spec", spec_path, "-o", tmp_path / "app", env=env
    )
    assert built.returncode == 2
    (line,) = built.stderr.strip().splitlines()
    assert (
        line.startswith("error: model v1-5-pruned-emaonly-fp16.safetensors's download URL") and reason in line
    )
    assert not (tmp_path / "app").exists()


def test_a_workflow_declared_url_the_policy_refuses_is_dropped_with_a_warning(node_defs):
    from tests.workflows import conversion_from_prompt, t2i_prompt
    from wizard.analyze import analyze

    conversion = conversion_from_prompt(t2i_prompt(), node_defs)
    declared = {
        "name": "v1-5-pruned-emaonly-fp16.safetensors",
        "url": "http://169.254.169.254/latest/meta-data/",
        "directory": "checkpoints",
        "node_id": None,
    }
    analysis = analyze(replace(conversion, declared_models=(declared,)), node_defs)
    (model,) = analysis.models
    assert model.url is None
    assert any("is refused" in warning and "only https://" in warning for warning in analysis.warnings)
