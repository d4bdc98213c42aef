"""wizard.graph: the flattened workflow as a networkx graph, and its SVG picture."""

from __future__ import annotations

import random
import time
import xml.etree.ElementTree as ElementTree
from typing import Any

import networkx as nx
import pytest

from tests.workflows import conversion_of
from wizard.graph import MAX_ROWS, build_graph, render_svg
from wizard.records import Conversion, FlatNode

SVG = "{http://www.w3.org/2000/svg}"


def flat(
    node_id: str, class_type: str, inputs: dict[str, Any], title: str | None = None, **extra
) -> FlatNode:
    return FlatNode(
        id=node_id,
        class_type=class_type,
        title=title or class_type,
        inputs=inputs,
        widget_names=tuple(name for name, value in inputs.items() if not isinstance(value, list)),
        **extra,
    )


def text_to_image() -> Conversion:
    return conversion_of(
        flat("4", "CheckpointLoaderSimple", {"ckpt_name": "sd15.safetensors"}, "Checkpoint", pack="comfy-core"),
        flat("5", "EmptyLatentImage", {"width": 512, "height": 512, "batch_size": 1}),
        flat("6", "CLIPTextEncode", {"text": "a cat", "clip": ["4", 1]}, "Prompt"),
        flat("7", "CLIPTextEncode", {"text": "", "clip": ["4", 1]}, "Negative"),
        flat(
            "3",
            "KSampler",
            {
                "seed": 1,
                "steps": 20,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        ),
        flat("8", "VAEDecode", {"samples": ["3", 0], "vae": ["4", 2]}),
        flat("10", "LoadImage", {"image": "cat.png"}, "Photo"),
        flat("11", "PrimitiveInt", {"value": 3}, "Count"),
        flat("12", "ImageBlend", {"image1": ["8", 0], "image2": ["8", 0], "blend_factor": 0.5, "blend_mode": "normal"}),
        flat("13", "ImageCompositeMasked", {"destination": ["12", 0], "source": ["10", 0], "x": 0, "y": 0,
                                            "resize_source": False, "mask": ["10", 1]}),
        flat("9", "SaveImage", {"images": ["13", 0], "filename_prefix": "ComfyUI"}),
        flat("20", "SomeCustomNode", {"anything": [1, 2], "other": {"__value__": ["a", 0]}}, "Custom", known=False,
             pack="some-pack"),
    )  # fmt: skip


# --- build_graph -------------------------------------------------------------------------------


def test_nodes_carry_class_type_title_role_pack_and_subgraph(node_defs):
    graph = build_graph(text_to_image(), node_defs)
    assert list(graph.nodes) == ["4", "5", "6", "7", "3", "8", "10", "11", "12", "13", "9", "20"]
    roles = {node_id: graph.nodes[node_id]["role"] for node_id in graph}
    assert roles == {
        "4": "loader",
        "10": "input",
        "11": "input",
        "9": "output",
        **{node_id: "other" for node_id in ("5", "6", "7", "3", "8", "12", "13", "20")},
    }
    assert graph.nodes["4"] == {
        "class_type": "CheckpointLoaderSimple",
        "title": "Checkpoint",
        "role": "loader",
        "pack": "comfy-core",
        "subgraph": (),
    }
    assert graph.nodes["20"]["pack"] == "some-pack"


def test_edges_run_origin_to_target_with_slot_input_and_type(node_defs):
    graph = build_graph(text_to_image(), node_defs)
    assert graph.edges["4", "8"] == {"slot": 2, "input": "vae", "type": "VAE", "inputs": ("vae",)}
    assert graph.edges["10", "13"] == {
        "slot": 0,
        "input": "source",
        "type": "IMAGE",
        "inputs": ("source", "mask"),
    }
    assert graph.edges["8", "12"]["inputs"] == ("image1", "image2")
    assert graph.edges["5", "3"]["type"] == "LATENT"
    assert graph.number_of_edges() == 12
    assert nx.is_directed_acyclic_graph(graph)


def test_lists_that_are_not_links_make_no_edges(node_defs):
    graph = build_graph(text_to_image(), node_defs)
    assert graph.in_degree("20") == 0 and graph.out_degree("20") == 0


def test_unknown_origin_type_is_a_wildcard(node_defs):
    conversion = conversion_of(
        flat("1", "MysteryLoader", {}, known=False), flat("2", "PreviewImage", {"images": ["1", 0]})
    )
    assert build_graph(conversion, node_defs).edges["1", "2"]["type"] == "*"


def test_converted_template_with_subgraphs_keeps_instance_titles(node_defs, templates_dir):
    from wizard.convert import convert
    from wizard.ingest import load_path

    conversion = convert(load_path(templates_dir / "video_wan2_2_14B_s2v.json"), node_defs)
    graph = build_graph(conversion, node_defs)
    assert set(graph.nodes) == set(conversion.prompt)
    inner = [node_id for node_id in graph if ":" in node_id]
    assert inner and all(graph.nodes[node_id]["subgraph"] for node_id in inner)
    assert graph.nodes["79:78"]["subgraph"] == ("Video S2V Extend",)
    svg_texts = [text.text for text in parse(render_svg(graph)).iter(f"{SVG}text")]
    assert "in: Video S2V Extend" in svg_texts
    links = {
        (value[0], node_id)
        for node_id, entry in conversion.prompt.items()
        for value in entry["inputs"].values()
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
    }
    assert set(graph.edges) == links
    assert {"loader", "output"} <= {graph.nodes[node_id]["role"] for node_id in graph}


# --- render_svg --------------------------------------------------------------------------------


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def node_groups(root: ElementTree.Element) -> dict[str, ElementTree.Element]:
    return {group.get("data-node-id"): group for group in root.iter(f"{SVG}g") if group.get("data-node-id")}


def box_of(group: ElementTree.Element) -> tuple[float, float, float, float]:
    rect = group.find(f"{SVG}rect")
    return tuple(float(rect.get(key)) for key in ("x", "y", "width", "height"))


def test_svg_is_standalone_scalable_and_flows_left_to_right(node_defs):
    graph = build_graph(text_to_image(), node_defs)
    root = parse(render_svg(graph))
    assert root.tag == f"{SVG}svg"
    width, height = (float(value) for value in root.get("viewBox").split()[2:])
    assert width > 0 and height > 0
    groups = node_groups(root)
    assert set(groups) == set(graph.nodes)
    for origin, target in graph.edges:
        assert box_of(groups[origin])[0] < box_of(groups[target])[0], (origin, target)
    assert len(root.findall(f".//{SVG}path")) == graph.number_of_edges()
    legend = " ".join(text.text for text in root.find(f"{SVG}g[@class='legend']").iter(f"{SVG}text"))
    assert legend == "model loader input node chosen input output other"


def test_roles_and_chosen_inputs_have_their_own_colours(node_defs):
    graph = build_graph(text_to_image(), node_defs)
    groups = node_groups(parse(render_svg(graph, highlight={"6"})))
    fill = {node_id: group.find(f"{SVG}rect").get("fill") for node_id, group in groups.items()}
    assert len({fill["4"], fill["10"], fill["6"], fill["9"], fill["3"]}) == 5
    assert groups["6"].get("class") == "node chosen" and groups["6"].get("data-role") == "other"
    plain = node_groups(parse(render_svg(graph)))
    assert plain["6"].find(f"{SVG}rect").get("fill") == fill["3"]


def test_hostile_titles_are_escaped_and_kept_well_formed(node_defs):
    hostile = "</text><script>alert(\"x\")</script> & <b a='1'> \x00\x1b\ud800 end"
    conversion = conversion_of(
        flat(
            '1"><svg onload=1>', "EmptyImage", {"width": 8, "height": 8, "batch_size": 1, "color": 0}, hostile
        ),
        flat("2", "PreviewImage", {"images": ['1"><svg onload=1>', 0]}, "ok", subgraph=("<i>inst</i>",)),
    )
    svg = render_svg(build_graph(conversion, node_defs), max_label=200)
    root = parse(svg)
    assert root.find(f".//{SVG}script") is None and "<script" not in svg
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "</text><script>alert(\"x\")</script> & <b a='1'> end" in texts
    assert "in: <i>inst</i>" in texts
    assert set(node_groups(root)) == {'1"><svg onload=1>', "2"}


def test_long_titles_are_shortened_with_the_full_text_in_the_tooltip(node_defs):
    title = "A very long node title that goes on and on and on"
    conversion = conversion_of(flat("1", "EmptyImage", {"width": 8}, title))
    group = node_groups(parse(render_svg(build_graph(conversion, node_defs), max_label=20)))["1"]
    shown = group.find(f"{SVG}text").text
    assert len(shown) == 20 and shown.endswith("…") and title.startswith(shown[:-1])
    assert group.find(f"{SVG}title").text.startswith(title)


def test_subgraph_instances_are_labelled(node_defs):
    conversion = conversion_of(
        flat("5:1", "EmptyImage", {"width": 8}, "Blank", subgraph=("Outer", "Inner")),
        flat("9", "PreviewImage", {"images": ["5:1", 0]}),
    )
    group = node_groups(parse(render_svg(build_graph(conversion, node_defs))))["5:1"]
    assert "in: Outer › Inner" in [text.text for text in group.iter(f"{SVG}text")]


def test_empty_and_cyclic_graphs_render(node_defs):
    assert parse(render_svg(nx.DiGraph())).tag == f"{SVG}svg"
    cyclic = conversion_of(
        flat("1", "ImageInvert", {"image": ["2", 0]}), flat("2", "ImageInvert", {"image": ["1", 0]})
    )
    assert set(node_groups(parse(render_svg(build_graph(cyclic, node_defs))))) == {"1", "2"}


def random_workflow(size: int, seed: int) -> Conversion:
    """A layered random DAG of `size` nodes: sources, a wide middle, a few outputs."""
    rng = random.Random(seed)
    nodes = []
    for index in range(size):
        node_id = str(index + 1)
        if index < 20:
            nodes.append(flat(node_id, "LoadImage", {"image": "x.png"}, f"Load {index}"))
        elif index >= size - 5:
            nodes.append(flat(node_id, "SaveImage", {"images": [str(rng.randint(21, size - 5)), 0]}))
        else:
            origins = rng.sample(range(1, index + 1), k=min(2, index))
            inputs = {"image1": [str(origins[0]), 0], "image2": [str(origins[-1]), 0], "blend_factor": 0.5}
            nodes.append(flat(node_id, "ImageBlend", inputs, f"Blend number {index} with a long title"))
    return conversion_of(*nodes)


def test_300_node_graph_renders_fast_without_overlapping_boxes(node_defs):
    graph = build_graph(random_workflow(300, seed=7), node_defs)
    started = time.perf_counter()
    svg = render_svg(graph, highlight={"1", "2"})
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"render_svg took {elapsed:.2f} s for 300 nodes"
    boxes = {node_id: box_of(group) for node_id, group in node_groups(parse(svg)).items()}
    assert len(boxes) == 300
    ordered = sorted(boxes.values())
    for index, (x, y, width, height) in enumerate(ordered):
        for other_x, other_y, other_width, other_height in ordered[index + 1 :]:
            if other_x >= x + width:
                break  # sorted by x: no later box can overlap this one
            assert y + height <= other_y or other_y + other_height <= y, "boxes overlap"
    column_sizes = {}
    for x, *_ in boxes.values():
        column_sizes[x] = column_sizes.get(x, 0) + 1
    assert max(column_sizes.values()) <= MAX_ROWS
    for origin, target in graph.edges:
        assert boxes[origin][0] < boxes[target][0]
    print(f"300-node graph: render_svg {elapsed * 1000:.0f} ms, {len(column_sizes)} columns")


@pytest.mark.parametrize("size", [1, 2, 13, 50])
def test_small_and_medium_graphs_have_no_overlaps(node_defs, size):
    graph = build_graph(random_workflow(size + 25, seed=size), node_defs)
    boxes = sorted(box_of(group) for group in node_groups(parse(render_svg(graph))).values())
    for (x, y, width, height), (other_x, other_y, *_rest) in zip(boxes, boxes[1:]):
        assert other_x >= x + width or other_y >= y + height
