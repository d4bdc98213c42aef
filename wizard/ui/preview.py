"""The generated app's controls, drawn in the wizard's Preview step from `wizard.app_contract`, the
description codegen writes app.py from: the preview is the app's page, not a copy of it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from wizard import app_contract
from wizard.appspec import AppOutput, AppSpec


def render_app_preview(spec: AppSpec) -> None:
    """The app's page inside a `gr.render` block: a look, not the app (running it needs ComfyUI and
    the models: that is the Test run step)."""
    gr.Markdown(f"### {spec.emoji} {spec.title}\n{spec.description}")
    parameters = app_contract.parameters(spec)
    advanced = [parameter for parameter in parameters if parameter.advanced]
    with gr.Row():
        with gr.Column():
            for parameter in parameters:
                if not parameter.advanced:
                    _component(parameter, f"preview-{parameter.name}")
            if advanced:
                with gr.Accordion("Advanced", open=False):
                    for parameter in advanced:
                        _component(parameter, f"preview-{parameter.name}")
            gr.Button("Generate", variant="primary", interactive=False)
        with gr.Column():
            for output in spec.outputs:
                _component(output, f"preview-out-{output.name}", interactive=False)


def _component(item: app_contract.Parameter | AppOutput, key: str, **extra: Any) -> gr.Component:
    name, kwargs = app_contract.component(item)
    return getattr(gr, name)(**kwargs, **extra, key=key)
