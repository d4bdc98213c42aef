"""Which nodes `ComfyWorkflow` preloads at start: loaders, whatever their type names.

Tier 1 checks the rule on node classes written here (`_loader_ids` only asks the engine for classes).
Tier 2 runs it on the real ComfyUI: a custom-node pack written into a temp folder, whose loader returns its
own type `TINY_WEIGHTS` after reading a safetensors file with `comfy.utils.load_torch_file` (each read is
logged to a file), is preloaded at `ComfyWorkflow.load` and never read again by requests; and every type
the core's nodes return is classified as a model type or a data type.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime import ComfyWorkflow, Input
from runtime.workflow import CORE_DATA_TYPES, MODEL_TYPES
from support.runtime_procs import REPO_ROOT, RUN_TIMEOUT_S, RuntimeSession

tier2 = pytest.mark.tier2


# --- tier 1: the rule ------------------------------------------------------------------------------


class CheckpointLoaderSimple:
    RETURN_TYPES = ("MODEL", "CLIP", "VAE")


class DownloadAndLoadDepthAnythingV2Model:
    RETURN_TYPES = ("DAMODEL",)


class IPAdapterModelLoader:
    RETURN_TYPES = ("IPADAPTER",)


class IPAdapterUnifiedLoader:  # takes the MODEL of a loader, returns it patched with its own type
    RETURN_TYPES = ("MODEL", "IPADAPTER")


class EmptyImage:
    RETURN_TYPES = ("IMAGE",)


class LoadModelAndPreview:  # a custom type next to a core data type: the image is per request
    RETURN_TYPES = ("DAMODEL", "IMAGE")


class ImageOrModel:  # a union with a data type
    RETURN_TYPES = ("DAMODEL,IMAGE",)


class ChooseFile:  # an output given as its list of choices: a COMBO
    RETURN_TYPES = (["a.safetensors", "b.safetensors"],)


class SaveWeightsInfo:  # an output node, even with a custom output type
    OUTPUT_NODE = True
    RETURN_TYPES = ("DAMODEL",)


class DepthAnything_V2:
    OUTPUT_NODE = True  # an output node here, so the graphs below have an output
    RETURN_TYPES = ("IMAGE",)


class NodeTable:
    """Stands in for `Engine` where `_loader_ids` asks it: the class of each node type."""

    def node_class(self, class_type: str):
        return globals()[class_type]


def _loaders(prompt: dict, inputs: dict[str, Input] | None = None) -> list[str]:
    workflow = ComfyWorkflow(engine=NodeTable(), prompt=prompt, inputs=inputs or {})
    return workflow._loader_ids()


def _node(class_type: str, **inputs) -> dict:
    return {"class_type": class_type, "inputs": inputs}


def _used_by_output(*node_ids: str) -> dict:
    """An output node linking to `node_ids`, so they are needed."""
    return {
        "out": _node("DepthAnything_V2", **{f"in{i}": [node_id, 0] for i, node_id in enumerate(node_ids)})
    }


def test_core_and_custom_loaders_with_fixed_inputs_are_preloaded():
    prompt = {
        "ckpt": _node("CheckpointLoaderSimple", ckpt_name="sd15.safetensors"),
        "da": _node("DownloadAndLoadDepthAnythingV2Model", model="depth_anything_v2_vits_fp16.safetensors"),
        "ipa": _node("IPAdapterModelLoader", ipadapter_file="ip-adapter_sd15.safetensors"),
        "unified": _node("IPAdapterUnifiedLoader", model=["ckpt", 0], preset="PLUS"),
        **_used_by_output("da", "ipa", "unified"),
    }
    assert sorted(_loaders(prompt)) == ["ckpt", "da", "ipa", "unified"]


def test_an_app_input_makes_a_custom_loader_and_the_loaders_after_it_per_request():
    prompt = {
        "da": _node("DownloadAndLoadDepthAnythingV2Model", model="vits.safetensors"),
        "ckpt": _node("CheckpointLoaderSimple", ckpt_name="sd15.safetensors"),
        "unified": _node("IPAdapterUnifiedLoader", model=["ckpt", 0], preset="PLUS"),
        **_used_by_output("da", "unified"),
    }
    inputs = {"model": Input("da", "model", "Depth model"), "checkpoint": Input("ckpt", "ckpt_name")}
    assert _loaders(prompt, inputs) == []


def test_nodes_producing_core_data_are_not_loaders_nor_what_they_feed():
    prompt = {
        "image": _node("EmptyImage", width=64, height=64),
        "fed": _node("IPAdapterUnifiedLoader", model=["image", 0], preset="PLUS"),
        "mixed": _node("LoadModelAndPreview", model="vits.safetensors"),
        "union": _node("ImageOrModel", model="vits.safetensors"),
        "combo": _node("ChooseFile", folder="checkpoints"),
        "saved": _node("SaveWeightsInfo", model="vits.safetensors"),
        **_used_by_output("image", "fed", "mixed", "union", "combo", "saved"),
    }
    assert _loaders(prompt) == []


def test_a_loader_no_output_needs_is_not_preloaded():
    prompt = {
        "used": _node("DownloadAndLoadDepthAnythingV2Model", model="vits.safetensors"),
        "unused": _node("DownloadAndLoadDepthAnythingV2Model", model="vitl.safetensors"),
        "unused_ckpt": _node("CheckpointLoaderSimple", ckpt_name="sd15.safetensors"),
        **_used_by_output("used"),
    }
    assert _loaders(prompt) == ["used"]


def test_the_core_model_types_are_not_data_types():
    assert not MODEL_TYPES & CORE_DATA_TYPES


# --- tier 2: on the real ComfyUI -------------------------------------------------------------------

TINY_PACK = '''"""Test pack: a loader returning its own type, and an output node using it with a per-request factor."""

import os

import comfy.utils

PACK_DIR = os.path.dirname(os.path.abspath(__file__))


class TinyWeightsLoader:
    CATEGORY = "runtime-tests"
    FUNCTION = "load"
    RETURN_TYPES = ("TINY_WEIGHTS",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"file_name": ("STRING", {"default": "tiny.safetensors"})}}

    def load(self, file_name):
        weights = comfy.utils.load_torch_file(os.path.join(PACK_DIR, "weights", file_name), safe_load=True)
        with open(os.path.join(PACK_DIR, "reads.txt"), "a") as log:
            log.write(file_name + "\\n")
        return (weights,)


class TinyWeightsReport:
    CATEGORY = "runtime-tests"
    FUNCTION = "report"
    OUTPUT_NODE = True
    RETURN_TYPES = ()

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"weights": ("TINY_WEIGHTS",), "factor": ("INT", {"default": 1, "min": 1})}}

    def report(self, weights, factor):
        return {"ui": {"text": [f"{float(weights['w'].sum()) * factor:g}"]}}


NODE_CLASS_MAPPINGS = {"TinyWeightsLoader": TinyWeightsLoader, "TinyWeightsReport": TinyWeightsReport}
'''

TINY_WORKFLOW = {
    "1": {"class_type": "TinyWeightsLoader", "inputs": {"file_name": "tiny.safetensors"}},
    "2": {"class_type": "TinyWeightsReport", "inputs": {"weights": ["1", 0], "factor": 1}},
    "3": {"class_type": "TinyWeightsLoader", "inputs": {"file_name": "tiny.safetensors"}},
    "4": {"class_type": "TinyWeightsReport", "inputs": {"weights": ["3", 0], "factor": 1}},
    "5": {"class_type": "TinyWeightsLoader", "inputs": {"file_name": "unused.safetensors"}},
}
# Node 3 loads the file the app's visitor names; node 5 feeds no output.
TINY_LABELS = [["2", "factor", "Factor"], ["3", "file_name", "Weights file"]]


@pytest.fixture(scope="module")
def custom_nodes(tmp_path_factory) -> Path:
    """A custom-node folder holding the tiny pack and its weights: w = [1, 2, 3] and [10, 20]."""
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("custom_nodes")
    pack = folder / "tiny-weights-pack"
    (pack / "weights").mkdir(parents=True)
    (pack / "__init__.py").write_text(TINY_PACK)
    save_file({"w": torch.tensor([1.0, 2.0, 3.0])}, pack / "weights" / "tiny.safetensors")
    save_file({"w": torch.tensor([10.0, 20.0])}, pack / "weights" / "other.safetensors")
    save_file({"w": torch.tensor([5.0])}, pack / "weights" / "unused.safetensors")
    return folder


def _reads(custom_nodes: Path) -> list[str]:
    log = custom_nodes / "tiny-weights-pack" / "reads.txt"
    return log.read_text().splitlines() if log.exists() else []


@tier2
def test_custom_loader_is_preloaded_at_start_and_requests_never_read_its_weights(
    comfyui_path, custom_nodes, tmp_path
):
    session = RuntimeSession(
        tmp_path / "app",
        {"tiny": TINY_WORKFLOW},
        labels={"tiny": TINY_LABELS},
        custom_nodes=custom_nodes,
    )
    try:
        # Before any request: node 1 read its file; node 3 (an app input) and node 5 (unused) did not.
        assert _reads(custom_nodes) == ["tiny.safetensors"]
        first = session.run("tiny", [["2", "factor", 2], ["3", "file_name", "other.safetensors"]])
        assert first["ok"], first
        assert first["texts"] == {"2": ["12"], "4": ["30"]}
        assert _reads(custom_nodes) == ["tiny.safetensors", "other.safetensors"], "node 3 ran per request"
        second = session.run("tiny", [["2", "factor", 3], ["3", "file_name", "other.safetensors"]])
        assert second["ok"], second
        assert second["texts"] == {"2": ["18"], "4": ["30"]}
        assert _reads(custom_nodes) == ["tiny.safetensors", "other.safetensors"], "no weights read again"
    finally:
        session.close()


CORE_RETURN_TYPES = """
import json, sys
from tests.support.comfy_headless import start_comfyui

comfy = start_comfyui(sys.argv[1], sys.argv[2])
kinds = {kind if isinstance(kind, str) else "COMBO"
         for node_class in comfy.nodes.NODE_CLASS_MAPPINGS.values()
         for kind in getattr(node_class, "RETURN_TYPES", ())}
print(json.dumps(sorted(kinds)))
"""


@tier2
def test_every_type_a_core_node_returns_is_a_model_type_or_a_data_type(comfyui_path, tmp_path):
    completed = subprocess.run(
        [sys.executable, "-c", CORE_RETURN_TYPES, str(comfyui_path), str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    core_types = set(json.loads(completed.stdout.strip().splitlines()[-1]))
    assert {"IMAGE", "MODEL", "CONDITIONING"} <= core_types  # the core's nodes were listed
    assert core_types - MODEL_TYPES - CORE_DATA_TYPES == set()
