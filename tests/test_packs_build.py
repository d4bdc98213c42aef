"""Packs in the generated Space: merged requirements with conflicts named at build time, every pack in
the lock pinned, and `python -m wizard` doing it all by itself (progress, --offline, --pin).

The CLI tests run the real command in a fresh process against local git repositories (through
`url.<base>.insteadOf`, tests/packgit.py) and the local fake Comfy Registry (tests/fakeregistry.py),
whose node metadata is made from the shared corpus' /object_info dump of the packs (derived data).
"""

from __future__ import annotations

import json

import pytest

from tests.blogpacks import BLOG_PACKS, BLOG_WORKFLOW, closed_port_url
from tests.fakeregistry import FakeRegistry
from tests.wizard_cli import run_wizard
from wizard.codegen import PINS, TORCH_PACKAGES, TORCH_PINS
from wizard.packs import merged_requirements
from wizard.errors import BuildError
from wizard.records import NodePack


def pack(name: str, *requirements: str) -> NodePack:
    return NodePack(
        name, f"https://github.com/x/{name}", None, ("C",), "aux_id", "0" * 40, tuple(requirements)
    )


# ----------------------------------------------------------------------------- merged requirements


def test_requirements_merge_per_package_in_the_packs_order():
    lines = merged_requirements(
        [
            pack("a", "scipy>=1.10", "opencv-python", "pywin32; sys_platform == 'win32'", "torch"),
            pack("b", "scipy<2", "opencv-python", "accelerate[torch]>=0.2"),
        ],
        [*PINS, *TORCH_PINS, "numpy>=1.25.0"],
        TORCH_PACKAGES,
    )
    assert lines == ["scipy<2,>=1.10", "opencv-python", "accelerate[torch]>=0.2"]


@pytest.mark.parametrize(
    "first, second, words",
    [
        ("numpy==1.26.4", "numpy>=2", "no numpy release satisfies a (numpy==1.26.4), b (numpy>=2)"),
        ("opencv-python<4", "opencv-python>=4.8", "no opencv-python release satisfies"),
        ("torch<2.5", "scipy", "a needs torch other than the pinned 2.9.1"),
        ("torchvision==0.20.0", "torchvision==0.20.0", "a, b need torchvision other than the pinned 0.24.1"),
        ("gradio<5", "scipy", "no gradio release satisfies the Space (gradio==6.31.0), a (gradio<5)"),
    ],
)
def test_conflicting_requirements_are_named_at_build_time(first, second, words):
    with pytest.raises(BuildError, match="custom-node requirements conflict") as raised:
        merged_requirements([pack("a", first), pack("b", second)], [*PINS, *TORCH_PINS], TORCH_PACKAGES)
    assert words in str(raised.value)


def test_compatible_bounds_are_no_conflict():
    assert merged_requirements([pack("a", "x>1"), pack("b", "x<2")], [], TORCH_PACKAGES) == ["x<2,>1"]
    assert (
        merged_requirements(
            [pack("a", "torch>=2.0"), pack("b", "torchaudio")], list(TORCH_PINS), TORCH_PACKAGES
        )
        == []
    )


# ----------------------------------------------------------------------------- the CLI


