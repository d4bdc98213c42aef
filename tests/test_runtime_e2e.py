"""Tier 2, end to end: UI workflows written here are built with `python -m wizard build --auto`, the app
is started as a user would (`python app.py`) and called over HTTP with `gradio_client`; the pixels
must equal those of ComfyUI's own executor running the same prompt in another process.
`python -m wizard run` is tested the same way. No stand-in for the runtime or ComfyUI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from support.runtime_procs import (
    REPO_ROOT,
    noise_image,
    pixels,
    run_direct_comfy,
    subprocess_env,
    ui_node,
    ui_workflow,
    build_tiny_checkpoint,
)
from tests.processes import free_port, stop_process, wait_until_serving
from tests.wizard_cli import run_wizard

pytestmark = pytest.mark.tier2

SERVER_START_TIMEOUT_S = 300

# LoadImage -> ImageBlur (radius from a PrimitiveNode) -> ImageSharpen (bypassed) -> ImageInvert -> SaveImage
EFFECT_WORKFLOW = ui_workflow(
    [
        ui_node(
            1,
            "LoadImage",
            ["example.png", "image"],
            outputs=[("IMAGE", "IMAGE", [1]), ("MASK", "MASK", [])],
            title="Photo",
        ),
        ui_node(
            5,
            "PrimitiveNode",
            [4, "fixed"],
            outputs=[("INT", "INT", [5], "blur_radius")],
            title="Blur radius",
        ),
        ui_node(
            2,
            "ImageBlur",
            [1, 1.5],
            inputs=[("image", "IMAGE", 1), ("blur_radius", "INT", 5, "blur_radius")],
            outputs=[("IMAGE", "IMAGE", [2])],
        ),
        ui_node(
            6,
            "ImageSharpen",
            [2, 1.0, 1.0],
            inputs=[("image", "IMAGE", 2)],
            outputs=[("IMAGE", "IMAGE", [3])],
            mode=4,
        ),
        ui_node(3, "ImageInvert", None, inputs=[("image", "IMAGE", 3)], outputs=[("IMAGE", "IMAGE", [4])]),
        ui_node(4, "SaveImage", ["effect"], inputs=[("images", "IMAGE", 4)], title="Result"),
    ],
    [
        [1, 1, 0, 2, 0, "IMAGE"],
        [2, 2, 0, 6, 0, "IMAGE"],
        [3, 6, 0, 3, 0, "IMAGE"],
        [4, 3, 0, 4, 0, "IMAGE"],
        [5, 5, 0, 2, 1, "INT"],
    ],
)

# CheckpointLoaderSimple -> 2x CLIPTextEncode, EmptyLatentImage -> KSampler -> VAEDecode -> SaveImage
TEXT_TO_IMAGE_WORKFLOW = ui_workflow(
    [
        ui_node(
            4,
            "CheckpointLoaderSimple",
            ["tiny.safetensors"],
            outputs=[("MODEL", "MODEL", [1]), ("CLIP", "CLIP", [3, 5]), ("VAE", "VAE", [8])],
        ),
        ui_node(
            6,
            "CLIPTextEncode",
            ["a red fox"],
            inputs=[("clip", "CLIP", 3)],
            outputs=[("CONDITIONING", "CONDITIONING", [4])],
            title="Prompt",
        ),
        ui_node(
            7,
            "CLIPTextEncode",
            ["blurry"],
            inputs=[("clip", "CLIP", 5)],
            outputs=[("CONDITIONING", "CONDITIONING", [6])],
            title="Negative prompt",
        ),
        ui_node(5, "EmptyLatentImage", [64, 64, 1], outputs=[("LATENT", "LATENT", [2])]),
        ui_node(
            3,
            "KSampler",
            [42, "randomize", 2, 7.0, "euler", "normal", 1.0],
            inputs=[
                ("model", "MODEL", 1),
                ("positive", "CONDITIONING", 4),
                ("negative", "CONDITIONING", 6),
                ("latent_image", "LATENT", 2),
            ],
            outputs=[("LATENT", "LATENT", [7])],
        ),
        ui_node(
            8,
            "VAEDecode",
            None,
            inputs=[("samples", "LATENT", 7), ("vae", "VAE", 8)],
            outputs=[("IMAGE", "IMAGE", [9])],
        ),
        ui_node(9, "SaveImage", ["t2i"], inputs=[("images", "IMAGE", 9)]),
    ],
    [
        [1, 4, 0, 3, 0, "MODEL"],
        [2, 5, 0, 3, 3, "LATENT"],
        [3, 4, 1, 6, 0, "CLIP"],
        [4, 6, 0, 3, 1, "CONDITIONING"],
        [5, 4, 1, 7, 0, "CLIP"],
        [6, 7, 0, 3, 2, "CONDITIONING"],
        [7, 3, 0, 8, 0, "LATENT"],
        [8, 4, 2, 8, 1, "VAE"],
        [9, 8, 0, 9, 0, "IMAGE"],
    ],
)


def build_app(workflow: dict, folder: Path) -> Path:
    source = folder.parent / f"{folder.name}.json"
    source.write_text(json.dumps(workflow))
    result = run_wizard("build", str(source), "--auto", "-o", str(folder))
    assert result.returncode == 0, result.stderr
    return folder


class AppServer:
    """A built app serving on a free port, started with `command` in the app's folder."""

    def __init__(self, app_dir: Path, command: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = app_dir.parent / f"{app_dir.name}.log"
        self._log = self.log_path.open("w")
        env = subprocess_env(
            GRADIO_SERVER_PORT=str(self.port),
            GRADIO_SERVER_NAME="127.0.0.1",
            GRADIO_ANALYTICS_ENABLED="False",
        )
        self.process = subprocess.Popen(
            command, cwd=app_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_serving(self.url, self.process, self.log_path, SERVER_START_TIMEOUT_S, "the app")
        except AssertionError:
            self.stop()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


def gallery_paths(value) -> list[str]:
    """The local files of a Gallery value as gradio_client returns it."""
    return [item["image"] if isinstance(item, dict) else item for item in value]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def photo(work: Path) -> Path:
    return noise_image(work / "holiday photo.png", size=(56, 44), seed=3)


@pytest.fixture(scope="module")
def effect_app(work: Path) -> Path:
    return build_app(EFFECT_WORKFLOW, work / "effect_app")


@pytest.fixture(scope="module")
def effect_reference(effect_app: Path, photo: Path, work: Path) -> np.ndarray:
    """The image ComfyUI's own executor makes from the app's prompt with the same upload."""
    prompt = json.loads((effect_app / "workflow_api.json").read_text())
    [loader] = [node_id for node_id, node in prompt.items() if node["class_type"] == "LoadImage"]
    prompt[loader]["inputs"]["image"] = photo.name
    [path] = run_direct_comfy(prompt, work / "direct_effect", inputs=[photo])["4"]
    return pixels(path)


@pytest.fixture(scope="module")
def effect_server(effect_app: Path):
    server = AppServer(effect_app, [sys.executable, "app.py"])
    yield server
    server.stop()


def test_effect_app_runs_the_primitive_value_and_skips_the_bypassed_node(effect_app):
    prompt = json.loads((effect_app / "workflow_api.json").read_text())
    assert sorted(node["class_type"] for node in prompt.values()) == [
        "ImageBlur",
        "ImageInvert",
        "LoadImage",
        "SaveImage",
    ]
    assert prompt["2"]["inputs"]["blur_radius"] == 4
    assert prompt["3"]["inputs"]["image"] == ["2", 0]


def test_generated_app_over_gradio_client_gives_comfyui_pixels(effect_server, photo, effect_reference):
    from gradio_client import Client, handle_file

    client = Client(effect_server.url, verbose=False)
    [result] = gallery_paths(client.predict(handle_file(str(photo)), api_name="/generate"))
    assert pixels(result).shape == (44, 56, 3)
    np.testing.assert_array_equal(pixels(result), effect_reference)


def test_generated_app_survives_a_text_file_named_png_and_serves_the_next_request(
    effect_server, photo, effect_reference, work
):
    """Gradio's own Image component refuses the file before `generate` runs (the runtime's message for
    it is checked through `wizard run` and in test_runtime_engine.py); the app must stay up."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    fake = work / "not really.png"
    fake.write_text("just some text")
    client = Client(effect_server.url, verbose=False)
    with pytest.raises(AppError):
        client.predict(handle_file(str(fake)), api_name="/generate")
    [result] = gallery_paths(client.predict(handle_file(str(photo)), api_name="/generate"))
    np.testing.assert_array_equal(pixels(result), effect_reference)
    assert effect_server.process.poll() is None


def test_wizard_run_writes_comfyui_pixels(effect_app, photo, effect_reference, work):
    out = work / "cli_out"
    result = run_wizard(
        "run", str(effect_app), "--input", f"photo={photo}", "-o", str(out), timeout=600, env=subprocess_env()
    )
    assert result.returncode == 0, result.stderr[-4000:]
    [written] = result.stdout.split()
    assert Path(written).parent == out
    np.testing.assert_array_equal(pixels(written), effect_reference)
    assert "ran in" in result.stderr


def test_wizard_run_refuses_an_unknown_input_at_once(effect_app, work):
    started = time.monotonic()
    result = run_wizard("run", str(effect_app), "--input", "colour=red", "-o", str(work / "x"), timeout=60)
    assert time.monotonic() - started < 2
    assert result.returncode == 2
    assert result.stderr.strip() == "error: this app has no input 'colour'; its inputs are: photo"


def test_wizard_run_reports_the_apps_message_for_a_bad_file(effect_app, work):
    fake = work / "notes.png"
    fake.write_text("not an image")
    result = run_wizard(
        "run",
        str(effect_app),
        "--input",
        f"photo={fake}",
        "-o",
        str(work / "y"),
        timeout=600,
        env=subprocess_env(),
    )
    assert result.returncode == 2
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == "error: Photo: the file is not an image in a supported format (use PNG, JPEG or WebP)"


@pytest.fixture(scope="module")
def text_to_image_server(work: Path):
    app_dir = build_app(TEXT_TO_IMAGE_WORKFLOW, work / "t2i_app")
    build_tiny_checkpoint(app_dir / "comfy_data" / "models" / "checkpoints" / "tiny.safetensors")
    server = AppServer(
        app_dir, [sys.executable, str(REPO_ROOT / "tests" / "support" / "runtime_launch_app.py"), "."]
    )
    yield server
    server.stop()


def test_text_to_image_app_loads_the_checkpoint_once_for_all_requests(text_to_image_server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    assert text_to_image_server.log().count("CHECKPOINT LOADED") == 1  # preloaded at start
    client = Client(text_to_image_server.url, verbose=False)
    values = {"prompt": "a cat", "negative_prompt": "blurry", "randomize_seed": False, "steps": 2}
    first_images, first_seed = client.predict(**values, seed=7, api_name="/generate")
    second_images, second_seed = client.predict(**values, seed=8, api_name="/generate")
    assert (first_seed, second_seed) == (7, 8)
    first, second = pixels(gallery_paths(first_images)[0]), pixels(gallery_paths(second_images)[0])
    assert first.shape == second.shape == (64, 64, 3)
    assert not np.array_equal(first, second)
    with pytest.raises(AppError) as refused:  # Gradio's Slider checks its range before `generate` runs
        client.predict(**values, seed=9, width=8, api_name="/generate")
    assert str(refused.value) == "Value 8 is less than minimum value 16."
    third_images, _ = client.predict(**values, seed=9, api_name="/generate")
    assert pixels(gallery_paths(third_images)[0]).shape == (64, 64, 3)
    assert text_to_image_server.log().count("CHECKPOINT LOADED") == 1
