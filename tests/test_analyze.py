"""Candidate inputs and outputs, the auto selection and labels, on hand-built API prompts
(`tests/workflows.py` builds their `Conversion` records, so these tests pin analysis alone)."""

from __future__ import annotations

import json

import pytest

from tests.wizard_cli import run_wizard
from tests.workflows import conversion_from_prompt, t2i_prompt
from wizard.analyze import analyze


def by_key(analysis):
    return {(c.node_id, c.input_name): c for c in analysis.inputs}


def test_t2i_candidates_are_typed_from_the_node_definitions(node_defs):
    analysis = analyze(conversion_from_prompt(t2i_prompt(), node_defs), node_defs)
    inputs = by_key(analysis)
    assert ("4", "ckpt_name") not in inputs  # a model file: listed under models instead
    assert {key for key in inputs} == {
        ("3", "seed"),
        ("3", "steps"),
        ("3", "cfg"),
        ("3", "sampler_name"),
        ("3", "scheduler"),
        ("3", "denoise"),
        ("5", "width"),
        ("5", "height"),
        ("5", "batch_size"),
        ("7", "text"),
        ("6", "text"),
        ("9", "filename_prefix"),
    }
    seed = inputs[("3", "seed")]
    assert (seed.component, seed.seed, seed.minimum, seed.maximum) == ("Number", True, 0, None)
    steps = inputs[("3", "steps")]
    assert (steps.component, steps.minimum, steps.maximum, steps.step) == ("Slider", 1, 100, 1)
    denoise = inputs[("3", "denoise")]
    assert (denoise.component, denoise.minimum, denoise.maximum, denoise.step) == ("Slider", 0.0, 1.0, 0.01)
    sampler = inputs[("3", "sampler_name")]
    assert sampler.component == "Dropdown" and "euler" in sampler.choices and "dpmpp_2m" in sampler.choices
    assert inputs[("6", "text")].multiline and inputs[("6", "text")].component == "Textbox"
    assert not inputs[("9", "filename_prefix")].multiline
    assert inputs[("5", "width")].component == "Slider" and inputs[("5", "width")].maximum == 2048


def test_auto_selection_orders_prompts_by_link_polarity(node_defs):
    analysis = analyze(conversion_from_prompt(t2i_prompt(), node_defs), node_defs)
    chosen = sorted((c for c in analysis.inputs if c.auto), key=lambda c: c.rank)
    assert [(c.node_id, c.input_name, c.label) for c in chosen] == [
        ("6", "text", "Prompt"),
        ("7", "text", "Negative prompt"),
        ("3", "seed", "Seed"),
        ("5", "width", "Width"),
        ("5", "height", "Height"),
        ("3", "steps", "Steps"),
        ("3", "cfg", "CFG"),
    ]  # text to image always denoises fully: no Denoise
    assert [c.advanced for c in chosen] == [False, False, True, True, True, True, True]
    unchosen = {(c.node_id, c.input_name) for c in analysis.inputs if not c.auto}
    assert unchosen == {
        ("3", "denoise"),
        ("3", "sampler_name"),
        ("3", "scheduler"),
        ("5", "batch_size"),
        ("9", "filename_prefix"),
    }


def test_outputs_models_and_report_shape(node_defs):
    analysis = analyze(conversion_from_prompt(t2i_prompt(), node_defs), node_defs)
    assert [(o.node_id, o.kind, o.component, o.label, o.auto) for o in analysis.outputs] == [
        ("9", "images", "Gallery", "Images", True)
    ]
    report = json.loads(json.dumps(analysis.to_report()))
    assert set(report) == {"nodes", "inputs", "outputs", "models", "custom_nodes", "api_nodes", "warnings"}
    assert [model["name"] for model in report["models"]] == ["v1-5-pruned-emaonly-fp16.safetensors"]
    assert set(report["models"][0]) == {
        "name",
        "folder",
        "repo_id",
        "path",
        "revision",
        "url",
        "gated",
        "size",
        "source",
    }
    assert report["models"][0]["folder"] == "checkpoints"
    assert report["custom_nodes"] == []
    summary = analysis.summary()
    assert "Negative prompt" in summary and "checkpoints/v1-5-pruned-emaonly-fp16.safetensors" in summary


