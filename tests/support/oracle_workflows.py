"""Hand-made UI workflows for constructs the 0.1.95 templates barely use, fed to the frontend oracle.

Each is a small v0.4 or v1 workflow built link by link (node `inputs`/`outputs` kept consistent with
`links`, as the frontend saves them): dynamic prompts with comments, nesting and escapes;
`filename_prefix` search-and-replace; a PrimitiveNode driving two converted widgets; a legacy
Reroute; bypassed and muted nodes; a Note; v1 object links; a seed saved as `true` (old files).
`write_all(folder)` writes them as `<name>.json` for `frontend_oracle.py`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class WorkflowBuilder:
    """Adds nodes and links and keeps every node's `inputs[].link` / `outputs[].links` in step."""

    def __init__(self) -> None:
        self.nodes: dict[int, dict[str, Any]] = {}
        self.links: list[list[Any]] = []

    def node(
        self, node_id: int, node_type: str, widgets: list | None = None, *, mode: int = 0, **extra
    ) -> int:
        self.nodes[node_id] = {
            "id": node_id,
            "type": node_type,
            "pos": [node_id * 40, node_id * 30],
            "size": [300, 120],
            "flags": {},
            "order": len(self.nodes),
            "mode": mode,
            "inputs": [],
            "outputs": [],
            "properties": {"Node name for S&R": node_type},
            "widgets_values": widgets if widgets is not None else [],
            **extra,
        }
        return node_id

    def link(
        self,
        origin: int,
        origin_slot: int,
        target: int,
        input_name: str,
        link_type: str,
        widget: bool = False,
    ):
        link_id = len(self.links) + 1
        outputs = self.nodes[origin]["outputs"]
        while len(outputs) <= origin_slot:
            outputs.append({"name": link_type, "type": link_type, "links": []})
        outputs[origin_slot]["links"].append(link_id)
        inputs = self.nodes[target]["inputs"]
        slot = {"name": input_name, "type": link_type, "link": link_id}
        if widget:
            slot["widget"] = {"name": input_name}
        inputs.append(slot)
        self.links.append([link_id, origin, origin_slot, target, len(inputs) - 1, link_type])

    def v04(self) -> dict[str, Any]:
        return {
            "last_node_id": max(self.nodes),
            "last_link_id": len(self.links),
            "nodes": list(self.nodes.values()),
            "links": self.links,
            "groups": [],
            "config": {},
            "extra": {},
            "version": 0.4,
        }

    def v1(self) -> dict[str, Any]:
        keys = ("id", "origin_id", "origin_slot", "target_id", "target_slot", "type")
        return {
            "version": 1,
            "state": {
                "lastGroupId": 0,
                "lastNodeId": max(self.nodes),
                "lastLinkId": len(self.links),
                "lastRerouteId": 0,
            },
            "nodes": list(self.nodes.values()),
            "links": [dict(zip(keys, link)) for link in self.links],
            "groups": [],
            "config": {},
            "extra": {},
        }


def _text_to_image(builder: WorkflowBuilder, prompt: str, prefix: str, seed: Any = 42) -> None:
    """Checkpoint → two prompts → KSampler → VAEDecode, ids 1-5; SaveImage (6) added by callers."""
    builder.node(1, "CheckpointLoaderSimple", ["model.safetensors"])
    builder.node(2, "CLIPTextEncode", [prompt], title="Positive")
    builder.node(3, "CLIPTextEncode", ["blurry // not sent\nugly"])
    builder.node(4, "EmptyLatentImage", [512, 512, 1])
    builder.node(5, "KSampler", [seed, "randomize", 20, 7.5, "euler", "normal", 1.0], title="My Sampler")
    builder.link(1, 1, 2, "clip", "CLIP")
    builder.link(1, 1, 3, "clip", "CLIP")
    builder.link(1, 0, 5, "model", "MODEL")
    builder.link(2, 0, 5, "positive", "CONDITIONING")
    builder.link(3, 0, 5, "negative", "CONDITIONING")
    builder.link(4, 0, 5, "latent_image", "LATENT")
    builder.node(7, "VAEDecode")
    builder.link(5, 0, 7, "samples", "LATENT")
    builder.link(1, 2, 7, "vae", "VAE")
    builder.node(6, "SaveImage", [prefix])


def dynamic_prompts() -> dict[str, Any]:
    builder = WorkflowBuilder()
    _text_to_image(
        builder,
        "a {red|green|blue} cat /* block\ncomment */ on a {mat|{sofa|bed}} // line comment\n\\{kept\\} {|empty}",
        "runs/%My Sampler.seed%_%KSampler.steps%_%date:yyyy%/%EmptyLatentImage.width%",
    )
    builder.link(7, 0, 6, "images", "IMAGE")
    return builder.v04()


def primitive_reroute_bypass_mute() -> dict[str, Any]:
    builder = WorkflowBuilder()
    _text_to_image(builder, "a plain prompt", "ComfyUI", seed=True)
    builder.nodes[4]["widgets_values"] = [640, 640, 1]
    builder.node(
        8, "PrimitiveNode", [768, "fixed"], title="Size", properties={"Run widget replace on values": False}
    )
    builder.link(8, 0, 4, "width", "INT", widget=True)
    builder.link(8, 0, 4, "height", "INT", widget=True)
    builder.nodes[8]["outputs"][0]["widget"] = {"name": "width"}
    builder.node(9, "Reroute", [])
    builder.link(7, 0, 9, "", "*")
    builder.node(10, "ImageInvert", mode=4)
    builder.link(9, 0, 10, "image", "IMAGE")
    builder.link(10, 0, 6, "images", "IMAGE")
    builder.node(11, "PreviewImage", mode=2)
    builder.link(7, 0, 11, "images", "IMAGE")
    builder.node(12, "Note", ["Describe the app here."])
    return builder.v04()


def v1_links() -> dict[str, Any]:
    builder = WorkflowBuilder()
    _text_to_image(builder, "a {b|c} in v1 format", "v1/%date:yyyy%")
    builder.link(7, 0, 6, "images", "IMAGE")
    return builder.v1()


WORKFLOWS = {
    "hand_dynamic_prompts": dynamic_prompts,
    "hand_primitive_reroute_bypass_mute": primitive_reroute_bypass_mute,
    "hand_v1_links": v1_links,
}


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in WORKFLOWS.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(build(), indent=1), encoding="utf-8")
        paths.append(path)
    return paths
