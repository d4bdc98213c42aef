"""Test run on ZeroGPU in a real browser (headless Debian Chromium, Playwright): the wizard (`python app.py`)
publishes the build as a private ZeroGPU Space on the fake Hub, whose Spaces really build and run
(`tests/fakespaces.py`); the page streams the Space's log, shows the outputs and the GPU duration, and Publish
makes the same Space public. A second test makes the build fail and sees the log lines in the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakehub import FakeHub
from tests.fakespaces import SpaceRunConfig
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, shot, sync_api
from tests.wizard_server import wizard_app

pytestmark = pytest.mark.browser

TOKEN, USER = "hf_wizardtesttoken", "ada"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(url)
    page.wait_for_selector("#upload")
    return context, page


def walk_to_test_run(page, photo: Path) -> None:
    page.get_by_role("button", name="Blur and invert (no model)").click()
    page.locator("#graph svg").wait_for()
    for step in ("#next-inputs", "#next-models", "#next-preview"):
        page.locator(step).click()
    page.locator("#code-app-py .cm-content").wait_for()
    page.locator("#next-test").click()
    control = page.locator("#test-form #test-photo")
    control.locator("input[type=file]").set_input_files(str(photo))
    control.locator("img").first.wait_for()
    page.locator("#run-space-test").click()


def red_photo(tmp_path: Path) -> Path:
    from PIL import Image

    photo = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo)
    return photo


def log_text(page) -> str:
    return page.locator("#space-log textarea").input_value()


@pytest.mark.tier2
def test_test_run_on_zerogpu_shows_outputs_then_publish_makes_it_public(browser, tmp_path, comfyui_path):
    config = SpaceRunConfig(workdir=tmp_path / "spaces", env={"COMFYUI_PATH": str(comfyui_path)})
    with (
        FakeHub(users={TOKEN: USER}, spaces=config) as hub,
        wizard_app(hub.url, TOKEN, tmp_path / "w") as url,
    ):
        context, page = open_page(browser, url)
        try:
            walk_to_test_run(page, red_photo(tmp_path))
            page.locator("#test-status").get_by_text("Ran on the private Space").wait_for(timeout=600_000)
            status = page.locator("#test-status").inner_text()
            assert re.search(r"ask ZeroGPU for \d+ s per request", status)
            assert page.locator("#test-outputs img").count() >= 1
            log = log_text(page)
            assert "--> RUN pip install --no-cache-dir -r requirements.txt" in log and "DONE" in log
            [space] = [repo for (kind, _), repo in hub.repos.items() if kind == "space"]
            assert space.private and space.hardware == "zero-a10g" and space.namespace == USER
            shot(page, "20-space-test-run")

            page.locator("#next-publish").click()
            # the page says whose account it publishes to before the click
            assert page.locator("#account-note").inner_text().strip() == (
                "Publishes to ada (this machine's Hugging Face login)."
            )
            page.locator("#publish").click()
            page.locator("#published a").wait_for(timeout=60_000)
            assert "Updated" in page.locator("#published").inner_text()
            assert not space.private
            shot(page, "21-space-published")
        finally:
            context.close()


def test_a_failed_build_shows_the_log_lines_in_the_page(browser, tmp_path):
    config = SpaceRunConfig(workdir=tmp_path / "spaces", unavailable=frozenset({"spandrel"}))
    with (
        FakeHub(users={TOKEN: USER}, spaces=config) as hub,
        wizard_app(hub.url, TOKEN, tmp_path / "w") as url,
    ):
        context, page = open_page(browser, url)
        try:
            walk_to_test_run(page, red_photo(tmp_path))
            page.get_by_text("failed to build (Build failed with exit code: 1)").wait_for(timeout=120_000)
            log = log_text(page)
            assert "ERROR: No matching distribution found for spandrel" in log
            assert "BUILD_ERROR: last lines of the log" in log
            text = page.locator("body").inner_text()
            assert "Traceback" not in text and 'File "' not in text
            [space] = [repo for (kind, _), repo in hub.repos.items() if kind == "space"]
            assert space.private and space.namespace == USER
            shot(page, "22-space-build-error")
        finally:
            context.close()
