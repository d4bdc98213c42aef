"""The converter against the real thing: ComfyUI frontend 1.27.10 in headless Chromium.

`tests/support/frontend_oracle.py` serves the installed frontend from ComfyUI's own server and, for
every template (and a few hand-made workflows for constructs the templates barely use), records what `app.loadGraphData` + `app.graphToPrompt` produce (the prompt the Queue
button posts). Each template's converted prompt must equal it: same node ids, class types, titles and
inputs. Dynamic prompts take their first option on both sides (`Math.random` pinned to 0 there, an
rng returning 0.0 here). The one deliberate difference: nodes the converter realigned (widget values
saved by an older node signature, `FlatNode.realigned`) keep their links and title, and their values
must be ones ComfyUI accepts where some of the frontend's shifted values are ones it rejects.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.oracle_workflows import WORKFLOWS, write_all
from wizard.ingest import load_path
from wizard.nodedefs import NodeDef, NodeDefs

SUPPORT = Path(__file__).parent / "support"
CHROMIUM = Path("/usr/bin/chromium")
ORACLE_TIMEOUT_S = 900


def _template_names() -> list[str]:
    spec = importlib.util.find_spec("comfyui_workflow_templates")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "templates"
    return sorted(path.stem for path in folder.glob("*.json") if not path.name.startswith("index"))


class FirstOption(random.Random):
    """Picks the first option of every `{a|b}` group, like the page with `Math.random = () => 0`."""

    def random(self) -> float:
        return 0.0


@pytest.fixture(scope="module")
def oracle_inputs(template_paths: list[Path], tmp_path_factory) -> dict[str, Path]:
    """Every template, plus the hand-made workflows of `tests/support/oracle_workflows.py`, by name."""
    hand_made = write_all(tmp_path_factory.mktemp("hand-made-workflows"))
    return {path.stem: path for path in [*template_paths, *hand_made]}


@pytest.fixture(scope="module")
def oracle_dir(comfyui_path: Path, oracle_inputs: dict[str, Path], tmp_path_factory) -> Path:
    """What the real frontend gave for all workflows at once (see `tests/support/frontend_oracle.py`)."""
    if not CHROMIUM.is_file() or importlib.util.find_spec("playwright") is None:
        pytest.skip("needs Debian chromium at /usr/bin/chromium and the playwright package")
    out_dir = tmp_path_factory.mktemp("frontend-oracle")
    completed = subprocess.run(
        [
            sys.executable,
            str(SUPPORT / "frontend_oracle.py"),
            str(out_dir),
            *map(str, oracle_inputs.values()),
        ],
        env=dict(os.environ, COMFYUI_PATH=str(comfyui_path)),
        capture_output=True,
        text=True,
        timeout=ORACLE_TIMEOUT_S,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    session = json.loads((out_dir / "_session.json").read_text())
    print(f"frontend oracle: {session}")
    keep = os.environ.get("FRONTEND_ORACLE_KEEP")  # a folder to keep the ground truth in, for inspection
    if keep:
        shutil.copytree(out_dir, keep, dirs_exist_ok=True)
    return out_dir


@pytest.fixture(scope="module")
def frontend_prompts(oracle_dir: Path) -> dict[str, dict]:
    """{workflow name: {"output", "errors", "seconds"}} from the real frontend."""
    return {
        path.stem: json.loads(path.read_text())
        for path in oracle_dir.glob("*.json")
        if not path.stem.startswith("_")  # _session, _titles
    }


@pytest.mark.tier2
@pytest.mark.browser
def test_oracle_reproduces_what_the_queue_button_sends(frontend_prompts, templates_dir):
    """The oracle itself: every workflow gave a prompt, and the default workflow's is the known one."""
    assert set(frontend_prompts) == set(_template_names()) | set(WORKFLOWS)
    default = frontend_prompts["default"]["output"]
    workflow = json.loads((templates_dir / "default.json").read_text())
    sampler = next(node for node in workflow["nodes"] if node["type"] == "KSampler")
    assert default[str(sampler["id"])]["inputs"]["seed"] == sampler["widgets_values"][0]
    assert {entry["class_type"] for entry in default.values()} == {
        "KSampler",
        "CheckpointLoaderSimple",
        "EmptyLatentImage",
        "CLIPTextEncode",
        "VAEDecode",
        "SaveImage",
    }
    empty = sorted(name for name, result in frontend_prompts.items() if not result["output"])
    assert not empty, f"the frontend produced no prompt for {empty}"
    failed = {name: result["errors"] for name, result in frontend_prompts.items() if result["errors"]}
    assert not failed, f"the page raised errors: {failed}"


