"""Broken workflows: each gives a one-line WizardError, or a warning plus a usable prompt, within 2 s."""

from __future__ import annotations

import json
import time

import pytest

from tests.wizard_cli import run_wizard
from wizard.convert import convert
from wizard.errors import WizardError, WorkflowFileError, WorkflowGraphError
from wizard.records import LoadedWorkflow

TIME_LIMIT_S = 2.0


def run(data, node_defs, *, prompt=None):
    """Convert, and check the time limit and that any error is a one-line WizardError."""
    started = time.perf_counter()
    try:
        return convert(
            LoadedWorkflow("bad.json", "json" if prompt is None else "api-json", data, prompt), node_defs
        )
    except WizardError as error:
        assert "\n" not in str(error)
        raise
    finally:
        assert time.perf_counter() - started < TIME_LIMIT_S


def upscale(node_id, link_in=None, links_out=()):
    return {
        "id": node_id,
        "type": "LatentUpscaleBy",
        "mode": 0,
        "widgets_values": ["nearest-exact", 1.5],
        "inputs": [{"name": "samples", "type": "LATENT", "link": link_in}],
        "outputs": [{"name": "LATENT", "type": "LATENT", "links": list(links_out)}],
    }


def reroute(node_id, link_in, link_out):
    return {
        "id": node_id,
        "type": "Reroute",
        "inputs": [{"name": "", "type": "*", "link": link_in}],
        "outputs": [{"name": "", "type": "*", "links": [link_out]}],
    }


def test_dangling_links_are_dropped_with_a_warning(node_defs):
    data = {
        "nodes": [upscale(1, link_in=5), upscale(2, link_in=6), upscale(3, link_in=7)],
        "links": [[6, 99, 0, 2, 0, "LATENT"], [7, 1, -3, 3, 0, "LATENT"]],
    }
    conversion = run(data, node_defs)
    for node_id in "123":  # each node keeps its widget values; only the broken link goes
        assert conversion.prompt[node_id]["inputs"] == {"upscale_method": "nearest-exact", "scale_by": 1.5}
    assert any("link 5 does not exist" in warning for warning in conversion.warnings)
    assert any("origin node 99 does not exist" in warning for warning in conversion.warnings)
    assert any("link 7 does not exist" in warning for warning in conversion.warnings)  # malformed slot


def test_link_cycle_names_the_nodes(node_defs):
    data = {
        "nodes": [upscale(1, link_in=1, links_out=[2]), upscale(2, link_in=2, links_out=[1])],
        "links": [[1, 2, 0, 1, 0, "LATENT"], [2, 1, 0, 2, 0, "LATENT"]],
    }
    with pytest.raises(WorkflowGraphError, match=r"cycle through nodes (1|2) \(LatentUpscaleBy\), (1|2) "):
        run(data, node_defs)


def test_reroute_loop_is_a_cycle(node_defs):
    data = {
        "nodes": [reroute(1, 2, 1), reroute(2, 1, 2), upscale(3, link_in=3)],
        "links": [[1, 1, 0, 2, 0, "*"], [2, 2, 0, 1, 0, "*"], [3, 2, 0, 3, 0, "*"]],
    }
    with pytest.raises(WorkflowGraphError, match="link cycle through node (1|2) .*Reroute"):
        run(data, node_defs)


def test_cycle_in_an_api_prompt(node_defs):
    prompt = {
        "1": {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["2", 0]}},
        "2": {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["1", 0]}},
    }
    with pytest.raises(WorkflowGraphError, match="cycle"):
        run(None, node_defs, prompt=prompt)


def test_self_containing_subgraph(node_defs):
    definition = {"id": "s", "name": "Me", "nodes": [{"id": 1, "type": "s"}], "links": [], "inputs": []}
    data = {"nodes": [{"id": 1, "type": "s"}], "links": [], "definitions": {"subgraphs": [definition]}}
    with pytest.raises(WorkflowGraphError, match="subgraph 'Me' contains itself"):
        run(data, node_defs)


def test_mutually_recursive_subgraphs(node_defs):
    a = {"id": "a", "name": "A", "nodes": [{"id": 1, "type": "b"}], "links": []}
    b = {"id": "b", "name": "B", "nodes": [{"id": 1, "type": "a"}], "links": []}
    data = {"nodes": [{"id": 5, "type": "a"}], "links": [], "definitions": {"subgraphs": [a, b]}}
    with pytest.raises(WorkflowGraphError, match="contains itself"):
        run(data, node_defs)


def test_unknown_node_type_keeps_links_only(node_defs):
    unknown = {
        "id": 2,
        "type": "ImageResizeKJ",
        "widgets_values": ["x"],
        "properties": {"aux_id": "kijai/ComfyUI-KJNodes", "ver": "abc123"},
        "inputs": [{"name": "LATENT", "type": "LATENT", "link": 1}],
    }
    conversion = run(
        {"nodes": [upscale(1, links_out=[1]), unknown], "links": [[1, 1, 0, 2, 0, "LATENT"]]}, node_defs
    )
    assert conversion.prompt["2"] == {
        "inputs": {"LATENT": ["1", 0]},
        "class_type": "ImageResizeKJ",
        "_meta": {"title": "ImageResizeKJ"},
    }
    [record] = conversion.unknown_nodes
    assert (record.id, record.class_type, record.pack, record.version) == (
        "2",
        "ImageResizeKJ",
        "kijai/ComfyUI-KJNodes",
        "abc123",
    )
    assert any(
        "'ImageResizeKJ' from node pack kijai/ComfyUI-KJNodes abc123" in w for w in conversion.warnings
    )


