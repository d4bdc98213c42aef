"""Corpus acceptance: the 172 official templates of comfyui-workflow-templates 0.1.95.

Tier 1: every template converts. Tier 2: ComfyUI 0.3.64's own `execution.validate_prompt` accepts at
least 169 of the converted prompts, not counting errors caused only by model or input files that are
absent on this machine (every rejection is printed with its reason); and the templates with special
constructs convert exactly as the real frontend converts them in a browser.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.convert import convert
from wizard.records import LoadedWorkflow

SUPPORT = Path(__file__).parent / "support" / "validate_prompts.py"
ORACLE = Path(__file__).parent / "support" / "frontend_oracle.py"
REQUIRED_ACCEPTED = 169
BYPASS_SAMPLE = 5  # templates with bypassed nodes are many; the first few (by name) are compared


def _load(path: Path) -> LoadedWorkflow:
    return LoadedWorkflow(path.name, "json", json.loads(path.read_text(encoding="utf-8")), None)


def test_every_template_converts(template_paths, node_defs):
    assert len(template_paths) == 172
    for path in template_paths:
        conversion = convert(_load(path), node_defs)
        assert conversion.prompt, path.name
        for node_id, entry in conversion.prompt.items():
            assert set(entry) == {"inputs", "class_type", "_meta"}, (path.name, node_id)
            for value in entry["inputs"].values():
                if isinstance(value, list):  # a link: [origin id present in the prompt, slot]
                    assert len(value) == 2 and value[0] in conversion.prompt, (path.name, node_id, value)


def _is_absent_file_error(error: dict, class_type: str, node_defs) -> bool:
    """Errors that only say a model or input file is not on this machine."""
    node_def = node_defs.get(class_type)
    input_name = (error.get("extra_info") or {}).get("input_name")
    spec = node_def.input(input_name) if node_def and input_name else None
    if error["type"] == "value_not_in_list":
        return spec is not None and bool(spec.model_folder or spec.input_file_kinds)
    if error["type"] == "custom_validation_failed":  # LoadImage & co: "Invalid image file: NAME"
        return (
            spec is not None and spec.type == "COMBO" and "invalid" in str(error.get("details", "")).lower()
        )
    return False


def _rejection(result: dict, node_defs) -> str | None:
    """None when ComfyUI accepted the prompt apart from absent files, else the reasons."""
    reasons = []
    for node_id, node_error in (result.get("node_errors") or {}).items():
        for error in node_error["errors"]:
            if not _is_absent_file_error(error, node_error["class_type"], node_defs):
                reasons.append(
                    f"node {node_id} ({node_error['class_type']}): {error['type']}: {error.get('details')}"
                )
    error = result.get("error") or {}
    if not result["ok"] and error.get("type") != "prompt_outputs_failed_validation":
        reasons.append(f"{error.get('type')}: {error.get('message')} {error.get('details')}")
    return "; ".join(reasons) or None


@pytest.mark.tier2
def test_comfyui_accepts_converted_templates(template_paths, node_defs, comfyui_path, tmp_path):
    prompts = {path.name: convert(_load(path), node_defs).prompt for path in template_paths}
    prompts_file = tmp_path / "prompts.json"
    prompts_file.write_text(json.dumps(prompts), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(SUPPORT), str(comfyui_path), str(prompts_file)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["node_count"] == len(node_defs)  # core, extra and API nodes all loaded
    rejections = {name: _rejection(result, node_defs) for name, result in report["results"].items()}
    rejected = {name: reason for name, reason in rejections.items() if reason}
    accepted = len(prompts) - len(rejected)
    print(
        f"\nComfyUI ({report['node_count']} node classes) accepted {accepted}/{len(prompts)} converted templates"
    )
    for name, reason in sorted(rejected.items()):
        print(f"  rejected {name}: {reason}")
    assert accepted >= REQUIRED_ACCEPTED, rejected


class _FirstOption:
    """Dynamic prompts take the first option, as the oracle pins `Math.random` to 0."""

    def random(self) -> float:
        return 0.0


def _constructs(workflow: dict) -> set[str]:
    graphs = [workflow, *((workflow.get("definitions") or {}).get("subgraphs") or [])]
    nodes = [node for graph in graphs for node in graph["nodes"]]
    found = {"subgraph"} if len(graphs) > 1 else set()
    found |= {node["type"] for node in nodes if node["type"] in ("PrimitiveNode", "Reroute")}
    found |= {f"mode {node.get('mode')}" for node in nodes if node.get("mode") in (2, 4)}
    return found


def _comparable(entry: dict, node_defs) -> dict:
    """A prompt entry as far as the frontend and the converter must agree on it.

    Titles of nodes whose definition has no display name come from the frontend's own locale, which
    node definitions do not carry, so they are left out.
    """
    node_def = node_defs.get(entry.get("class_type", ""))
    if node_def is None or not node_def.raw.get("display_name"):
        return {key: value for key, value in entry.items() if key != "_meta"}
    return entry


@pytest.mark.tier2
@pytest.mark.browser
def test_templates_with_special_constructs_match_the_real_frontend(
    template_paths, node_defs, comfyui_path, tmp_path
):
    """Templates with subgraphs, PrimitiveNodes, legacy reroutes, muted or bypassed nodes convert exactly as
    ComfyUI frontend 1.27.10 converts them in a browser, except where the converter deliberately differs:
    nodes it realigned (old signatures, with a warning) and unknown node types (links only, no guesses)."""
    workflows = {path: json.loads(path.read_text(encoding="utf-8")) for path in template_paths}
    special = [path for path, data in workflows.items() if _constructs(data) - {"mode 4"}]
    bypass_only = [path for path, data in workflows.items() if _constructs(data) == {"mode 4"}]
    chosen = special + bypass_only[:BYPASS_SAMPLE]
    completed = subprocess.run(
        [sys.executable, str(ORACLE), str(tmp_path), *map(str, chosen)],
        env={**os.environ, "COMFYUI_PATH": str(comfyui_path)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    mismatches = {}
    for path in chosen:
        sent = json.loads((tmp_path / f"{path.stem}.json").read_text(encoding="utf-8"))["output"]
        conversion = convert(_load(path), node_defs, rng=_FirstOption())
        assert list(conversion.prompt) == list(sent), path.name
        deliberate = {
            node_id for node_id, flat in conversion.nodes.items() if not flat.known or flat.realigned
        }
        for node_id, entry in conversion.prompt.items():
            if node_id in deliberate:
                continue
            ours, theirs = _comparable(entry, node_defs), _comparable(sent[node_id], node_defs)
            if ours != theirs:
                mismatches[f"{path.name} node {node_id}"] = {"ours": ours, "frontend": theirs}
    print(f"\ncompared {len(chosen)} templates with the real frontend; {len(mismatches)} node mismatches")
    assert not mismatches, json.dumps(mismatches, indent=1)[:6000]
