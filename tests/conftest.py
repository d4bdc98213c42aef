"""Shared fixtures. Tier-2 tests (marked `tier2`) need a ComfyUI checkout, found the way the
product finds it (`COMFYUI_PATH`, else the default install dir); without one they skip, saying so."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from runtime.locate import default_install_dir, find_comfyui

REPO_ROOT = Path(__file__).resolve().parent.parent


def _templates_dir() -> Path | None:
    spec = importlib.util.find_spec("comfyui_workflow_templates")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "templates"


def pytest_collection_modifyitems(config, items):
    if find_comfyui() is not None:
        return
    skip = pytest.mark.skip(
        reason=f"tier 2: no ComfyUI checkout at $COMFYUI_PATH or {default_install_dir()}; "
        "install it with `python -m runtime.install`"
    )
    for item in items:
        if "tier2" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def comfyui_path() -> Path:
    path = find_comfyui()
    if path is None:
        pytest.skip(f"tier 2: no ComfyUI checkout at $COMFYUI_PATH or {default_install_dir()}")
    return path


@pytest.fixture(scope="session")
def templates_dir() -> Path:
    """The 172 official workflows of comfyui-workflow-templates==0.1.95 (a requirement)."""
    path = _templates_dir()
    assert path is not None and path.is_dir(), "comfyui-workflow-templates is not installed"
    return path


@pytest.fixture(scope="session")
def template_paths(templates_dir: Path) -> list[Path]:
    paths = sorted(
        p for p in templates_dir.glob("*.json") if p.name != "index.json" and not p.name.startswith("index")
    )
    return paths


@pytest.fixture(scope="session")
def node_defs():
    from wizard.nodedefs import NodeDefs

    return NodeDefs.snapshot()


@pytest.fixture
def fake_hub():
    """A running local fake Hugging Face Hub (`tests/fakehub.py`) with users alice (`hf_alicetoken`, member of
    org `acme`) and bob (`hf_bobtoken`). Point huggingface_hub at it with `HF_ENDPOINT=fake_hub.url`, set before
    huggingface_hub is imported (in a subprocess)."""
    from tests.fakehub import FakeHub

    with FakeHub(users={"hf_alicetoken": "alice", "hf_bobtoken": "bob"}, orgs={"acme": ["alice"]}) as hub:
        yield hub


@pytest.fixture
def blog_packs(tmp_path):
    """Local git stand-ins of the blog workflow's four packs (`tests.blogpacks.blog_stand_ins`)."""
    from tests.blogpacks import blog_stand_ins

    return blog_stand_ins(tmp_path)


TIER3_MIRRORS = (
    "tier 3: set COMFY_PACK_MIRRORS to a folder of <owner>+<name>/repo git mirrors of the corpus' packs"
)


@pytest.fixture(scope="session")
def corpus_pack_definitions(tmp_path_factory, comfyui_path):
    """The node definitions the sandboxed worker dumps itself for the 10 packs of the shared corpus
    (`wizard.sandbox.dump_pack_definitions`), cloned by the product's plain `git` from the local mirrors of
    COMFY_PACK_MIRRORS through `url.insteadOf` in a test git config; once per test session (cold: ten clones
    and their requirements from PyPI). COMFY_PACK_CACHE keeps clones, overlays and dumps between runs."""
    import json
    import os

    from tests.blogpacks import CORPUS
    from wizard.sandbox import dump_pack_definitions

    mirrors = Path(os.environ.get("COMFY_PACK_MIRRORS") or "/nonexistent")
    if not mirrors.is_dir():
        pytest.skip(TIER3_MIRRORS)
    sections, packs = [], []
    for entry in json.loads((CORPUS / "packs.json").read_text(encoding="utf-8")):
        owner, name = entry["repo"].split("/")
        mirror = mirrors / f"{owner}+{name}" / "repo"
        sections.append(f'[url "{mirror.as_uri()}"]\n\tinsteadOf = https://github.com/{owner}/{name}\n')
        packs.append(
            {"pack": entry["name"], "repo": f"https://github.com/{owner}/{name}", "commit": entry["commit"]}
        )
    git_config = tmp_path_factory.mktemp("tier3") / "gitconfig"
    # The fetched mirrors lack some large files (weights, notebooks, images) no import reads: the server side
    # must allow the product's partial clone (`--filter=blob:none`) to leave them out, as GitHub does.
    git_config.write_text("".join(sections) + "[uploadpack]\n\tallowFilter = true\n", encoding="utf-8")
    cache = os.environ.get("COMFY_PACK_CACHE") or str(git_config.parent / "cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(git_config))
        patch.setenv("COMFYUI_PATH", str(comfyui_path))  # stays where it is when the cache moves
        patch.setenv("COMFYUI_HOME", cache)
        return dump_pack_definitions(packs, progress=print, timeout_s=600)
