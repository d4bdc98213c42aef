"""Unit tests of the UI → API conversion on small hand-written workflows (frontend 1.27.10 rules).

Each workflow is a named case in `CASES`; the unit tests state the expected prompt, and the tier-2
test at the end checks every case against what ComfyUI's real frontend queues for it
(`tests/support/frontend_oracle.py`, headless Chromium).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.convert import convert
from wizard.errors import WorkflowGraphError
from wizard.nodedefs import NodeDefs
from wizard.records import LoadedWorkflow

ORACLE = Path(__file__).parent / "support" / "frontend_oracle.py"


class FirstOption:
    """Dynamic prompts pick the first option, as the oracle pins `Math.random` to 0."""

    def random(self) -> float:
        return 0.0


def node(node_id, node_type, widgets=None, inputs=(), outputs=(), mode=0, **extra):
    return {
        "id": node_id,
        "type": node_type,
        "pos": [0, 0],
        "size": [200, 100],
        "flags": {},
        "order": 0,
        "mode": mode,
        "inputs": list(inputs),
        "outputs": list(outputs),
        "properties": extra.pop("properties", {}),
        **({"widgets_values": widgets} if widgets is not None else {}),
        **extra,
    }


def inp(name, type_, link=None, widget=False):
    return {"name": name, "type": type_, "link": link, **({"widget": {"name": name}} if widget else {})}


def out(name, type_, links=(), widget=None):
    return {
        "name": name,
        "type": type_,
        "links": list(links),
        **({"widget": {"name": widget}} if widget else {}),
    }


def workflow(nodes, links, **extra):
    return {
        "last_node_id": 100,
        "last_link_id": 100,
        "nodes": nodes,
        "links": links,
        "groups": [],
        "config": {},
        "extra": extra.pop("extra", {}),
        "version": 0.4,
        **extra,
    }


def object_links(links):
    keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
    return [dict(zip(keys, link)) for link in links]


def t2i(link_format="array"):
    """Checkpoint, prompt, empty latent, KSampler (with its seed control value), decode, save."""
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
    nodes = [
        node(
            4,
            "CheckpointLoaderSimple",
            ["model.safetensors"],
            outputs=[out("MODEL", "MODEL", [1]), out("CLIP", "CLIP", [8]), out("VAE", "VAE", [4])],
        ),
        node(5, "EmptyLatentImage", [512, 512, 1], outputs=[out("LATENT", "LATENT", [2])]),
        node(
            6,
            "CLIPTextEncode",
            ["a cat"],
            inputs=[inp("clip", "CLIP", 8)],
            outputs=[out("CONDITIONING", "CONDITIONING", [6, 7])],
        ),
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
            outputs=[out("LATENT", "LATENT", [3])],
            title="Sampler",
        ),
        node(
            8,
            "VAEDecode",
            [],
            inputs=[inp("samples", "LATENT", 3), inp("vae", "VAE", 4)],
            outputs=[out("IMAGE", "IMAGE", [5])],
        ),
        node(9, "SaveImage", ["out"], inputs=[inp("images", "IMAGE", 5)]),
    ]
    if link_format == "object":
        return {
            **workflow(nodes, object_links(links)),
            "version": 1,
            "state": {"lastNodeId": 9, "lastLinkId": 8},
        }
    return workflow(nodes, links)


def legacy_widgets():
    """An upload button value, a KSampler saved with `true` as its control value and an old sampler
    name, a short list, a renamed node type."""
    return workflow(
        [
            node(1, "LoadImage", ["cat.png", "image"], outputs=[out("IMAGE", "IMAGE"), out("MASK", "MASK")]),
            node(2, "KSampler", [7, True, 5, 8.0, "sample_euler", "karras", 0.5]),
            node(3, "KSampler", [1, "fixed"]),
            node(4, "T2IAdapterLoader", ["adapter.safetensors"]),
        ],
        [],
    )


def linked_widget():
    """A widget input driven by a link (the link wins), a list value (wrapped) and a list in a textarea."""
    return workflow(
        [
            node(1, "PrimitiveInt", [99, "fixed"], outputs=[out("INT", "INT", [1])]),
            node(2, "EmptyLatentImage", [640, 480, 1], inputs=[inp("height", "INT", 1, widget=True)]),
            node(3, "StringConcatenate", [["a", "b"], "x\r\ny", ""]),
            node(4, "EmptyLatentImage", [[1, 2], 64, 1]),
        ],
        [[1, 1, 0, 2, 1, "INT"]],
    )


def primitive_node():
    """A PrimitiveNode feeding two seeds; one target muted."""
    return workflow(
        [
            node(
                1,
                "PrimitiveNode",
                [321, "fixed"],
                outputs=[out("INT", "INT", [1, 2], widget="seed")],
                title="Seed",
            ),
            node(
                2,
                "KSampler",
                [5, "fixed", 20, 8.0, "euler", "normal", 1.0],
                inputs=[inp("seed", "INT", 1, True)],
            ),
            node(
                3,
                "KSampler",
                [6, "fixed", 20, 8.0, "euler", "normal", 1.0],
                inputs=[inp("seed", "INT", 2, True)],
            ),
        ],
        [[1, 1, 0, 2, 0, "INT"], [2, 1, 0, 3, 0, "INT"]],
    )


def reroutes_notes_mutes():
    return workflow(
        [
            node(
                1,
                "CheckpointLoaderSimple",
                ["m.safetensors"],
                outputs=[out("MODEL", "MODEL"), out("CLIP", "CLIP"), out("VAE", "VAE", [1])],
            ),
            node(2, "Reroute", None, inputs=[inp("", "*", 1)], outputs=[out("", "VAE", [2])]),
            node(3, "Reroute", None, inputs=[inp("", "*", 2)], outputs=[out("", "VAE", [3])]),
            node(4, "VAEDecode", [], inputs=[inp("samples", "LATENT", 4), inp("vae", "VAE", 3)]),
            node(5, "EmptyLatentImage", [64, 64, 1], mode=2, outputs=[out("LATENT", "LATENT", [4])]),
            node(6, "Note", ["read me"]),
            node(7, "MarkdownNote", ["# title"]),
        ],
        [[1, 1, 2, 2, 0, "VAE"], [2, 2, 0, 3, 0, "VAE"], [3, 3, 0, 4, 1, "VAE"], [4, 5, 0, 4, 0, "LATENT"]],
    )


def bypass_chain():
    """Two bypassed LatentUpscale nodes: the decode's input rewires to the empty latent."""
    upscale = lambda i, w, link_in, link_out, mode: node(  # noqa: E731
        i,
        "LatentUpscale",
        ["nearest-exact", w, w, "disabled"],
        inputs=[inp("samples", "LATENT", link_in)],
        outputs=[out("LATENT", "LATENT", [link_out])],
        mode=mode,
    )
    return workflow(
        [
            node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT", [1])]),
            upscale(2, 128, 1, 2, 4),
            upscale(3, 256, 2, 3, 4),
            node(4, "VAEDecode", [], inputs=[inp("samples", "LATENT", 3), inp("vae", "VAE")]),
        ],
        [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 0, 3, 0, "LATENT"], [3, 3, 0, 4, 0, "LATENT"]],
    )


