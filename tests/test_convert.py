"""Unit tests of the UI → API conversion on small hand-written workflows (frontend 1.27.10 rules)."""

from __future__ import annotations

import random

import pytest

from wizard.convert import convert
from wizard.records import LoadedWorkflow


def node(node_id, node_type, widgets=None, inputs=(), outputs=(), mode=0, **extra):
    return {
        "id": node_id,
        "type": node_type,
        "mode": mode,
        "inputs": [dict(i) for i in inputs],
        "outputs": [dict(o) for o in outputs],
        "widgets_values": widgets,
        "properties": extra.pop("properties", {}),
        **extra,
    }


def inp(name, type_, link=None, widget=False):
    return {"name": name, "type": type_, "link": link, **({"widget": {"name": name}} if widget else {})}


def out(name, type_, links=()):
    return {"name": name, "type": type_, "links": list(links)}


def workflow(nodes, links, **extra):
    return {"version": 0.4, "nodes": nodes, "links": links, **extra}


def run(data, node_defs, **kwargs):
    return convert(LoadedWorkflow("test.json", "json", data, None), node_defs, **kwargs)


def t2i(link_format="array"):
    """Checkpoint → KSampler(seed control) → VAEDecode → SaveImage, with an EmptyLatentImage."""
    links = [
        [1, 4, 0, 3, 0, "MODEL"],
        [2, 5, 0, 3, 3, "LATENT"],
        [3, 3, 0, 8, 0, "LATENT"],
        [4, 4, 2, 8, 1, "VAE"],
        [5, 8, 0, 9, 0, "IMAGE"],
        [6, 6, 0, 3, 1, "CONDITIONING"],
        [7, 6, 0, 3, 2, "CONDITIONING"],
        [8, 4, 1, 6, 0, "CLIP"],
    ]
    if link_format == "object":
        keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
        links = [dict(zip(keys, link)) for link in links]
    nodes = [
        node(4, "CheckpointLoaderSimple", ["model.safetensors"], outputs=[out("MODEL", "MODEL", [1])]),
        node(5, "EmptyLatentImage", [512, 512, 1]),
        node(6, "CLIPTextEncode", ["a cat"], inputs=[inp("clip", "CLIP", 8)]),
        node(
            3,
            "KSampler",
            [42, "randomize", 20, 7.5, "euler", "normal", 1.0],
            inputs=[
                inp("model", "MODEL", 1),
                inp("positive", "CONDITIONING", 6),
                inp("negative", "CONDITIONING", 7),
                inp("latent_image", "LATENT", 2),
            ],
            title="Sampler",
        ),
        node(8, "VAEDecode", [], inputs=[inp("samples", "LATENT", 3), inp("vae", "VAE", 4)]),
        node(9, "SaveImage", ["out"], inputs=[inp("images", "IMAGE", 5)]),
    ]
    return workflow(nodes, links, **({"version": 1} if link_format == "object" else {}))


EXPECTED_KSAMPLER = {
    "seed": 42,
    "steps": 20,
    "cfg": 7.5,
    "sampler_name": "euler",
    "scheduler": "normal",
    "denoise": 1.0,
    "model": ["4", 0],
    "positive": ["6", 0],
    "negative": ["6", 0],
    "latent_image": ["5", 0],
}


def test_basic_graph_maps_widgets_and_links(node_defs):
    conversion = run(t2i(), node_defs)
    prompt = conversion.prompt
    assert list(prompt) == ["3", "4", "5", "6", "8", "9"]  # JavaScript key order: numeric ids ascending
    assert prompt["3"] == {
        "inputs": EXPECTED_KSAMPLER,
        "class_type": "KSampler",
        "_meta": {"title": "Sampler"},
    }
    assert prompt["5"]["inputs"] == {"width": 512, "height": 512, "batch_size": 1}
    assert prompt["8"]["_meta"]["title"] == "VAE Decode"  # display name when the node has no title
    assert conversion.nodes["3"].widget_names == (
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "denoise",
    )
    assert conversion.warnings == ()


def test_v1_object_links_give_the_same_prompt(node_defs):
    assert run(t2i("object"), node_defs).prompt == run(t2i(), node_defs).prompt


