"""`wizard.packs`: which pack provides each class, the commit each is pinned to, and the registry's node
metadata as definitions.

Git runs for real: the packs are local repositories made by each test, cloned by the product from
`https://github.com/...` URLs through `url.<base>.insteadOf` in a test `GIT_CONFIG_GLOBAL`
(tests/packgit.py). The Comfy Registry is either unreachable (a closed port on 127.0.0.1) or the local
fake in tests/fakeregistry.py, over real HTTP.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.fakeregistry import FakeRegistry, comfy_nodes_from_object_info
from tests.packgit import GitHubStandIn, pyproject
from tests.workflows import conversion_of
from wizard.packs import (
    COMFYUI_COMMIT_DATE,
    PackError,
    identify_packs,
    object_info_of_comfy_node,
    parse_choices,
    parse_pins,
    pin_packs,
    prepare_packs,
    registry_definitions,
)
from wizard.records import FlatNode, NodePack

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "data" / "customnodes"
BEFORE = "2025-06-01T12:00:00+00:00"  # before ComfyUI a125cd84's date (2025-10-12)
AFTER = "2025-11-01T12:00:00+00:00"


def node(node_id: str, class_type: str, inputs: dict | None = None, **properties) -> FlatNode:
    return FlatNode(
        id=node_id,
        class_type=class_type,
        title=class_type,
        inputs=dict(inputs or {}),
        widget_names=tuple(name for name, value in (inputs or {}).items() if not isinstance(value, list)),
        properties=properties,
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def github(tmp_path, monkeypatch) -> GitHubStandIn:
    """Local repositories in place of GitHub; the registry unreachable unless a test says otherwise."""
    stand_in = GitHubStandIn(tmp_path / "github")
    for key, value in stand_in.environment(tmp_path / "cache").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("COMFY_REGISTRY_URL", closed_port_url())
    return stand_in


@pytest.fixture(scope="module")
def corpus_object_info() -> dict:
    path = CORPUS / "object_info-comfyui-0.3.64-with-10-packs.json"
    if not path.is_file():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return json.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- identification


def test_pack_from_cnr_id_the_version_most_nodes_name():
    identified = identify_packs(
        conversion_of(
            node("1", "GetImageSizeAndCount", cnr_id="comfyui-kjnodes", ver="1.1.7"),
            node("2", "ImageResizeKJv2", cnr_id="comfyui-kjnodes", ver="1.1.7"),
            node("3", "ImageConcanate", cnr_id="comfyui-kjnodes", ver="1.0.9"),
            node("4", "KSampler", cnr_id="comfy-core", ver="0.3.64"),
        )
    )
    [pack] = identified.packs
    assert (pack.pack, pack.repo, pack.version, pack.source) == (
        "comfyui-kjnodes",
        "https://github.com/kijai/ComfyUI-KJNodes",
        "1.1.7",
        "cnr_id",
    )
    assert pack.class_types == ("GetImageSizeAndCount", "ImageResizeKJv2", "ImageConcanate")
    assert pack.commit is None and identified.warnings == ()


def test_pack_from_aux_id_and_cnr_id_wins_over_it():
    commit = "59b027e088c1c8facf7258f6e392d16d204b4d27"
    [aux] = identify_packs(
        conversion_of(node("7", "MyNewNode", aux_id="someone/ComfyUI-new", ver=commit))
    ).packs
    assert (aux.pack, aux.repo, aux.version, aux.source) == (
        "someone/ComfyUI-new",
        "https://github.com/someone/ComfyUI-new",
        commit,
        "aux_id",
    )
    [both] = identify_packs(
        conversion_of(
            node("1", "GetImageSizeAndCount", cnr_id="comfyui-kjnodes", aux_id="kijai/x", ver="1.1.7")
        )
    ).packs
    assert (both.pack, both.source) == ("comfyui-kjnodes", "cnr_id")


def test_pack_from_the_extension_map_and_one_repo_is_one_pack():
    packs = identify_packs(
        conversion_of(
            node("1", "DownloadAndLoadSAM2Model"),
            node("2", "Foo Bar (BillBum)"),  # matched by the pack's nodename_pattern
            node("3", "GetImageSizeAndCount", cnr_id="comfyui-kjnodes", ver="1.1.7"),
            node("4", "ImageResizeKJv2"),  # no properties, the same pack per the map
        )
    ).packs
    assert [(p.pack, p.repo, p.version, p.class_types, p.source) for p in packs] == [
        (
            "kijai/ComfyUI-segment-anything-2",
            "https://github.com/kijai/ComfyUI-segment-anything-2",
            None,
            ("DownloadAndLoadSAM2Model",),
            "extension-map",
        ),
        (
            "AhBumm/ComfyUI_BillBum_APIset_Nodes",
            "https://github.com/AhBumm/ComfyUI_BillBum_APIset_Nodes",
            None,
            ("Foo Bar (BillBum)",),
            "extension-map",
        ),
        (
            "comfyui-kjnodes",
            "https://github.com/kijai/ComfyUI-KJNodes",
            "1.1.7",
            ("GetImageSizeAndCount", "ImageResizeKJv2"),
            "cnr_id",
        ),
    ]


def test_unknown_classes_are_listed_for_the_user_and_core_needs_no_pack():
    [pack] = identify_packs(
        conversion_of(
            node("1", "NoPackEverDefinedThis"),
            node("2", "NorThisOne", cnr_id="comfy-core", ver="9.9.9"),  # a core node newer than this ComfyUI
            node("3", "CLIPTextEncode"),
        )
    ).packs
    assert (pack.pack, pack.repo, pack.class_types) == (None, None, ("NoPackEverDefinedThis", "NorThisOne"))
    assert identify_packs(conversion_of(node("1", "KSampler"), node("2", "SaveImage"))).packs == ()


def test_a_fork_manager_lists_is_attributed_to_its_original():
    """ComfyUI-Manager 4.3 lists only ltdrdata's "Revised" fork of WAS Node Suite."""
    [pack] = identify_packs(conversion_of(node("1", "Image Blend"), node("2", "Text Concatenate"))).packs
    assert pack.repo == "https://github.com/WASasquatch/was-node-suite-comfyui"


