"""The generated app's page, drawn in the wizard from `wizard.app_contract.layout`, the description
app.py.j2 writes app.py from: the same heading, the same two columns (inputs left, outputs right), the
same components in the same order with the same labels, ranges, defaults and choices, the same examples
row, in the app's theme (`app_contract.THEME`, scoped to the preview's container by `theme_css`)."""

from __future__ import annotations

import logging
import re
from typing import Any, Callable

import gradio as gr

from wizard import app_contract
from wizard.appspec import AppOutput, AppSpec
from wizard.errors import SpecError

THEMED = "app-theme"  # the class of the containers drawn in the app's theme

log = logging.getLogger(__name__)


def live_preview(spec_json: gr.components.Component, element_id: str) -> None:
    """A container that draws the app of the spec in `spec_json` (a state holding `AppSpec.to_json()`)
    and draws it again whenever that changes: every edit of the inputs table, the title or the outputs."""
    with gr.Column(elem_classes=[THEMED, "app-preview"], elem_id=element_id):
        gr.Markdown("The app's page: its controls, not yet running", elem_classes="preview-caption")

        @gr.render(inputs=spec_json)
        def _draw(text: str | None) -> None:
            spec = _spec_or_none(text)
            if spec is not None:
                render_app_preview(spec, key_prefix=element_id)


def _spec_or_none(text: str | None) -> AppSpec | None:
    if not text:
        return None
    try:
        return AppSpec.from_json(text)
    except SpecError as error:  # a stale spec in the browser's storage, before the page restores it
        log.info("no preview of a spec that does not read: %s", error)
        return None


def render_app_preview(spec: AppSpec, key_prefix: str = "preview") -> None:
    """The app's page inside a `gr.render` block: its look, not the app (running it needs ComfyUI and
    the models: that is the Test run step). Mirrors the `with gr.Blocks()` body of app.py.j2."""
    page = app_contract.layout(spec)
    gr.Markdown(page.heading)
    with gr.Row():
        with gr.Column():
            shown = {parameter.name: _component(parameter, key_prefix) for parameter in page.main}
            if page.advanced:
                with gr.Accordion(app_contract.ADVANCED_SECTION, open=False):
                    shown |= {
                        parameter.name: _component(parameter, key_prefix) for parameter in page.advanced
                    }
            gr.Button(app_contract.RUN_BUTTON, variant="primary")  # as the app draws it; it runs nothing here
        with gr.Column():
            for output in page.outputs:
                _component(output, key_prefix, interactive=False)
            if not page.outputs:
                gr.Markdown(app_contract.NO_OUTPUT_NOTE)
    if page.examples is not None:
        gr.Examples(
            examples=[list(row) for row in page.examples.rows],
            inputs=[shown[name] for name in page.examples.names],
        )


def render_app_inputs(page: app_contract.Layout, key_prefix: str) -> dict[str, gr.Component]:
    """The app's input column (without its button): the main inputs, then the collapsed Advanced section;
    returns the components by parameter name."""
    shown = {parameter.name: _component(parameter, key_prefix) for parameter in page.main}
    if page.advanced:
        with gr.Accordion(app_contract.ADVANCED_SECTION, open=False):
            shown |= {parameter.name: _component(parameter, key_prefix) for parameter in page.advanced}
    return shown


def live_form(
    spec_json: gr.components.Component,
    key_prefix: str,
    on_drawn: Callable[[dict[str, gr.Component]], None],
) -> None:
    """The app's input column, to fill in for a Test run: one control per input as the app has it (an image,
    a video, a number...), drawn again when the spec changes (what was entered stays, by key); each time,
    `on_drawn(controls by parameter name)` wires them to the run."""

    @gr.render(inputs=spec_json)
    def _draw(text: str | None) -> None:
        spec = _spec_or_none(text)
        if spec is not None:
            on_drawn(render_app_inputs(app_contract.layout(spec), key_prefix))


def _component(item: app_contract.Parameter | AppOutput, key_prefix: str, **extra: Any) -> gr.Component:
    name, kwargs = app_contract.component(item)
    kind = "out-" if isinstance(item, AppOutput) else ""
    key = f"{key_prefix}-{kind}{item.name}"
    return getattr(gr, name)(**kwargs, **extra, key=key, elem_id=key)


def theme_css() -> str:
    """The app's theme (its CSS variables and fonts) applied inside the preview's container only, so the
    preview shows the app's colours while the wizard around it keeps its own."""
    css = getattr(gr.themes, app_contract.THEME)()._get_theme_css()
    scope = f".{THEMED}"
    css = re.sub(r"^:root\.dark, :root \.dark \{", f".dark {scope} {{", css, flags=re.M)
    css = re.sub(r"^:root \{", f"{scope} {{", css, flags=re.M)
    page = "background: var(--body-background-fill); color: var(--body-text-color); font-family: var(--font);"
    return f"{css}\n{scope} {{ {page} }}\n"