def test_upload_button_and_legacy_control_values(node_defs):
    data = workflow(
        [
            node(1, "LoadImage", ["cat.png", "image"]),
            node(2, "KSampler", [7, True, 5, 8.0, "euler", "karras", 0.5]),
        ],
        [],
    )
    prompt = run(data, node_defs).prompt
    assert prompt["1"]["inputs"] == {"image": "cat.png"}
    assert prompt["2"]["inputs"]["steps"] == 5 and prompt["2"]["inputs"]["denoise"] == 0.5


def test_linked_widget_link_wins_and_dict_and_short_values(node_defs):
    data = workflow(
        [
            node(1, "PrimitiveInt", [99], outputs=[out("INT", "INT", [1])]),
            node(2, "EmptyLatentImage", {"width": 640}, inputs=[inp("height", "INT", 1, widget=True)]),
            node(3, "KSampler", [1, "fixed"]),
        ],
        [[1, 1, 0, 2, 1, "INT"]],
    )
    conversion = run(data, node_defs)
    assert conversion.prompt["2"]["inputs"] == {"width": 640, "height": ["1", 0], "batch_size": 1}
    assert conversion.nodes["2"].widget_names == ("width", "batch_size")
    assert conversion.prompt["3"]["inputs"]["steps"] == 20  # default for a short list
    assert conversion.prompt["1"]["class_type"] == "PrimitiveInt"  # a real V3 backend node


def test_list_values_are_wrapped(node_defs):
    data = workflow([node(1, "EmptyLatentImage", [[1, 2], 512, 1])], [])
    assert run(data, node_defs).prompt["1"]["inputs"]["width"] == {"__value__": [1, 2]}


def test_primitive_node_pushes_value_and_vanishes(node_defs):
    data = workflow(
        [
            node(
                1,
                "PrimitiveNode",
                [321, "fixed"],
                outputs=[{**out("INT", "INT", [1, 2]), "widget": {"name": "seed"}}],
            ),
            node(
                2,
                "KSampler",
                [5, "fixed", 20, 8.0, "euler", "normal", 1.0],
                inputs=[inp("seed", "INT", 1, widget=True)],
            ),
            node(
                3,
                "KSampler",
                [6, "fixed", 20, 8.0, "euler", "normal", 1.0],
                inputs=[inp("seed", "INT", 2, widget=True)],
            ),
        ],
        [[1, 1, 0, 2, 0, "INT"], [2, 1, 0, 3, 0, "INT"]],
    )
    prompt = run(data, node_defs).prompt
    assert set(prompt) == {"2", "3"}
    assert prompt["2"]["inputs"]["seed"] == 321 and prompt["3"]["inputs"]["seed"] == 321


def test_reroute_chain_note_and_muted_node(node_defs):
    data = workflow(
        [
            node(1, "CheckpointLoaderSimple", ["m.safetensors"]),
            node(2, "Reroute", None, inputs=[inp("", "*", 1)], outputs=[out("", "VAE", [2])]),
            node(3, "Reroute", None, inputs=[inp("", "*", 2)], outputs=[out("", "VAE", [3])]),
            node(4, "VAEDecode", [], inputs=[inp("samples", "LATENT", 4), inp("vae", "VAE", 3)]),
            node(5, "EmptyLatentImage", [64, 64, 1], mode=2),
            node(6, "Note", ["read me"]),
        ],
        [[1, 1, 2, 2, 0, "VAE"], [2, 2, 0, 3, 0, "VAE"], [3, 3, 0, 4, 1, "VAE"], [4, 5, 0, 4, 0, "LATENT"]],
    )
    prompt = run(data, node_defs).prompt
    assert set(prompt) == {"1", "4"}
    assert prompt["4"]["inputs"] == {"vae": ["1", 2]}  # muted origin: the link input is deleted