def test_an_ambiguous_class_goes_to_a_pack_the_workflow_needs_else_the_user_is_told():
    # "Sleep" is defined by KJNodes and by Duanyll/comfyui_functional.
    settled = identify_packs(conversion_of(node("1", "Sleep"), node("2", "ImageResizeKJv2")))
    assert [p.repo for p in settled.packs] == ["https://github.com/kijai/ComfyUI-KJNodes"]
    assert settled.warnings == ()
    alone = identify_packs(conversion_of(node("1", "Sleep")))
    [warning] = alone.warnings
    assert (
        warning.startswith("Sleep is provided by several packs: ") and "--pack 'Sleep=OWNER/REPO'" in warning
    )
    assert "Duanyll/comfyui_functional" in warning and "kijai/ComfyUI-KJNodes" in warning
    chosen = identify_packs(
        conversion_of(node("1", "Sleep")), parse_choices(["Sleep=Duanyll/comfyui_functional"])
    )
    assert [(p.repo, p.source) for p in chosen.packs] == [
        ("https://github.com/Duanyll/comfyui_functional", "user")
    ]
    assert chosen.warnings == ()


def test_the_corpus_packs_are_attributed_to_their_original_repositories(corpus_object_info):
    """Every one of the 54 corpus prompts the real frontend made (API format: no node properties, so
    ComfyUI-Manager's data decides): the packs found are exactly those whose classes it uses, each at
    the repository packs.json names (the original, e.g. WASasquatch's WAS Node Suite)."""
    from tests.workflows import conversion_from_prompt
    from wizard.nodedefs import NodeDefs

    packs = json.loads((CORPUS / "packs.json").read_text())
    repo_of = {name: f"https://github.com/{pack['repo']}" for pack in packs for name in pack["classes"]}
    defs = NodeDefs(corpus_object_info, source="corpus")
    entries = json.loads((CORPUS / "index.json").read_text())
    misses = []
    for entry in entries:
        prompt = json.loads((CORPUS / entry["truth"]).read_text())["prompt"]
        found = {pack.repo for pack in identify_packs(conversion_from_prompt(prompt, defs)).packs}
        wanted = {repo_of[node["class_type"]] for node in prompt.values() if node["class_type"] in repo_of}
        if found != wanted:
            misses.append(f"{entry['file']}: found {sorted(found)}, expected {sorted(wanted)}")
    print(
        f"{len(entries) - len(misses)}/{len(entries)} corpus workflows attributed to the original repositories"
    )
    assert not misses, "\n".join(misses)


