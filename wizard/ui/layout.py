"""The page, top to bottom: the header, then the seven steps of the walkthrough. No events here
(`wizard.ui.events` wires them); `Page` holds the components the events connect."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import gradio as gr

from wizard import access
from wizard.app_contract import ACCEL_MEASURED
from wizard.session import PREVIEW_FILES, comfyui_status, example_paths
from wizard.ui import grid
from wizard.ui.preview import live_form, live_preview
from wizard.ui.tables import MODEL_COLUMNS, PACK_COLUMNS, Column

ASSETS_DIR = Path(__file__).parent / "assets"
UPLOAD_TYPES = [".json", ".png", ".webp", ".webm", ".mkv", ".mp4", ".mov", ".flac", ".mp3", ".opus", ".ogg"]
STORAGE_KEY = "comfyui-space-wizard"

INTRO_UPLOAD = (
    "Drop what ComfyUI gave you: a saved workflow (`.json`, UI or API format) or an image, video or "
    "audio file ComfyUI saved with its workflow inside."
)
INTRO_GRAPH = (
    "Your workflow as it will run: muted, bypassed and helper nodes are gone, subgraphs are flattened."
)
INTRO_INPUTS = (
    "Tick the values your app's users may change, and the results it shows. A ticked row's label, component, "
    "default and range are editable; **Advanced** ones go in a collapsed section."
)
INTRO_MODELS = (
    "The model files and custom nodes the Space installs. Fill in the Hub repo and path of any file "
    "marked *not found*. Each pack is pinned to the git commit shown in **Commit**; type another commit "
    "in its **Version** cell to pin that one."
)
INTRO_PREVIEW = (
    "Your app's page as its visitors will see it, and the Space's files. Download them, or publish in the "
    "last step."
)
INTRO_TEST = (
    "Run the app's workflow once to check it and to measure the GPU time each request needs: on ZeroGPU, as a "
    "**private** Space in your account (the one Publish makes public), or here when ComfyUI is installed."
)
HARDWARE_NOTE = (
    "Hardware: **ZeroGPU**, set when the Space is created. Free accounts may host 2 ZeroGPU Spaces "
    "(PRO 10); CPU Spaces would need a paid plan."
)
INTRO_PUBLISH = "Create the Space in your Hugging Face account (or update it if it exists) and open it."


def asset(name: str) -> str:
    """A file of `assets/` (the page's CSS, the graph's HTML template and script)."""
    return (ASSETS_DIR / name).read_text(encoding="utf-8")


class Page:
    """The components the events connect, filled in top to bottom by `lay_out`."""

    def __init__(self) -> None:
        self.navigation: list[tuple[gr.Button, int]] = []  # (button, step it opens)
        # wires the Test run's input controls (by parameter name) each time they are drawn; set by `events`
        self.test_form_drawn: Callable[[dict[str, gr.Component]], None] = lambda controls: None

    def nav(self, back: tuple[str, int] | None, forward: tuple[str, int, str] | None) -> gr.Button | None:
        """The step's Back and Next buttons; Next is returned (a server event may follow its step change)."""
        with gr.Row(elem_classes="nav-row"):
            if back:
                self.navigation.append((gr.Button(back[0], size="sm"), back[1]))
            if forward:
                label, step, element_id = forward
                button = gr.Button(label, variant="primary", elem_id=element_id)
                if step:
                    self.navigation.append((button, step))
                return button
        return None


def lay_out(page: Page) -> None:
    """The page inside the open `gr.Blocks`: per-tab state, the header, the seven steps."""
    ttl = access.limits().session_ttl_s
    page.session = gr.State(None, time_to_live=ttl)  # wizard.session.Session | None
    # this session's build folder, removed with its state (and swept `ttl` s after its last use)
    page.workdir = gr.State(None, time_to_live=ttl, delete_callback=access.remove_workdir)
    # What survives a reload: the workflow (written once per upload) and the choices (every edit).
    page.saved_workflow = gr.BrowserState(None, storage_key=f"{STORAGE_KEY}-workflow")
    # (the spec's JSON: the previews draw the app from it, again after every edit)
    page.saved_spec = gr.BrowserState(None, storage_key=f"{STORAGE_KEY}-spec")
    with gr.Row(elem_classes="wizard-header"):
        gr.Markdown("# ComfyUI → Gradio Space\nTurn a ComfyUI workflow into an app on a ZeroGPU Space.")
        page.badge = gr.Markdown("", elem_id="workflow-badge")
        if access.on_spaces():  # reachable from every step: building needs it; elsewhere the machine's login
            gr.LoginButton(size="sm", scale=0, elem_id="sign-in")
    with gr.Walkthrough(selected=1, elem_id="wizard-steps") as page.steps:
        _upload_step(page)
        _graph_step(page)
        _inputs_step(page)
        _models_step(page)
        _preview_step(page)
        _test_step(page)
        _publish_step(page)


