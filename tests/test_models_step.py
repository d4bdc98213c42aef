"""The models step tells the truth: per model file found / not found / not checked, sizes and gated status
from the Hub (a local fake Hub over real HTTP, serving the real files' sizes), the total download, the
estimated cold start and whether the files fit ZeroGPU; in the CLI (`inspect`, `spec`) here, in the page in
tests/test_models_step_browser.py."""

from __future__ import annotations

import json
import os

import pytest

from tests.fakehub import client_env
from tests.wizard_cli import run_wizard
from wizard.resolve import (
    GB,
    SPACE_DISK_BYTES,
    ZEROGPU_XLARGE_BYTES,
    ModelsReport,
    ModelStatus,
)
from wizard.records import ModelFile

SD15 = "wizard/examples/sd15_text_to_image.json"
SD15_REPO, SD15_FILE = "Comfy-Org/stable-diffusion-v1-5-archive", "v1-5-pruned-emaonly-fp16.safetensors"
SD15_SIZE = 2_132_696_762  # the file's size on the Hub
WAN = "Comfy-Org/Wan_2.2_ComfyUI_Repackaged"
# The video template's files, with their sizes on the Hub (rounded to the MB the Hub shows).
WAN_FILES = {
    (
        "Comfy-Org/Wan_2.1_ComfyUI_repackaged",
        "split_files/text_encoders/umt5_xxl_fp8_e4m3fn_scaled.safetensors",
    ): 6_735_000_000,
    (WAN, "split_files/vae/wan_2.1_vae.safetensors"): 254_000_000,
    (WAN, "split_files/diffusion_models/wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors"): 14_290_000_000,
    (WAN, "split_files/diffusion_models/wan2.2_t2v_low_noise_14B_fp8_scaled.safetensors"): 14_290_000_000,
    (WAN, "split_files/loras/wan2.2_t2v_lightx2v_4steps_lora_v1.1_high_noise.safetensors"): 1_230_000_000,
    (WAN, "split_files/loras/wan2.2_t2v_lightx2v_4steps_lora_v1.1_low_noise.safetensors"): 1_230_000_000,
}


def env_for(hub_url: str, tmp_path, **extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "SYSTEM"))}
    return {**environment, **client_env(hub_url, tmp_path / "hf-home"), **extra}


def inspect_json(path: str, env: dict[str, str], *flags: str) -> dict:
    result = run_wizard("inspect", path, "--json", "--offline", *flags, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["models_check"]


def test_inspect_online_reads_the_size_from_the_hub(fake_hub, tmp_path):
    fake_hub.add_model_file(SD15_REPO, SD15_FILE, size=SD15_SIZE)
    check = inspect_json(SD15, env_for(fake_hub.url, tmp_path), "--online")
    assert check["files"] == [{"name": SD15_FILE, "folder": "checkpoints", "state": "found", "reason": None}]
    assert check["total_bytes"] == SD15_SIZE and check["unsized"] == 0 and check["warnings"] == []
    assert check["download"].startswith("Total download: 2.13 GB. Estimated cold start: about 21 s")
    assert "assuming 100 MB/s from the Hub to the Space" in check["download"]
    asked = [request.path for request in fake_hub.requests]
    assert any("paths-info" in path for path in asked), asked


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"HF_HUB_OFFLINE": "1"}, "offline (HF_HUB_OFFLINE is set)"),
        ({"HF_ENDPOINT": "http://127.0.0.1:9"}, "the Hub could not be reached"),
    ],
    ids=["offline", "unreachable"],
)
def test_a_hub_that_could_not_be_asked_is_never_all_found(fake_hub, tmp_path, extra, reason):
    fake_hub.add_model_file(SD15_REPO, SD15_FILE, size=SD15_SIZE)
    result = run_wizard(
        "inspect", SD15, "--offline", "--online", env=env_for(fake_hub.url, tmp_path, **extra)
    )
    assert result.returncode == 0, result.stderr
    assert "1 model file: 1 not checked." in result.stdout
    assert f"checkpoints/{SD15_FILE}: not checked: {reason}" in result.stdout
    assert "found" not in result.stdout.replace("not found", "")
    assert "Total download" not in result.stdout  # no size is known


def test_a_file_the_hub_lacks_is_not_found(fake_hub, tmp_path):
    fake_hub.add_model_file(SD15_REPO, "other.safetensors", size=10)
    check = inspect_json(SD15, env_for(fake_hub.url, tmp_path), "--online")
    assert check["files"][0]["state"] == "not found"
    assert check["files"][0]["reason"] == f"{SD15_REPO} at main has no file {SD15_FILE}"


def test_a_repo_the_hub_lacks_is_not_found(fake_hub, tmp_path):
    check = inspect_json(SD15, env_for(fake_hub.url, tmp_path), "--online")
    assert check["files"][0]["state"] == "not found"
    assert "the Hub shows no repo Comfy-Org/stable-diffusion-v1-5-archive" in check["files"][0]["reason"]


def test_without_online_nothing_is_asked(fake_hub, tmp_path):
    check = inspect_json(SD15, env_for(fake_hub.url, tmp_path))
    assert check["files"][0]["state"] == "not checked"
    assert check["files"][0]["reason"] == "the Hub was not asked (pass --online to ask it)"
    assert fake_hub.requests == []