def test_wrong_widget_value_types_warn(node_defs):
    data = {
        "nodes": [
            {"id": 1, "type": "KSampler", "widgets_values": [1, "fixed", "many", 8.0, "nope", "normal", 1.0]}
        ]
    }
    conversion = run(data, node_defs)
    inputs = conversion.prompt["1"]["inputs"]
    assert inputs["steps"] == "many" and inputs["sampler_name"] == "nope"  # sent as the frontend sends them
    assert any("'steps' holds 'many', not a INT value" in w for w in conversion.warnings)
    assert any("'sampler_name' holds 'nope', not one of its options" in w for w in conversion.warnings)


def test_widgets_values_of_the_wrong_shape(node_defs):
    data = {"nodes": [{"id": 1, "type": "EmptyLatentImage", "widgets_values": "512"}]}
    conversion = run(data, node_defs)
    assert conversion.prompt["1"]["inputs"] == {"width": 512, "height": 512, "batch_size": 1}
    assert any("neither a list nor an object" in warning for warning in conversion.warnings)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"hello": 1}, "no `nodes` list"),
        ({"nodes": [42]}, r"nodes\[0\] is not a node"),
        ({"nodes": [{"id": 1}]}, r"nodes\[0\] is not a node with an id and a type"),
        ({"nodes": [], "definitions": {"subgraphs": [{"name": "x"}]}}, r"subgraphs\[0\] has no id"),
        ({"nodes": [], "definitions": {"subgraphs": [{"id": "x", "nodes": 3}]}}, "are not a list"),
    ],
)
def test_not_a_workflow(node_defs, data, message):
    with pytest.raises(WorkflowFileError, match=message):
        run(data, node_defs)


@pytest.mark.parametrize(
    "prompt, message",
    [
        ([], "not a non-empty JSON object"),
        ({"1": {"inputs": {}}}, "has no class_type"),
        ({"1": {"class_type": "VAEDecode", "inputs": [1]}}, "are not an object"),
    ],
)
def test_not_an_api_prompt(node_defs, prompt, message):
    with pytest.raises(WorkflowFileError, match=message):
        run(None, node_defs, prompt=prompt)


def deep_list(depth: int) -> list:
    root = value = []
    for _ in range(depth):
        value.append([])
        value = value[0]
    return root


def test_deeply_nested_values(node_defs):
    data = {"nodes": [{"id": 1, "type": "EmptyLatentImage", "widgets_values": [deep_list(100_000), 64, 1]}]}
    with pytest.raises(WorkflowFileError, match="nested more than 64 levels"):
        run(data, node_defs)
    prompt = {"1": {"class_type": "EmptyLatentImage", "inputs": {"width": {"__value__": deep_list(100_000)}}}}
    with pytest.raises(WorkflowFileError, match="nested more than 64 levels"):
        run(None, node_defs, prompt=prompt)
    shallow = {"nodes": [{"id": 1, "type": "EmptyLatentImage", "widgets_values": [deep_list(10), 64, 1]}]}
    assert "width" in run(shallow, node_defs).prompt["1"]["inputs"]


def test_deeply_nested_dynamic_prompt(node_defs):
    text = "{" * 5000 + "a" + "}" * 5000
    data = {"nodes": [{"id": 1, "type": "CLIPTextEncode", "widgets_values": [text]}]}
    with pytest.raises(WorkflowFileError, match="dynamic prompt nests"):
        run(data, node_defs)


def test_long_chains_and_many_nodes_stay_fast(node_defs):
    count = 3000
    nodes = [upscale(1, links_out=[1])] + [
        {**upscale(i, link_in=i - 1, links_out=[i]), "mode": 4} for i in range(2, count + 1)
    ]
    links = [[i, i, 0, i + 1, 0, "LATENT"] for i in range(1, count)]
    nodes.append(upscale(count + 1, link_in=count))
    links.append([count, count, 0, count + 1, 0, "LATENT"])
    conversion = run({"nodes": nodes, "links": links}, node_defs)  # 3,000 bypassed nodes in a row
    assert conversion.prompt[str(count + 1)]["inputs"]["samples"] == ["1", 0]


def test_cli_prints_the_api_prompt(tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"nodes": [upscale(1)], "links": []}), encoding="utf-8")
    completed = run_wizard("convert", path)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {
        "1": {
            "inputs": {"upscale_method": "nearest-exact", "scale_by": 1.5},
            "class_type": "LatentUpscaleBy",
            "_meta": {"title": "Upscale Latent By"},
        }
    }


def test_cli_prints_warnings_on_stderr(tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"nodes": [upscale(1, link_in=9)], "links": []}), encoding="utf-8")
    completed = run_wizard("convert", path)
    assert completed.returncode == 0
    assert (
        "warning: node 1 (Upscale Latent By): input 'samples' is linked but link 9 does not exist"
        in completed.stderr
    )


def test_cli_bad_input_is_one_line_with_status_2(tmp_path):
    path = tmp_path / "cycle.json"
    cycle = {
        "nodes": [upscale(1, link_in=1, links_out=[2]), upscale(2, link_in=2, links_out=[1])],
        "links": [[1, 2, 0, 1, 0, "LATENT"], [2, 1, 0, 2, 0, "LATENT"]],
    }
    path.write_text(json.dumps(cycle), encoding="utf-8")
    completed = run_wizard("convert", path)
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: the workflow's links form a cycle")
    assert completed.stderr.count("\n") == 1 and completed.stdout == ""