def _upload_step(page: Page) -> None:
    with gr.Step("Upload", id=1, elem_id="step-upload"):
        gr.Markdown(INTRO_UPLOAD, elem_classes="step-intro")
        with gr.Row():
            with gr.Column(scale=3):
                page.upload = gr.File(
                    label="Workflow file", file_types=UPLOAD_TYPES, type="filepath", elem_id="upload"
                )
            with gr.Column(scale=2):
                page.pasted = gr.Code(
                    label="…or paste workflow JSON",
                    language="json",
                    interactive=True,
                    lines=9,
                    max_lines=9,
                    elem_id="pasted",
                )
                page.use_pasted = gr.Button("Use pasted JSON", size="sm")
        gr.Markdown("**Or start from an example**")
        with gr.Row(elem_classes="example-row"):
            page.examples = [
                (gr.Button(label, size="sm", variant="secondary"), path)
                for label, path in example_paths().items()
            ]


def _graph_step(page: Page) -> None:
    with gr.Step("Graph", id=2, elem_id="step-graph"):
        gr.Markdown(INTRO_GRAPH, elem_classes="step-intro")
        page.graph_summary = gr.Markdown("")
        page.graph = gr.HTML(
            "",
            html_template=asset("graph.html"),
            js_on_load=asset("graph.js"),
            elem_id="graph",
            padding=False,
        )
        page.nav(("← Upload another", 1), ("Choose inputs →", 3, "next-inputs"))


def _inputs_step(page: Page) -> None:
    with gr.Step("Inputs and outputs", id=3, elem_id="step-inputs"):
        gr.Markdown(INTRO_INPUTS, elem_classes="step-intro")
        with gr.Row(elem_classes="stack-on-phone"):
            page.app_title = gr.Textbox(label="App title", scale=1)
            page.app_description = gr.Textbox(label="Description", scale=2)
        page.tables_drawn = gr.State(None)  # set when a workflow opens: the tables are drawn anew
        page.inputs_problem = grid.lay_out_table(page, "inputs")
        page.outputs_problem = grid.lay_out_table(page, "outputs")
        with gr.Accordion("The app's page, as you edit", open=False, elem_id="inputs-preview-section"):
            live_preview(page.saved_spec, "inputs-preview")
        with gr.Accordion("Save or load these choices", open=False):
            with gr.Row():
                page.export_spec = gr.DownloadButton("Export choices (JSON)", size="sm")
                page.import_spec = gr.UploadButton(
                    "Import choices", file_types=[".json"], type="binary", size="sm"
                )
        page.next_models = page.nav(("← Graph", 2), ("Models and nodes →", 4, "next-models"))


def _models_step(page: Page) -> None:
    with gr.Step("Models and nodes", id=4, elem_id="step-models"):
        gr.Markdown(INTRO_MODELS, elem_classes="step-intro")
        page.models_summary = gr.Markdown("", elem_id="models-summary")
        page.models_table = _table(MODEL_COLUMNS, "Model files", max_height=320, elem_id="models-table")
        page.packs_table = _table(PACK_COLUMNS, "Custom-node packs", max_height=220, elem_id="packs-table")
        # why the last edit of the packs table was refused; it stays until an edit is accepted
        page.packs_problem = gr.Markdown("", elem_id="packs-problem", elem_classes="table-problem")
        page.accelerate = gr.Checkbox(
            True,
            label="Faster generation: compile the diffusion model when the Space starts",
            info=ACCEL_MEASURED,
            elem_id="accelerate",
        )
        page.build = page.nav(("← Inputs and outputs", 3), ("Build the app →", 0, "next-preview"))