def test_bypass_rewires_by_type(node_defs):
    # LatentUpscale bypassed: its LATENT output resolves through its `samples` input (exact type match).
    data = workflow(
        [
            node(1, "EmptyLatentImage", [64, 64, 1]),
            node(
                2,
                "LatentUpscale",
                ["nearest-exact", 128, 128, "disabled"],
                inputs=[inp("samples", "LATENT", 1)],
                mode=4,
            ),
            node(
                3,
                "LatentUpscale",
                ["nearest-exact", 256, 256, "disabled"],
                inputs=[inp("samples", "LATENT", 2)],
                mode=4,
            ),
            node(4, "VAEDecode", [], inputs=[inp("samples", "LATENT", 3), inp("vae", "VAE", None)]),
        ],
        [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 0, 3, 0, "LATENT"], [3, 3, 0, 4, 0, "LATENT"]],
    )
    prompt = run(data, node_defs).prompt
    assert set(prompt) == {"1", "4"}
    assert prompt["4"]["inputs"] == {"samples": ["1", 0]}


def _subgraph(sub_id, name, nodes, links, inputs, outputs):
    return {"id": sub_id, "name": name, "nodes": nodes, "links": links, "inputs": inputs, "outputs": outputs}


def test_nested_subgraphs_with_promoted_widgets(node_defs):
    inner = _subgraph(
        "inner-id",
        "Inner",
        [node(7, "EmptyLatentImage", [64, 64, 1], inputs=[inp("width", "INT", 20, widget=True)])],
        [
            {"id": 20, "origin_id": -10, "origin_slot": 0, "target_id": 7, "target_slot": 0, "type": "INT"},
            {
                "id": 21,
                "origin_id": 7,
                "origin_slot": 0,
                "target_id": -20,
                "target_slot": 0,
                "type": "LATENT",
            },
        ],
        [{"name": "width", "type": "INT", "linkIds": [20]}],
        [{"name": "LATENT", "type": "LATENT", "linkIds": [21]}],
    )
    outer = _subgraph(
        "outer-id",
        "Outer",
        [
            node(
                5,
                "inner-id",
                [320],
                inputs=[inp("width", "INT", 30, widget=True)],
                outputs=[out("LATENT", "LATENT", [31])],
            )
        ],
        [
            {"id": 30, "origin_id": -10, "origin_slot": 0, "target_id": 5, "target_slot": 0, "type": "INT"},
            {
                "id": 31,
                "origin_id": 5,
                "origin_slot": 0,
                "target_id": -20,
                "target_slot": 0,
                "type": "LATENT",
            },
        ],
        [{"name": "width", "type": "INT", "linkIds": [30]}],
        [{"name": "LATENT", "type": "LATENT", "linkIds": [31]}],
    )
    data = workflow(
        [
            node(2, "outer-id", [448], outputs=[out("LATENT", "LATENT", [1])], title="Latent maker"),
            node(3, "VAEDecode", [], inputs=[inp("samples", "LATENT", 1), inp("vae", "VAE", None)]),
        ],
        [[1, 2, 0, 3, 0, "LATENT"]],
        definitions={"subgraphs": [inner, outer]},
    )
    conversion = run(data, node_defs)
    assert set(conversion.prompt) == {"3", "2:5:7"}
    assert conversion.prompt["2:5:7"]["inputs"] == {"width": 448, "height": 64, "batch_size": 1}
    assert conversion.prompt["3"]["inputs"] == {"samples": ["2:5:7", 0]}
    assert conversion.nodes["2:5:7"].subgraph == ("Latent maker", "Inner")


def test_self_containing_subgraph_is_an_error(node_defs):
    from wizard.errors import WorkflowGraphError

    loop = _subgraph("loop", "Loop", [node(1, "loop", [])], [], [], [])
    data = workflow([node(1, "loop", [])], [], definitions={"subgraphs": [loop]})
    with pytest.raises(WorkflowGraphError, match="contains itself"):
        run(data, node_defs)


