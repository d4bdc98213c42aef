"""Tier 2: `runtime.ComfyWorkflow` on the real ComfyUI, in subprocesses shared by the module.

Two apps, one process each (as in a Space, one workflow per process: ComfyUI's classic cache keeps
only the nodes of the prompt it ran last): a model-free image effect, compared pixel for pixel with
ComfyUI's own executor, and SD1.5 text to image on a tiny random-weight checkpoint built in the test.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from runtime import ComfyWorkflow, RunOutputs
from support.runtime_procs import RuntimeSession, noise_image, pixels, run_direct_comfy
from wizard.appspec import AppInput, AppSpec
from wizard.errors import WizardError
from wizard.testrun import run_app

tier2 = pytest.mark.tier2

EFFECT = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}, "_meta": {"title": "Photo"}},
    "2": {
        "class_type": "ImageBlur",
        "inputs": {"image": ["1", 0], "blur_radius": 3, "sigma": 1.5},
        "_meta": {"title": "Blur"},
    },
    "3": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}, "_meta": {"title": "Invert"}},
    "4": {
        "class_type": "SaveImage",
        "inputs": {"images": ["3", 0], "filename_prefix": "fx"},
        "_meta": {"title": "Result"},
    },
    "5": {"class_type": "GetImageSize", "inputs": {"image": ["3", 0]}, "_meta": {"title": "Size"}},
    "6": {"class_type": "PreviewAny", "inputs": {"source": ["5", 0]}, "_meta": {"title": "Width"}},
}
EFFECT_LABELS = [["1", "image", "Photo"], ["2", "blur_radius", "Blur radius"]]

TEXT_TO_IMAGE = {
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "tiny.safetensors"},
        "_meta": {"title": "Load Checkpoint"},
    },
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a red fox", "clip": ["4", 1]},
        "_meta": {"title": "Positive"},
    },
    "7": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "blurry", "clip": ["4", 1]},
        "_meta": {"title": "Negative"},
    },
    "5": {
        "class_type": "EmptyLatentImage",
        "inputs": {"width": 64, "height": 64, "batch_size": 1},
        "_meta": {"title": "Empty Latent Image"},
    },
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 1,
            "steps": 2,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
        "_meta": {"title": "KSampler"},
    },
    "8": {
        "class_type": "VAEDecode",
        "inputs": {"samples": ["3", 0], "vae": ["4", 2]},
        "_meta": {"title": "VAE Decode"},
    },
    "9": {
        "class_type": "SaveImage",
        "inputs": {"filename_prefix": "t2i", "images": ["8", 0]},
        "_meta": {"title": "Image"},
    },
}
T2I_LABELS = [["6", "text", "Prompt"], ["3", "seed", "Seed"], ["3", "steps", "Steps"]]


def test_run_outputs_sort_files_by_kind():
    outputs = RunOutputs(
        files_by_node={"9": ("/o/a.png", "/o/b.webm", "/o/c.flac", "/o/d.glb", "/o/e.JPG")},
        texts_by_node={"6": ("48", "64")},
        seconds=1.5,
    )
    assert outputs.images("9") == ["/o/a.png", "/o/e.JPG"]
    assert outputs.videos("9") == ["/o/b.webm"]
    assert outputs.audio("9") == ["/o/c.flac"]
    assert outputs.meshes("9") == ["/o/d.glb"]
    assert outputs.text("6") == "48\n64"
    assert outputs.images("1") == [] and outputs.text("9") == ""


@pytest.mark.parametrize(
    ("measured", "recommended"), [([], 60), ([1.0], 10), ([3.0, 20.0], 35), ([20.2], 36), ([500.0], 120)]
)
def test_recommended_duration_is_the_slowest_run_with_headroom_within_limits(measured, recommended):
    workflow = ComfyWorkflow(engine=None, prompt={}, durations=list(measured))
    assert workflow.recommended_duration() == recommended


@pytest.fixture
def spec_only_app(tmp_path) -> Path:
    """An app folder whose inputs are checked before any process starts (its app.py never runs)."""
    (tmp_path / "app.py").write_text("raise SystemExit('must not run')\n")
    common = {"node_id": "1", "order": 0}
    inputs = (
        AppInput(
            **common,
            input_name="text",
            label="Prompt",
            name="prompt",
            value_type="STRING",
            component="Textbox",
            default="a cat",
        ),
        AppInput(
            **common,
            input_name="seed",
            label="Seed",
            name="seed",
            value_type="INT",
            component="Number",
            default=1,
            randomize=True,
        ),
        AppInput(
            **common,
            input_name="sampler_name",
            label="Sampler",
            name="sampler",
            value_type="COMBO",
            component="Dropdown",
            default="euler",
            choices=("euler", "ddim"),
        ),
        AppInput(
            **common,
            input_name="image",
            label="Photo",
            name="photo",
            value_type="FILE",
            component="Image",
            media="image",
        ),
    )
    inputs = tuple(replace(item, order=order) for order, item in enumerate(inputs))
    spec = AppSpec(
        fingerprint="sha256:0", title="Checks", description="", emoji="🧪", inputs=inputs, outputs=()
    )
    (tmp_path / "appspec.json").write_text(spec.to_json())
    return tmp_path


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            {"colour": "red"},
            "this app has no input 'colour'; its inputs are: prompt, seed, randomize_seed, sampler, photo",
        ),
        ({"seed": "1.5"}, "input 'seed' needs a whole number, got '1.5'"),
        ({"sampler": "heun"}, "input 'sampler' must be one of: euler, ddim; got 'heun'"),
        ({"randomize_seed": "maybe"}, "input 'randomize_seed' needs true or false, got 'maybe'"),
        ({}, "Photo needs a file (the command line: --input photo=PATH)"),
        ({"photo": "/no/such/file.png"}, "input 'photo': no file at '/no/such/file.png'"),
    ],
)
def test_test_run_refuses_bad_inputs_before_starting_the_app(spec_only_app, tmp_path, inputs, message):
    with pytest.raises(WizardError) as refused:
        run_app(spec_only_app, inputs, tmp_path / "out")
    assert str(refused.value) == message


def test_test_run_refuses_a_folder_that_is_not_a_built_app(tmp_path):
    with pytest.raises(WizardError, match="is not a folder written by `python -m wizard build`"):
        run_app(tmp_path, {}, tmp_path / "out")


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("effect_app")


@pytest.fixture(scope="module")
def session(app_dir: Path):
    running = RuntimeSession(app_dir, {"fx": EFFECT}, labels={"fx": EFFECT_LABELS})
    yield running
    running.close()


@pytest.fixture(scope="module")
def t2i_app_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("t2i_app")


@pytest.fixture(scope="module")
def t2i_session(t2i_app_dir: Path):
    checkpoint = t2i_app_dir / "comfy_data" / "models" / "checkpoints" / "tiny.safetensors"
    running = RuntimeSession(
        t2i_app_dir, {"t2i": TEXT_TO_IMAGE}, labels={"t2i": T2I_LABELS}, checkpoint=checkpoint
    )
    yield running
    running.close()


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    return noise_image(tmp_path_factory.mktemp("uploads") / "my photo.png")


@tier2
def test_model_free_run_gives_comfyui_pixels(session, photo, tmp_path):
    answer = session.run("fx", [["1", "image", str(photo)], ["2", "blur_radius", 5]])
    assert answer["ok"], answer
    [result] = answer["images"]["4"]
    reference_prompt = {**EFFECT, "2": {**EFFECT["2"], "inputs": {**EFFECT["2"]["inputs"], "blur_radius": 5}}}
    reference_prompt["1"] = {**EFFECT["1"], "inputs": {"image": photo.name}}
    [expected] = run_direct_comfy(reference_prompt, tmp_path / "direct", inputs=[photo])["4"]
    assert pixels(result).shape == (40, 48, 3)
    np.testing.assert_array_equal(pixels(result), pixels(expected))
    # The invert really ran: the output is not the blurred input itself.
    assert np.abs(pixels(result).astype(int) - pixels(photo).astype(int)).mean() > 50


@tier2
def test_a_request_leaves_no_file_in_comfy_data(session, photo, app_dir, tmp_path):
    """Uploads are staged under their content hash only while the request runs; outputs are moved out of
    ComfyUI's output folder into a folder of the request's own."""
    copy = tmp_path / "same bytes.png"
    copy.write_bytes(photo.read_bytes())
    first = session.run("fx", [["1", "image", str(photo)]])
    second = session.run("fx", [["1", "image", str(copy)]])
    assert first["ok"] and second["ok"]
    data = app_dir / "comfy_data"
    assert [
        p for folder in ("input", "output", "temp") for p in (data / folder).rglob("*") if p.is_file()
    ] == []
    [first_file], [second_file] = first["files"]["4"], second["files"]["4"]
    assert Path(first_file).parent != Path(second_file).parent  # one folder per request
    for path in (first_file, second_file):
        assert not Path(path).resolve().is_relative_to(data.resolve()) and Path(path).is_file()
    np.testing.assert_array_equal(pixels(first_file), pixels(second_file))


@tier2
def test_a_pil_image_input_gives_the_same_pixels_as_its_file(session, photo):
    from_file = session.run("fx", [["1", "image", str(photo)], ["2", "blur_radius", 6]])
    from_pil = session.run("fx", [["1", "image", {"pil": str(photo)}], ["2", "blur_radius", 6]])
    assert from_file["ok"] and from_pil["ok"], (from_file, from_pil)
    np.testing.assert_array_equal(pixels(from_pil["images"]["4"][0]), pixels(from_file["images"]["4"][0]))


@tier2
def test_identical_rerun_reuses_the_cache_but_writes_its_own_files(session, photo, app_dir):
    first = session.run("fx", [["1", "image", str(photo)], ["2", "blur_radius", 7]])
    again = session.run("fx", [["1", "image", str(photo)], ["2", "blur_radius", 7]])
    assert again["ok"] and again["files"]["4"] != first["files"]["4"]
    np.testing.assert_array_equal(pixels(again["files"]["4"][0]), pixels(first["files"]["4"][0]))
    assert list((app_dir / "comfy_data" / "output").iterdir()) == []


@tier2
def test_text_outputs_are_returned(session, photo):
    answer = session.run("fx", [["1", "image", str(photo)]])
    assert answer["texts"]["6"] == ["48"]


@tier2
def test_text_file_named_png_is_refused_in_words_then_the_next_request_works(session, photo, tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is not an image")
    refused = session.run("fx", [["1", "image", str(fake)]])
    assert refused == {
        "ok": False,
        "error": "InputError",
        "message": "Photo: the file is not an image in a supported format (use PNG, JPEG or WebP)",
    }
    assert session.run("fx", [["1", "image", str(photo)]])["ok"]


@tier2
def test_missing_upload_is_refused_in_words(session):
    refused = session.run("fx", [["1", "image", None]])
    assert refused["message"] == "Photo: please provide an image"


@tier2
def test_value_out_of_range_names_the_label_then_the_next_request_works(session, photo):
    refused = session.run("fx", [["1", "image", str(photo)], ["2", "blur_radius", 99]])
    assert refused == {
        "ok": False,
        "error": "InputError",
        "message": "Blur radius must be at most 31 (got 99)",
    }
    assert session.run("fx", [["1", "image", str(photo)], ["2", "blur_radius", 2]])["ok"]


@tier2
def test_checkpoint_is_loaded_once_at_start_and_never_per_request(t2i_session):
    assert t2i_session.ready["checkpoint_loads"] == 1  # the preload at start
    first = t2i_session.run("t2i", [["3", "seed", 11], ["6", "text", "a cat"]])
    second = t2i_session.run("t2i", [["3", "seed", 12], ["6", "text", "a dog"]])
    assert first["ok"] and second["ok"], (first, second)
    assert t2i_session.stats("t2i")["checkpoint_loads"] == 1
    assert first["images"]["9"] != second["images"]["9"]
    for answer in (first, second):
        image = pixels(answer["images"]["9"][0])
        assert image.shape == (64, 64, 3)
        # ComfyUI's progress hook fed the request's callback: one report per sampler step.
        assert answer["progress"] == [[1, 2, "KSampler"], [2, 2, "KSampler"]]
    assert not np.array_equal(pixels(first["images"]["9"][0]), pixels(second["images"]["9"][0]))


@tier2
def test_missing_model_is_named_with_its_folder_then_the_next_request_works(t2i_session):
    refused = t2i_session.run("t2i", [["4", "ckpt_name", "sd_xl_base_1.0.safetensors"]])
    assert refused == {
        "ok": False,
        "error": "MissingModelError",
        "message": '"ckpt_name" of "Load Checkpoint": model file \'sd_xl_base_1.0.safetensors\' '
        "is missing from models/checkpoints",
    }
    assert t2i_session.run("t2i", [["3", "seed", 13]])["ok"]
    assert t2i_session.stats("t2i")["checkpoint_loads"] == 1


@tier2
def test_steps_out_of_range_names_the_label(t2i_session):
    refused = t2i_session.run("t2i", [["3", "steps", 0]])
    assert refused["message"] == "Steps must be at least 1 (got 0)"


@tier2
def test_node_failure_names_the_node_then_the_next_request_works(t2i_session, t2i_app_dir):
    broken = t2i_app_dir / "comfy_data" / "models" / "checkpoints" / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    refused = t2i_session.run("t2i", [["4", "ckpt_name", "broken.safetensors"]])
    assert refused["error"] == "NodeExecutionError"
    assert refused["message"].startswith('"Load Checkpoint" failed: ')
    assert "\n" not in refused["message"]
    assert t2i_session.run("t2i", [["3", "seed", 14]])["ok"]


@tier2
def test_recommended_duration_covers_the_slowest_measured_run(t2i_session):
    slowest = t2i_session.run("t2i", [["3", "seed", 15], ["3", "steps", 3]])
    duration = t2i_session.stats("t2i")["recommended_duration"]
    assert 10 <= duration <= 120
    assert duration >= min(120, math.ceil(slowest["seconds"] * 1.5))
    assert t2i_session.stats("t2i")["cuda_initialized"] is False


@tier2
def test_a_workflow_with_an_unknown_node_type_is_refused_at_start(tmp_path):
    prompt = {**EFFECT, "7": {"class_type": "NoSuchUpscaler", "inputs": {"image": ["3", 0]}}}
    with pytest.raises(AssertionError) as ended:
        RuntimeSession(tmp_path / "app", {"bad": prompt})
    assert (
        "ComfyUIStartError: the workflow needs node types ComfyUI does not have: NoSuchUpscaler; "
        "add the custom-node packs that provide them to comfy.lock.json" in str(ended.value)
    )