def bypass_by_type():
    """A bypassed node whose output type matches its second input, not the same slot."""
    return workflow(
        [
            node(
                1,
                "CheckpointLoaderSimple",
                ["m.safetensors"],
                outputs=[out("MODEL", "MODEL", [1]), out("CLIP", "CLIP", [2]), out("VAE", "VAE")],
            ),
            node(
                2,
                "LoraLoader",
                ["l.safetensors", 1.0, 1.0],
                mode=4,
                inputs=[inp("model", "MODEL", 1), inp("clip", "CLIP", 2)],
                outputs=[out("MODEL", "MODEL", [3]), out("CLIP", "CLIP", [4])],
            ),
            node(3, "CLIPTextEncode", ["hi"], inputs=[inp("clip", "CLIP", 4)]),
            node(4, "ModelSamplingDiscrete", ["eps", False], inputs=[inp("model", "MODEL", 3)]),
        ],
        [
            [1, 1, 0, 2, 0, "MODEL"],
            [2, 1, 1, 2, 1, "CLIP"],
            [3, 2, 0, 4, 0, "MODEL"],
            [4, 2, 1, 3, 0, "CLIP"],
        ],
    )


def _io_link(link_id, origin, origin_slot, target, target_slot, type_):
    keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
    return dict(zip(keys, (link_id, origin, origin_slot, target, target_slot, type_)))


def _definition(sub_id, name, nodes, links, inputs, outputs):
    return {
        "id": sub_id,
        "version": 1,
        "state": {"lastGroupId": 0, "lastNodeId": 20, "lastLinkId": 40, "lastRerouteId": 0},
        "revision": 0,
        "config": {},
        "name": name,
        "inputNode": {"id": -10, "bounding": [0, 0, 120, 60]},
        "outputNode": {"id": -20, "bounding": [400, 0, 120, 60]},
        "inputs": inputs,
        "outputs": outputs,
        "widgets": [],
        "nodes": nodes,
        "groups": [],
        "links": links,
        "extra": {},
    }


def _io(name, type_, link_ids, index):
    return {"id": f"{name}-{index}", "name": name, "type": type_, "linkIds": link_ids, "pos": [0, 0]}


INNER_ID = "11111111-1111-4111-8111-111111111111"
OUTER_ID = "22222222-2222-4222-8222-222222222222"