def test_legacy_group_node_expands_with_group_ids(node_defs):
    group = {
        "nodes": [
            {
                "index": 0,
                "type": "EmptyLatentImage",
                "widgets_values": [64, 64, 1],
                "outputs": [out("LATENT", "LATENT")],
            },
            {
                "index": 1,
                "type": "LatentUpscaleBy",
                "widgets_values": ["nearest-exact", 1.5],
                "inputs": [inp("samples", "LATENT")],
            },
        ],
        "links": [[0, 0, 1, 0, 1, "LATENT"]],
        "external": [],
    }
    data = workflow(
        [
            node(7, "workflow>Latents", [96, 96, 2, "bislerp", 2.0], outputs=[out("LATENT", "LATENT", [1])]),
            node(8, "VAEDecode", [], inputs=[inp("samples", "LATENT", 1), inp("vae", "VAE", None)]),
        ],
        [[1, 7, 0, 8, 0, "LATENT"]],
        extra={"groupNodes": {"Latents": group}},
    )
    prompt = run(data, node_defs).prompt
    assert prompt["7:0"]["inputs"] == {"width": 96, "height": 96, "batch_size": 2}
    assert prompt["7:1"]["inputs"] == {"upscale_method": "bislerp", "scale_by": 2.0, "samples": ["7:0", 0]}
    assert prompt["8"]["inputs"] == {"samples": ["7:1", 0]}


def test_dynamic_prompt_is_seeded_and_reported(node_defs):
    data = workflow(
        [node(1, "CLIPTextEncode", ["a {red|blue} cat // note"], inputs=[inp("clip", "CLIP")])], []
    )
    first = run(data, node_defs, rng=random.Random(3))
    again = run(data, node_defs, rng=random.Random(3))
    assert first.prompt == again.prompt
    assert first.prompt["1"]["inputs"]["text"] in ("a red cat ", "a blue cat ")
    assert any("dynamic-prompt" in warning for warning in first.warnings)
    assert run(data, node_defs).prompt == run(data, node_defs).prompt  # default seed comes from the file


def test_filename_prefix_substitutions(node_defs):
    data = workflow(
        [
            node(
                1, "EmptyLatentImage", [640, 480, 1], properties={"Node name for S&R": "Empty Latent Image"}
            ),
            node(
                2,
                "SaveImage",
                ["img/%Empty Latent Image.width%_%date:yyyy%"],
                inputs=[inp("images", "IMAGE")],
            ),
        ],
        [],
    )
    conversion = run(data, node_defs)
    prefix = conversion.prompt["2"]["inputs"]["filename_prefix"]
    assert prefix.startswith("img/640_") and len(prefix) == len("img/640_2026") and prefix[-4:].isdigit()
    assert any("filename_prefix" in warning for warning in conversion.warnings)


def test_pack_models_and_unknown_nodes(node_defs):
    props = {
        "cnr_id": "comfyui-kjnodes",
        "ver": "1.1.0",
        "models": [{"name": "x.safetensors", "directory": "loras"}],
    }
    data = workflow(
        [
            node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT", [1])]),
            node(2, "MysteryNode", [1, "secret"], inputs=[inp("latent", "LATENT", 1)], properties=props),
        ],
        [[1, 1, 0, 2, 0, "LATENT"]],
        models=[{"name": "top.safetensors", "directory": "checkpoints"}],
    )
    conversion = run(data, node_defs)
    assert conversion.prompt["2"]["inputs"] == {"latent": ["1", 0]}  # values are never guessed
    assert (
        conversion.unknown_nodes[0].pack == "comfyui-kjnodes"
        and conversion.unknown_nodes[0].version == "1.1.0"
    )
    assert not conversion.nodes["2"].known and conversion.nodes["2"].pack == "comfyui-kjnodes"
    assert any("MysteryNode" in w and "comfyui-kjnodes" in w for w in conversion.warnings)
    assert [m["node_id"] for m in conversion.declared_models] == ["2", None]


def test_api_prompt_input(node_defs):
    prompt = {
        "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "2": {
            "class_type": "VAEDecode",
            "inputs": {"samples": ["1", 0], "vae": ["9", 0]},
            "_meta": {"title": "Dec"},
        },
    }
    conversion = convert(LoadedWorkflow("api.json", "api-json", None, prompt), node_defs)
    assert conversion.prompt["2"]["inputs"] == {"samples": ["1", 0]}
    assert conversion.nodes["1"].widget_names == ("width", "height", "batch_size")
    assert conversion.nodes["2"].title == "Dec"
    assert any("9" in warning for warning in conversion.warnings)
