"""Test run on ZeroGPU (`wizard/space_run.py`) through `python -m wizard run DIR --space NAME`, against the
fake Hub's running Spaces: the build is published as a PRIVATE ZeroGPU Space, followed through its stages
and logs, called with gradio_client and the user's token; the outputs, the request time and the GPU
duration come back, the duration goes into appspec.json, and every failure is one clear line.

Tier 1 uses a built folder whose app.py is swapped for a small Gradio app with the same `/generate`
signature; the last test (tier 2) runs the generated ComfyUI app itself on the fake Hub.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.runtime_procs import noise_image, pixels
from tests.fakehub import FakeHub, client_env
from tests.fakespaces import SpaceRunConfig
from tests.test_runtime_e2e import EFFECT_WORKFLOW
from tests.wizard_cli import run_wizard

ALICE = "hf_alicetoken"
# The generated app's /generate for EFFECT_WORKFLOW: one image in, a gallery out. This one inverts it.
INVERT_APP = """
import gradio as gr
from PIL import Image, ImageOps

print("invert app ready", flush=True)

def generate(photo):
    out = photo.rsplit(".", 1)[0] + "-inverted.png"
    ImageOps.invert(Image.open(photo).convert("RGB")).save(out)
    return [out]

with gr.Blocks() as demo:
    photo = gr.Image(type="filepath")
    result = gr.Gallery()
    gr.Button().click(generate, inputs=[photo], outputs=[result], api_name="generate")

demo.queue(max_size=20).launch()
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """`wizard build --auto` of EFFECT_WORKFLOW (no ComfyUI needed to build)."""
    root = tmp_path_factory.mktemp("built")
    source = root / "effect.json"
    source.write_text(json.dumps(EFFECT_WORKFLOW))
    result = run_wizard("build", source, "--auto", "-o", root / "effect_app")
    assert result.returncode == 0, result.stderr
    return root / "effect_app"


@pytest.fixture
def hub(tmp_path):
    config = SpaceRunConfig(workdir=tmp_path / "spaces", start_timeout_s=300)
    with FakeHub(users={ALICE: "alice"}, spaces=config) as running_hub:
        yield running_hub


def small_app(
    built: Path, tmp_path: Path, app: str = INVERT_APP, requirements: str = "gradio\nPillow\n"
) -> Path:
    folder = tmp_path / "app"
    shutil.copytree(built, folder)
    (folder / "app.py").write_text(app)
    (folder / "requirements.txt").write_text(requirements)
    return folder


def run_on_space(hub: FakeHub, tmp_path: Path, folder: Path, *args: str, timeout: float = 600):
    photo = noise_image(tmp_path / "photo.png", size=(20, 16), seed=1)
    return photo, run_wizard(
        "run",
        folder,
        "--space",
        "effect-test",
        "--input",
        f"photo={photo}",
        "-o",
        tmp_path / "out",
        *args,
        timeout=timeout,
        env=client_env(hub.url, tmp_path / "hf_home", ALICE),
    )


def test_run_on_space_publishes_privately_calls_generate_and_writes_the_duration(hub, built, tmp_path):
    folder = small_app(built, tmp_path)
    photo, result = run_on_space(hub, tmp_path, folder)
    assert result.returncode == 0, result.stderr
    [written] = result.stdout.split()
    assert Path(written).parent == tmp_path / "out"
    np.testing.assert_array_equal(pixels(written), 255 - pixels(photo))
    space = hub.repos[("space", "alice/effect-test")]
    assert space.private and space.hardware == "zero-a10g"
    assert space.files["app.py"] == INVERT_APP.encode()
    # the logs were streamed while it built and started, then the durations printed
    assert "  | --> RUN pip install --no-cache-dir -r requirements.txt" in result.stderr
    assert "  | invert app ready" in result.stderr
    spec = json.loads((folder / "appspec.json").read_text())
    assert 0 < spec["measured_seconds"] < 60
    assert spec["duration"] == 10  # a fast run: the 10 s floor
    assert (
        f"ran on alice/effect-test (private) in {spec['measured_seconds']:.2f} s; ask ZeroGPU for 10 s per request"
        in result.stderr
    )
    assert ALICE not in result.stdout + result.stderr


def test_a_build_error_shows_the_last_build_log_lines(hub, built, tmp_path):
    folder = small_app(built, tmp_path, requirements="gradio\ntorch-nightly-xyz==9.9\n")
    _, result = run_on_space(hub, tmp_path, folder)
    assert result.returncode == 2
    assert "  | ERROR: No matching distribution found for torch-nightly-xyz==9.9" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: alice/effect-test failed to build (Build failed with exit code: 1): fix the requirement or "
        "file the build log names, rebuild and Test run again"
    )
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_app_that_stops_is_a_runtime_error_with_its_log(hub, built, tmp_path):
    crash = "print('loading models', flush=True)\nraise SystemExit('the checkpoint is missing')\n"
    _, result = run_on_space(hub, tmp_path, small_app(built, tmp_path, app=crash))
    assert result.returncode == 2
    assert "last log lines of alice/effect-test (RUNTIME_ERROR):\n  | loading models\n" in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "error: alice/effect-test built, but its app stopped (Exit code: 1. Reason: the checkpoint is missing)"
        )
    )


