"""Corpus acceptance: the 172 official templates of comfyui-workflow-templates 0.1.95.

Tier 1: every template converts. Tier 2: ComfyUI 0.3.64's own `execution.validate_prompt` accepts at
least 169 of the converted prompts, not counting errors caused only by model or input files that are
absent on this machine (every rejection is printed with its reason). The comparison with the real
frontend, template by template, is `tests/test_frontend_oracle.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.convert import convert
from wizard.records import LoadedWorkflow

SUPPORT = Path(__file__).parent / "support" / "validate_prompts.py"
REQUIRED_ACCEPTED = 169


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
