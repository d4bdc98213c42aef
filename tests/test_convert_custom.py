"""Custom-node conversion on small hand-written workflows: definitions from /object_info dicts, the
frontend-only nodes of KJNodes, rgthree and Custom-Scripts, VideoHelperSuite's saved-widget restore."""

from __future__ import annotations

import json

import pytest

from tests.test_convert import inp, node, out, workflow
from tests.wizard_cli import run_wizard
from wizard.convert import convert
from wizard.errors import WizardError
from wizard.nodedefs import NodeDefs
from wizard.records import LoadedWorkflow

# Hand-written definitions in /object_info form (the shape the corpus' server and the sandbox give).
VHS_LOAD_VIDEO_PATH = {
    "input": {
        "required": {
            "video": ["STRING", {"placeholder": "X://insert/path/here.mp4"}],
            "force_rate": ["FLOAT", {"default": 0, "min": 0, "max": 60, "step": 1}],
            "custom_width": ["INT", {"default": 0, "min": 0, "max": 8192}],
            "custom_height": ["INT", {"default": 0, "min": 0, "max": 8192}],
            "frame_load_cap": ["INT", {"default": 0, "min": 0}],
            "skip_first_frames": ["INT", {"default": 0, "min": 0}],
            "select_every_nth": ["INT", {"default": 1, "min": 1}],
        },
        "optional": {"vae": ["VAE"], "format": [["None", "AnimateDiff"], {"default": "AnimateDiff"}]},
    },
    "input_order": {
        "required": [
            "video",
            "force_rate",
            "custom_width",
            "custom_height",
            "frame_load_cap",
            "skip_first_frames",
            "select_every_nth",
        ],
        "optional": ["vae", "format"],
    },
    "output": ["IMAGE", "INT"],
    "output_name": ["IMAGE", "frame_count"],
    "name": "VHS_LoadVideoPath",
    "display_name": "Load Video (Path) 🎥🅥🅗🅢",
    "category": "Video Helper Suite 🎥🅥🅗🅢",
    "output_node": False,
    "python_module": "custom_nodes.ComfyUI-VideoHelperSuite",
}


def run(data, node_defs):
    return convert(LoadedWorkflow("custom.json", "json", data, None), node_defs)


def loader_and_decode(*middle, decode_vae_link=3):
    """A checkpoint loader (VAE on link 1) and a VAEDecode whose vae input is link `decode_vae_link`."""
    return [
        node(1, "CheckpointLoaderSimple", ["m.safetensors"], outputs=[out("VAE", "VAE", [1])]),
        *middle,
        node(9, "VAEDecode", [], inputs=[inp("samples", "LATENT"), inp("vae", "VAE", decode_vae_link)]),
    ]


def test_kjnodes_get_node_takes_the_link_of_the_set_node_with_its_name(node_defs):
    nodes = loader_and_decode(
        node(2, "SetNode", ["vae"], inputs=[inp("VAE", "VAE", 1)], outputs=[out("*", "*")], title="Set_vae"),
        node(3, "SetNode", ["other"], inputs=[inp("VAE", "VAE")], outputs=[out("*", "*")]),
        node(4, "GetNode", ["vae"], outputs=[out("VAE", "VAE", [3])], title="Get_vae"),
    )
    conversion = run(workflow(nodes, [[1, 1, 2, 2, 0, "VAE"], [3, 4, 0, 9, 1, "VAE"]]), node_defs)
    assert set(conversion.prompt) == {"1", "9"}  # Set/Get are frontend-only
    assert conversion.prompt["9"]["inputs"]["vae"] == ["1", 2]
    assert not conversion.unknown_nodes


def test_kjnodes_get_node_without_its_set_node_gives_nothing(node_defs):
    nodes = loader_and_decode(node(4, "GetNode", ["missing"], outputs=[out("VAE", "VAE", [3])]))
    conversion = run(workflow(nodes, [[3, 4, 0, 9, 1, "VAE"]]), node_defs)
    assert "vae" not in conversion.prompt["9"]["inputs"]
    assert set(conversion.prompt) == {"1", "9"}