def test_zerogpu_quota_refusal_says_what_to_do(hub, built, tmp_path):
    app = INVERT_APP.replace(
        "def generate(photo):\n", "def generate(photo):\n    raise gr.Error('ZeroGPU quota exceeded')\n"
    )
    _, result = run_on_space(hub, tmp_path, small_app(built, tmp_path, app=app))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: ZeroGPU refused the run: ZeroGPU quota exceeded. Your daily ZeroGPU quota is used up: wait "
        "until it resets (24 h after first use) or get more with PRO (https://huggingface.co/pricing), then "
        "Test run again"
    )


def test_an_account_not_eligible_for_zerogpu_is_told_so(hub, built, tmp_path):
    hub.fail_next(method="POST", path=r"^/api/repos/create$", status=402)
    _, result = run_on_space(hub, tmp_path, small_app(built, tmp_path))
    assert result.returncode == 2
    assert "ZeroGPU needs an account in good standing with a verified email" in result.stderr
    assert ("space", "alice/effect-test") not in hub.repos


def test_a_space_that_does_not_start_in_time_is_a_timeout(hub, built, tmp_path):
    slow = "import time\nprint('downloading 20 GB', flush=True)\ntime.sleep(600)\n"
    _, result = run_on_space(hub, tmp_path, small_app(built, tmp_path, app=slow), "--timeout", "8")
    assert result.returncode == 2
    assert "  | downloading 20 GB" in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: alice/effect-test is still APP_STARTING after 8 s")
    )


def test_bad_inputs_fail_before_anything_is_published(hub, built, tmp_path):
    result = run_wizard(
        "run",
        small_app(built, tmp_path),
        "--space",
        "effect-test",
        "--input",
        "colour=red",
        "-o",
        tmp_path / "out",
        env=client_env(hub.url, tmp_path / "hf_home", ALICE),
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: this app has no input 'colour'; its inputs are: photo"
    assert not hub.requests


def test_make_public_flips_the_tested_space(hub, built, tmp_path):
    _, result = run_on_space(hub, tmp_path, small_app(built, tmp_path))
    assert result.returncode == 0, result.stderr
    flip = subprocess.run(
        [sys.executable, "-c", "from wizard.space_run import make_public; make_public('alice/effect-test')"],
        cwd=Path(__file__).resolve().parent.parent,
        env=client_env(hub.url, tmp_path / "hf_home", ALICE),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert flip.returncode == 0, flip.stderr
    assert not hub.repos[("space", "alice/effect-test")].private


@pytest.mark.tier2
def test_the_generated_comfyui_app_runs_on_the_fake_zerogpu_space(built, tmp_path, comfyui_path):
    config = SpaceRunConfig(workdir=tmp_path / "spaces", env={"COMFYUI_PATH": str(comfyui_path)})
    with FakeHub(users={ALICE: "alice"}, spaces=config) as hub:
        folder = tmp_path / "app"
        shutil.copytree(built, folder)
        photo, result = run_on_space(hub, tmp_path, folder, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    [written] = result.stdout.split()
    output = pixels(written).astype(float)
    assert output.shape == pixels(photo).shape
    # blurred, then inverted: the mean flips around 255 and the noise is smoothed
    assert abs(output.mean() - (255 - pixels(photo).astype(float).mean())) < 8
    assert output.std() < pixels(photo).astype(float).std()


def test_a_second_run_waits_for_its_own_build_of_the_space(hub, built, tmp_path):
    folder = small_app(built, tmp_path)
    _, first = run_on_space(hub, tmp_path, folder)
    assert first.returncode == 0, first.stderr
    _, second = run_on_space(hub, tmp_path, folder)
    assert second.returncode == 0, second.stderr
    # appspec.json changed (the measured duration), so the second publish is a new commit: it waits for
    # that build, not the first one, and calls the new app
    assert hub.running["alice/effect-test"].builds == 2
    assert len(second.stdout.split()) == 1


def test_after_a_fix_the_previous_builds_error_stage_is_not_believed(built, tmp_path):
    """The Hub reports the previous build's stage for a moment after a commit: a fixed app must not be
    reported as failed because the crashed one still shows RUNTIME_ERROR."""
    config = SpaceRunConfig(workdir=tmp_path / "spaces", start_timeout_s=300, stage_lag_s=6)
    with FakeHub(users={ALICE: "alice"}, spaces=config) as hub:
        crash = "raise SystemExit('broken')\n"
        _, failed = run_on_space(hub, tmp_path, small_app(built, tmp_path, app=crash))
        assert failed.returncode == 2 and "built, but its app stopped" in failed.stderr
        fixed = tmp_path / "app"
        (fixed / "app.py").write_text(INVERT_APP)
        _, result = run_on_space(hub, tmp_path, fixed)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 1
