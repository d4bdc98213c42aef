"""Corpus acceptance for custom-node workflows: `../shared/data/customnodes` (54 real UI workflows, JSON and
PNG, of 10 popular packs, each with the prompt frontend 1.27.10 made of it with the packs' JS loaded).

Tier 1: definitions from the corpus' `object_info-comfyui-0.3.64-with-10-packs.json`. Tier 3: definitions the
sandbox worker dumps itself from the packs cloned at the `packs.json` commits (`COMFY_PACK_MIRRORS`: a
folder of `<owner>+<name>/repo` git mirrors, fetched through `url.insteadOf` in a test git config). Both
compare with `truth/` as the corpus README says and need at least 95 % identical prompts, every workflow
with frontend-only nodes among them; each miss is printed with its reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from wizard.convert import convert
from wizard.ingest import load_path
from wizard.nodedefs import NodeDefs
from wizard.records import Conversion

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = REPO_ROOT.parent / "shared" / "data" / "customnodes"
OBJECT_INFO = CORPUS / "object_info-comfyui-0.3.64-with-10-packs.json"
REQUIRED_SHARE = 0.95

pytestmark = pytest.mark.skipif(
    not (CORPUS / "index.json").is_file(), reason=f"the custom-node corpus is not at {CORPUS}"
)


@dataclass(frozen=True)
class Outcome:
    """One workflow's comparison.

    Attributes:
        file: the workflow's path inside the corpus.
        frontend_only: the pack-provided frontend-only node types it holds.
        differences: one line per difference from the truth (empty when identical).
        reason: why it differs, when known.
    """

    file: str
    frontend_only: tuple[str, ...]
    differences: tuple[str, ...]
    reason: str = ""


def _server_defs() -> NodeDefs:
    return NodeDefs.from_object_info(json.loads(OBJECT_INFO.read_text(encoding="utf-8")), "corpus-server")


def _link(value):
    return [str(value[0]), value[1]] if isinstance(value, list) and len(value) == 2 else value


def prompt_differences(truth: dict, prompt: dict, server: NodeDefs) -> list[str]:
    """The corpus README's comparison: same ids and class types; every truth input the server's definition
    declares present and equal (links as `[str(id), slot]`); `_meta` ignored."""
    differences = []
    if set(truth) != set(prompt):
        differences.append(
            f"node ids: missing {sorted(set(truth) - set(prompt))}, extra {sorted(set(prompt) - set(truth))}"
        )
    for node_id, expected in truth.items():
        entry = prompt.get(node_id)
        if entry is None:
            continue
        if entry["class_type"] != expected["class_type"]:
            differences.append(
                f"node {node_id}: class {entry['class_type']!r}, truth {expected['class_type']!r}"
            )
            continue
        node_def = server.get(expected["class_type"])
        declared = {spec.name for spec in node_def.inputs} if node_def else None
        for name, value in expected["inputs"].items():
            if declared is not None and name not in declared:
                continue  # a widget the backend never reads (upload, control_after_generate, ...)
            got = entry["inputs"].get(name, "<absent>")
            if _link(got) != _link(value):
                differences.append(
                    f"node {node_id} ({expected['class_type']}).{name}: {str(got)[:50]!r}, truth {str(value)[:50]!r}"
                )
    return differences


def _reason(conversion: Conversion, differences: list[str]) -> str:
    if conversion.unknown_nodes:
        classes = sorted({node.class_type for node in conversion.unknown_nodes})
        return f"no definitions for {', '.join(classes)} (their pack's definitions are missing)"
    realigned = [flat for flat in conversion.nodes.values() if flat.realigned]
    differing_nodes = {line.split()[1] for line in differences if line.startswith("node ") and " " in line}
    if realigned and differing_nodes <= {flat.id for flat in realigned}:
        nodes = ", ".join(f"{flat.id} ({flat.class_type})" for flat in realigned)
        return (
            f"deliberate: nodes {nodes} were saved by an older signature; the frontend sends their values "
            "shifted by position, which ComfyUI rejects, and the converter realigns them by type (warned)"
        )
    return "unexplained"


def compare_corpus(defs: NodeDefs) -> list[Outcome]:
    server = _server_defs()
    outcomes = []
    for item in json.loads((CORPUS / "index.json").read_text(encoding="utf-8")):
        truth = json.loads((CORPUS / item["truth"]).read_text(encoding="utf-8"))["prompt"]
        conversion = convert(load_path(CORPUS / item["file"]), defs)
        differences = prompt_differences(truth, conversion.prompt, server)
        reason = _reason(conversion, differences) if differences else ""
        outcomes.append(Outcome(item["file"], tuple(item["frontend_only_nodes"]), tuple(differences), reason))
    return outcomes


def check(outcomes: list[Outcome], label: str) -> None:
    identical = [o for o in outcomes if not o.differences]
    misses = [o for o in outcomes if o.differences]
    print(f"\n{label}: {len(identical)}/{len(outcomes)} prompts identical to the frontend's")
    for miss in misses:
        print(f"  miss {miss.file}: {miss.reason}")
        for line in miss.differences[:8]:
            print(f"      {line}")
    kinds = {o.file.rsplit(".", 1)[-1] for o in outcomes}
    assert kinds == {"json", "png"}
    assert len(identical) >= math.ceil(REQUIRED_SHARE * len(outcomes)), [m.file for m in misses]
    assert not [m.file for m in misses if m.frontend_only], "every frontend-only-node workflow must match"
    assert not [m.file for m in misses if m.reason == "unexplained"]


def test_tier1_corpus_matches_the_frontend_with_the_servers_definitions():
    check(compare_corpus(_server_defs()), "tier 1 (definitions from the corpus' object_info)")


def test_without_pack_definitions_custom_nodes_keep_links_and_warn():
    """The snapshot alone knows no pack class: such nodes keep class type and links, with a warning."""
    item = next(i for i in json.loads((CORPUS / "index.json").read_text()) if "ComfyUI-KJNodes" in i["packs"])
    conversion = convert(load_path(CORPUS / item["file"]), NodeDefs.snapshot())
    assert conversion.unknown_nodes
    unknown = conversion.unknown_nodes[0]
    assert any(f"node {unknown.id}: node type {unknown.class_type!r}" in w for w in conversion.warnings)
    assert all(
        isinstance(v, list) for v in conversion.prompt[unknown.id]["inputs"].values()
    ), "no guessed widget values"


@pytest.mark.tier2
def test_tier3_corpus_matches_the_frontend_with_definitions_dumped_here(corpus_pack_definitions):
    definitions = corpus_pack_definitions

    print(f"\npack import failures: {definitions.failures or 'none'}")
    check(compare_corpus(NodeDefs.snapshot().with_extra(definitions.object_info)), "tier 3 (dumped here)")


def test_analysis_with_pack_definitions_types_custom_inputs_and_outputs():
    """Custom widgets become typed candidates (ranges, choices, uploads); pack output nodes become outputs."""
    from wizard.analyze import analyze

    defs = _server_defs()
    loaded = load_path(CORPUS / "workflows" / "Kosinkadink__ComfyUI-VideoHelperSuite__tests__old-prores.json")
    analysis = analyze(convert(loaded, defs), defs)
    assert {o.class_type: o.kind for o in analysis.outputs} == {"VHS_VideoCombine": "video"}
    by_name = {(c.class_type, c.input_name): c for c in analysis.inputs}
    video = by_name[("VHS_LoadVideo", "video")]
    assert (video.value_type, video.media, video.component) == ("FILE", "video", "Video")
    rate = by_name[("VHS_LoadVideo", "force_rate")]
    assert (rate.component, rate.minimum, rate.maximum) == ("Slider", 0, 60)
    formats = by_name[("VHS_VideoCombine", "format")]
    assert formats.component == "Dropdown" and "video/h264-mp4" in formats.choices