@pytest.mark.tier2
@pytest.mark.browser
@pytest.mark.parametrize("name", _template_names() + list(WORKFLOWS))
def test_converter_matches_the_frontend(name, frontend_prompts, oracle_inputs, node_defs):
    if importlib.util.find_spec("wizard.convert") is None:
        pytest.skip("wizard.convert is not written yet; the oracle's ground truth is still checked above")
    from wizard.convert import convert

    conversion = convert(load_path(oracle_inputs[name]), node_defs, rng=FirstOption())
    ours, theirs = conversion.prompt, frontend_prompts[name]["output"]
    realigned = frozenset(node_id for node_id, flat in conversion.nodes.items() if flat.realigned)
    for node_id in sorted(realigned & set(theirs)):
        assert rejected_values(node_defs, theirs[node_id]), (
            f"{name}: node {node_id} was realigned, yet ComfyUI accepts the frontend's values "
            f"{_short(theirs[node_id]['inputs'])}: the realignment is not needed"
        )
        assert not rejected_values(node_defs, ours[node_id]), f"{name}: node {node_id} realigned wrongly"
    found = differences(ours, theirs, realigned)
    assert not found, f"{name}: {len(found)} difference(s) from frontend 1.27.10:\n" + "\n".join(found)


@pytest.mark.tier2
@pytest.mark.browser
def test_default_titles_are_the_frontends(oracle_dir, node_defs):
    """`NodeDef.display_name` (a new node's title) for every node type the page registered."""
    titles = json.loads((oracle_dir / "_titles.json").read_text())
    frontend_only = {"Note", "MarkdownNote", "PrimitiveNode", "Reroute"}  # virtual, registered by its JS
    assert set(titles) - frontend_only == {node_def.class_type for node_def in node_defs}
    ours = {node_type: node_defs.get(node_type).display_name for node_type in set(titles) - frontend_only}
    assert ours == {node_type: titles[node_type] for node_type in ours}


@pytest.mark.tier2
@pytest.mark.browser
def test_hand_made_workflows_exercise_what_they_claim(frontend_prompts):
    """The frontend's own answers show each hand-made construct took effect (so a match means something)."""
    dynamic = frontend_prompts["hand_dynamic_prompts"]["output"]
    assert dynamic["2"]["inputs"]["text"] == "a red cat  on a mat \n{kept} "  # first options, comments gone
    assert dynamic["6"]["inputs"]["filename_prefix"].startswith("runs/42_20_")
    wired = frontend_prompts["hand_primitive_reroute_bypass_mute"]["output"]
    assert wired["4"]["inputs"]["width"] == wired["4"]["inputs"]["height"] == 768  # PrimitiveNode pushed
    assert wired["6"]["inputs"]["images"] == ["7", 0]  # through the Reroute and the bypassed ImageInvert
    assert not {"8", "9", "10", "11", "12"} & set(wired)  # virtual, bypassed, muted and Note nodes dropped


