"""Publishing makes the Space equal the build, in one commit: files a rebuild dropped are deleted, files the
user added outside what the wizard writes stay, a Space the wizard did not make needs `force`, a
half-written build is refused, and a failed first publish says what exists on the Hub and is completed by
publishing again. Against the local fake Hub, with real builds (`wizard.codegen.build_space`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakehub import client_env
from tests.test_publish import ALICE, REPO_ROOT, commits, committed_files, publish
from tests.workflows import conversion_from_prompt, t2i_prompt
from wizard.analyze import analyze
from wizard.appspec import auto_spec
from wizard.codegen import build_space
from wizard.manifest import MANIFEST_NAME, read_manifest

HUB_CALLS = REPO_ROOT / "tests" / "support" / "publish_hub_calls.py"
UI_WORKFLOW = {"nodes": [], "links": [], "version": 0.4}


def build(folder: Path, node_defs, *, ui_workflow: bool) -> set[str]:
    """A real build of the text-to-image workflow (with or without its UI workflow); its files."""
    conversion = conversion_from_prompt(t2i_prompt(), node_defs, UI_WORKFLOW if ui_workflow else None)
    build_space(conversion, auto_spec(conversion, analyze(conversion, node_defs)), folder)
    return {*read_manifest(folder).files, MANIFEST_NAME}


def hub_calls(hub, tmp_path: Path, calls: list[dict]) -> list[dict]:
    completed = subprocess.run(
        [sys.executable, str(HUB_CALLS), json.dumps(calls)],
        env=client_env(hub.url, tmp_path / "hf_home", ALICE),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert all("error" not in result for result in results), results
    return results


def user_uploads(hub, tmp_path: Path, repo_id: str, files: dict[str, bytes]) -> None:
    """The user adds files to their Space themselves, through huggingface_hub."""
    calls = []
    for path, data in files.items():
        local = tmp_path / "user-files" / path
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        calls.append(
            {
                "call": "upload_file",
                "args": {
                    "path_or_fileobj": str(local),
                    "path_in_repo": path,
                    "repo_id": repo_id,
                    "repo_type": "space",
                    "token": ALICE,
                },
            }
        )
    hub_calls(hub, tmp_path, calls)


def deleted_files(request) -> list[str]:
    return [line["value"]["path"] for line in request.ndjson() if line["key"] == "deletedFile"]


def test_a_file_a_rebuild_dropped_is_deleted_and_the_users_own_files_stay(fake_hub, tmp_path, node_defs):
    folder = tmp_path / "space"
    first_build = build(folder, node_defs, ui_workflow=True)
    assert "workflow.json" in first_build
    assert publish(fake_hub, tmp_path, space="tiny-sd").outcomes[0]["ok"]
    user_files = {"LICENSE": b"MIT\n", "assets/logo.png": b"\x89PNG user logo"}
    user_uploads(fake_hub, tmp_path, "alice/tiny-sd", user_files)

    second_build = build(folder, node_defs, ui_workflow=False)  # API-only: no workflow.json
    assert first_build - second_build == {"workflow.json"}
    (outcome,) = publish(fake_hub, tmp_path, space="tiny-sd").outcomes
    assert outcome["ok"] and outcome["created"] is False

    space = fake_hub.repos[("space", "alice/tiny-sd")]
    assert set(space.files) == second_build | set(user_files) | {".gitattributes"}
    assert {path: space.files[path] for path in user_files} == user_files
    for path in second_build:
        assert space.files[path] == (folder / path).read_bytes(), path
    # one commit per publish; the second deletes exactly the dropped file
    first, second = commits(fake_hub)[0], commits(fake_hub)[-1]
    assert deleted_files(first) == [] and deleted_files(second) == ["workflow.json"]
    assert MANIFEST_NAME in committed_files(second)


def test_updating_a_space_the_wizard_did_not_make_needs_force(fake_hub, tmp_path, node_defs):
    theirs = {"app.py": b"print('my own app')\n", "LICENSE": b"Apache-2.0\n", "notes/todo.md": b"- ship\n"}
    fake_hub.add_repo("alice/tiny-sd", repo_type="space", files=theirs)
    built = build(tmp_path / "space", node_defs, ui_workflow=True)

    (refused,) = publish(fake_hub, tmp_path, space="tiny-sd").outcomes
    assert refused["error"] == "PublishConfirmationError", refused
    for words in ("alice/tiny-sd already exists", "did not make it", "LICENSE, app.py", "--force"):
        assert words in refused["message"], refused["message"]
    assert (
        commits(fake_hub) == []
        and fake_hub.repos[("space", "alice/tiny-sd")].files["app.py"] == theirs["app.py"]
    )

    (forced,) = publish(fake_hub, tmp_path, space="tiny-sd", force=True).outcomes
    assert forced["ok"] and forced["created"] is False
    space = fake_hub.repos[("space", "alice/tiny-sd")]
    assert space.files["app.py"] == (tmp_path / "space" / "app.py").read_bytes()
    assert (
        space.files["LICENSE"] == theirs["LICENSE"]
        and space.files["notes/todo.md"] == theirs["notes/todo.md"]
    )
    assert built <= set(space.files)

    # from now on the Space holds the wizard's manifest: updating it needs no confirmation
    assert publish(fake_hub, tmp_path, space="tiny-sd").outcomes[0]["ok"]


def test_an_interrupted_first_publish_says_what_exists_and_publishing_again_completes_it(
    fake_hub, tmp_path, node_defs
):
    built = build(tmp_path / "space", node_defs, ui_workflow=True)
    fake_hub.fail_next(method="POST", path="/commit/", drop_connection=True)
    (failed,) = publish(fake_hub, tmp_path, space="tiny-sd", private=True).outcomes
    assert failed["error"] == "PublishRetryableError"
    assert (
        "the Space alice/tiny-sd now exists on the Hub as an empty private ZeroGPU Space without your files"
        in failed["message"]
    )
    assert "publish again to complete the Space" in failed["message"]
    assert "nothing was half-published" not in failed["message"]
    space = fake_hub.repos[("space", "alice/tiny-sd")]
    assert set(space.files) == {".gitattributes", "README.md"}  # what the Hub put there: truly empty

    (retried,) = publish(fake_hub, tmp_path, space="tiny-sd", private=True).outcomes  # no --force needed
    assert retried["ok"] and retried["created"] is False
    assert set(space.files) == built | {".gitattributes"} and space.private and space.hardware == "zero-a10g"


@pytest.mark.parametrize(
    "failure, words",
    [
        (dict(drop_connection=True), "no Space was created; publishing again creates alice/tiny-sd"),
        (dict(status=402), "no Space was created"),
    ],
    ids=["drop", "402"],
)
def test_a_failed_creation_says_no_space_exists(fake_hub, tmp_path, node_defs, failure, words):
    build(tmp_path / "space", node_defs, ui_workflow=False)
    fake_hub.fail_next(method="POST", path="repos/create", **failure)
    (failed,) = publish(fake_hub, tmp_path, space="tiny-sd").outcomes
    assert failed["ok"] is False and words in failed["message"], failed
    assert ("space", "alice/tiny-sd") not in fake_hub.repos


def test_a_half_written_build_is_never_published(fake_hub, tmp_path, node_defs):
    folder = tmp_path / "space"
    build(folder, node_defs, ui_workflow=True)
    (folder / "runtime" / "engine.py").unlink()  # a file the build wrote is gone
    (lost,) = publish(fake_hub, tmp_path, space="tiny-sd").outcomes
    assert lost["error"] == "PublishFolderError" and "runtime/engine.py" in lost["message"]
    assert "build it again" in lost["message"]

    (folder / MANIFEST_NAME).unlink()  # the build never reached its last step
    (unfinished,) = publish(fake_hub, tmp_path, space="tiny-sd").outcomes
    assert unfinished["error"] == "PublishFolderError"
    assert f"has no {MANIFEST_NAME}, so its build did not finish" in unfinished["message"]
    assert fake_hub.requests == []