def nested_subgraphs():
    """Root → "Outer" instance → "Inner" instance → EmptyLatentImage, width promoted at both levels."""
    inner = _definition(
        INNER_ID,
        "Inner",
        [
            node(
                7,
                "EmptyLatentImage",
                [64, 64, 1],
                inputs=[inp("width", "INT", 20, widget=True)],
                outputs=[out("LATENT", "LATENT", [21])],
            )
        ],
        [_io_link(20, -10, 0, 7, 0, "INT"), _io_link(21, 7, 0, -20, 0, "LATENT")],
        [_io("width", "INT", [20], 0)],
        [_io("LATENT", "LATENT", [21], 0)],
    )
    outer = _definition(
        OUTER_ID,
        "Outer",
        [
            node(
                5,
                INNER_ID,
                [320],
                inputs=[inp("width", "INT", 30, widget=True)],
                outputs=[out("LATENT", "LATENT", [31])],
            )
        ],
        [_io_link(30, -10, 0, 5, 0, "INT"), _io_link(31, 5, 0, -20, 0, "LATENT")],
        [_io("width", "INT", [30], 0)],
        [_io("LATENT", "LATENT", [31], 0)],
    )
    return workflow(
        [
            node(
                2,
                OUTER_ID,
                [448],
                inputs=[inp("width", "INT", None, widget=True)],
                outputs=[out("LATENT", "LATENT", [1])],
                title="Latent maker",
            ),
            node(3, "VAEDecode", [], inputs=[inp("samples", "LATENT", 1), inp("vae", "VAE")]),
        ],
        [[1, 2, 0, 3, 0, "LATENT"]],
        definitions={"subgraphs": [inner, outer]},
    )


def subgraph_linked_input():
    """A subgraph input fed by an outer node, and an instance whose saved inputs omit unlinked widgets."""
    inner = _definition(
        INNER_ID,
        "Scale",
        [
            node(
                4,
                "LatentUpscaleBy",
                ["nearest-exact", 1.5],
                inputs=[inp("samples", "LATENT", 20), inp("scale_by", "FLOAT", 22, widget=True)],
                outputs=[out("LATENT", "LATENT", [21])],
            )
        ],
        [
            _io_link(20, -10, 0, 4, 0, "LATENT"),
            _io_link(22, -10, 1, 4, 1, "FLOAT"),
            _io_link(21, 4, 0, -20, 0, "LATENT"),
        ],
        [_io("samples", "LATENT", [20], 0), _io("scale_by", "FLOAT", [22], 1)],
        [_io("LATENT", "LATENT", [21], 0)],
    )
    return workflow(
        [
            node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT", [1])]),
            node(
                2,
                INNER_ID,
                [2.5],
                inputs=[inp("samples", "LATENT", 1)],
                outputs=[out("LATENT", "LATENT", [2])],
                properties={"proxyWidgets": "[]"},
            ),
            node(3, "VAEDecode", [], inputs=[inp("samples", "LATENT", 2), inp("vae", "VAE")]),
        ],
        [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 0, 3, 0, "LATENT"]],
        definitions={"subgraphs": [inner]},
    )


def group_node():
    """A legacy group node: EmptyLatentImage → LatentUpscaleBy inside, its widgets on the instance."""
    group = {
        "nodes": [
            {
                "type": "EmptyLatentImage",
                "pos": [0, 0],
                "size": [200, 100],
                "flags": {},
                "order": 0,
                "mode": 0,
                "outputs": [{"name": "LATENT", "type": "LATENT", "links": [], "slot_index": 0}],
                "properties": {},
                "widgets_values": [64, 64, 1],
                "index": 0,
            },
            {
                "type": "LatentUpscaleBy",
                "pos": [300, 0],
                "size": [200, 100],
                "flags": {},
                "order": 1,
                "mode": 0,
                "inputs": [{"name": "samples", "type": "LATENT", "link": None}],
                "outputs": [{"name": "LATENT", "type": "LATENT", "links": [], "slot_index": 0}],
                "properties": {},
                "widgets_values": ["nearest-exact", 1.5],
                "index": 1,
            },
        ],
        "links": [[0, 0, 1, 0, 1, "LATENT"]],
        "external": [[1, 0, "LATENT"]],
    }
    return workflow(
        [
            node(7, "workflow>Latents", [96, 96, 2, "bislerp", 2.0], outputs=[out("LATENT", "LATENT", [1])]),
            node(8, "VAEDecode", [], inputs=[inp("samples", "LATENT", 1), inp("vae", "VAE")]),
        ],
        [[1, 7, 0, 8, 0, "LATENT"]],
        extra={"groupNodes": {"Latents": group}},
    )


def group_node_with_input():
    """A legacy group node of two LatentUpscaleBy nodes fed from outside the group."""
    upscale = lambda index: {  # noqa: E731
        "type": "LatentUpscaleBy",
        "pos": [300 * index, 0],
        "size": [200, 100],
        "flags": {},
        "order": index,
        "mode": 0,
        "inputs": [{"name": "samples", "type": "LATENT", "link": None}],
        "outputs": [{"name": "LATENT", "type": "LATENT", "links": [], "slot_index": 0}],
        "properties": {},
        "widgets_values": ["nearest-exact", 1.5],
        "index": index,
    }
    group = {"nodes": [upscale(0), upscale(1)], "links": [[0, 0, 1, 0, 2, "LATENT"]], "external": []}
    return workflow(
        [
            node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT", [1])]),
            node(
                7,
                "workflow>Up",
                ["bilinear", 2.0, "bicubic", 3.0],
                inputs=[inp("samples", "LATENT", 1)],
                outputs=[out("LATENT", "LATENT", [2])],
            ),
            node(8, "VAEDecode", [], inputs=[inp("samples", "LATENT", 2), inp("vae", "VAE")]),
        ],
        [[1, 1, 0, 7, 0, "LATENT"], [2, 7, 0, 8, 0, "LATENT"]],
        extra={"groupNodes": {"Up": group}},
    )