def test_rgthree_reroute_passes_through_and_display_nodes_vanish(node_defs):
    nodes = loader_and_decode(
        node(2, "Reroute (rgthree)", None, inputs=[inp("", "*", 1)], outputs=[out("", "VAE", [3])]),
        node(5, "Label (rgthree)", ["Title"]),
        node(6, "Fast Groups Bypasser (rgthree)", None, outputs=[out("OPT_CONNECTION", "*")]),
        node(7, "Fast Muter (rgthree)", None, inputs=[inp("VAEDecode", "*", 4)]),
        node(8, "Node Combiner (rgthree)", None, inputs=[inp("in", "*")], outputs=[out("*", "*")]),
    )
    nodes[-1]["outputs"] = [out("IMAGE", "IMAGE", [4])]
    links = [[1, 1, 2, 2, 0, "VAE"], [3, 2, 0, 9, 1, "VAE"], [4, 9, 0, 7, 0, "IMAGE"]]
    conversion = run(workflow(nodes, links), node_defs)
    assert set(conversion.prompt) == {"1", "9"}
    assert conversion.prompt["9"]["inputs"]["vae"] == ["1", 2]
    assert conversion.warnings == ()


def test_nodes_a_muter_or_bypasser_switched_off_keep_their_saved_mode(node_defs):
    """rgthree's mode changers act when clicked; the prompt follows the modes saved in the workflow."""
    nodes = [
        node(1, "EmptyLatentImage", [64, 64, 1], outputs=[out("LATENT", "LATENT", [1])]),
        node(
            2,
            "LatentUpscaleBy",
            ["nearest-exact", 2.0],
            mode=4,
            inputs=[inp("samples", "LATENT", 1)],
            outputs=[out("LATENT", "LATENT", [2])],
        ),
        node(3, "SaveLatent", ["latents/x"], inputs=[inp("samples", "LATENT", 2)]),
        node(4, "Fast Bypasser (rgthree)", None, inputs=[inp("Upscale", "*", 3)]),
    ]
    links = [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 0, 3, 0, "LATENT"], [3, 2, 0, 4, 0, "*"]]
    conversion = run(workflow(nodes, links), node_defs)
    assert set(conversion.prompt) == {"1", "3"}
    assert conversion.prompt["3"]["inputs"]["samples"] == ["1", 0]


def test_preset_text_writes_its_preset_into_the_linked_widget(node_defs):
    nodes = [
        node(1, "PresetText|pysssss", ["default negative"], outputs=[out("text", "STRING", [1])]),
        node(2, "CLIPTextEncode", ["ignored"], inputs=[inp("clip", "CLIP"), inp("text", "STRING", 1, True)]),
    ]
    conversion = run(workflow(nodes, [[1, 1, 0, 2, 1, "STRING"]]), node_defs)
    assert conversion.prompt["2"]["inputs"]["text"] == "worst quality"
    assert set(conversion.prompt) == {"2"}


def test_preset_text_naming_a_browser_only_preset_warns(node_defs):
    nodes = [
        node(1, "PresetText|pysssss", ["my style"], outputs=[out("text", "STRING", [1])]),
        node(2, "CLIPTextEncode", ["kept"], inputs=[inp("clip", "CLIP"), inp("text", "STRING", 1, True)]),
    ]
    conversion = run(workflow(nodes, [[1, 1, 0, 2, 1, "STRING"]]), node_defs)
    assert conversion.prompt["2"]["inputs"]["text"] == "kept"
    assert any("'my style'" in warning and "browser" in warning for warning in conversion.warnings)


@pytest.fixture
def vhs_defs(node_defs):
    return node_defs.with_extra({"VHS_LoadVideoPath": VHS_LOAD_VIDEO_PATH}, source="vhs")


def test_videohelpersuite_record_form_widgets_with_force_size_migrated(vhs_defs):
    saved = {
        "video": "/clips/a.mp4",
        "force_rate": 8,
        "force_size": "Disabled",
        "custom_width": 512,
        "custom_height": 512,
        "frame_load_cap": 64,
        "skip_first_frames": 0,
        "select_every_nth": 1,
        "videopreview": {"hidden": False},
    }
    conversion = run(
        workflow([node(6, "VHS_LoadVideoPath", saved, outputs=[out("IMAGE", "IMAGE")])], []), vhs_defs
    )
    assert conversion.prompt["6"]["inputs"] == {
        "video": "/clips/a.mp4",
        "force_rate": 8,
        "custom_width": 0,
        "custom_height": 0,
        "frame_load_cap": 64,
        "skip_first_frames": 0,
        "select_every_nth": 1,
        "format": "AnimateDiff",
    }


def test_videohelpersuite_old_list_form_is_read_by_its_old_layout(vhs_defs):
    saved = ["/clips/b.mp4", 12, "640x?", 16, 2, 3]  # video, force_rate, force_size, cap, skip, nth
    conversion = run(workflow([node(6, "VHS_LoadVideoPath", saved)], []), vhs_defs)
    inputs = conversion.prompt["6"]["inputs"]
    assert (inputs["custom_width"], inputs["custom_height"], inputs["frame_load_cap"]) == (640, 0, 16)
    assert (inputs["skip_first_frames"], inputs["select_every_nth"], inputs["force_rate"]) == (2, 3, 12)


