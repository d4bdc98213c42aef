"""The wizard on a phone: a 390 x 844 viewport walks every step, from the upload to a Space published on the
fake Hub, in headless Chromium. At each step the page itself never scrolls sideways (the tables and the code
scroll inside their boxes), the step's buttons lie within the screen's width, and a screenshot of the whole
page lands in `tests/artifacts/mobile-*.png`."""

from __future__ import annotations

import pytest

from tests.test_browser import (
    ARTIFACTS,
    STEP_TIMEOUT_MS,
    USER,
    app_url,  # noqa: F401  (fixtures of the browser tests, shared)
    browser,  # noqa: F401
    hub,  # noqa: F401
    upload,
)

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844

_OVERFLOW = "() => document.scrollingElement.scrollWidth"
# Buttons of the open step that reach past the screen's right edge (or start left of it); Gradio's tabs keep
# a visually hidden copy of their buttons to measure them.
_BUTTONS_OUTSIDE = """(width) => [...document.querySelectorAll('button')]
  .filter((button) => button.offsetParent !== null && !button.closest('.visually-hidden'))
  .map((button) => [button.innerText.trim(), button.getBoundingClientRect()])
  .filter(([, box]) => box.width > 0 && (box.left < 0 || box.right > width + 1))
  .map(([text, box]) => `${text} (${Math.round(box.left)}..${Math.round(box.right)})`)"""


@pytest.fixture
def phone(browser, app_url):  # noqa: F811
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT}, is_mobile=True, has_touch=True, device_scale_factor=1
    )
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(app_url)
    page.wait_for_selector("#upload")
    yield page
    context.close()


def check_step(page, name: str) -> None:
    """The page fits the phone's width, its visible buttons too; a screenshot of the step."""
    page.wait_for_timeout(400)  # the step's layout settles (Gradio mounts it as it opens)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"mobile-{name}.png"), full_page=True)
    assert page.evaluate(_OVERFLOW) <= WIDTH + 1, f"{name}: the page scrolls sideways"
    assert page.evaluate(_BUTTONS_OUTSIDE, WIDTH) == [], f"{name}: buttons off the screen"


def test_every_step_fits_a_phone(phone, hub, templates_dir):  # noqa: F811
    page = phone
    check_step(page, "1-upload")
    upload(page, templates_dir / "sdxl_refiner_prompt_example.json")
    page.locator("#graph svg").wait_for()
    graph = page.locator("#graph .graph-viewport")
    assert graph.bounding_box()["width"] <= WIDTH, "the graph's box fits the screen"
    check_step(page, "2-graph")

    page.locator("#next-inputs").click()
    table = page.locator("#inputs-table")
    page.locator("#input-10-steps").wait_for()
    box = table.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1, "the table's box fits the screen"
    assert table.evaluate("(e) => e.scrollWidth > e.clientWidth"), "the table scrolls inside its box"
    check_step(page, "3-inputs")

    page.locator("#next-models").click()
    page.locator("#models-table").wait_for()
    check_step(page, "4-models")

    page.locator("#next-preview").click()
    page.locator("#code-app-py .cm-content").wait_for()
    page.wait_for_function(
        "() => document.querySelector('#code-app-py .cm-content').innerText.includes('import')"
    )
    check_step(page, "5-preview")

    page.locator("#next-test").click()
    page.locator("#test-status").wait_for()
    check_step(page, "6-test-run")

    page.locator("#next-publish").click()
    page.locator("#space-name input, #space-name textarea").first.fill("sdxl-on-a-phone")
    check_step(page, "7-publish")
    page.locator("#publish").click()
    link = page.locator("#published a")
    link.wait_for(timeout=60_000)
    assert link.get_attribute("href") == f"{hub.url}/spaces/{USER}/sdxl-on-a-phone"
    check_step(page, "8-published")