def _group_inner(index, node_type, widgets, inputs=(), title=None):
    return {
        "type": node_type,
        "pos": [300 * index, 0],
        "size": [200, 100],
        "flags": {},
        "order": index,
        "mode": 0,
        "inputs": list(inputs),
        "outputs": [{"name": "LATENT", "type": "LATENT", "links": [], "slot_index": 0}],
        "properties": {},
        "widgets_values": widgets,
        "index": index,
        **({"title": title} if title else {}),
    }


def group_node_duplicate_inputs():
    """A group of two LatentUpscaleBy nodes, both fed from outside: the second one's inputs and widgets
    are renamed `LatentUpscaleBy samples`, ... ([FE] groupNode.ts getInputConfig); the instance saved its
    inputs in another order, so only their names tell them apart."""
    samples = [{"name": "samples", "type": "LATENT", "link": None}]
    group = {
        "nodes": [
            _group_inner(0, "LatentUpscaleBy", ["nearest-exact", 1.5], samples),
            _group_inner(1, "LatentUpscaleBy", ["nearest-exact", 1.5], samples),
        ],
        "links": [],
        "external": [],
    }
    return workflow(
        [
            node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT", [1])]),
            node(2, "EmptyLatentImage", [32, 32, 1], outputs=[out("LATENT", "LATENT", [2])]),
            node(
                7,
                "workflow>Twins",
                ["bilinear", 2.0, "bicubic", 3.0],
                inputs=[inp("LatentUpscaleBy samples", "LATENT", 2), inp("samples", "LATENT", 1)],
                outputs=[out("LATENT", "LATENT", [3]), out("LatentUpscaleBy LATENT", "LATENT", [4])],
            ),
            node(8, "VAEDecode", [], inputs=[inp("samples", "LATENT", 3), inp("vae", "VAE")]),
            node(9, "VAEDecode", [], inputs=[inp("samples", "LATENT", 4), inp("vae", "VAE")]),
        ],
        [
            [1, 1, 0, 7, 1, "LATENT"],
            [2, 2, 0, 7, 0, "LATENT"],
            [3, 7, 0, 8, 0, "LATENT"],
            [4, 7, 1, 9, 0, "LATENT"],
        ],
        extra={"groupNodes": {"Twins": group}},
    )


def group_node_linked_widget():
    """A group whose inner EmptyLatentImage has its `width` widget converted to an input, linked from
    outside the group to a PrimitiveInt, and a LatentUpscaleBy fed inside the group. The group's widgets:
    height, batch_size, upscale_method, scale_by, then the converted width."""
    width = {"name": "width", "type": "INT", "link": None, "widget": {"name": "width"}}
    group = {
        "nodes": [
            _group_inner(0, "EmptyLatentImage", [512, 256, 1], [width]),
            _group_inner(
                1,
                "LatentUpscaleBy",
                ["nearest-exact", 1.5],
                [{"name": "samples", "type": "LATENT", "link": None}],
            ),
        ],
        "links": [[0, 0, 1, 0, 1, "LATENT"]],
        "external": [[1, 0, "LATENT"]],
    }
    return workflow(
        [
            node(1, "PrimitiveInt", [640, "fixed"], outputs=[out("INT", "INT", [1])]),
            node(
                7,
                "workflow>Sized",
                [256, 2, "bislerp", 2.0, 512],
                inputs=[inp("width", "INT", 1, widget=True)],
                outputs=[out("LATENT", "LATENT", [2])],
            ),
            node(8, "VAEDecode", [], inputs=[inp("samples", "LATENT", 2), inp("vae", "VAE")]),
        ],
        [[1, 1, 0, 7, 0, "INT"], [2, 7, 0, 8, 0, "LATENT"]],
        extra={"groupNodes": {"Sized": group}},
    )


def subgraph_modes():
    """Two instances of one definition: one bypassed, one muted, with different promoted values; an
    inner node muted; a non-empty `proxyWidgets` (ignored by 1.27.10)."""
    inner = _definition(
        INNER_ID,
        "Scale",
        [
            node(
                4,
                "LatentUpscaleBy",
                ["nearest-exact", 1.5],
                inputs=[inp("samples", "LATENT", 20), inp("scale_by", "FLOAT", 22, widget=True)],
                outputs=[out("LATENT", "LATENT", [21])],
            ),
            node(5, "EmptyLatentImage", [8, 8, 1], mode=2),
        ],
        [
            _io_link(20, -10, 0, 4, 0, "LATENT"),
            _io_link(22, -10, 1, 4, 1, "FLOAT"),
            _io_link(21, 4, 0, -20, 0, "LATENT"),
        ],
        [_io("samples", "LATENT", [20], 0), _io("scale_by", "FLOAT", [22], 1)],
        [_io("LATENT", "LATENT", [21], 0)],
    )
    instance = lambda i, value, link_in, link_out, mode: node(  # noqa: E731
        i,
        INNER_ID,
        [value],
        inputs=[inp("samples", "LATENT", link_in)],
        outputs=[out("LATENT", "LATENT", [link_out])],
        mode=mode,
        properties={"proxyWidgets": [["4", "upscale_method"]]},
    )
    return workflow(
        [
            node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT", [1])]),
            instance(2, 2.5, 1, 2, 4),
            instance(3, 3.5, 2, 3, 2),
            node(6, "VAEDecode", [], inputs=[inp("samples", "LATENT", 3), inp("vae", "VAE")]),
            node(7, "VAEDecode", [], inputs=[inp("samples", "LATENT", 4), inp("vae", "VAE")]),
        ],
        [
            [1, 1, 0, 2, 0, "LATENT"],
            [2, 2, 0, 3, 0, "LATENT"],
            [3, 3, 0, 6, 0, "LATENT"],
            [4, 2, 0, 7, 0, "LATENT"],
        ],
        definitions={"subgraphs": [inner]},
    )