def test_a_refiner_chain_shares_equal_values_and_qualifies_different_ones(node_defs):
    prompt = t2i_prompt()
    second = json.loads(json.dumps(prompt["3"]))
    second["inputs"]["latent_image"] = ["3", 0]
    second["_meta"]["title"] = "Refiner"
    prompt["10"] = second
    prompt["8"]["inputs"]["samples"] = ["10", 0]
    analysis = analyze(conversion_from_prompt(prompt, node_defs), node_defs)
    chosen = sorted((c for c in analysis.inputs if c.auto), key=lambda c: c.rank)
    assert [c.label for c in chosen] == [
        "Prompt",
        "Negative prompt",
        "Seed",
        "Width",
        "Height",
        "Steps",
        "CFG",
    ]
    assert [c.also_targets for c in chosen if c.label in ("Seed", "Steps")] == [
        (("10", "seed"),),
        (("10", "steps"),),
    ]

    prompt["10"]["inputs"]["seed"] = 7
    analysis = analyze(conversion_from_prompt(prompt, node_defs), node_defs)
    chosen = sorted((c for c in analysis.inputs if c.auto), key=lambda c: c.rank)
    assert [c.label for c in chosen if c.role == "seed"] == ["KSampler seed", "Refiner seed"]
    labels = [c.label.casefold() for c in analysis.inputs]
    assert len(labels) == len(set(labels))
    assert not any(c.label[:1].isdigit() or c.node_id in c.label.split() for c in analysis.inputs)


def test_media_inputs_masks_and_guider_prompts(node_defs):
    prompt = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}, "_meta": {"title": "Photo"}},
        "2": {"class_type": "LoadImageMask", "inputs": {"image": "mask.png", "channel": "alpha"}},
        "3": {"class_type": "LoadImage", "inputs": {"image": "inpaint.png"}, "_meta": {"title": "Inpaint"}},
        "4": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}},
        "5": {"class_type": "LoadAudio", "inputs": {"audio": "song.wav"}},
        "6": {"class_type": "MaskToImage", "inputs": {"mask": ["3", 1]}},
        "7": {
            "class_type": "ImageBlend",
            "inputs": {"image1": ["1", 0], "image2": ["6", 0], "blend_factor": 0.5, "blend_mode": "normal"},
        },
        "8": {"class_type": "PreviewImage", "inputs": {"images": ["7", 0]}},
        "9": {
            "class_type": "SaveVideo",
            "inputs": {"video": ["4", 0], "filename_prefix": "v", "format": "auto", "codec": "auto"},
        },
        "10": {"class_type": "SaveAudio", "inputs": {"audio": ["5", 0], "filename_prefix": "a"}},
        "11": {"class_type": "MaskPreview", "inputs": {"mask": ["2", 0]}},
        "12": {"class_type": "PreviewAny", "inputs": {"source": ["7", 0]}},
    }
    analysis = analyze(conversion_from_prompt(prompt, node_defs), node_defs)
    inputs = by_key(analysis)
    media = {
        key: (c.media, c.component, c.value_type, c.auto, c.advanced) for key, c in inputs.items() if c.media
    }
    assert media == {
        ("1", "image"): ("image", "Image", "FILE", True, False),
        ("2", "image"): ("mask", "Image", "FILE", True, False),
        ("3", "image"): ("image+mask", "ImageEditor", "FILE", True, False),
        ("4", "file"): ("video", "Video", "FILE", True, False),
        ("5", "audio"): ("audio", "Audio", "FILE", True, False),
    }
    assert inputs[("2", "channel")].component == "Dropdown"
    assert [inputs[key].label for key in (("1", "image"), ("3", "image"))] == ["Photo", "Inpaint"]
    outputs = {o.node_id: (o.kind, o.component, o.auto) for o in analysis.outputs}
    # Previews count only when no saver produces their kind: images and text here, not video/audio.
    assert outputs == {
        "8": ("images", "Gallery", True),
        "9": ("video", "Video", True),
        "10": ("audio", "Audio", True),
        "11": ("images", "Gallery", True),
        "12": ("text", "Textbox", True),
    }
    assert len({o.label for o in analysis.outputs}) == len(analysis.outputs)