# ----------------------------------------------------------------------------- pinning


def test_an_aux_id_commit_is_pinned_with_the_pack_requirements(github):
    first = github.commit(
        "someone/pack", BEFORE, {"requirements.txt": "numpy>=1.25\n# a comment\nopencv-python\n"}
    )
    github.commit("someone/pack", AFTER, {"requirements.txt": "numpy>=2\n"})
    pinned = pin_packs(
        identify_packs(conversion_of(node("1", "MyNode", aux_id="someone/pack", ver=first[:10]))).packs
    )
    [pack] = pinned.packs
    assert (pack.commit, pack.version, pack.repo) == (first, None, "https://github.com/someone/pack")
    assert pack.requirements == ("numpy>=1.25", "opencv-python")
    assert pinned.warnings == () and pinned.lacking == ()


@pytest.mark.tier2
def test_the_date_rule_s_cut_off_is_the_pinned_comfyui_commit_s_committer_date(comfyui_path):
    import subprocess

    from runtime.locate import COMFYUI_COMMIT

    completed = subprocess.run(
        ["git", "show", "-s", "--format=%cI", COMFYUI_COMMIT],
        cwd=comfyui_path,
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        pytest.skip(f"tier 2: {comfyui_path} is not a git checkout holding {COMFYUI_COMMIT[:8]}")
    assert completed.stdout.strip() == COMFYUI_COMMIT_DATE


def test_with_nothing_named_the_last_commit_on_or_before_comfyui_s_date_is_pinned(github):
    old = github.commit("kijai/ComfyUI-DepthAnythingV2", "2025-10-11T10:00:00+00:00", {"nodes.py": "1"})
    github.commit("kijai/ComfyUI-DepthAnythingV2", AFTER, {"nodes.py": "2"})
    [pack] = pin_packs(identify_packs(conversion_of(node("1", "DepthAnything_V2"))).packs).packs
    assert pack.commit == old
    assert COMFYUI_COMMIT_DATE.startswith("2025-10-12")


def test_a_missing_commit_falls_back_to_the_date_rule_with_a_warning_naming_both(github):
    old = github.commit("someone/pack", BEFORE, {"a.py": "1"})
    github.commit("someone/pack", AFTER, {"a.py": "2"})
    missing = "0123456789abcdef0123456789abcdef01234567"
    pinned = pin_packs(
        identify_packs(conversion_of(node("1", "MyNode", aux_id="someone/pack", ver=missing))).packs
    )
    assert pinned.packs[0].commit == old
    [warning] = pinned.warnings
    assert missing in warning and "https://github.com/someone/pack" in warning and "2025-10-12" in warning


def test_a_deleted_fork_falls_back_to_the_original_repository(github):
    """The workflow names a fork nobody can clone; the index's original provides its class."""
    original = github.commit("Suzie1/ComfyUI_Comfyroll_CustomNodes", BEFORE, {"nodes.py": "1"})
    fork_commit = "fedcba9876543210fedcba9876543210fedcba98"
    pinned = pin_packs(
        identify_packs(
            conversion_of(node("1", "CR Seed", aux_id="gone/ComfyUI_Comfyroll_CustomNodes", ver=fork_commit))
        ).packs
    )
    [pack] = pinned.packs
    assert (pack.repo, pack.commit) == ("https://github.com/Suzie1/ComfyUI_Comfyroll_CustomNodes", original)
    [warning] = pinned.warnings
    assert "https://github.com/gone/ComfyUI_Comfyroll_CustomNodes" in warning
    assert "https://github.com/Suzie1/ComfyUI_Comfyroll_CustomNodes" in warning


def test_a_registry_version_with_the_registry_unreachable_is_pinned_from_git(github):
    """The registry is a closed port: the version's tag, else its pyproject.toml commit, pins it."""
    github.commit(
        "kijai/ComfyUI-KJNodes",
        "2025-01-01T00:00:00+00:00",
        {"pyproject.toml": pyproject("comfyui-kjnodes", "1.1.6")},
    )
    v117 = github.commit(
        "kijai/ComfyUI-KJNodes",
        "2025-02-01T00:00:00+00:00",
        {"pyproject.toml": pyproject("comfyui-kjnodes", "1.1.7")},
    )
    github.commit("kijai/ComfyUI-KJNodes", "2025-03-01T00:00:00+00:00", {"x.py": "later, still 1.1.7"})
    tagged = github.commit("kijai/ComfyUI-KJNodes", "2025-04-01T00:00:00+00:00", {"x.py": "2"}, tag="v1.2.0")
    packs = identify_packs(
        conversion_of(
            node("1", "GetImageSizeAndCount", cnr_id="comfyui-kjnodes", ver="1.1.7"),
        )
    ).packs
    pinned = pin_packs(packs)
    [pack] = pinned.packs
    assert (pack.commit, pack.version) == (v117, "1.1.7")
    assert any("Comfy Registry cannot be reached" in warning for warning in pinned.warnings)
    github.commit("kijai/ComfyUI-KJNodes", "2025-05-01T00:00:00+00:00", {"x.py": "3"})  # the date rule's pick
    retagged = pin_packs([NodePack("comfyui-kjnodes", None, "1.2.0", ("GetImageSizeAndCount",), "cnr_id")])
    assert retagged.packs[0].commit == tagged and retagged.packs[0].version == "1.2.0"
    assert not [warning for warning in retagged.warnings if "cannot be had" in warning]
    assert retagged.packs[0].repo == "https://github.com/kijai/ComfyUI-KJNodes"  # from the index


def test_a_registry_version_takes_its_repository_and_date_from_the_registry(github, monkeypatch):
    """A pack Manager does not know: the registry names its repository; no tag or pyproject names
    the version, so its commit is the last one on or before the version's publication."""
    published = github.commit("newdev/shiny-nodes", "2025-05-01T00:00:00+00:00", {"a.py": "1"})
    github.commit("newdev/shiny-nodes", "2025-05-03T00:00:00+00:00", {"a.py": "2"})
    with FakeRegistry() as registry:
        registry.add_version(
            "shiny-nodes", "https://github.com/newdev/shiny-nodes", "0.4.0", created_at="2025-05-02T00:00:00Z"
        )
        monkeypatch.setenv("COMFY_REGISTRY_URL", registry.url)
        pinned = pin_packs(
            identify_packs(conversion_of(node("1", "ShinyNode", cnr_id="shiny-nodes", ver="0.4.0"))).packs
        )
    [pack] = pinned.packs
    assert (pack.repo, pack.commit, pack.version) == (
        "https://github.com/newdev/shiny-nodes",
        published,
        "0.4.0",
    )
    assert pinned.warnings == ()
    assert "/nodes/shiny-nodes/versions/0.4.0" in registry.requests


def test_a_pin_override_wins_and_a_bad_one_is_one_line(github):
    first = github.commit("someone/pack", BEFORE, {"a.py": "1"})
    github.commit("someone/pack", "2025-07-01T00:00:00+00:00", {"a.py": "2"})
    packs = identify_packs(conversion_of(node("1", "MyNode", aux_id="someone/pack"))).packs
    assert pin_packs(packs, pins=parse_pins([f"pack={first[:8]}"])).packs[0].commit == first
    assert pin_packs(packs, pins=parse_pins([f"someone/pack={first}"])).packs[0].commit == first
    with pytest.raises(PackError, match="--pin needs PACK=COMMIT"):
        parse_pins(["pack=main"])


def test_offline_uses_only_the_cache_and_names_what_it_lacks(github):
    commit = github.commit("someone/pack", BEFORE, {"a.py": "1"})
    packs = identify_packs(conversion_of(node("1", "MyNode", aux_id="someone/pack"))).packs
    lacking = pin_packs(packs, offline=True)
    assert lacking.packs[0].commit is None
    assert lacking.lacking == ("someone/pack (not cloned yet)",)
    assert pin_packs(packs).packs[0].commit == commit  # online: cloned into the cache
    (github.repo("someone/pack") / ".git").rename(
        github.repo("someone/pack").parent / "moved"
    )  # "GitHub" gone
    assert pin_packs(packs, offline=True).packs[0].commit == commit


# ----------------------------------------------------------------------------- registry metadata


def test_registry_node_metadata_agrees_with_the_corpus_definitions(corpus_object_info, tmp_path, monkeypatch):
    """The fake registry serves ComfyNode records made from the corpus' /object_info dump of the 10 packs
    (derived data, not the real registry's); read back through the registry's paging, every class
    has the inputs, outputs, names, list flags and category of the packs' own import."""
    monkeypatch.setenv("COMFYUI_HOME", str(tmp_path / "cache"))
    packs = json.loads((CORPUS / "packs.json").read_text())
    with FakeRegistry() as registry:
        for pack in packs:
            nodes = comfy_nodes_from_object_info(corpus_object_info, pack["classes"])
            registry.add_version(
                pack["name"].lower(), f"https://github.com/{pack['repo']}", "1.0.0", comfy_nodes=nodes
            )
        monkeypatch.setenv("COMFY_REGISTRY_URL", registry.url)
        read = {}
        for pack in packs:
            read.update(registry_definitions(pack["name"].lower(), "1.0.0", offline=False))
        pages = sum("/comfy-nodes?" in request for request in registry.requests)
    classes = [name for pack in packs for name in pack["classes"]]
    assert len(read) == len(classes) == 878
    assert pages > len(packs)  # the bigger packs took several pages
    keys = ("input", "output", "output_name", "output_is_list", "category", "description")
    differing = [
        name
        for name in classes
        if any(read[name][k] != corpus_object_info[name].get(k, read[name][k]) for k in keys)
    ]
    assert differing == []
    # Offline, the cached copy answers.
    assert registry_definitions(packs[0]["name"].lower(), "1.0.0", offline=True) == {
        name: read[name] for name in packs[0]["classes"]
    }


def test_registry_metadata_converts_the_corpus_like_the_packs_own_definitions(corpus_object_info):
    """Every corpus workflow converts to the same prompt (titles aside) with registry-shaped
    definitions (core snapshot + ComfyNode records made from the corpus dump) as with the dump itself."""
    from wizard.convert import convert
    from wizard.ingest import load_path
    from wizard.nodedefs import NodeDefs
    from wizard.packs import merged_node_defs

    packs = json.loads((CORPUS / "packs.json").read_text())
    registry_shaped = {
        node["comfy_node_name"]: object_info_of_comfy_node(json.loads(json.dumps(node)))
        for pack in packs
        for node in comfy_nodes_from_object_info(corpus_object_info, pack["classes"])
    }
    full = NodeDefs(corpus_object_info, source="corpus")
    shaped = merged_node_defs(NodeDefs.snapshot(), registry_shaped)
    entries = json.loads((CORPUS / "index.json").read_text())
    same = 0
    for entry in entries:
        loaded = load_path(CORPUS / entry["file"])
        expected, got = convert(loaded, full).prompt, convert(loaded, shaped).prompt
        strip = lambda prompt: {
            k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in prompt.items()
        }
        same += strip(expected) == strip(got)
    print(f"{same}/{len(entries)} corpus prompts identical with registry-shaped definitions")
    assert same == len(entries)


def test_python_literal_metadata_is_read_too():
    entry = object_info_of_comfy_node(
        {
            "comfy_node_name": "Old",
            "input_types": "{'required': {'x': ('INT', {'default': 1})}}",
            "return_types": "('IMAGE',)",
            "return_names": "",
        }
    )
    assert entry["input"] == {"required": {"x": ("INT", {"default": 1})}}
    assert (entry["output"], entry["output_name"], entry["output_is_list"]) == (["IMAGE"], ["IMAGE"], [False])


# ----------------------------------------------------------------------------- the whole setup


def test_prepare_packs_uses_registry_metadata_for_a_pinned_version_commit(
    github, corpus_object_info, monkeypatch
):
    """No properties (API format): the date rule pins a commit whose pyproject.toml is a registry
    version, so that version's node metadata defines the classes; a class nothing else knows is found
    through `GET /comfy-nodes/{class}/node`."""
    pinned = github.commit(
        "kijai/ComfyUI-DepthAnythingV2",
        BEFORE,
        {"pyproject.toml": pyproject("comfyui-depthanythingv2", "1.0.1")},
    )
    shiny = github.commit("newdev/shiny-nodes", BEFORE, {"pyproject.toml": pyproject("shiny-nodes", "0.4.0")})
    da_classes = ["DepthAnything_V2", "DownloadAndLoadDepthAnythingV2Model"]
    shiny_node = {
        "comfy_node_name": "ShinyNode",
        "input_types": '{"required": {"image": ["IMAGE"]}}',
        "return_types": '["IMAGE"]',
    }
    with FakeRegistry() as registry:
        registry.add_version(
            "comfyui-depthanythingv2",
            "https://github.com/kijai/ComfyUI-DepthAnythingV2",
            "1.0.1",
            comfy_nodes=comfy_nodes_from_object_info(corpus_object_info, da_classes),
        )
        registry.add_version(
            "shiny-nodes", "https://github.com/newdev/shiny-nodes", "0.4.0", comfy_nodes=[shiny_node]
        )
        monkeypatch.setenv("COMFY_REGISTRY_URL", registry.url)
        lines = []
        setup = prepare_packs(
            conversion_of(node("1", "DepthAnything_V2"), node("2", "ShinyNode")), progress=lines.append
        )
    assert [(p.pack, p.commit, p.version) for p in setup.packs] == [
        ("kijai/ComfyUI-DepthAnythingV2", pinned, None),
        ("shiny-nodes", shiny, "0.4.0"),
    ]
    assert set(setup.object_info) == {*da_classes, "ShinyNode"}
    assert (
        f"fetching kijai/ComfyUI-DepthAnythingV2 {pinned[:7]}… (node metadata of comfyui-depthanythingv2 1.0.1)"
        in lines
    )
    assert setup.lacking == ()


def test_a_registry_answering_503_counts_as_unreachable_and_unknown_classes_stay_for_the_user(
    github, monkeypatch
):
    v2 = github.commit(
        "kijai/ComfyUI-KJNodes", BEFORE, {"pyproject.toml": pyproject("comfyui-kjnodes", "1.1.7")}
    )
    with FakeRegistry(down=True) as registry:
        monkeypatch.setenv("COMFY_REGISTRY_URL", registry.url)
        setup = prepare_packs(
            conversion_of(
                node("1", "NoPackEverDefinedThis"),
                node("2", "NorThisOne"),
                node("3", "GetImageSizeAndCount", cnr_id="comfyui-kjnodes", ver="1.1.7"),
            )
        )
    # One look-up for the unknown classes, then the registry is left alone; pinning goes to git.
    assert registry.requests[0] == "/comfy-nodes/NoPackEverDefinedThis/node"
    assert not any("NorThisOne" in request for request in registry.requests)
    unknown, kjnodes = setup.packs
    assert (unknown.pack, unknown.class_types) == (None, ("NoPackEverDefinedThis", "NorThisOne"))
    assert (kjnodes.commit, kjnodes.version) == (v2, "1.1.7")
    assert any(
        "Comfy Registry cannot be reached" in warning and "HTTP 503" in warning for warning in setup.warnings
    )


def test_a_registry_version_nobody_can_place_falls_back_to_the_date_rule(github):
    old = github.commit(
        "kijai/ComfyUI-KJNodes", BEFORE, {"pyproject.toml": pyproject("comfyui-kjnodes", "1.0.0")}
    )
    github.commit("kijai/ComfyUI-KJNodes", AFTER, {"pyproject.toml": pyproject("comfyui-kjnodes", "1.0.1")})
    pinned = pin_packs([NodePack("comfyui-kjnodes", None, "9.9.9", ("GetImageSizeAndCount",), "cnr_id")])
    [pack] = pinned.packs
    assert (pack.commit, pack.version) == (old, "9.9.9")
    fallback = [warning for warning in pinned.warnings if "cannot be had" in warning]
    assert fallback == [
        "comfyui-kjnodes: comfyui-kjnodes version 9.9.9 (no tag or pyproject.toml names it) cannot be had; "
        "using https://github.com/kijai/ComfyUI-KJNodes at its last commit on or before ComfyUI a125cd84's "
        "date (2025-10-12)"
    ]


def test_output_nodes_are_read_from_the_pack_source_without_running_it(github, monkeypatch):
    """The registry's metadata has no output flag: the pinned commit's Python source says it (parsed
    with `ast`; the module would raise if it were imported)."""
    source = """raise RuntimeError("importing this pack is not allowed in this test")
from nodes import PreviewImage
class Saver:
    OUTPUT_NODE = True
class Shower(PreviewImage):
    pass
class Later(Saver):
    pass
class Plain:
    OUTPUT_NODE = False
class V3:
    @classmethod
    def define_schema(cls):
        return Schema(node_id="V3", is_output_node=True)
NODE_CLASS_MAPPINGS = {"Save It": Saver, "Show It": Shower, "Plain": Plain, "V3 Out": V3}
NODE_CONFIG = {"Later One": {"class": Later, "name": "Later"}}
"""
    nodes = [
        {"comfy_node_name": name, "input_types": '{"required": {"x": ["INT", {}]}}', "return_types": returns}
        for name, returns in [
            ("Save It", '["STRING"]'),
            ("Show It", '["IMAGE"]'),
            ("Plain", '["INT"]'),
            ("V3 Out", '["INT"]'),
            ("Later One", '["INT"]'),
            ("Sink", "[]"),
        ]
    ]
    commit = github.commit(
        "someone/outputs", BEFORE, {"pyproject.toml": pyproject("outputs", "1.0.0"), "nodes.py": source}
    )
    with FakeRegistry() as registry:
        registry.add_version("outputs", "https://github.com/someone/outputs", "1.0.0", comfy_nodes=nodes)
        monkeypatch.setenv("COMFY_REGISTRY_URL", registry.url)
        setup = prepare_packs(conversion_of(node("1", "Plain", aux_id="someone/outputs", ver=commit)))
    flags = {name: entry["output_node"] for name, entry in setup.object_info.items()}
    assert flags == {
        "Save It": True,
        "Show It": True,
        "Plain": False,
        "V3 Out": True,
        "Later One": True,
        "Sink": True,
    }
