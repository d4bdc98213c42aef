"""Smart inputs on ComfyUI's SDXL base+refiner template (comfyui-workflow-templates): the labels a person
would write, one Prompt driving both encoders, titles from the workflow's name, a Space name unique to the
workflow. The tier-2 test runs the generated app and reads the prompt ComfyUI executed from the saved PNG.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from wizard import session as sessions
from wizard.appspec import AppSpec, title_from_filename
from wizard.errors import SpecError

TEMPLATES = pytest.importorskip(
    "comfyui_workflow_templates", reason="comfyui-workflow-templates is not installed"
)
SDXL_REFINER = Path(TEMPLATES.__file__).parent / "templates" / "sdxl_refiner_prompt_example.json"
BASE_ENCODERS, REFINER_ENCODERS = ("6", "7"), ("15", "16")  # positive, negative of each stage


@pytest.fixture(scope="module")
def sdxl():
    return sessions.open_workflow(SDXL_REFINER.read_bytes(), SDXL_REFINER.name)


def test_sdxl_refiner_labels_are_what_a_person_would_write(sdxl):
    assert [item.label for item in sdxl.spec.ordered_inputs] == [
        "Prompt",
        "Negative prompt",
        "Seed",
        "Width",
        "Height",
        "Steps",
        "CFG",
    ]
    labels = [candidate.label for candidate in sdxl.analysis.inputs]
    assert len(labels) == len({label.casefold() for label in labels})
    assert not any(label.rsplit(" ", 1)[-1].isdigit() for label in labels)  # never "... 3"
    assert "Base sampler name" in labels and "Refiner end at step" in labels  # the artist's BASE/REFINER


def test_one_prompt_drives_both_encoders_and_one_steps_both_samplers(sdxl):
    by_label = {item.label: item for item in sdxl.spec.inputs}
    assert by_label["Prompt"].targets == (("6", "text"), ("15", "text"))
    assert by_label["Negative prompt"].targets == (("7", "text"), ("16", "text"))
    assert by_label["Steps"].targets == (("10", "steps"), ("11", "steps"))
    assert by_label["Seed"].targets == (
        ("10", "noise_seed"),
    )  # the refiner adds no noise: its seed does nothing
    assert not any(c.input_name == "denoise" and c.auto for c in sdxl.analysis.inputs)
    assert sessions.exposed_node_ids(sdxl.spec) >= {"6", "7", "15", "16", "10", "11"}


def test_the_generated_app_sets_every_target(sdxl, tmp_path):
    folder = sessions.build(sdxl, tmp_path / "app")
    app = (folder / "app.py").read_text()
    assert '"prompt": Input("6", "text", label="Prompt", also=(("15", "text"),)),' in app
    assert '"steps": Input("10", "steps", label="Steps", also=(("11", "steps"),)),' in app
    spec = AppSpec.from_json((folder / "appspec.json").read_text())
    assert spec.inputs == sdxl.spec.inputs  # the targets survive the JSON round trip
    spec.check(sdxl.conversion)


def test_a_spec_refuses_a_target_exposed_twice_or_missing(sdxl):
    data = json.loads(sdxl.spec.to_json())
    data["inputs"][1]["also_targets"].append(["15", "text"])  # the prompt's refiner target, again
    with pytest.raises(SpecError, match="node 15 input 'text' is exposed twice"):
        AppSpec.from_json(json.dumps(data))
    data = json.loads(sdxl.spec.to_json())
    data["inputs"][0]["also_targets"] = [["99", "text"]]
    with pytest.raises(SpecError, match="refers to node 99, which the workflow lacks"):
        AppSpec.from_json(json.dumps(data)).check(sdxl.conversion)
    data["inputs"][0]["also_targets"] = ["15"]
    with pytest.raises(SpecError, match="pairs"):
        AppSpec.from_json(json.dumps(data))


def test_titles_come_from_the_workflow_never_a_model_file(sdxl):
    assert sdxl.spec.title == "SDXL refiner prompt example"
    assert "safetensors" not in sdxl.spec.title + sdxl.spec.description
    assert title_from_filename("workflow (3).json") is None
    assert title_from_filename("ComfyUI_00012_.png") is None
    assert title_from_filename("api_openai_image_1_t2i.json") == "API OpenAI image T2I"


def test_space_names_differ_between_workflows_of_one_task(sdxl):
    simple = SDXL_REFINER.with_name("sdxl_simple_example.json")
    other = sessions.open_workflow(simple.read_bytes(), "workflow.json")  # a name that says nothing
    assert other.spec.title == "Text to image"
    names = {sessions.suggested_space_name(sdxl), sessions.suggested_space_name(other)}
    assert len(names) == 2 and all(sessions.space_name_problem(name) is None for name in names)
    assert sessions.suggested_space_name(sdxl).startswith("sdxl-refiner-prompt-example-")


@pytest.mark.tier2
def test_the_running_app_sends_one_prompt_to_both_encoders(sdxl, tmp_path):
    """Both checkpoints are a random SD1.5-shaped one (no weights can be fetched here); the PNG's
    `prompt` chunk is the API prompt ComfyUI's executor ran."""
    from gradio_client import Client
    from support.runtime_procs import REPO_ROOT, build_tiny_checkpoint
    from tests.test_runtime_e2e import AppServer, gallery_paths

    folder = sessions.build(sdxl, tmp_path / "app")
    checkpoints = folder / "comfy_data" / "models" / "checkpoints"
    base = build_tiny_checkpoint(checkpoints / "sd_xl_base_1.0.safetensors")
    os.link(base, checkpoints / "sd_xl_refiner_1.0.safetensors")
    server = AppServer(
        folder, [sys.executable, str(REPO_ROOT / "tests" / "support" / "runtime_launch_app.py"), "."]
    )
    try:
        client = Client(server.url, verbose=False)
        images, _seed = client.predict(
            prompt="a red fox in snow",
            negative_prompt="blurry",
            seed=5,
            randomize_seed=False,
            width=64,
            height=64,
            steps=2,
            cfg=7,
            api_name="/generate",
        )
    finally:
        server.stop()
    with Image.open(gallery_paths(images)[0]) as image:
        executed = json.loads(image.text["prompt"])
    assert [executed[node]["inputs"]["text"] for node in (*BASE_ENCODERS, *REFINER_ENCODERS)] == [
        "a red fox in snow",
        "blurry",
        "a red fox in snow",
        "blurry",
    ]
    assert [executed[node]["inputs"]["steps"] for node in ("10", "11")] == [2, 2]
