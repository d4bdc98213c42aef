"""The page's packs table over real git: every pack's pinned commit in its Commit cell, a commit typed in
its Version cell pinned (the rules of `wizard.packs.pin_packs`, as `--pin`) and built into comfy.lock.json,
and a commit the repository lacks refused with a message while the pack keeps its pin.

The session is the page's (`wizard.session`, `wizard.ui.tables`) in this process; the packs are local git
stand-ins (tests/blogpacks.py) and the Comfy Registry cannot be reached, so every pin comes from git.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.blogpacks import BLOG_WORKFLOW, closed_port_url, pyproject
from wizard import session as sessions
from wizard.errors import BuildError, WizardError
from wizard.ui import tables

KJNODES = "kijai/ComfyUI-KJNodes"
KJNODES_URL = f"https://github.com/{KJNODES}"
LATER = "2025-08-01T00:00:00+00:00"  # after the stand-ins' commits, before ComfyUI's date


@pytest.fixture
def blog_session(blog_packs, monkeypatch):
    """(the stand-ins, {repo: its commit}, the page's session of the blog workflow, opened with the
    stand-ins' environment and the registry unreachable)."""
    github, env, commits, _ = blog_packs
    for key, value in env.items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("COMFY_REGISTRY_URL", closed_port_url())
    session = sessions.open_workflow(BLOG_WORKFLOW.read_bytes(), BLOG_WORKFLOW.name)
    return github, commits, session


HEADERS = [column.header for column in tables.PACK_COLUMNS]


def _by_repo(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    """Packs table rows as {repo: {column header: cell}}."""
    return {cells["Repo"]: cells for cells in (dict(zip(HEADERS, row)) for row in rows)}


def _commit_cells(rows: list[list[str]]) -> dict[str, str]:
    """{repo: its Commit cell} of packs table rows."""
    return {repo: cells["Commit"] for repo, cells in _by_repo(rows).items()}


def _short_pins(commits: dict[str, str]) -> dict[str, str]:
    """The Commit cells the stand-ins' commits ({"owner/name": commit}) show, by repository URL."""
    return {f"https://github.com/{repo}": commit[:12] for repo, commit in commits.items()}


def _typed(rows: list[list[str]], repo: str, header: str, value: str) -> list[list[str]]:
    """`rows` with `value` typed in the `header` cell of `repo`'s row."""
    return [
        [value if (cells["Repo"], name) == (repo, header) else cell for name, cell in cells.items()]
        for cells in (dict(zip(HEADERS, row)) for row in rows)
    ]


def test_the_table_shows_each_pin_and_a_typed_commit_is_built_into_the_lock(blog_session, tmp_path):
    github, commits, session = blog_session
    assert _commit_cells(tables.pack_rows(session)) == _short_pins(commits)
    later = github.commit(KJNODES, LATER, {"new.py": "x"})
    edited = tables.with_pack_rows(
        session, _typed(tables.pack_rows(session), KJNODES_URL, "Version", later[:9])
    )
    assert _commit_cells(tables.pack_rows(edited)) == {**_short_pins(commits), KJNODES_URL: later[:12]}
    assert _by_repo(tables.pack_rows(edited))[KJNODES_URL]["Found by"] == "user"
    preview = sessions.build_preview(edited, tmp_path / "tab")  # what the page's Build button calls
    lock = json.loads(preview.files["comfy.lock.json"])
    assert {entry["repo"]: entry["commit"] for entry in lock["custom_nodes"]} == {
        **{f"https://github.com/{repo}": commit for repo, commit in commits.items()},
        KJNODES_URL: later,
    }


def test_a_commit_the_repository_lacks_is_refused_and_the_pack_keeps_its_pin(blog_session):
    github, commits, session = blog_session
    missing = "deadbeef1234"
    with pytest.raises(WizardError) as refused:
        tables.with_pack_rows(session, _typed(tables.pack_rows(session), KJNODES_URL, "Version", missing))
    message = str(refused.value)
    assert f"commit {missing} of {KJNODES_URL} (not in it) cannot be had" in message
    assert f"the pack keeps its pin {commits[KJNODES][:12]}" in message
    # The refusal changed nothing the next edit starts from: a commit the repository has is still pinned.
    later = github.commit(KJNODES, LATER, {"new.py": "x"})
    edited = tables.with_pack_rows(session, _typed(tables.pack_rows(session), KJNODES_URL, "Version", later))
    assert _by_repo(tables.pack_rows(edited))[KJNODES_URL]["Commit"] == later[:12]


def test_a_typed_version_pins_the_commit_that_has_it_and_an_unknown_one_is_refused(blog_session):
    github, commits, session = blog_session
    release = github.commit(KJNODES, LATER, {"pyproject.toml": pyproject("comfyui-kjnodes", "1.2.0")})
    rows = tables.pack_rows(session)
    edited = tables.with_pack_rows(session, _typed(rows, KJNODES_URL, "Version", "1.2.0"))
    row = _by_repo(tables.pack_rows(edited))[KJNODES_URL]
    assert (row["Version"], row["Commit"]) == ("1.2.0", release[:12])
    with pytest.raises(WizardError) as refused:
        tables.with_pack_rows(session, _typed(rows, KJNODES_URL, "Version", "9.9.9"))
    assert "version 9.9.9 (no tag or pyproject.toml names it) cannot be had" in str(refused.value)
    assert f"the pack keeps its pin {commits[KJNODES][:12]}" in str(refused.value)


def test_a_pack_no_repository_pins_shows_not_pinned_and_the_build_says_so(blog_session, tmp_path):
    _, _, session = blog_session
    fork = "https://github.com/someone/deleted-fork"  # not on the stand-in: it cannot be cloned
    edited = tables.with_pack_rows(session, _typed(tables.pack_rows(session), KJNODES_URL, "Repo", fork))
    assert _by_repo(tables.pack_rows(edited))[fork]["Commit"] == tables.NOT_PINNED
    with pytest.raises(BuildError, match="is not pinned to a commit"):
        sessions.build_preview(edited, tmp_path / "tab")


def test_the_page_refuses_a_missing_commit_in_the_line_under_the_table_then_pins_one(
    blog_packs, fake_hub, tmp_path
):
    """The launched wizard (`python app.py`) through its API: the refused edit leaves the table's pins
    and says why under it, the accepted one shows its commit and clears the line, Build locks it."""
    from gradio_client import Client, handle_file

    from tests.wizard_server import wizard_app

    github, env, commits, _ = blog_packs
    env = {**env, "COMFY_REGISTRY_URL": closed_port_url()}
    with wizard_app(fake_hub.url, "hf_alicetoken", tmp_path / "wizard", env) as url:
        client = Client(url, verbose=False)
        try:
            opened = client.predict(handle_file(str(BLOG_WORKFLOW)), api_name="/open_file")
            table, problem = opened[11]["value"], opened[12]  # the views after the models table (no States)
            assert problem == "" and _commit_cells(table["data"]) == _short_pins(commits)
            rows = _typed(table["data"], KJNODES_URL, "Version", "deadbeef1234")
            *_, shown, problem = client.predict({**table, "data": rows}, api_name="/edit_packs")
            assert problem.startswith("⚠️ **Pack edit refused.** kijai/ComfyUI-KJNodes: commit deadbeef1234")
            assert f"keeps its pin {commits[KJNODES][:12]}" in problem
            table = shown["value"]  # the session's rows again: the typed commit is gone, the pins stay
            assert _by_repo(table["data"])[KJNODES_URL]["Version"] == ""
            assert _commit_cells(table["data"]) == _short_pins(commits)
            later = github.commit(KJNODES, LATER, {"new.py": "x"})
            rows = _typed(table["data"], KJNODES_URL, "Version", later)
            *_, shown, problem = client.predict({**table, "data": rows}, api_name="/edit_packs")
            assert problem == "" and _by_repo(shown["value"]["data"])[KJNODES_URL]["Commit"] == later[:12]
            lock = json.loads(client.predict(api_name="/build")[3])
            assert {entry["repo"]: entry["commit"] for entry in lock["custom_nodes"]}[KJNODES_URL] == later
        finally:
            client.close()
