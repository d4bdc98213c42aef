"""The blog's Flux Redux + Depth workflow (API format) and local stand-ins of its four custom-node packs,
for the pinning tests of the CLI (tests/test_packs_build.py) and of the page's packs table
(tests/test_packs_page.py); the `blog_packs` fixture (tests/conftest.py) makes them.

The stand-ins are git repositories reached through `url.<base>.insteadOf` (tests/packgit.py); the fake
registry's node metadata is made from the shared corpus' /object_info dump of the packs (derived data).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.fakeregistry import comfy_nodes_from_object_info
from tests.packgit import GitHubStandIn, pyproject

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "data" / "customnodes"
BLOG_WORKFLOW = Path(__file__).parent / "data" / "blog_flux_redux_depth_api.json"
BEFORE = "2025-06-01T12:00:00+00:00"
# The blog workflow's four packs: (GitHub repo, registry id, version, requirements.txt).
BLOG_PACKS = (
    (
        "kijai/ComfyUI-KJNodes",
        "comfyui-kjnodes",
        "1.1.7",
        "pillow>=10.3.0\nscipy\ncolor-matcher\nmss\nopencv-python\n",
    ),
    ("Suzie1/ComfyUI_Comfyroll_CustomNodes", "comfyroll", "1.76.0", ""),
    (
        "cubiq/ComfyUI_essentials",
        "comfyui_essentials",
        "1.1.0",
        "numba\ncolour-science\nrembg\npixeloe\ntransparent-background\n",
    ),
    ("kijai/ComfyUI-DepthAnythingV2", "comfyui-depthanythingv2", "1.0.1", "huggingface_hub\naccelerate\n"),
)


def closed_port_url() -> str:
    """A registry URL nothing answers at (a port just closed): the registry cannot be reached."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def blog_stand_ins(tmp_path: Path):
    """(GitHubStandIn, the environment that sends the product to it, {repo: its one commit},
    {repo: the fake registry's comfy-nodes of the pack}): one commit per pack, before ComfyUI's date,
    whose pyproject.toml is the registry version the fake registry describes."""
    object_info_path = CORPUS / "object_info-comfyui-0.3.64-with-10-packs.json"
    if not object_info_path.is_file():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    object_info = json.loads(object_info_path.read_text(encoding="utf-8"))
    classes = {pack["repo"]: pack["classes"] for pack in json.loads((CORPUS / "packs.json").read_text())}
    github = GitHubStandIn(tmp_path / "github")
    commits = {}
    for repo, pack_id, version, requirements in BLOG_PACKS:
        files = {"pyproject.toml": pyproject(pack_id, version), "requirements.txt": requirements}
        commits[repo] = github.commit(repo, BEFORE, files)
    env = {**os.environ, **github.environment(tmp_path / "cache")}
    return (
        github,
        env,
        commits,
        {repo: comfy_nodes_from_object_info(object_info, classes[repo]) for repo in classes},
    )