def test_node_defs_from_object_info_and_with_extra(node_defs):
    extra = NodeDefs.from_object_info({"VHS_LoadVideoPath": VHS_LOAD_VIDEO_PATH})
    assert len(extra) == 1 and extra.get("VHS_LoadVideoPath").display_name.startswith("Load Video")
    merged = node_defs.with_extra({"VHS_LoadVideoPath": VHS_LOAD_VIDEO_PATH})
    assert len(merged) == len(node_defs) + 1 and "KSampler" in merged and "VHS_LoadVideoPath" not in node_defs
    with pytest.raises(WizardError, match="not an /object_info JSON object"):
        NodeDefs.from_object_info(["KSampler"])


def test_cli_node_defs_option_adds_pack_classes(tmp_path):
    definitions = tmp_path / "object_info.json"
    server = {"VHS_LoadVideoPath": VHS_LOAD_VIDEO_PATH, "EmptyLatentImage": {"input": {"required": {}}}}
    definitions.write_text(json.dumps(server), encoding="utf-8")
    saved = {"video": "/clips/c.mp4", "custom_width": 320}
    nodes = [node(6, "VHS_LoadVideoPath", saved), node(7, "EmptyLatentImage", [64, 32, 1])]
    path = tmp_path / "vhs.json"
    path.write_text(json.dumps(workflow(nodes, [])), encoding="utf-8")

    completed = run_wizard("convert", path, "--node-defs", definitions)
    assert completed.returncode == 0, completed.stderr
    prompt = json.loads(completed.stdout)
    assert prompt["6"]["inputs"]["custom_width"] == 320
    assert prompt["7"]["inputs"] == {"width": 64, "height": 32, "batch_size": 1}  # core keeps the snapshot's

    without = run_wizard("convert", path)
    assert "is not installed here" in without.stderr and "custom_width" not in without.stdout

    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    failed = run_wizard("convert", path, "--node-defs", broken)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1 and "not JSON" in failed.stderr


ANYTHING_EVERYWHERE = {
    "input": {"required": {}, "optional": {"anything": ["*", {}]}},
    "input_order": {"required": [], "optional": ["anything"]},
    "output": [],
    "output_name": [],
    "name": "Anything Everywhere",
    "display_name": "Anything Everywhere",
    "category": "everywhere",
    "output_node": False,
    "python_module": "custom_nodes.cg-use-everywhere",
}


def ue_node(node_id, links, ue_properties=None, **extra):
    """An Anything Everywhere 7.x node receiving `links` (id, type) on its dynamic inputs."""
    inputs = [inp("anything" if i == 0 else f"anything{i + 1}", t, link) for i, (link, t) in enumerate(links)]
    properties = {"ue_properties": {"version": "7.4", **(ue_properties or {})}}
    return node(node_id, "Anything Everywhere", [], inputs=inputs, properties=properties, **extra)


def sampler_graph(*ue_nodes, ue_links=(), sampler_title=None):
    """Checkpoint (MODEL link 1, CLIP link 2 into the UE nodes), a prompt and a sampler left unconnected."""
    nodes = [
        node(
            1,
            "CheckpointLoaderSimple",
            ["m.safetensors"],
            outputs=[out("MODEL", "MODEL", [1]), out("CLIP", "CLIP", [2]), out("VAE", "VAE")],
        ),
        node(
            2, "CLIPTextEncode", ["a cat"], inputs=[inp("clip", "CLIP")], outputs=[out("C", "CONDITIONING")]
        ),
        node(3, "KSampler", [1, "fixed", 20, 8.0, "euler", "normal", 1.0], title=sampler_title),
        *ue_nodes,
    ]
    return workflow(nodes, [[1, 1, 0, 10, 0, "MODEL"], [2, 1, 1, 10, 1, "CLIP"], *ue_links])


@pytest.fixture
def ue_defs(node_defs):
    return node_defs.with_extra({"Anything Everywhere": ANYTHING_EVERYWHERE}, source="ue")


def test_use_everywhere_broadcasts_each_type_to_unconnected_inputs(ue_defs):
    conversion = run(sampler_graph(ue_node(10, [(1, "MODEL"), (2, "CLIP")])), ue_defs)
    assert conversion.prompt["3"]["inputs"]["model"] == ["1", 0]
    assert conversion.prompt["2"]["inputs"]["clip"] == ["1", 1]
    assert "seed" not in conversion.prompt["3"]["inputs"] or conversion.prompt["3"]["inputs"]["seed"] == 1
    assert conversion.prompt["10"]["inputs"] == {"anything": ["1", 0], "anything2": ["1", 1]}