def _preview_step(page: Page) -> None:
    with gr.Step("Preview", id=5, elem_id="step-preview"):
        gr.Markdown(INTRO_PREVIEW, elem_classes="step-intro")
        live_preview(page.saved_spec, "app-preview")
        with gr.Tabs():
            page.code_views = []
            for name in PREVIEW_FILES:
                with gr.Tab(name):
                    page.code_views.append(
                        gr.Code(
                            language=_code_language(name),
                            interactive=False,
                            lines=22,
                            max_lines=22,
                            show_label=False,
                            elem_id=f"code-{_element_id(name)}",
                        )
                    )
        with gr.Row(elem_classes="nav-row"):
            page.navigation.append((gr.Button("← Models and nodes", size="sm"), 4))
            page.download_zip = gr.DownloadButton("Download ZIP", elem_id="download-zip")
            page.navigation.append((gr.Button("Test run →", variant="primary", elem_id="next-test"), 6))


def _test_step(page: Page) -> None:
    with gr.Step("Test run", id=6, elem_id="step-test"):
        gr.Markdown(INTRO_TEST, elem_classes="step-intro")
        page.test_status = gr.Markdown(comfyui_status(), elem_id="test-status")
        with gr.Row(equal_height=False):
            with gr.Column(elem_id="test-form"):
                # the app's own inputs, filled in for the run; `events` wires them each time they are drawn
                live_form(page.saved_spec, "test", lambda controls: page.test_form_drawn(controls))
                with gr.Row(elem_classes="action-row"):
                    page.run_space_test = gr.Button(
                        "Test run on ZeroGPU", variant="primary", elem_id="run-space-test"
                    )
                    page.run_test = gr.Button(
                        "Run here", variant="secondary", elem_id="run-test", visible=not access.on_spaces()
                    )
            with gr.Column():
                page.test_outputs = gr.Gallery(
                    label="Outputs",
                    columns=2,
                    height=420,
                    object_fit="contain",  # each output whole, never cropped
                    visible=False,
                    elem_id="test-outputs",
                )
                page.test_files = gr.File(label="Output files", file_count="multiple", visible=False)
        page.space_log = gr.Textbox(
            label="Space build and run log", lines=10, max_lines=10, visible=False, elem_id="space-log"
        )
        page.next_publish = page.nav(("← Preview", 5), ("Publish →", 7, "next-publish"))


def _publish_step(page: Page) -> None:
    with gr.Step("Publish", id=7, elem_id="step-publish"):
        gr.Markdown(INTRO_PUBLISH, elem_classes="step-intro")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row():
                    page.space_name = gr.Textbox(
                        label="Space name",
                        placeholder="my-comfy-app or user/my-comfy-app",
                        elem_id="space-name",
                        scale=3,
                    )
                    page.visibility = gr.Radio(
                        ["public", "private"], value="public", label="Visibility", scale=2
                    )
                page.name_check = gr.Markdown("", elem_id="name-check")
                page.replace_existing = gr.Checkbox(
                    value=False,
                    label="Replace an existing Space",
                    info="Needed because this Space exists and was not made from this workflow: its app is "
                    "replaced by this one.",
                    elem_id="replace-existing",
                    visible=False,
                )
                page.hf_token_secret = gr.Textbox(
                    label="HF_TOKEN secret (optional)",
                    type="password",
                    info="Only for gated models: a read token of an account that accepted their licences. "
                    "Stored as a Space secret, never in a file.",
                )
                page.comfy_api_key = gr.Textbox(
                    label="Comfy API key (only for paid API nodes)",
                    type="password",
                    elem_id="comfy-api-key",
                    info="Workflows with ComfyUI's API nodes (OpenAI, Kling...) call Comfy.org and cost credits "
                    "per run: a key from platform.comfy.org, stored as the Space's API_KEY_COMFY_ORG secret.",
                )
                gr.Markdown(HARDWARE_NOTE, elem_classes="hardware-note")
            with gr.Column(scale=2, elem_classes="publish-actions"):
                page.account_note = gr.Markdown(access.account_note(None), elem_id="account-note")
                page.publish = gr.Button("Publish", variant="primary", elem_id="publish")
                page.published = gr.Markdown("", elem_classes="publish-link", elem_id="published")
        page.nav(("← Test run", 6), None)


def _table(columns: tuple[Column, ...], label: str, **options) -> gr.Dataframe:
    """A table whose rows come from `wizard.ui.tables`; only the editable columns can be typed in."""
    return gr.Dataframe(
        headers=[column.header for column in columns],
        datatype=[column.datatype for column in columns],
        column_widths=[column.width for column in columns],
        static_columns=[index for index, column in enumerate(columns) if not column.editable],
        type="array",
        interactive=True,
        label=label,
        show_label=True,
        **options,
    )


def _code_language(name: str) -> str:
    return {"app.py": "python", "README.md": "markdown", "comfy.lock.json": "json"}.get(name, "shell")


def _element_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
