"""Unit tests of `wizard.resolve` on hand-built conversions (no converter needed)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.workflows import conversion_of
from wizard.nodedefs import NodeDefs
from wizard.records import FlatNode, ModelFile
from wizard.packs import NODE_INDEX_PATH
from wizard.resolve import (
    MODEL_INDEX_PATH,
    HubFile,
    find_models,
    parse_hub_url,
    resolve_models,
    search_queries,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def node(node_id: str, class_type: str, inputs: dict | None = None, **properties) -> FlatNode:
    widget_names = tuple(name for name, value in (inputs or {}).items() if not isinstance(value, list))
    return FlatNode(
        id=node_id,
        class_type=class_type,
        title=class_type,
        inputs=dict(inputs or {}),
        widget_names=widget_names,
        properties=properties,
    )


# ----------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            "https://huggingface.co/Comfy-Org/Wan_2.1_ComfyUI_repackaged/resolve/main/split_files/vae/wan_2.1_vae.safetensors",
            HubFile(
                "Comfy-Org/Wan_2.1_ComfyUI_repackaged", "split_files/vae/wan_2.1_vae.safetensors", "main"
            ),
        ),
        (
            "https://huggingface.co/stabilityai/stable-video-diffusion-img2vid-xt/resolve/main/svd_xt.safetensors?download=true",
            HubFile("stabilityai/stable-video-diffusion-img2vid-xt", "svd_xt.safetensors", "main"),
        ),
        (
            "https://huggingface.co/Comfy-Org/HiDream-I1_ComfyUI/blob/main/split_files/vae/ae.safetensors",
            HubFile("Comfy-Org/HiDream-I1_ComfyUI", "split_files/vae/ae.safetensors", "main"),
        ),
        (
            "https://huggingface.co/acme/model/resolve/refs%2Fpr%2F3/sub%20dir/my%20file.safetensors#x",
            HubFile("acme/model", "sub dir/my file.safetensors", "refs/pr/3"),
        ),
        (
            "https://hf.co/acme/model/resolve/0123abcd/m.ckpt",
            HubFile("acme/model", "m.ckpt", "0123abcd"),
        ),
        (
            "https://huggingface.co/gpt2/resolve/main/model.safetensors",
            HubFile("gpt2", "model.safetensors", "main"),
        ),
        ("https://huggingface.co/datasets/acme/data/resolve/main/x.safetensors", None),
        ("https://huggingface.co/acme/model", None),
        ("https://huggingface.co/acme/model/tree/main/split_files", None),
        ("https://civitai.com/api/download/models/624939?type=Model&format=SafeTensor", None),
        ("https://github.com/madebyollin/taesd/raw/main/taef1_decoder.pth", None),
        ("https://huggingface.co.evil.example/acme/model/resolve/main/x.safetensors", None),
        ("not a url", None),
        ("https://huggingface.co/acme/model/resolve/main/../../other/x.safetensors", None),
        ("https://huggingface.co/acme/model/resolve/main/%2E%2E/x.safetensors", None),
    ],
)
def test_parse_hub_url(url, expected):
    assert parse_hub_url(url) == expected


def test_search_queries_cut_the_file_stem_at_separators():
    assert search_queries("flux1-dev-fp8.safetensors") == ["flux1-dev-fp8", "flux1-dev", "flux1"]
    assert search_queries("sub\\wan2.1_vace_14B_fp16.safetensors")[:2] == [
        "wan2.1_vace_14B_fp16",
        "wan2.1_vace_14B",
    ]
    assert len(search_queries("a_b_c_d_e_f_g_h_i.safetensors")) == 4
    assert search_queries("ab.pt") == []  # too short to search for anything useful


# ----------------------------------------------------------------------------- find_models


def test_find_models_reads_model_folders_from_the_definitions(node_defs):
    workflow = conversion_of(
        node("4", "CheckpointLoaderSimple", {"ckpt_name": "sd/v1-5-pruned-emaonly-fp16.safetensors"}),
        node(
            "11",
            "DualCLIPLoader",
            {"clip_name1": "clip_l.safetensors", "clip_name2": "t5xxl_fp16.safetensors", "type": "flux"},
        ),
        node("10", "VAELoader", {"vae_name": "pixel_space"}),  # a built-in choice, not a file
        node("12", "LoraLoader", {"lora_name": ["30", 0], "model": ["4", 0], "clip": ["4", 1]}),
        node("13", "CheckpointLoader", {"config_name": "v1-inference.yaml", "ckpt_name": "other.ckpt"}),
        node("14", "KSampler", {"seed": 1, "sampler_name": "euler", "model": ["4", 0]}),
        node("15", "SomeCustomLoader", {"ckpt_name": "ignored.safetensors"}),  # no definition here
        node("16", "CheckpointLoaderSimple", {"ckpt_name": "sd/v1-5-pruned-emaonly-fp16.safetensors"}),
    )
    models = find_models(workflow, node_defs)
    assert [(m.folder, m.name, m.node_ids) for m in models] == [
        ("checkpoints", "sd/v1-5-pruned-emaonly-fp16.safetensors", ("4", "16")),
        ("text_encoders", "clip_l.safetensors", ("11",)),
        ("text_encoders", "t5xxl_fp16.safetensors", ("11",)),
        ("checkpoints", "other.ckpt", ("13",)),
    ]
    assert all(m.source is None and not m.resolved for m in models)


def test_find_models_uses_the_sentinel_not_input_names():
    """A custom loader with an unusual input name is found because its choices name a folder."""
    node_defs = NodeDefs(
        {
            "FancyLoader": {
                "input": {
                    "required": {
                        "weights_file": [["__folder__ultralytics__.pt"], {}],
                        "ckpt_name": [["a.safetensors", "b.safetensors"], {}],
                    }
                },
                "input_order": {"required": ["weights_file", "ckpt_name"]},
            }
        },
        source="test",
    )
    workflow = conversion_of(
        node("1", "FancyLoader", {"weights_file": "bbox/face.pt", "ckpt_name": "a.safetensors"})
    )
    assert [(m.folder, m.name) for m in find_models(workflow, node_defs)] == [("ultralytics", "bbox/face.pt")]


def test_find_models_merges_declared_models(node_defs):
    url = "https://huggingface.co/Comfy-Org/flux1-dev/resolve/main/flux1-dev-fp8.safetensors?download=true"
    workflow = conversion_of(
        node("4", "CheckpointLoaderSimple", {"ckpt_name": "flux1-dev-fp8.safetensors"}),
        declared=(
            {"name": "flux1-dev-fp8.safetensors", "url": url, "directory": "checkpoints", "node_id": "4"},
            {
                "name": "t5xxl_fp16.safetensors",
                "url": "https://x.example/t5.bin",
                "directory": "clip",
                "node_id": None,
            },
            {"name": "t5xxl_fp16.safetensors", "url": "", "directory": "text_encoders", "node_id": 9},
            {"name": "no-directory.safetensors", "url": url},
            {"name": "", "url": url, "directory": "vae"},
        ),
    )
    models = find_models(workflow, node_defs)
    assert models == [
        ModelFile("flux1-dev-fp8.safetensors", "checkpoints", url=url, node_ids=("4",)),
        ModelFile("t5xxl_fp16.safetensors", "text_encoders", url="https://x.example/t5.bin", node_ids=("9",)),
    ]


# ----------------------------------------------------------------------------- resolve_models (offline)


def test_workflow_urls_win_and_other_urls_stay_urls():
    hub_url = "https://huggingface.co/someone/custom/resolve/v2/weights/my%20ckpt.safetensors?download=true"
    civitai = "https://civitai.com/api/download/models/624939?type=Model"
    models = resolve_models(
        [
            # the index knows this name, but the workflow's own URL comes first
            ModelFile("v1-5-pruned-emaonly-fp16.safetensors", "checkpoints", url=hub_url, node_ids=("4",)),
            ModelFile("awpainting_v14.safetensors", "checkpoints", url=civitai),
        ]
    )
    assert models == [
        ModelFile(
            "v1-5-pruned-emaonly-fp16.safetensors",
            "checkpoints",
            repo_id="someone/custom",
            path="weights/my ckpt.safetensors",
            revision="v2",
            source="workflow",
            node_ids=("4",),
        ),
        ModelFile("awpainting_v14.safetensors", "checkpoints", url=civitai, source="workflow"),
    ]


def test_offline_index_resolves_known_names():
    models = resolve_models(
        [
            ModelFile("SD1.5/v1-5-pruned-emaonly-fp16.safetensors", "checkpoints"),
            ModelFile("Wan_2.1_VAE.safetensors", "vae"),  # names are matched case-insensitively
            ModelFile("ae.safetensors", "vae"),
            ModelFile("taef1_decoder.pth", "vae_approx"),  # ComfyUI-Manager lists a GitHub URL
        ]
    )
    assert [m.name for m in models] == [
        "SD1.5/v1-5-pruned-emaonly-fp16.safetensors",
        "Wan_2.1_VAE.safetensors",
        "ae.safetensors",
        "taef1_decoder.pth",
    ]
    assert all(m.source == "index" for m in models)
    checkpoint, wan_vae, flux_vae, preview = models
    assert (checkpoint.repo_id, checkpoint.path, checkpoint.revision) == (
        "Comfy-Org/stable-diffusion-v1-5-archive",
        "v1-5-pruned-emaonly-fp16.safetensors",
        "main",
    )
    # Several official repos hold these two; one of them is chosen, the same every time.
    assert wan_vae.repo_id in ("Comfy-Org/Wan_2.1_ComfyUI_repackaged", "Comfy-Org/Wan_2.2_ComfyUI_Repackaged")
    assert wan_vae.path == "split_files/vae/wan_2.1_vae.safetensors"
    assert flux_vae.repo_id.startswith("Comfy-Org/") and flux_vae.path == "split_files/vae/ae.safetensors"
    assert resolve_models([ModelFile("ae.safetensors", "vae")]) == [flux_vae]
    assert (preview.repo_id, preview.url) == (
        None,
        "https://github.com/madebyollin/taesd/raw/main/taef1_decoder.pth",
    )


def test_offline_index_refuses_guesses():
    models = resolve_models(
        [
            ModelFile("v1-5-pruned-emaonly-fp16.safetensors", "loras"),  # known, but as a checkpoint
            ModelFile("model.safetensors", "text_encoders"),  # several different files share this name
            ModelFile("my-own-finetune-v7.safetensors", "checkpoints"),
        ]
    )
    assert [m.resolved for m in models] == [False, False, False]
    assert [m.source for m in models] == [None, None, None]


def test_already_resolved_models_are_kept():
    pinned = ModelFile(
        "x.safetensors", "loras", repo_id="me/x", path="x.safetensors", revision="abc", source="user"
    )
    assert resolve_models([pinned]) == [pinned]


def test_index_files_are_compact_and_fast_to_read():
    assert MODEL_INDEX_PATH.stat().st_size < 2_000_000
    assert NODE_INDEX_PATH.stat().st_size < 2_000_000
    index = json.loads(MODEL_INDEX_PATH.read_text())
    assert {"comfyui-manager", "comfyui-workflow-templates"} <= set(index["sources"])
    assert all(key == key.lower() and "/" not in key for key in index["models"])


# ----------------------------------------------------------------------------- no network when offline


class ConnectionRecorder:
    """A TCP listener that counts every connection made to it (and answers nothing)."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def _accept(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=5)
        self.socket.close()