def differences(
    ours: dict[str, Any], theirs: dict[str, Any], realigned: frozenset[str] = frozenset()
) -> list[str]:
    """One line per difference: node id, what differs, ours vs the frontend's (of `realigned` nodes,
    only class type, title and links)."""
    found = []
    for node_id in sorted(set(ours) | set(theirs), key=_id_key):
        if node_id not in theirs:
            found.append(f"node {node_id} ({ours[node_id]['class_type']}): only in ours")
            continue
        if node_id not in ours:
            found.append(f"node {node_id} ({theirs[node_id].get('class_type')}): only in the frontend's")
            continue
        mine, frontend = ours[node_id], theirs[node_id]
        if "class_type" not in frontend:
            # A node type this ComfyUI lacks (custom node not installed): the frontend sends no
            # class_type and one "UNKNOWN" widget value, so only its links can be compared.
            found += _input_differences(
                f"node {node_id} ({mine['class_type']}, unknown here)", mine, frontend, links=True
            )
            continue
        label = f"node {node_id} ({frontend['class_type']}{', realigned' if node_id in realigned else ''})"
        if mine["class_type"] != frontend["class_type"]:
            found.append(
                f"{label}: class_type ours {mine['class_type']!r} vs frontend {frontend['class_type']!r}"
            )
        if mine.get("_meta") != frontend.get("_meta"):
            found.append(
                f"{label}: _meta ours {_short(mine.get('_meta'))} vs frontend {_short(frontend.get('_meta'))}"
            )
        found += _input_differences(label, mine, frontend, links=node_id in realigned)
    return found


def rejected_values(node_defs: NodeDefs, entry: dict[str, Any]) -> list[str]:
    """Names of the widget values in a prompt entry that ComfyUI 0.3.64's `validate_inputs` rejects."""
    node_def = node_defs.get(entry["class_type"])
    assert node_def is not None, entry["class_type"]
    return [name for name, value in entry["inputs"].items() if comfy_rejects(node_def, name, value)]


def comfy_rejects(node_def: NodeDef, name: str, value: Any) -> bool:
    """Whether `validate_inputs` ([C] execution.py:835-915) rejects this value: a failed INT/FLOAT cast,
    a number outside min/max, or a value outside a list-form COMBO (STRING and BOOLEAN casts cannot fail;
    file lists are not judged, as the snapshot lists sentinels, not this machine's files)."""
    spec = next((spec for spec in node_def.inputs if spec.name == name), None)
    if spec is None or _is_link(value):
        return False
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    if spec.type in ("INT", "FLOAT"):
        try:
            number = int(value) if spec.type == "INT" else float(value)
        except (TypeError, ValueError, OverflowError):
            return True
        minimum, maximum = spec.options.get("min"), spec.options.get("max")
        return (minimum is not None and number < minimum) or (maximum is not None and number > maximum)
    list_form = isinstance(node_def.raw["input"][spec.section][name][0], list)
    if list_form and not (spec.model_folder or spec.input_file_kinds):
        return value not in spec.choices
    return False


def _input_differences(label: str, mine: dict, frontend: dict, *, links: bool) -> list[str]:
    """Differences between two nodes' inputs (with `links`, only inputs that are links on either side)."""
    ours_inputs, their_inputs = mine["inputs"], frontend["inputs"]
    names = set(ours_inputs) | set(their_inputs)
    if links:
        names = {
            name for name in names if _is_link(ours_inputs.get(name)) or _is_link(their_inputs.get(name))
        }
    found = []
    for name in sorted(names):
        if name not in their_inputs:
            found.append(f"{label} input {name!r}: ours {_short(ours_inputs[name])}, absent in frontend")
        elif name not in ours_inputs:
            found.append(f"{label} input {name!r}: absent in ours, frontend {_short(their_inputs[name])}")
        elif not same_json(ours_inputs[name], their_inputs[name]):
            found.append(
                f"{label} input {name!r}: ours {_short(ours_inputs[name])} vs frontend {_short(their_inputs[name])}"
            )
    return found


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values: 1 and 1.0 are the same number (JSON cannot tell them apart), but
    booleans are not numbers and lists must match item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b


