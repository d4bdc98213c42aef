"""The inputs and outputs tables: one cell edit at a time (`wizard.ui.tables`), then in headless Chromium
(`wizard.ui.grid`): the Component cell is a dropdown of the components the input's type may use, number cells
refuse a bad value in place with one message under the table that stays until an edit is accepted, and no
toast ever appears for a table edit. Screenshots land in `tests/artifacts/` with the other browser tests'."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from wizard import session as sessions
from wizard.app_contract import INPUT_COMPONENTS
from wizard.errors import WizardError
from wizard.ui import tables

SDXL = "sdxl_refiner_prompt_example.json"
EXAMPLES = Path(__file__).resolve().parent.parent / "wizard" / "examples"


@pytest.fixture(scope="module")
def sdxl(templates_dir) -> sessions.Session:
    return sessions.open_workflow((templates_dir / SDXL).read_bytes(), SDXL)


def spec_input(session: sessions.Session, node_id: str, input_name: str):
    (item,) = [
        item for item in session.spec.inputs if (item.node_id, item.input_name) == (node_id, input_name)
    ]
    return item


def test_each_row_offers_only_the_components_of_its_value_type(sdxl):
    rows = tables.input_rows(sdxl)
    assert {row.value_type for row in rows} >= {"STRING", "INT", "FLOAT", "COMBO"}
    for row in rows:
        assert row.components == INPUT_COMPONENTS[row.value_type] and row.component in row.components
    steps = tables.input_row(sdxl, "10", "steps")
    assert steps.components == ("Slider", "Number") and steps.also_targets == (("11", "steps"),)
    assert tables.input_row(sdxl, "6", "text").components == ("Textbox",)
    number = tables.with_input_cell(sdxl, "10", "steps", "component", "Number")
    assert spec_input(number, "10", "steps").component == "Number"
    with pytest.raises(WizardError, match="cannot be a Knob; use Slider or Number"):
        tables.with_input_cell(sdxl, "10", "steps", "component", "Knob")


def test_number_cells_take_numbers_within_the_rules_of_the_spec(sdxl):
    session = tables.with_input_cell(sdxl, "10", "steps", "default", 30.0)
    item = spec_input(session, "10", "steps")
    assert item.default == 30 and isinstance(item.default, int), "an INT input keeps an integer default"
    session = tables.with_input_cell(session, "10", "steps", "minimum", 5)
    assert spec_input(session, "10", "steps").minimum == 5
    refusals = {
        ("default", 500): "default 500 is outside 1..100",
        ("default", 2.5): "not a whole number",
        ("minimum", 200): "minimum 200 is above maximum 100",
        ("minimum", 40): "default 25 is outside 40..100",
        ("step", 0): "step must be positive",
        ("maximum", None): "a Slider needs minimum, maximum and step",
        ("maximum", "lots"): "not a number",
    }
    for (cell, value), message in refusals.items():
        with pytest.raises(WizardError, match=message):
            tables.with_input_cell(sdxl, "10", "steps", cell, value)
    cfg = tables.with_input_cell(sdxl, "10", "cfg", "default", 6.5)
    assert spec_input(cfg, "10", "cfg").default == 6.5
    number = tables.with_input_cell(sdxl, "10", "steps", "component", "Number")
    assert (
        spec_input(tables.with_input_cell(number, "10", "steps", "maximum", None), "10", "steps").maximum
        is None
    )


def test_other_cells_follow_their_value_type(sdxl):
    with pytest.raises(WizardError, match="only numbers have a range"):
        tables.with_input_cell(sdxl, "6", "text", "minimum", 1)
    prompt = tables.with_input_cell(sdxl, "7", "text", "default", "")
    assert spec_input(prompt, "7", "text").default == "", "an empty negative prompt is a default"
    with pytest.raises(WizardError, match="tick Expose"):
        tables.with_input_cell(sdxl, "10", "sampler_name", "default", "ddim")
    sampler = tables.with_input_cell(sdxl, "10", "sampler_name", "exposed", True)
    assert tables.input_row(sampler, "10", "sampler_name").exposed
    assert (
        spec_input(
            tables.with_input_cell(sampler, "10", "sampler_name", "default", "ddim"), "10", "sampler_name"
        ).default
        == "ddim"
    )
    with pytest.raises(WizardError, match="not one of its choices"):
        tables.with_input_cell(sampler, "10", "sampler_name", "default", "no-such-sampler")
    unticked = tables.with_input_cell(sampler, "10", "sampler_name", "exposed", False)
    assert not tables.input_row(unticked, "10", "sampler_name").exposed
    image = sessions.open_workflow((EXAMPLES / "blur_and_invert.json").read_bytes(), "blur_and_invert.json")
    (upload,) = [row for row in tables.input_rows(image) if row.value_type == "FILE"]
    with pytest.raises(WizardError, match="has no default"):
        tables.with_input_cell(image, upload.node_id, upload.input_name, "default", "/etc/passwd")


def test_output_cells(sdxl):
    (output,) = tables.output_rows(sdxl)
    assert (output.exposed, output.kind, output.component) == (True, "images", "Gallery")
    renamed = tables.with_output_cell(sdxl, output.node_id, "label", "Pictures")
    assert [item.label for item in renamed.spec.outputs] == ["Pictures"]
    with pytest.raises(WizardError, match="used twice"):
        tables.with_output_cell(sdxl, output.node_id, "label", "Prompt")
    hidden = tables.with_output_cell(renamed, output.node_id, "exposed", False)
    assert hidden.spec.outputs == () and not tables.output_rows(hidden)[0].exposed
    with pytest.raises(WizardError, match="tick Expose"):
        tables.with_output_cell(hidden, output.node_id, "label", "Again")
    shown = tables.with_output_cell(hidden, output.node_id, "exposed", True)
    assert [item.label for item in shown.spec.outputs] == ["Images"]


# --- in the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_app(tmp_path_factory):
    """The browser and the wizard against a fake Hub, as tests/test_browser.py starts them."""
    from tests import test_browser as browser_tests

    with browser_tests.FakeHub(users={browser_tests.TOKEN: browser_tests.USER}) as hub:
        with browser_tests.wizard_app(hub.url, browser_tests.TOKEN, tmp_path_factory.mktemp("wizard")) as url:
            with browser_tests.sync_api.sync_playwright() as playwright:
                chromium = playwright.chromium.launch(
                    executable_path=str(browser_tests.CHROMIUM), args=browser_tests.CHROMIUM_ARGS
                )
                yield chromium, url
                chromium.close()


@pytest.fixture
def sdxl_page(browser_app, templates_dir):
    from tests.test_browser import STEP_TIMEOUT_MS, upload

    chromium, url = browser_app
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#upload")
    upload(page, templates_dir / SDXL)
    page.locator("#graph svg").wait_for()
    page.locator("#next-inputs").click()
    page.locator("#input-10-steps").wait_for()
    yield page
    context.close()


def dropdown_options(page, cell) -> list[str]:
    """The choices a Gradio dropdown cell offers, read from its open list (then closed again)."""
    cell.locator("input").click()
    options = page.locator("[role=listbox] [role=option]")
    options.first.wait_for()
    texts = [option.get_attribute("aria-label") for option in options.all()]
    page.locator("#step-inputs .step-intro").first.click()  # closes it, as a click beside it does
    options.first.wait_for(state="detached")
    return texts


def choose(page, cell, option: str) -> None:
    """Pick `option` in a Gradio dropdown cell, as a person does: open it, click the choice."""
    cell.locator("input").click()
    page.locator(f"[role=listbox] [role=option][aria-label='{option}']").click()


def no_toasts(page) -> bool:
    return page.locator(".toast-body").count() == 0


pytestmark_browser = pytest.mark.browser


@pytestmark_browser
def test_component_cells_are_dropdowns_of_the_valid_components(sdxl_page):
    from tests.test_browser import shot

    page = sdxl_page
    steps = page.locator("#input-10-steps")
    assert dropdown_options(page, steps.locator(".cell-component")) == ["Slider", "Number"]
    assert steps.locator(".node-cell").inner_text().count("also sets #11 steps") == 1
    prompt = page.locator("#input-6-text .cell-component input")
    assert prompt.is_disabled(), "a text input has one component: nothing to choose"
    shot(page, "table-01-dropdown")
    component = steps.locator(".cell-component input")
    choose(page, steps.locator(".cell-component"), "Number")
    page.wait_for_function(
        "() => document.querySelector('#input-10-steps .cell-component input').value === 'Number'"
    )
    # A typo cannot stay: the dropdown takes only its choices and goes back to the chosen one.
    component.fill("Knob")
    component.press("Tab")
    page.wait_for_function(
        "() => document.querySelector('#input-10-steps .cell-component input').value === 'Number'"
    )
    assert no_toasts(page)
    page.reload()  # the choice was kept (the browser's saved spec restores it)
    page.locator("#input-10-steps").wait_for()
    assert page.locator("#input-10-steps .cell-component input").input_value() == "Number"


@pytestmark_browser
def test_a_bad_number_is_refused_in_place_with_one_message_that_stays(sdxl_page):
    from tests.test_browser import shot

    page = sdxl_page
    minimum = page.locator("#input-10-steps .cell-minimum input")
    problem = page.locator("#inputs-problem")
    assert minimum.input_value() == "1"
    for _ in range(3):  # the same bad edit, again and again
        minimum.fill("500")
        minimum.press("Tab")
        problem.get_by_text("minimum 500 is above maximum 100").wait_for()
        page.wait_for_function(
            "() => document.querySelector('#input-10-steps .cell-minimum input').value === '1'"
        )
    text = problem.inner_text()
    assert text.count("refused") == 1 and "Steps · Min" in text, text
    assert no_toasts(page)
    shot(page, "table-02-refused")
    time.sleep(16)  # a toast would have faded by now
    assert "minimum 500 is above maximum 100" in problem.inner_text() and no_toasts(page)
    default = page.locator("#input-10-steps .cell-default input")
    default.fill("2.5")
    default.press("Enter")
    problem.get_by_text("not a whole number").wait_for()
    assert default.input_value() == "25" and problem.inner_text().count("refused") == 1
    minimum.fill("5")
    minimum.press("Tab")
    page.wait_for_function("() => !document.querySelector('#inputs-problem').innerText.trim()")
    assert minimum.input_value() == "5" and no_toasts(page)
    # unticked rows are locked; ticking one unlocks its settings
    sampler = page.locator("#input-10-sampler_name")
    assert sampler.locator(".cell-label input").is_disabled()
    sampler.locator(".cell-exposed input").click()
    page.wait_for_function(
        "() => !document.querySelector('#input-10-sampler_name .cell-label input').disabled"
    )
    assert dropdown_options(page, sampler.locator(".cell-component")) == ["Dropdown", "Radio", "Textbox"]
    shot(page, "table-03-accepted")


@pytestmark_browser
def test_the_outputs_table_refuses_a_taken_label_inline(sdxl_page):
    page = sdxl_page
    label = page.locator("#output-19 .cell-label input")
    label.fill("Prompt")
    label.press("Enter")
    page.locator("#outputs-problem").get_by_text("used twice").wait_for()
    assert label.input_value() == "Images" and no_toasts(page)
    assert not page.locator("#inputs-problem").inner_text().strip(), "the message sits under its own table"
    label.fill("Pictures")
    label.press("Enter")
    page.wait_for_function("() => !document.querySelector('#outputs-problem').innerText.trim()")
    assert label.input_value() == "Pictures"