OFFLINE_SCRIPT = """
import json, sys
from wizard.records import ModelFile
from wizard.resolve import resolve_models
models = [ModelFile("nothing-knows-this-file-fp16.safetensors", "checkpoints"), ModelFile("ae.safetensors", "vae")]
result = resolve_models(models, online=sys.argv[1] == "online")
print(json.dumps([m.resolved for m in result]))
assert "huggingface_hub" not in sys.modules, "the offline path imported the Hub client"
"""


@pytest.mark.parametrize(
    "online, offline_env",
    [("online", {"HF_HUB_OFFLINE": "1"}), ("online", {"TRANSFORMERS_OFFLINE": "yes"}), ("offline", {})],
)
def test_offline_resolution_makes_no_network_attempt(online, offline_env):
    with ConnectionRecorder() as recorder:
        env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}
        env.update({"HF_ENDPOINT": recorder.url, "PYTHONPATH": str(REPO_ROOT), **offline_env})
        completed = subprocess.run(
            [sys.executable, "-c", OFFLINE_SCRIPT, online],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == [False, True]
    assert recorder.connections == 0


def test_the_recorder_does_see_connections():
    """The recorder used above is able to fail: a plain connection is counted."""
    with ConnectionRecorder() as recorder:
        socket.create_connection(recorder.socket.getsockname(), timeout=2).close()
        deadline = threading.Event()
        for _ in range(50):
            if recorder.connections:
                break
            deadline.wait(0.05)
    assert recorder.connections == 1


# ----------------------------------------------------------------------------- custom loaders


def test_a_custom_loader_s_fixed_model_file_is_found_in_the_index_folder():
    """DepthAnythingV2's loader lists the file names it downloads itself (no model-folder sentinel):
    a value with a model extension that the index knows is a model file, in the index's folder."""
    defs = NodeDefs(
        {
            "DownloadAndLoadDepthAnythingV2Model": {
                "input": {
                    "required": {
                        "model": [
                            [
                                "depth_anything_v2_vits_fp16.safetensors",
                                "depth_anything_v2_vitl_fp32.safetensors",
                            ],
                            {},
                        ],
                        "note": ["STRING", {}],
                    }
                },
                "output": ["DAMODEL"],
            }
        },
        source="test",
    )
    conversion = conversion_of(
        node(
            "3",
            "DownloadAndLoadDepthAnythingV2Model",
            {"model": "depth_anything_v2_vitl_fp32.safetensors", "note": "not_a_known_file.safetensors"},
        )
    )
    [model] = resolve_models(find_models(conversion, defs))
    assert (model.name, model.folder, model.repo_id, model.path, model.node_ids) == (
        "depth_anything_v2_vitl_fp32.safetensors",
        "depthanything",
        "Kijai/DepthAnythingV2-safetensors",
        "depth_anything_v2_vitl_fp32.safetensors",
        ("3",),
    )


# ----------------------------------------------------------------------------- the committed indexes


def test_committed_node_index_is_what_the_script_builds():
    from scripts.build_index import build_node_index, package_dir

    committed = json.loads(NODE_INDEX_PATH.read_text(encoding="utf-8"))
    rebuilt = build_node_index(package_dir("comfyui_manager"))
    assert {key: committed[key] for key in rebuilt} == json.loads(json.dumps(rebuilt))


def test_committed_model_index_covers_the_installed_packages():
    """Every file the installed templates and ComfyUI-Manager's list name is in the committed index
    (the committed one also holds the newer template packages the script downloads)."""
    from scripts.build_index import (
        build_model_index,
        directory_workflows,
        manager_sightings,
        package_dir,
        template_sightings,
    )

    committed = json.loads(MODEL_INDEX_PATH.read_text(encoding="utf-8"))["models"]
    templates = package_dir("comfyui_workflow_templates") / "templates"
    sightings = list(template_sightings(directory_workflows(templates)))
    sightings += manager_sightings(package_dir("comfyui_manager"))
    rebuilt = build_model_index(sightings)
    assert len(rebuilt) > 500
    fields = ("repo_id", "path", "revision", "url")
    for key, candidates in rebuilt.items():
        known = [tuple(c.get(f) for f in fields) for c in committed.get(key, ())]
        assert all(tuple(c.get(f) for f in fields) in known for c in candidates), key
