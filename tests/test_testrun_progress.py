"""A Test run that informs: its stages and steps (`runtime.progress`) cross the sandbox as JSON lines and
reach the wizard while the app runs; a model download says its bytes and speed; the page's controls give
typed values (`wizard.testrun._convert` takes them as well as the command line's texts).

Tier 1: the reports' words, the values, a download from the local fake Hub (real HTTP, in a process of its
own as a Space would download). Tier 2 (ComfyUI): a text-to-image app on a tiny random SD1.5 checkpoint run
through the sandboxed worker, its reports heard as they come.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.progress import Report
from tests.fakehub import client_env
from wizard import app_contract
from wizard.errors import WizardError
from wizard.session import EXAMPLES_DIR, open_workflow
from wizard.testrun import _convert_inputs

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = b"random bytes standing in for weights " * 30_000  # 1.1 MB


def test_reports_read_as_a_person_would_say_them():
    download = Report("Downloading model sd_xl_base_1.0.safetensors", 1.2e9, 6.5e9, "bytes", 80e6)
    assert download.text() == "Downloading model sd_xl_base_1.0.safetensors – 1.2 GB of 6.5 GB at 80.0 MB/s"
    assert download.fraction == pytest.approx(1.2 / 6.5)
    assert Report("KSampler", 12, 20, "steps").text() == "KSampler – step 12 of 20"
    assert (
        Report("Starting ComfyUI").text() == "Starting ComfyUI"
        and Report("Starting ComfyUI").fraction is None
    )
    assert Report.from_json(json.loads(json.dumps(download.to_json()))) == download


def sd15():
    path = EXAMPLES_DIR / "sd15_text_to_image.json"
    return open_workflow(path.read_bytes(), path.name)


def test_the_pages_values_are_taken_as_the_app_types_them():
    parameters = app_contract.parameters(sd15().spec)
    values = _convert_inputs(
        parameters, {"steps": 25.0, "cfg": 7, "randomize_seed": False, "prompt": "a cat"}
    )
    assert values["steps"] == 25 and type(values["steps"]) is int
    assert values["cfg"] == 7.0 and type(values["cfg"]) is float
    assert values["randomize_seed"] is False and values["prompt"] == "a cat"
    assert values["width"] == 512  # not given (or None: a cleared box): the default


def test_a_value_of_the_wrong_kind_is_refused_in_words():
    parameters = app_contract.parameters(sd15().spec)
    with pytest.raises(WizardError, match=r"input 'steps' cannot take 2\.5"):
        _convert_inputs(parameters, {"steps": 2.5})


def test_a_file_input_without_a_file_names_its_label():
    path = EXAMPLES_DIR / "poster_effect.json"
    session = open_workflow(path.read_bytes(), path.name)
    file_input = next(item for item in session.spec.ordered_inputs if item.value_type == "FILE")
    with pytest.raises(WizardError, match=rf"^{file_input.label} needs a file"):
        _convert_inputs(app_contract.parameters(session.spec), {file_input.name: None})


_DOWNLOAD = """
import json, sys
from pathlib import Path
from runtime import progress
from runtime.models import ensure_models

heard = []
progress.listen(lambda report: heard.append(report.to_json()))
ensure_models(json.loads(sys.argv[2]), Path(sys.argv[1]))
print(json.dumps(heard))
"""


def test_a_model_download_reports_its_bytes_and_speed(fake_hub, tmp_path):
    commit = fake_hub.add_model_file("acme/tiny", "tiny.safetensors", WEIGHTS)
    model = {
        "name": "tiny.safetensors",
        "folder": "checkpoints",
        "repo_id": "acme/tiny",
        "path": "tiny.safetensors",
        "revision": commit,
        "url": None,
        "size": len(WEIGHTS),
    }
    completed = subprocess.run(
        [sys.executable, "-c", _DOWNLOAD, str(tmp_path / "models"), json.dumps([model])],
        cwd=REPO_ROOT,
        env=client_env(fake_hub.url, tmp_path / "hf-home", None, HF_HUB_DISABLE_XET="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    reports = [Report.from_json(item) for item in json.loads(completed.stdout.strip().splitlines()[-1])]
    assert {report.stage for report in reports} == {"Downloading model tiny.safetensors"}
    last = reports[-1]
    assert (last.done, last.total, last.unit) == (len(WEIGHTS), len(WEIGHTS), "bytes")
    assert last.text().startswith("Downloading model tiny.safetensors – 1.1 MB of 1.1 MB")


@pytest.mark.tier2
def test_a_test_run_reports_its_stages_and_sampler_steps_while_it_runs(tmp_path, comfyui_path):
    from runtime.models import model_target
    from tests.support.runtime_procs import build_tiny_checkpoint
    from wizard.session import build
    from wizard.testrun import run_app

    session = sd15()
    folder = build(session, tmp_path / "space")
    checkpoint = session.spec.models[0]
    target = model_target(
        folder / "comfy_data" / "models", {"name": checkpoint.name, "folder": "checkpoints"}
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    build_tiny_checkpoint(target)
    heard: list[Report] = []
    inputs = {"steps": 3, "width": 64, "height": 64, "seed": 5}
    result = run_app(folder, inputs, tmp_path / "out", on_progress=heard.append)

    stages = [report.stage for report in heard]
    assert "Starting ComfyUI" in stages and "Loading the models" in stages
    assert stages.index("Starting ComfyUI") < stages.index("Loading the models")
    steps = [report for report in heard if report.unit == "steps"]
    assert [report.done for report in steps if report.stage == "KSampler"][-3:] == [1, 2, 3]
    assert steps[-1].text().endswith("step 3 of 3")
    assert result.files and result.seconds > 0