def test_the_blog_workflow_builds_a_space_with_its_four_packs_pinned(blog_packs, tmp_path):
    """Flux Redux + Depth in API format (no node properties) with KJNodes, Comfyroll, essentials and
    DepthAnythingV2 nodes: the packs are found, pinned by the date rule, defined from registry
    metadata; the Space exposes the style strength and lists and resolves the DepthAnything model."""
    github, env, commits, nodes = blog_packs
    with FakeRegistry() as registry:
        for repo, pack_id, version, _ in BLOG_PACKS:
            registry.add_version(pack_id, f"https://github.com/{repo}", version, comfy_nodes=nodes[repo])
        env["COMFY_REGISTRY_URL"] = registry.url
        result = run_wizard("build", BLOG_WORKFLOW, "-o", tmp_path / "space", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    for repo, pack_id, version, _ in BLOG_PACKS:
        assert f"fetching {repo} {commits[repo][:7]}… (node metadata of {pack_id} {version})" in result.stderr
    folder = tmp_path / "space"
    lock = json.loads((folder / "comfy.lock.json").read_text())
    assert [(entry["repo"], entry["commit"]) for entry in lock["custom_nodes"]] == [
        (f"https://github.com/{repo}", commits[repo])
        for repo in (
            "cubiq/ComfyUI_essentials",
            "kijai/ComfyUI-DepthAnythingV2",
            "kijai/ComfyUI-KJNodes",
            "Suzie1/ComfyUI_Comfyroll_CustomNodes",
        )
    ]
    spec = json.loads((folder / "appspec.json").read_text())
    assert any(
        (item["node_id"], item["input_name"]) == ("14", "strength") for item in spec["inputs"]
    ), "the style strength of StyleModelApplyAdvanced is an input"
    [depth] = [
        model for model in lock["models"] if model["name"] == "depth_anything_v2_vitl_fp32.safetensors"
    ]
    assert (depth["repo_id"], depth["folder"]) == ("Kijai/DepthAnythingV2-safetensors", "depthanything")
    requirements = (folder / "requirements.txt").read_text()
    section = requirements.split("# The pinned custom-node packs' requirements (comfy.lock.json), merged\n")[
        1
    ]
    assert section.split() == [
        "numba",
        "colour-science",
        "rembg",
        "pixeloe",
        "transparent-background",
        "accelerate",
        "pillow>=10.3.0",
        "color-matcher",
        "mss",
        "opencv-python",
    ]
    assert "warning:" not in result.stderr.replace("warning: model file", "")  # only unresolved Flux files


def test_offline_names_the_packs_it_lacks_then_works_from_the_cache(blog_packs, tmp_path):
    """The registry unreachable: --offline first (nothing cached: the packs are named, the build
    refuses unpinned packs), then an online run clones the packs from git, then --offline works."""
    github, env, commits, _ = blog_packs
    env["COMFY_REGISTRY_URL"] = closed_port_url()
    offline = run_wizard("build", BLOG_WORKFLOW, "--offline", "-o", tmp_path / "a", env=env)
    assert offline.returncode == 2
    assert (
        "custom-node packs not in the cache (offline): cubiq/ComfyUI_essentials (not cloned yet);"
        in offline.stderr
    )
    assert offline.stderr.strip().splitlines()[-1].startswith("error: custom-node pack ")
    online = run_wizard("inspect", BLOG_WORKFLOW, "--json", env=env)
    assert online.returncode == 0, online.stderr
    assert "cloning https://github.com/kijai/ComfyUI-KJNodes…" in online.stderr
    pinned = {entry["repo"]: entry["commit"] for entry in json.loads(online.stdout)["custom_nodes"]}
    assert pinned == {f"https://github.com/{repo}": commit for repo, commit in commits.items()}
    later = github.commit("kijai/ComfyUI-KJNodes", "2025-08-01T00:00:00+00:00", {"new.py": "x"})
    again = run_wizard(
        "inspect", BLOG_WORKFLOW, "--json", "--offline", "--pin", f"comfyui-kjnodes={later[:9]}", env=env
    )
    assert again.returncode == 0, again.stderr
    packs = {entry["repo"]: entry["commit"] for entry in json.loads(again.stdout)["custom_nodes"]}
    # Offline the new commit is not in the cached clone: the pin cannot be had, the date rule stands.
    assert packs["https://github.com/kijai/ComfyUI-KJNodes"] == commits["kijai/ComfyUI-KJNodes"]
    assert f"--pin {later[:9]}" in again.stderr and "cannot be had" in again.stderr
    online_pin = run_wizard(
        "inspect", BLOG_WORKFLOW, "--json", "--pin", f"ComfyUI-KJNodes={later[:9]}", env=env
    )
    packs = {entry["repo"]: entry["commit"] for entry in json.loads(online_pin.stdout)["custom_nodes"]}
    assert packs["https://github.com/kijai/ComfyUI-KJNodes"] == later
    bad = run_wizard("inspect", BLOG_WORKFLOW, "--pin", "kjnodes", env=env)
    assert (
        bad.returncode == 2
        and bad.stderr.strip() == "error: --pin needs PACK=COMMIT (a 7-40 digit git hash), got 'kjnodes'"
    )


def test_a_pin_edited_in_the_spec_stands_at_build(blog_packs, tmp_path):
    github, env, commits, _ = blog_packs
    env["COMFY_REGISTRY_URL"] = closed_port_url()
    spec_path = tmp_path / "spec.json"
    assert run_wizard("spec", BLOG_WORKFLOW, "-o", spec_path, env=env).returncode == 0
    spec = json.loads(spec_path.read_text())
    assert {entry["repo"]: entry["commit"] for entry in spec["custom_nodes"]} == {
        f"https://github.com/{repo}": commit for repo, commit in commits.items()
    }
    later = github.commit("kijai/ComfyUI-KJNodes", "2025-08-01T00:00:00+00:00", {"new.py": "x"})
    for entry in spec["custom_nodes"]:
        if entry["repo"].endswith("/ComfyUI-KJNodes"):
            entry["commit"] = later
    spec_path.write_text(json.dumps(spec))
    built = run_wizard("build", BLOG_WORKFLOW, "--spec", spec_path, "-o", tmp_path / "space", env=env)
    assert built.returncode == 0, built.stderr
    lock = json.loads((tmp_path / "space" / "comfy.lock.json").read_text())
    assert {entry["repo"]: entry["commit"] for entry in lock["custom_nodes"]} == {
        **{f"https://github.com/{repo}": commit for repo, commit in commits.items()},
        "https://github.com/kijai/ComfyUI-KJNodes": later,
    }
