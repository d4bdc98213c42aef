"""Broken workflows: each gives a one-line WizardError, or a warning plus a usable prompt, in under 2 s."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard.convert import convert
from wizard.errors import WorkflowFileError, WorkflowGraphError
from wizard.records import LoadedWorkflow

REPO = Path(__file__).resolve().parent.parent


def run(data, node_defs):
    started = time.perf_counter()
    try:
        return convert(LoadedWorkflow("bad.json", "json", data, None), node_defs)
    finally:
        assert time.perf_counter() - started < 2


def latent(node_id, links=()):
    return {
        "id": node_id,
        "type": "LatentUpscaleBy",
        "mode": 0,
        "widgets_values": ["nearest-exact", 1.5],
        "inputs": [{"name": "samples", "type": "LATENT", "link": links[0] if links else None}],
        "outputs": [{"name": "LATENT", "type": "LATENT", "links": list(links[1:])}],
    }


def test_dangling_links_are_dropped_with_a_warning(node_defs):
    data = {"nodes": [latent(1, (5,)), latent(2, (6,))], "links": [[6, 99, 0, 2, 0, "LATENT"]]}
    conversion = run(data, node_defs)
    assert conversion.prompt["1"]["inputs"] == {"upscale_method": "nearest-exact", "scale_by": 1.5}
    assert "samples" not in conversion.prompt["2"]["inputs"]
    assert any("link 5 does not exist" in w for w in conversion.warnings)
    assert any("origin node 99 does not exist" in w for w in conversion.warnings)


def test_link_cycle_names_the_nodes(node_defs):
    data = {
        "nodes": [latent(1, (1, 2)), latent(2, (2, 1))],
        "links": [[1, 2, 0, 1, 0, "LATENT"], [2, 1, 0, 2, 0, "LATENT"]],
    }
    with pytest.raises(
        WorkflowGraphError, match=r"cycle through nodes .*(1|2) \(LatentUpscaleBy\)"
    ) as caught:
        run(data, node_defs)
    assert "\n" not in str(caught.value)


def test_reroute_loop_is_a_cycle(node_defs):
    reroute = lambda i, link_in, link_out: {
        "id": i,
        "type": "Reroute",
        "inputs": [{"name": "", "type": "*", "link": link_in}],
        "outputs": [{"name": "", "type": "*", "links": [link_out]}],
    }
    data = {
        "nodes": [reroute(1, 2, 1), reroute(2, 1, 2), latent(3, (3,))],
        "links": [[1, 1, 0, 2, 0, "*"], [2, 2, 0, 1, 0, "*"], [3, 2, 0, 3, 0, "*"]],
    }
    with pytest.raises(WorkflowGraphError, match="link cycle"):
        run(data, node_defs)


def test_self_containing_subgraph(node_defs):
    sub = {
        "id": "s",
        "name": "Me",
        "nodes": [{"id": 1, "type": "s"}],
        "links": [],
        "inputs": [],
        "outputs": [],
    }
    with pytest.raises(WorkflowGraphError, match="'Me' contains itself"):
        run({"nodes": [{"id": 1, "type": "s"}], "links": [], "definitions": {"subgraphs": [sub]}}, node_defs)


def test_unknown_node_type_keeps_links_only(node_defs):
    unknown = {
        "id": 2,
        "type": "SetNode",
        "widgets_values": ["x"],
        "properties": {"aux_id": "kijai/ComfyUI-KJNodes"},
        "inputs": [{"name": "LATENT", "type": "LATENT", "link": 1}],
    }
    conversion = run(
        {"nodes": [latent(1, (None, 1)), unknown], "links": [[1, 1, 0, 2, 0, "LATENT"]]}, node_defs
    )
    assert conversion.prompt["2"] == {
        "inputs": {"LATENT": ["1", 0]},
        "class_type": "SetNode",
        "_meta": {"title": "SetNode"},
    }
    assert any("'SetNode'" in w and "kijai/ComfyUI-KJNodes" in w for w in conversion.warnings)


def test_wrong_widget_value_types_warn(node_defs):
    data = {
        "nodes": [
            {"id": 1, "type": "KSampler", "widgets_values": [1, "fixed", "many", 8.0, "euler", "normal", 1.0]}
        ],
        "links": [],
    }
    conversion = run(data, node_defs)
    assert (
        conversion.prompt["1"]["inputs"]["steps"] == "many"
    )  # sent as the frontend would; ComfyUI reports it
    assert any("'steps'" in w and "INT" in w for w in conversion.warnings)


def test_not_a_workflow(node_defs):
    with pytest.raises(WorkflowFileError, match="no `nodes` list"):
        run({"hello": 1}, node_defs)
    with pytest.raises(WorkflowFileError, match="nodes\\[0\\]"):
        run({"nodes": [42]}, node_defs)


def test_deeply_nested_values(node_defs):
    deep = value = []
    for _ in range(5000):
        value.append([])
        value = value[0]
    data = {"nodes": [{"id": 1, "type": "EmptyLatentImage", "widgets_values": [deep, 64, 1]}], "links": []}
    with pytest.raises(WorkflowFileError, match="nested more than"):
        run(data, node_defs)
    prompt = {"1": {"class_type": "EmptyLatentImage", "inputs": {"width": {"__value__": deep}}}}
    with pytest.raises(WorkflowFileError, match="nested more than"):
        convert(LoadedWorkflow("api.json", "api-json", None, prompt), node_defs)


def test_huge_chain_is_fast(node_defs):
    nodes = [latent(i, ((i - 1) if i > 1 else None, i)) for i in range(1, 3001)]
    links = [[i, i, 0, i + 1, 0, "LATENT"] for i in range(1, 3000)]
    for n in nodes[1:]:
        n["mode"] = 4  # a 3,000-long bypass chain resolves without recursion limits
    conversion = run({"nodes": nodes, "links": links}, node_defs)
    assert set(conversion.prompt) == {"1"}


def _cli(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "wizard", "convert", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_the_prompt(tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"nodes": [latent(1)], "links": []}), encoding="utf-8")
    completed = _cli(str(path))
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["1"]["class_type"] == "LatentUpscaleBy"


def test_cli_bad_input_is_one_line(tmp_path):
    path = tmp_path / "cycle.json"
    path.write_text(
        json.dumps(
            {
                "nodes": [latent(1, (1, 2)), latent(2, (2, 1))],
                "links": [[1, 2, 0, 1, 0, "LATENT"], [2, 1, 0, 2, 0, "LATENT"]],
            }
        ),
        encoding="utf-8",
    )
    completed = _cli(str(path))
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ") and completed.stderr.count("\n") == 1
    assert "Traceback" not in completed.stderr
