"""Tier 3: the corpus' 10 real packs, cloned by the product from their `https://github.com/...` URLs,
which a test git config sends (`url.<mirror>.insteadOf`) to local mirrors:
`COMFY_PACK_MIRRORS=/folder` holding `<owner>+<name>/repo` (a bare repository each, holding every
commit of shared/data/customnodes/packs.json). Skipped, with the reason, when it is not set.
The Comfy Registry is unreachable throughout (a closed port): every pin comes from git.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.packgit import GitHubStandIn
from tests.test_packs import node
from tests.workflows import conversion_of
from tests.wizard_cli import run_wizard
from wizard.codegen import PINS, TORCH_PACKAGES, TORCH_PINS, comfyui_requirements
from wizard.packs import COMFYUI_COMMIT_DATE, identify_packs, merged_requirements, pin_packs
from wizard.records import NodePack

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "data" / "customnodes"
BLOG_WORKFLOW = Path(__file__).parent / "data" / "blog_flux_redux_depth_api.json"


@pytest.fixture(scope="module")
def packs() -> list[dict]:
    if not (CORPUS / "packs.json").is_file():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return json.loads((CORPUS / "packs.json").read_text())


@pytest.fixture
def mirrored(tmp_path, monkeypatch, packs) -> GitHubStandIn:
    mirrors = os.environ.get("COMFY_PACK_MIRRORS")
    if not mirrors:
        pytest.skip("tier 3: set COMFY_PACK_MIRRORS to a folder of <owner>+<name>/repo pack mirrors")
    stand_in = GitHubStandIn(tmp_path / "github")
    for pack in packs:
        mirror = Path(mirrors) / pack["repo"].replace("/", "+") / "repo"
        if not mirror.is_dir():
            pytest.skip(f"tier 3: no mirror of {pack['repo']} at {mirror}")
        stand_in.mirror(pack["repo"], mirror)
    for key, value in stand_in.environment(tmp_path / "cache").items():
        monkeypatch.setenv(key, value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("COMFY_REGISTRY_URL", f"http://127.0.0.1:{sock.getsockname()[1]}")
    return stand_in


def _committer_date(mirror: Path, commit: str) -> str:
    return subprocess.run(
        ["git", "show", "-s", "--format=%cI", commit], cwd=mirror, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_ten_packs_pin_by_the_date_rule_and_by_the_corpus_commits(mirrored, packs):
    from datetime import datetime

    bare = [
        NodePack(p["repo"], f"https://github.com/{p['repo']}", None, (p["classes"][0],), "aux_id")
        for p in packs
    ]
    by_date = pin_packs(bare)
    assert by_date.lacking == ()
    cut_off = datetime.fromisoformat(COMFYUI_COMMIT_DATE)
    mirrors = Path(os.environ["COMFY_PACK_MIRRORS"])
    for pack, pinned in zip(packs, by_date.packs):
        date = datetime.fromisoformat(
            _committer_date(mirrors / pack["repo"].replace("/", "+") / "repo", pinned.commit)
        )
        assert date <= cut_off, (pack["repo"], pinned.commit, date)
    named = pin_packs(
        [
            NodePack(
                p["repo"], f"https://github.com/{p['repo']}", p["commit"][:12], (p["classes"][0],), "aux_id"
            )
            for p in packs
        ]
    )
    assert [pinned.commit for pinned in named.packs] == [p["commit"] for p in packs]
    # Their real requirements merge without a conflict with the Space's pins; the bare `git+https://`
    # lines of WAS Node Suite are not PEP 508 and are named.
    merged = merged_requirements(named.packs, [*PINS, *TORCH_PINS, *comfyui_requirements()], TORCH_PACKAGES)
    print(f"\n{len(merged)} merged requirement lines from the 10 packs: {merged}")
    assert "accelerate" in merged and not any(line.split("[")[0].startswith("torch") for line in merged)
    assert [w for w in named.warnings if "is not a PEP 508 line" in w] and all(
        w.startswith("WASasquatch/was-node-suite-comfyui: ") for w in named.warnings
    )


def test_a_registry_version_of_a_real_pack_is_pinned_from_its_pyproject(mirrored):
    """comfyui-kjnodes 1.1.7 with the registry unreachable: the commit that set `version = "1.1.7"`."""
    workflow = conversion_of(node("1", "GetImageSizeAndCount", cnr_id="comfyui-kjnodes", ver="1.1.7"))
    [pinned] = pin_packs(identify_packs(workflow).packs).packs
    mirror = Path(os.environ["COMFY_PACK_MIRRORS"]) / "kijai+ComfyUI-KJNodes" / "repo"
    text = subprocess.run(
        ["git", "show", f"{pinned.commit}:pyproject.toml"],
        cwd=mirror,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'version = "1.1.7"' in text and pinned.version == "1.1.7"


def test_the_blog_workflow_builds_with_the_real_packs(mirrored, tmp_path):
    result = run_wizard("build", BLOG_WORKFLOW, "-o", tmp_path / "space", env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr
    lock = json.loads((tmp_path / "space" / "comfy.lock.json").read_text())
    assert len(lock["custom_nodes"]) == 4 and all(
        len(entry["commit"]) == 40 for entry in lock["custom_nodes"]
    )
    requirements = (tmp_path / "space" / "requirements.txt").read_text()
    assert "color-matcher" in requirements and "accelerate" in requirements


def test_every_corpus_workflow_builds_with_every_pack_pinned(mirrored, tmp_path):
    """All 54 corpus workflows (JSON and PNG), built as `python -m wizard build` builds them: every pack
    in every lock file has a 40-hex commit, and the corpus' packs are their original repositories."""
    from wizard.analyze import analyze
    from wizard.appspec import auto_spec
    from wizard.codegen import build_space
    from wizard.ingest import load_path
    from wizard.nodedefs import NodeDefs
    from wizard.packs import convert_with_packs

    originals = {
        f"https://github.com/{pack['repo']}" for pack in json.loads((CORPUS / "packs.json").read_text())
    }
    entries = json.loads((CORPUS / "index.json").read_text())
    pinned = 0
    for number, entry in enumerate(entries):
        packed = convert_with_packs(load_path(CORPUS / entry["file"]), NodeDefs.snapshot())
        analysis = analyze(packed.conversion, packed.node_defs)
        analysis = replace(analysis, custom_nodes=packed.setup.packs)
        folder = build_space(
            packed.conversion, auto_spec(packed.conversion, analysis), tmp_path / str(number)
        )
        lock = json.loads((folder / "comfy.lock.json").read_text())
        for pack in lock["custom_nodes"]:
            assert len(pack["commit"]) == 40 and pack["repo"] in originals, (entry["file"], pack)
            pinned += 1
    print(f"\n{len(entries)} corpus workflows built, {pinned} lock entries, every one pinned to a commit")
    assert pinned >= len(entries)


def test_output_nodes_read_from_the_real_packs_source_agree_with_their_import(mirrored, packs):
    """For the 10 packs at the corpus commits: the classes the source marks as output nodes (read with
    `ast`, `declared_output_nodes`) against `output_node` of the corpus' /object_info dump."""
    from wizard.packs import declared_output_nodes

    object_info = json.loads((CORPUS / "object_info-comfyui-0.3.64-with-10-packs.json").read_text())
    named = pin_packs(
        [
            NodePack(p["repo"], f"https://github.com/{p['repo']}", p["commit"], (p["classes"][0],), "aux_id")
            for p in packs
        ]
    )
    truth = found = 0
    for pack, pinned in zip(packs, named.packs):
        declared = declared_output_nodes(pinned.repo, pinned.commit, offline=False) & set(pack["classes"])
        outputs = {name for name in pack["classes"] if object_info[name].get("output_node")}
        assert declared <= outputs, (pack["name"], declared - outputs)  # never a wrong one
        truth, found = truth + len(outputs), found + len(declared)
    print(f"\noutput nodes read from source: {found} of {truth}")
    assert found >= 52  # rgthree's 3 names are computed at import (get_name(...))