def primitive_into_subgraph():
    """A PrimitiveNode with text replacement feeding a subgraph instance's promoted widget."""
    inner = _definition(
        INNER_ID,
        "Encode",
        [
            node(
                4,
                "CLIPTextEncode",
                ["inner text"],
                inputs=[inp("clip", "CLIP"), inp("text", "STRING", 20, widget=True)],
            )
        ],
        [_io_link(20, -10, 0, 4, 1, "STRING")],
        [_io("text", "STRING", [20], 0)],
        [],
    )
    return workflow(
        [
            node(
                1,
                "PrimitiveNode",
                ["%Sampler.steps% steps"],
                outputs=[out("STRING", "STRING", [1], widget="text")],
                properties={"Run widget replace on values": True},
            ),
            node(2, INNER_ID, ["instance text"], inputs=[inp("text", "STRING", 1, widget=True)]),
            node(3, "KSampler", [1, "fixed", 12, 8.0, "euler", "normal", 1.0], title="Sampler"),
        ],
        [[1, 1, 0, 2, 0, "STRING"]],
        definitions={"subgraphs": [inner]},
    )


def unresolved_links():
    """A widget input fed by a muted node (the input disappears), one fed by a bypassed node with no
    matching input (the widget value stays), and a reroute into a widget input."""
    return workflow(
        [
            node(1, "PrimitiveInt", [5, "fixed"], mode=2, outputs=[out("INT", "INT", [1])]),
            node(
                2, "LatentUpscaleBy", ["nearest-exact", 1.5], mode=4, outputs=[out("LATENT", "LATENT", [2])]
            ),
            node(3, "PrimitiveInt", [77, "fixed"], outputs=[out("INT", "INT", [3])]),
            node(4, "Reroute", None, inputs=[inp("", "*", 3)], outputs=[out("", "INT", [4])]),
            node(
                5,
                "EmptyLatentImage",
                [64, 32, 1],
                inputs=[inp("width", "INT", 1, widget=True), inp("height", "INT", 4, widget=True)],
            ),
            node(6, "VAEDecode", [], inputs=[inp("samples", "LATENT", 2), inp("vae", "VAE")]),
        ],
        [[1, 1, 0, 5, 0, "INT"], [2, 2, 0, 6, 0, "LATENT"], [3, 3, 0, 4, 0, "*"], [4, 4, 0, 5, 1, "INT"]],
    )


def nested_dynamic_prompt():
    return workflow(
        [node(1, "CLIPTextEncode", ["{a {b|c}|d} \\{x\\} {|e} // c"], inputs=[inp("clip", "CLIP")])], []
    )


def dynamic_prompt():
    return workflow(
        [node(1, "CLIPTextEncode", ["a {red|blue} cat /* c */ // note"], inputs=[inp("clip", "CLIP")])], []
    )


def filename_prefix():
    return workflow(
        [
            node(
                1, "EmptyLatentImage", [640, 480, 1], properties={"Node name for S&R": "Empty Latent Image"}
            ),
            node(2, "SaveImage", ["img/%Empty Latent Image.width%_x"], inputs=[inp("images", "IMAGE")]),
        ],
        [],
    )


CASES = {
    "t2i": t2i,
    "t2i_object_links": lambda: t2i("object"),
    "legacy_widgets": legacy_widgets,
    "linked_widget": linked_widget,
    "primitive_node": primitive_node,
    "reroutes_notes_mutes": reroutes_notes_mutes,
    "bypass_chain": bypass_chain,
    "bypass_by_type": bypass_by_type,
    "nested_subgraphs": nested_subgraphs,
    "subgraph_linked_input": subgraph_linked_input,
    "group_node": group_node,
    "group_node_with_input": group_node_with_input,
    "group_node_duplicate_inputs": group_node_duplicate_inputs,
    "group_node_linked_widget": group_node_linked_widget,
    "subgraph_modes": subgraph_modes,
    "primitive_into_subgraph": primitive_into_subgraph,
    "unresolved_links": unresolved_links,
    "nested_dynamic_prompt": nested_dynamic_prompt,
    "dynamic_prompt": dynamic_prompt,
    "filename_prefix": filename_prefix,
}