def test_positive_branch_through_controlnet_and_zeroed_negative(node_defs):
    prompt = t2i_prompt()
    prompt["20"] = {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "canny.safetensors"}}
    prompt["21"] = {"class_type": "LoadImage", "inputs": {"image": "edges.png"}}
    prompt["22"] = {
        "class_type": "ControlNetApplyAdvanced",
        "inputs": {
            "positive": ["6", 0],
            "negative": ["23", 0],
            "control_net": ["20", 0],
            "image": ["21", 0],
            "strength": 0.8,
            "start_percent": 0.0,
            "end_percent": 1.0,
        },
    }
    prompt["23"] = {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["7", 0]}}
    prompt["3"]["inputs"]["positive"] = ["22", 0]
    prompt["3"]["inputs"]["negative"] = ["22", 1]
    analysis = analyze(conversion_from_prompt(prompt, node_defs), node_defs)
    inputs = by_key(analysis)
    assert (inputs[("6", "text")].role, inputs[("7", "text")].role) == ("prompt", "negative_prompt")
    assert inputs[("6", "text")].rank < inputs[("7", "text")].rank
    assert inputs[("22", "strength")].auto and inputs[("22", "strength")].role == "strength"
    assert [m.name for m in analysis.models] == ["v1-5-pruned-emaonly-fp16.safetensors", "canny.safetensors"]


def test_unknown_nodes_and_missing_outputs_are_warnings(node_defs):
    prompt = {
        "1": {"class_type": "SomeCustomNode", "inputs": {"text": "hello"}, "_meta": {"title": "Custom"}},
        "2": {"class_type": "PrimitiveInt", "inputs": {"value": 3}},
    }
    analysis = analyze(conversion_from_prompt(prompt, node_defs), node_defs)
    assert [(c.node_id, c.input_name) for c in analysis.inputs] == [("2", "value")]
    assert any("no output node" in w for w in analysis.warnings)
    assert any("SomeCustomNode" in w for w in analysis.warnings)


def test_inspect_json_cli_on_a_template(templates_dir):
    completed = run_wizard("inspect", str(templates_dir / "default.json"), "--json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    chosen = sorted((c for c in report["inputs"] if c["auto"]), key=lambda c: c["rank"])
    assert [c["label"] for c in chosen][:3] == ["Prompt", "Negative prompt", "Seed"]
    assert report["outputs"][0]["component"] == "Gallery"
    assert report["models"][0]["repo_id"] == "Comfy-Org/stable-diffusion-v1-5-archive"


@pytest.mark.parametrize("name", ["image2image.json", "inpaint_example.json"])
def test_templates_with_media_choose_them(templates_dir, node_defs, name):
    from wizard.convert import convert
    from wizard.ingest import load_path

    analysis = analyze(convert(load_path(templates_dir / name), node_defs), node_defs)
    chosen = [c for c in analysis.inputs if c.auto]
    assert any(c.media for c in chosen) and any(c.role == "prompt" for c in chosen)


def test_primitive_ints_are_seeds_only_when_named_so(node_defs):
    prompt = {
        "1": {"class_type": "PrimitiveInt", "inputs": {"value": 4}, "_meta": {"title": "Steps"}},
        "2": {"class_type": "PrimitiveInt", "inputs": {"value": 7}, "_meta": {"title": "Shared seed"}},
        "3": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
    }
    inputs = by_key(analyze(conversion_from_prompt(prompt, node_defs), node_defs))
    steps, seed = inputs[("1", "value")], inputs[("2", "value")]
    assert (steps.seed, steps.auto, steps.label, steps.minimum) == (False, False, "Steps", None)
    assert (seed.seed, seed.auto, seed.role, seed.label) == (True, True, "seed", "Shared seed")


def test_inspect_text_cli_summarises(templates_dir):
    completed = run_wizard("inspect", str(templates_dir / "default.json"))
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "7 nodes, 12 candidate inputs, 1 output"
    assert (
        lines[2].startswith("  * Prompt [Textbox]") and "(CLIP Text Encode (Prompt).text, node 6)" in lines[2]
    )
    models = lines.index("Models:")
    assert lines[models + 1].startswith(
        "    checkpoints/v1-5-pruned-emaonly-fp16.safetensors <- Comfy-Org/stable-diffusion-v1-5-archive/"
    )
    # without --online the Hub is not asked, and the summary says so rather than "found"
    assert lines[models + 2 :] == [
        "1 model file: 1 not checked.",
        "  checkpoints/v1-5-pruned-emaonly-fp16.safetensors: not checked: the Hub was not asked"
        " (pass --online to ask it)",
    ]