def _id_key(node_id: str) -> tuple:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in node_id.split(":"))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 90 else text[:87] + "..."


def test_json_comparison_is_strict_about_types():
    assert same_json({"a": [1, "x"]}, {"a": [1.0, "x"]})
    assert not same_json(True, 1) and not same_json(0, False)
    assert not same_json(["4", 0], ["4", 0, 1]) and not same_json("1", 1)
    found = differences(
        {"1": {"class_type": "A", "inputs": {"x": 1, "y": 2}, "_meta": {"title": "A"}}},
        {
            "1": {"class_type": "A", "inputs": {"x": True, "z": 3}, "_meta": {"title": "A"}},
            "2": {"class_type": "B", "inputs": {}, "_meta": {"title": "B"}},
        },
    )
    assert found == [
        "node 1 (A) input 'x': ours 1 vs frontend true",
        "node 1 (A) input 'y': ours 2, absent in frontend",
        "node 1 (A) input 'z': absent in ours, frontend 3",
        "node 2 (B): only in the frontend's",
    ]
    unknown = differences(
        {"5": {"class_type": "CustomThing", "inputs": {"image": ["1", 0], "mask": ["2", 0], "size": 8}}},
        {"5": {"inputs": {"UNKNOWN": "x", "image": ["1", 0], "mask": ["3", 0]}, "_meta": {}}},
    )
    assert unknown == [
        'node 5 (CustomThing, unknown here) input \'mask\': ours ["2", 0] vs frontend ["3", 0]'
    ]
    shifted = differences(
        {"3": {"class_type": "A", "inputs": {"x": 2, "y": ["1", 0]}, "_meta": {"title": "A"}}},
        {"3": {"class_type": "A", "inputs": {"x": "fixed", "y": ["2", 0]}, "_meta": {"title": "B"}}},
        frozenset({"3"}),
    )
    assert shifted == [
        'node 3 (A, realigned): _meta ours {"title": "A"} vs frontend {"title": "B"}',
        'node 3 (A, realigned) input \'y\': ours ["1", 0] vs frontend ["2", 0]',
    ]


def test_comfy_rejects_what_validate_inputs_rejects(node_defs):
    sampler = node_defs.get("KSampler")  # V1: steps INT 1..10000, sampler_name a list-form COMBO
    assert comfy_rejects(sampler, "steps", "randomize") and comfy_rejects(sampler, "steps", 0)
    assert not comfy_rejects(sampler, "steps", "20") and not comfy_rejects(
        sampler, "steps", {"__value__": 20}
    )
    assert comfy_rejects(sampler, "sampler_name", "karras") and not comfy_rejects(
        sampler, "sampler_name", "euler"
    )
    assert not comfy_rejects(sampler, "model", "anything") and not comfy_rejects(sampler, "steps", ["4", 0])
    loader = node_defs.get("CheckpointLoaderSimple")
    assert not comfy_rejects(loader, "ckpt_name", "sd15.safetensors")  # file lists are not judged
    assert rejected_values(node_defs, {"class_type": "KSampler", "inputs": {"cfg": "x", "steps": 20}}) == [
        "cfg"
    ]


def test_convert_marks_exactly_the_realigned_nodes(templates_dir, node_defs):
    """What the oracle comparison relaxes: only nodes whose realignment a warning names."""
    from wizard.convert import convert

    conversion = convert(load_path(templates_dir / "api_rodin_gen2.json"), node_defs)
    assert [node_id for node_id, flat in conversion.nodes.items() if flat.realigned] == ["67"]
    assert [w for w in conversion.warnings if "realigned" in w][0].startswith("node 67 (Rodin3D_Gen2)")
    plain = convert(load_path(templates_dir / "default.json"), node_defs)
    assert not any(flat.realigned for flat in plain.nodes.values())
