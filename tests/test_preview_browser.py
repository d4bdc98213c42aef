"""The preview is the app, in a real browser (headless Chromium, Playwright) against the real wizard: for
official templates of four kinds the wizard's Preview step shows what the generated app.py shows when
Gradio serves it (its page run from the built app.py, the workflow replaced by a function that does nothing): the same
heading, the same two columns side by side with the same words in each, and the same theme (the primary
button's colour, Gradio's default orange, while the wizard around it keeps its indigo). In the inputs step
the preview is drawn again on each edit. Screenshots land in `tests/artifacts/`.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests.test_browser import (  # noqa: F401  (fixtures)
    ARTIFACTS,
    app_url,
    browser,
    hub,
    input_row,
    page,
    shot,
    tick,
    upload,
)
from tests.processes import free_port

pytestmark = pytest.mark.browser
gr = pytest.importorskip("gradio")

TEMPLATES = {
    "sdxl": "sdxl_refiner_prompt_example.json",
    "image-edit": "image_qwen_image_edit.json",
    "video": "video_wan2_2_14B_i2v.json",
    "api-node": "api_openai_image_1_t2i.json",
}
ORANGE = "rgb(249, 115, 22)"  # Gradio's default theme: primary_500 (#f97316), the primary button's fill

# The words of each of the two columns of the first row under `root`, and the primary button's colour.
_PAGE_FACTS = """(root) => {
  const scope = document.querySelector(root);
  const row = scope.querySelector('.row');
  const columns = [...row.children].filter((child) => child.classList.contains('column'));
  const words = (element) => element.innerText.split('\\n').map((line) => line.trim()).filter(Boolean);
  const button = scope.querySelector('button.primary');
  const boxes = columns.map((column) => column.getBoundingClientRect());
  return {
    heading: scope.querySelector('.prose h1, h1').innerText.trim(),
    columns: columns.map(words),
    side_by_side: boxes.length === 2 && boxes[0].right <= boxes[1].left + 1 && Math.abs(boxes[0].top - boxes[1].top) < 2,
    button: getComputedStyle(button).backgroundColor,

  };
}"""


# Both columns drawn (Gradio mounts components one by one).
_COLUMNS_DRAWN = """(root) => {
  const row = document.querySelector(root)?.querySelector('.row');
  const columns = row ? [...row.children].filter((child) => child.classList.contains('column')) : [];
  return columns.length === 2 && columns.every((column) => column.innerText.trim().length > 0);
}"""


def page_facts(page, root: str) -> dict:
    page.wait_for_function(_COLUMNS_DRAWN, arg=root)
    page.mouse.move(0, 0)  # no button hovered
    page.wait_for_timeout(600)  # Gradio's buttons fade their colour in
    return page.evaluate(_PAGE_FACTS, root)


def generated_demo(app_py: str):
    """The generated app's page: its `with gr.Blocks(...)` statement, its Generate button wired as written
    (the same inputs and outputs) to a function that does nothing instead of the workflow."""
    module = ast.parse(app_py)
    blocks = next(
        node
        for node in module.body
        if isinstance(node, ast.With) and ast.unparse(node.items[0].context_expr).startswith("gr.Blocks(")
    )
    for statement in blocks.body:
        if isinstance(statement, ast.Expr) and ast.unparse(statement.value.func) == "run_button.click":
            statement.value.args = [ast.parse("lambda *values: None", mode="eval").body]  # not ComfyUI
    namespace: dict[str, Any] = {"gr": gr}
    exec(compile(ast.Module(body=[blocks], type_ignores=[]), "app.py", "exec"), namespace)
    return namespace["demo"]


def walk_to_preview(page, workflow: Path) -> None:
    upload(page, workflow)
    page.locator("#graph svg").wait_for(timeout=60_000)
    page.locator("#next-inputs").click()
    page.locator("#inputs-table .table-row").first.wait_for()
    page.locator("#next-models").click()
    page.locator("#next-preview").click()
    page.locator("#app-preview button.primary").wait_for(timeout=60_000)


@pytest.mark.parametrize("kind", TEMPLATES)
def test_the_preview_shows_what_the_generated_app_shows(kind, page, browser, templates_dir, tmp_path):
    walk_to_preview(page, templates_dir / TEMPLATES[kind])
    previewed = page_facts(page, "#app-preview")
    shot(page, f"preview-{kind}")
    wizard_button = page.evaluate(
        "() => getComputedStyle(document.querySelector('#next-test')).backgroundColor"
    )

    with page.expect_download() as download_info:
        page.locator("#download-zip").click()
    archive = tmp_path / "space.zip"
    download_info.value.save_as(archive)
    import zipfile

    with zipfile.ZipFile(archive) as space:
        app_py = space.read("app.py").decode("utf-8")
    demo = generated_demo(app_py)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        app_page = context.new_page()
        app_page.goto(f"http://127.0.0.1:{port}")
        app_page.locator("button.primary").wait_for(timeout=30_000)
        served = page_facts(app_page, "gradio-app")
        ARTIFACTS.mkdir(exist_ok=True)
        app_page.screenshot(path=str(ARTIFACTS / f"preview-{kind}-generated-app.png"), full_page=True)
        context.close()
    finally:
        demo.close()

    assert previewed["heading"] == served["heading"]
    assert previewed["columns"] == served["columns"]
    assert previewed["side_by_side"] and served["side_by_side"], "two columns: inputs left, outputs right"
    assert previewed["button"] == served["button"] == ORANGE
    assert wizard_button != ORANGE, "the wizard around the preview keeps its own theme"


def test_the_preview_is_drawn_again_on_each_edit_of_the_inputs(page, templates_dir):
    upload(page, templates_dir / TEMPLATES["sdxl"])
    page.locator("#graph svg").wait_for(timeout=60_000)
    page.locator("#next-inputs").click()
    page.locator("#inputs-preview-section").get_by_text("The app's page, as you edit").click()
    preview = page.locator("#inputs-preview")
    preview.locator("button.primary").wait_for()
    for label in ("Prompt", "Negative prompt"):
        assert preview.get_by_text(label, exact=True).count() >= 1
    added = "Base sampler name"  # the base sampler's sampler_name, not in the automatic choice
    assert preview.get_by_text(added, exact=True).count() == 0
    row = input_row(page, "sampler_name").first
    tick(row.locator(".cell-exposed input[type=checkbox]"))
    preview.get_by_text(added, exact=True).wait_for(state="attached")  # in the closed Advanced section
    title = page.locator("#step-inputs").get_by_label("App title")
    title.fill("Galaxy bottles")
    title.press("Enter")
    preview.locator("h1", has_text="Galaxy bottles").wait_for()
    shot(page, "preview-live-edit")
