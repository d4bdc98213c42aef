"""Hand-built `Conversion` records and API prompts shared by the analysis, AppSpec, codegen, graph and
resolution tests, so those tests pin their own stage alone (without the converter)."""

from __future__ import annotations

from wizard.records import Conversion, FlatNode


def conversion_from_prompt(prompt: dict, node_defs, ui_graph: dict | None = None) -> Conversion:
    """The `Conversion` the converter would return for an API prompt."""
    nodes = {}
    for node_id, node in prompt.items():
        node_def = node_defs.get(node["class_type"])
        widget_names = tuple(
            spec.name
            for spec in (node_def.widget_inputs if node_def else ())
            if spec.name in node["inputs"] and not isinstance(node["inputs"][spec.name], list)
        )
        nodes[node_id] = FlatNode(
            id=node_id,
            class_type=node["class_type"],
            title=node.get("_meta", {}).get("title")
            or (node_def.display_name if node_def else node["class_type"]),
            inputs=node["inputs"],
            widget_names=widget_names,
            known=node_def is not None,
        )
    return Conversion(prompt=prompt, nodes=nodes, ui_graph=ui_graph)


def t2i_prompt() -> dict:
    """ComfyUI's default SD1.5 text-to-image workflow, as the frontend queues it."""
    return {
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": 156680208700286,
                "steps": 20,
                "cfg": 8,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
            "_meta": {"title": "KSampler"},
        },
        "4": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "v1-5-pruned-emaonly-fp16.safetensors"},
            "_meta": {"title": "Load Checkpoint"},
        },
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 512, "height": 512, "batch_size": 1},
            "_meta": {"title": "Empty Latent Image"},
        },
        # The negative prompt comes first in the prompt: the order must come from the links.
        "7": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "text, watermark", "clip": ["4", 1]},
            "_meta": {"title": "CLIP Text Encode (Prompt)"},
        },
        "6": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a glass bottle", "clip": ["4", 1]},
            "_meta": {"title": "CLIP Text Encode (Prompt)"},
        },
        "8": {
            "class_type": "VAEDecode",
            "inputs": {"samples": ["3", 0], "vae": ["4", 2]},
            "_meta": {"title": "VAE Decode"},
        },
        "9": {
            "class_type": "SaveImage",
            "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]},
            "_meta": {"title": "Save Image"},
        },
    }


def conversion_of(*nodes: FlatNode, declared: tuple[dict, ...] = ()) -> Conversion:
    """The `Conversion` holding exactly `nodes`, its prompt built from them."""
    prompt = {
        node.id: {"class_type": node.class_type, "inputs": node.inputs, "_meta": {"title": node.title}}
        for node in nodes
    }
    return Conversion(
        prompt=prompt, nodes={node.id: node for node in nodes}, ui_graph=None, declared_models=declared
    )