def run(data, node_defs, rng=None):
    return convert(LoadedWorkflow("test.json", "json", data, None), node_defs, rng=rng or FirstOption())


KSAMPLER_T2I = {
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
    assert prompt["3"] == {"inputs": KSAMPLER_T2I, "class_type": "KSampler", "_meta": {"title": "Sampler"}}
    assert prompt["5"]["inputs"] == {"width": 512, "height": 512, "batch_size": 1}
    assert prompt["8"]["_meta"]["title"] == "VAE Decode"  # the display name when the node has no title
    assert conversion.nodes["3"].widget_names == (
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "denoise",
    )
    assert conversion.nodes["6"].widget_names == ("text",)
    assert conversion.warnings == ()


def test_v1_object_links_give_the_same_prompt(node_defs):
    assert run(t2i("object"), node_defs).prompt == run(t2i(), node_defs).prompt


def test_upload_button_legacy_control_and_short_values(node_defs):
    prompt = run(legacy_widgets(), node_defs).prompt
    assert prompt["1"]["inputs"] == {"image": "cat.png"}  # the upload button holds a position, is not sent
    assert prompt["2"]["inputs"] == {
        "seed": 7,
        "steps": 5,
        "cfg": 8.0,
        "sampler_name": "euler",
        "scheduler": "karras",
        "denoise": 0.5,
    }
    assert prompt["3"]["inputs"]["steps"] == 20 and prompt["3"]["inputs"]["denoise"] == 1.0  # defaults
    assert prompt["4"] == {
        "inputs": {"control_net_name": "adapter.safetensors"},
        "class_type": "ControlNetLoader",
        "_meta": {"title": "Load ControlNet Model"},
    }


def test_record_widgets_values_are_read_by_name(node_defs):
    # The record form comes from custom packs whose own frontend code reads it by widget name (VHS);
    # the core frontend never writes it.
    data = workflow([node(4, "ImageScale", {"width": 640, "upscale_method": "bilinear"})], [])
    prompt = run(data, node_defs).prompt
    assert prompt["4"]["inputs"] == {
        "upscale_method": "bilinear",
        "width": 640,
        "height": 512,
        "crop": "disabled",
    }


def test_linked_widget_link_wins_and_lists_are_wrapped(node_defs):
    conversion = run(linked_widget(), node_defs)
    assert conversion.prompt["2"]["inputs"] == {"width": 640, "height": ["1", 0], "batch_size": 1}
    assert conversion.nodes["2"].widget_names == ("width", "batch_size")
    assert conversion.prompt["1"] == {
        "inputs": {"value": 99},
        "class_type": "PrimitiveInt",
        "_meta": {"title": "Int"},
    }
    assert conversion.prompt["3"]["inputs"]["string_a"] == "a,b"  # a textarea holds text
    assert conversion.prompt["3"]["inputs"]["string_b"] == "x\ny"
    assert conversion.prompt["4"]["inputs"]["width"] == {"__value__": [1, 2]}


def test_combo_control_and_force_input_placeholders():
    """Rules no core node of 0.3.64 exercises, on definitions written here."""
    definitions = NodeDefs(
        {
            "Pick": {
                "input": {
                    "required": {
                        "choice": [["a", "b"], {"control_after_generate": True}],
                        "n": ["INT", {"default": 1}],
                    }
                },
                "input_order": {"required": ["choice", "n"]},
                "output": [],
                "display_name": "Pick",
            },
            "Old": {
                "input": {
                    "required": {"a": ["INT", {"forceInput": True}], "b": ["STRING", {}], "seed": ["INT", {}]}
                },
                "input_order": {"required": ["a", "b", "seed"]},
                "output": [],
                "display_name": "Old",
            },
        },
        source="test",
    )
    data = workflow([node(1, "Pick", ["b", "randomize", "", 7]), node(2, "Old", [0, "text", 5, "fixed"])], [])
    prompt = run(data, definitions).prompt
    assert prompt["1"]["inputs"] == {"choice": "b", "n": 7}  # control + filter list hold two positions
    assert prompt["2"]["inputs"] == {"b": "text", "seed": 5}  # the pre-1.16 placeholder for `a` is dropped


def test_primitive_node_pushes_its_value_and_vanishes(node_defs):
    prompt = run(primitive_node(), node_defs).prompt
    assert set(prompt) == {"2", "3"}
    assert prompt["2"]["inputs"]["seed"] == 321 and prompt["3"]["inputs"]["seed"] == 321


def test_reroute_chain_notes_and_muted_node(node_defs):
    prompt = run(reroutes_notes_mutes(), node_defs).prompt
    assert set(prompt) == {"1", "4"}
    assert prompt["4"]["inputs"] == {"vae": ["1", 2]}  # the muted origin's link input is deleted


def test_bypass_chain_rewires_to_the_upstream_node(node_defs):
    prompt = run(bypass_chain(), node_defs).prompt
    assert set(prompt) == {"1", "4"}
    assert prompt["4"]["inputs"] == {"samples": ["1", 0]}


def test_bypass_matches_outputs_by_type(node_defs):
    prompt = run(bypass_by_type(), node_defs).prompt
    assert prompt["3"]["inputs"]["clip"] == ["1", 1]  # CLIP output → the CLIP input, slot 1
    assert prompt["4"]["inputs"]["model"] == ["1", 0]


def test_nested_subgraphs_with_promoted_widgets(node_defs):
    conversion = run(nested_subgraphs(), node_defs)
    assert list(conversion.prompt) == ["3", "2:5:7"]
    assert conversion.prompt["2:5:7"]["inputs"] == {"width": 448, "height": 64, "batch_size": 1}
    assert conversion.prompt["3"]["inputs"] == {"samples": ["2:5:7", 0]}
    assert conversion.nodes["2:5:7"].subgraph == ("Latent maker", "Inner")


def test_subgraph_input_linked_from_outside(node_defs):
    prompt = run(subgraph_linked_input(), node_defs).prompt
    assert prompt["2:4"]["inputs"] == {
        "upscale_method": "nearest-exact",
        "scale_by": 2.5,
        "samples": ["1", 0],
    }
    assert prompt["3"]["inputs"] == {"samples": ["2:4", 0]}


def test_muted_and_bypassed_subgraph_instances(node_defs):
    conversion = run(subgraph_modes(), node_defs)
    prompt = conversion.prompt
    # 1.27.10 keeps inner nodes of muted or bypassed instances (they keep their own mode); the
    # bypassed instance's output is rewired to its input; the muted inner node is dropped.
    assert list(prompt) == ["1", "6", "7", "2:4", "3:4"]
    assert prompt["7"]["inputs"] == {"samples": ["1", 0]}
    assert prompt["6"]["inputs"] == {"samples": ["3:4", 0]}
    assert prompt["2:4"]["inputs"]["scale_by"] == 2.5 and prompt["3:4"]["inputs"]["scale_by"] == 3.5
    assert prompt["3:4"]["inputs"]["samples"] == ["1", 0]
    assert sum("subgraph; frontend 1.27.10 still runs its inner nodes" in w for w in conversion.warnings) == 2
    assert sum("proxyWidgets, written by a newer frontend, is ignored" in w for w in conversion.warnings) == 2


def test_primitive_value_with_replacement_into_a_subgraph(node_defs):
    conversion = run(primitive_into_subgraph(), node_defs)
    assert conversion.prompt["2:4"]["inputs"] == {"text": "12 steps"}
    assert conversion.nodes["2:4"].widget_names == ("text",)


def test_links_that_resolve_to_nothing(node_defs):
    prompt = run(unresolved_links(), node_defs).prompt
    assert prompt["5"]["inputs"] == {"height": ["3", 0], "batch_size": 1}  # muted origin: input deleted
    assert prompt["6"]["inputs"] == {}  # a bypassed node with nothing to pass through


def test_nested_dynamic_prompt_and_escapes(node_defs):
    assert run(nested_dynamic_prompt(), node_defs).prompt["1"]["inputs"]["text"] == "a b {x}  "


def test_self_containing_subgraph_is_an_error(node_defs):
    loop = _definition(INNER_ID, "Loop", [node(1, INNER_ID, [])], [], [], [])
    data = workflow([node(1, INNER_ID, [])], [], definitions={"subgraphs": [loop]})
    with pytest.raises(WorkflowGraphError, match="'Loop' contains itself"):
        run(data, node_defs)


def test_legacy_group_node_expands_with_group_ids(node_defs):
    prompt = run(group_node(), node_defs).prompt
    assert prompt["7:0"]["inputs"] == {"width": 96, "height": 96, "batch_size": 2}
    assert prompt["7:1"]["inputs"] == {"upscale_method": "bislerp", "scale_by": 2.0, "samples": ["7:0", 0]}
    assert prompt["8"]["inputs"] == {"samples": ["7:1", 0]}


def test_group_node_inputs_and_widgets_in_order(node_defs):
    prompt = run(group_node_with_input(), node_defs).prompt
    assert list(prompt) == ["1", "8", "7:0", "7:1"]
    assert prompt["7:0"]["inputs"] == {"upscale_method": "bilinear", "scale_by": 2.0, "samples": ["1", 0]}
    assert prompt["7:1"]["inputs"] == {"upscale_method": "bicubic", "scale_by": 3.0, "samples": ["7:0", 0]}
    assert prompt["8"]["inputs"] == {"samples": ["7:1", 0]}


def test_group_node_duplicate_inputs_take_their_links_by_renamed_name(node_defs):
    prompt = run(group_node_duplicate_inputs(), node_defs).prompt
    assert prompt["7:0"]["inputs"] == {"upscale_method": "bilinear", "scale_by": 2.0, "samples": ["1", 0]}
    assert prompt["7:1"]["inputs"] == {"upscale_method": "bicubic", "scale_by": 3.0, "samples": ["2", 0]}
    assert (prompt["8"]["inputs"], prompt["9"]["inputs"]) == (
        {"samples": ["7:0", 0]},
        {"samples": ["7:1", 0]},
    )


def test_group_node_widget_linked_from_outside_keeps_its_value_as_the_frontend_does(node_defs):
    conversion = run(group_node_linked_widget(), node_defs)
    prompt = conversion.prompt
    assert prompt["7:0"]["inputs"] == {"width": 512, "height": 256, "batch_size": 2}
    assert prompt["7:1"]["inputs"] == {"upscale_method": "bislerp", "scale_by": 2.0, "samples": ["7:0", 0]}
    assert any("'width'" in w and "group node" in w and "keeps" in w for w in conversion.warnings)


def test_dynamic_prompt_choice_is_seeded_and_reported(node_defs):
    first = run(dynamic_prompt(), node_defs)
    assert first.prompt["1"]["inputs"]["text"] == "a red cat  "
    assert any("dynamic-prompt" in warning for warning in first.warnings)
    seeded = [
        run(dynamic_prompt(), node_defs, random.Random(seed)).prompt["1"]["inputs"]["text"]
        for seed in range(20)
    ]
    assert set(seeded) == {"a red cat  ", "a blue cat  "}
    default = convert(LoadedWorkflow("x.json", "json", dynamic_prompt(), None), node_defs)
    again = convert(LoadedWorkflow("x.json", "json", dynamic_prompt(), None), node_defs)
    assert default.prompt == again.prompt  # the default seed comes from the file


def test_filename_prefix_substitutions(node_defs):
    conversion = run(filename_prefix(), node_defs)
    assert conversion.prompt["2"]["inputs"]["filename_prefix"] == "img/640_x"
    date = run(workflow([node(1, "SaveImage", ["%date:yyyy-MM%"])], []), node_defs)
    assert date.prompt["1"]["inputs"]["filename_prefix"][:2] == "20"
    assert any("filename_prefix" in warning for warning in conversion.warnings + date.warnings)


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
    assert conversion.declared_models == (
        {"name": "x.safetensors", "directory": "loras", "node_id": "2"},
        {"name": "top.safetensors", "directory": "checkpoints", "node_id": None},
    )


def test_old_signature_values_are_realigned_by_type(node_defs):
    # Saved before `TAPose` existed (ver 0.3.59): positionally Seed would get "PBR".
    data = workflow(
        [node(1, "Rodin3D_Gen2", [0, "PBR", "500K-Triangle", False], properties={"ver": "0.3.59"})], []
    )
    conversion = run(data, node_defs)
    assert conversion.prompt["1"]["inputs"] == {
        "TAPose": False,
        "Seed": 0,
        "Material_Type": "PBR",
        "Polygon_count": "500K-Triangle",
    }
    assert any("0.3.59" in warning and "realigned" in warning for warning in conversion.warnings)


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
    assert conversion.nodes["2"].title == "Dec" and conversion.nodes["1"].title == "Empty Latent Image"
    assert any("absent node 9" in warning for warning in conversion.warnings)
    assert prompt["2"]["inputs"]["vae"] == ["9", 0]  # the caller's prompt is left as it was


def test_images_saved_by_comfyui_carry_the_prompt_we_compute(node_defs, templates_dir):
    """Thumbnails of the template package were saved by ComfyUI with the workflow and the prompt the
    frontend sent; converting the workflow gives that prompt (`is_changed` is added by the backend)."""
    from wizard.ingest import load_path

    loaded = load_path(templates_dir / "text_to_video_wan-1.webp")
    sent = {
        node_id: {k: v for k, v in entry.items() if k != "is_changed"}
        for node_id, entry in loaded.prompt.items()
    }
    assert convert(loaded, node_defs).prompt == sent


@pytest.mark.tier2
@pytest.mark.browser
def test_cases_match_the_real_frontend(node_defs, comfyui_path, tmp_path):
    """Every case above converts exactly as ComfyUI frontend 1.27.10 itself does (headless Chromium)."""
    paths = []
    for name, build in CASES.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(build()), encoding="utf-8")
        paths.append(path)
    completed = subprocess.run(
        [sys.executable, str(ORACLE), str(tmp_path / "out"), *map(str, paths)],
        env={**os.environ, "COMFYUI_PATH": str(comfyui_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    mismatches = {}
    for name, build in CASES.items():
        real = json.loads((tmp_path / "out" / f"{name}.json").read_text(encoding="utf-8"))["output"]
        ours = run(build(), node_defs).prompt
        if ours != real or list(ours) != list(real):
            mismatches[name] = {"ours": ours, "frontend": real}
    assert not mismatches, json.dumps(mismatches, indent=1)[:6000]


def test_the_planner_hands_the_renderer_a_frozen_plan(node_defs):
    """Loader → planner → frozen plan → renderer: rendering cannot change what planning decided."""
    import dataclasses

    from wizard.convert.frontend_js import ContentSeededRandom
    from wizard.convert.load import load_ui_graph
    from wizard.convert.plan import plan
    from wizard.convert.render import render

    data = t2i()
    planned = plan(load_ui_graph(data), node_defs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        planned.warnings = ()
    with pytest.raises(TypeError):
        planned.values[("", "3")]["seed"] = 0
    with pytest.raises(TypeError):
        planned.execs["99"] = planned.execs["3"]
    first = render(planned, ContentSeededRandom(data))
    assert render(planned, ContentSeededRandom(data)) == first
    assert first.prompt == run(t2i(), node_defs).prompt