def test_use_everywhere_title_regex_and_priority_ties(ue_defs):
    only_samplers = ue_node(10, [(1, "MODEL"), (2, "CLIP")], {"title_regex": "^Sampler"})
    conversion = run(sampler_graph(only_samplers, sampler_title="Sampler A"), ue_defs)
    assert conversion.prompt["3"]["inputs"]["model"] == ["1", 0]
    assert "clip" not in conversion.prompt["2"]["inputs"]  # "CLIP Text Encode (Prompt)" does not match

    twins = sampler_graph(
        ue_node(10, [(1, "MODEL")]), ue_node(11, [(3, "MODEL")]), ue_links=[[3, 1, 0, 11, 0, "MODEL"]]
    )
    conversion = run(twins, ue_defs)
    assert "model" not in conversion.prompt["3"]["inputs"]
    assert any("several Use Everywhere broadcasts" in w and "'model'" in w for w in conversion.warnings)


def test_use_everywhere_group_restriction_and_muted_controllers(ue_defs):
    data = sampler_graph(ue_node(10, [(1, "MODEL")], {"group_restricted": 1}, pos=[0, 0], size=[100, 50]))
    for entry in data["nodes"]:
        entry.setdefault("pos", [0, 0])
    data["nodes"][2]["pos"] = [1000, 1000]  # the sampler lies outside the group
    data["groups"] = [{"title": "Loaders", "bounding": [-50, -50, 400, 400]}]
    assert "model" not in run(data, ue_defs).prompt["3"]["inputs"]
    data["nodes"][2]["pos"] = [20, 20]
    assert run(data, ue_defs).prompt["3"]["inputs"]["model"] == ["1", 0]

    muted = sampler_graph(ue_node(10, [(1, "MODEL")], mode=2))
    assert "model" not in run(muted, ue_defs).prompt["3"]["inputs"]


def test_use_everywhere_reaches_widget_inputs_only_when_enabled(ue_defs):
    data = sampler_graph(ue_node(10, [(1, "MODEL")]))
    data["nodes"].append(node(4, "PrimitiveInt", [7, "fixed"], outputs=[out("INT", "INT", [5])]))
    data["nodes"][3]["inputs"].append(inp("anything3", "INT", 5))
    data["links"].append([5, 4, 0, 10, 2, "INT"])
    assert run(data, ue_defs).prompt["3"]["inputs"]["seed"] == 1  # a widget: not connectable by default
    data["nodes"][2]["properties"] = {"ue_properties": {"widget_ue_connectable": {"seed": True}}}
    assert run(data, ue_defs).prompt["3"]["inputs"]["seed"] == ["4", 0]


def test_use_everywhere_replaces_a_link_whose_source_is_bypassed_away(ue_defs):
    data = sampler_graph(ue_node(10, [(1, "MODEL")]))
    data["nodes"].append(
        node(
            5,
            "ModelSamplingDiscrete",
            ["eps", False],
            mode=4,
            inputs=[inp("model", "MODEL")],
            outputs=[out("MODEL", "MODEL", [6])],
        )
    )
    data["nodes"][2]["inputs"] = [inp("model", "MODEL", 6)]
    data["links"].append([6, 5, 0, 3, 0, "MODEL"])
    assert run(data, ue_defs).prompt["3"]["inputs"]["model"] == ["1", 0]


def test_an_unknown_node_of_an_installed_pack_is_taken_for_a_frontend_only_node(node_defs):
    rgthree_server_class = {"input": {"required": {}}, "output": ["INT"], "name": "Seed (rgthree)"}
    defs = node_defs.with_extra({"Seed (rgthree)": rgthree_server_class})
    nodes = loader_and_decode(
        node(2, "Wire Tap (rgthree)", None, inputs=[inp("in", "VAE", 1)], outputs=[out("out", "VAE", [3])])
    )
    conversion = run(workflow(nodes, [[1, 1, 2, 2, 0, "VAE"], [3, 2, 0, 9, 1, "VAE"]]), defs)
    assert set(conversion.prompt) == {"1", "9"} and conversion.prompt["9"]["inputs"]["vae"] == ["1", 2]
    [warning] = [w for w in conversion.warnings if "Wire Tap (rgthree)" in w]
    assert "frontend-only" in warning and "rgthree-comfy" in warning and "\n" not in warning

    alone = run(workflow(nodes, [[1, 1, 2, 2, 0, "VAE"], [3, 2, 0, 9, 1, "VAE"]]), node_defs)
    assert alone.prompt["2"]["class_type"] == "Wire Tap (rgthree)"  # pack not installed: kept, links only