def test_spec_online_prints_the_video_models_and_writes_their_sizes(fake_hub, templates_dir, tmp_path):
    for (repo_id, path), size in WAN_FILES.items():
        fake_hub.add_model_file(
            repo_id, path, size=size, gated=repo_id.endswith("Wan_2.1_ComfyUI_repackaged")
        )
    spec_path = tmp_path / "spec.json"
    result = run_wizard(
        "spec",
        templates_dir / "video_wan2_2_14B_t2v.json",
        "--offline",
        "--online",
        "-o",
        spec_path,
        env=env_for(fake_hub.url, tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "6 model files: 6 found on the Hub." in result.stderr
    assert "Total download: 38.03 GB. Estimated cold start: about 6 min 20 s to download it" in result.stderr
    assert "plus 38 s to load it (assuming 1 GB/s)" in result.stderr
    assert "Gated: umt5_xxl_fp8_e4m3fn_scaled.safetensors: the Space needs an HF_TOKEN" in result.stderr
    models = json.loads(spec_path.read_text())["models"]
    assert sorted(model["size"] for model in models) == sorted(WAN_FILES.values())
    assert [model["name"] for model in models if model["gated"]] == ["umt5_xxl_fp8_e4m3fn_scaled.safetensors"]


def _report(*sizes: int) -> ModelsReport:
    models = [
        ModelFile(name=f"m{index}.safetensors", folder="checkpoints", size=size)
        for index, size in enumerate(sizes)
    ]
    statuses = [ModelStatus(model.name, model.folder, "found", None) for model in models]
    return ModelsReport.of(models, statuses)


def test_models_that_need_a_whole_gpu_or_cannot_fit_are_named():
    assert _report(20 * GB, 20 * GB).warnings() == ()
    (xlarge,) = _report(28 * GB, 20 * GB).warnings()
    assert "do not fit ZeroGPU's default half GPU (`large`, 48.00 GB)" in xlarge and "`xlarge`" in xlarge
    too_big, disk = _report(60 * GB, 40 * GB).warnings()
    assert too_big.startswith("The model files (100.00 GB) cannot fit ZeroGPU") and "96.00 GB" in too_big
    assert disk == "The model files (100.00 GB) do not fit the Space's 50.00 GB disk."
    assert ZEROGPU_XLARGE_BYTES > SPACE_DISK_BYTES  # disk is the tighter limit above 50 GB


# --- in the browser: the real wizard on localhost, headless Chromium --------------------------------------

BROWSER_TOKEN, BROWSER_USER = "hf_modelsteptoken", "ada"


@pytest.fixture(scope="module")
def browser():
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, sync_api

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_models_step(browser, url: str, workflow, width: int = 1360):
    """A new tab with `workflow` uploaded and the models step opened (which asks the Hub)."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator("#upload input[type=file]").set_input_files(str(workflow))
    page.locator("#graph .graph-canvas svg").wait_for()
    page.locator("#next-inputs").click()
    page.locator("#next-models").click()
    return context, page


@pytest.mark.browser
def test_the_models_step_says_what_the_hub_said(browser, templates_dir, tmp_path):
    from tests.fakehub import FakeHub
    from tests.test_browser import shot, sync_api
    from tests.wizard_server import wizard_app

    expect = sync_api.expect
    with FakeHub(users={BROWSER_TOKEN: BROWSER_USER}) as hub:
        hub.add_model_file(SD15_REPO, SD15_FILE, size=SD15_SIZE)
        for (repo_id, path), size in WAN_FILES.items():
            hub.add_model_file(repo_id, path, size=size, gated=repo_id.endswith("Wan_2.1_ComfyUI_repackaged"))
        with wizard_app(hub.url, BROWSER_TOKEN, tmp_path / "wizard") as url:
            context, page = open_models_step(browser, url, templates_dir / "default.json")
            try:
                summary, table = page.locator("#models-summary"), page.locator("#models-table")
                expect(summary).to_contain_text("1 model file: 1 found on the Hub.", timeout=60_000)
                expect(summary).to_contain_text("Total download: 2.13 GB. Estimated cold start: about 21 s")
                expect(table).to_contain_text("2.13 GB")
                expect(table).to_contain_text("open")
                shot(page, "models-step-01-found")

                hub.fail_next(path=r"paths-info", drop_connection=True)  # one look-up fails: all stop
                page.locator("#step-inputs-button").click()  # back, and open the step again: asked again
                page.locator("#next-models").click()
                expect(summary).to_contain_text("1 model file: 1 not checked.", timeout=60_000)
                expect(table).to_contain_text("not checked: the Hub could not be reached")
                assert "found on the Hub" not in summary.inner_text()
                shot(page, "models-step-02-hub-unreachable")
            finally:
                context.close()

            context, page = open_models_step(browser, url, templates_dir / "video_wan2_2_14B_t2v.json")
            try:
                summary = page.locator("#models-summary")
                expect(summary).to_contain_text("6 model files: 6 found on the Hub.", timeout=60_000)
                expect(summary).to_contain_text(
                    "Total download: 38.03 GB. Estimated cold start: about 6 min 20 s to download it (assuming "
                    "100 MB/s from the Hub to the Space) plus 38 s to load it (assuming 1 GB/s)."
                )
                expect(summary).to_contain_text("Gated (umt5_xxl_fp8_e4m3fn_scaled.safetensors)")
                expect(page.locator("#models-table")).to_contain_text("14.29 GB")
                shot(page, "models-step-03-video-template")
            finally:
                context.close()

            context, page = open_models_step(browser, url, templates_dir / "default.json", width=390)
            try:
                expect(page.locator("#models-summary")).to_contain_text("1 found on the Hub", timeout=60_000)
                shot(page, "models-step-04-390px")
            finally:
                context.close()
