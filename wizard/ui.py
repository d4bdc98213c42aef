"""The wizard's web UI: seven steps from a ComfyUI workflow to a published Space.

Each step is a thin function over the stages (`open_workflow`, `input_rows`, `with_input_rows`,
`build_preview`, `publish_space`, ...), callable without a browser; `build_ui` wires them to Gradio.
Everything a visitor does lives in that visitor's `gr.State` (a frozen `Session`) and in a temp
folder per browser tab removed when the tab's state is deleted; nothing mutable is module-global.
A reload restores the workflow and the choices from `gr.BrowserState`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import spaces

from runtime.locate import default_install_dir, find_comfyui
from wizard.analyze import Analysis, CandidateInput, analyze
from wizard.appspec import AppSpec, SpecInput, SpecOutput, auto_spec, python_name, spec_input, spec_output
from wizard.codegen import build_space
from wizard.convert import convert
from wizard.errors import WizardError
from wizard.graph import build_graph, render_svg
from wizard.ingest import load_workflow
from wizard.nodedefs import NodeDefs
from wizard.publish import (
    Account,
    PublishResult,
    publish_folder,
    resolve_token,
    space_repo_id,
    user_token,
    whoami,
)
from wizard.records import Conversion
from wizard.testrun import run_app

log = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).parent / "examples"
UPLOAD_TYPES = [".json", ".png", ".webp", ".webm", ".mkv", ".mp4", ".mov", ".flac", ".mp3", ".opus", ".ogg"]
PREVIEW_FILES = ("app.py", "README.md", "requirements.txt", "comfy.lock.json")
STORAGE_KEY = "comfyui-space-wizard"
EXAMPLES = {  # file in wizard/examples -> button label
    "sd15_text_to_image.json": "Text to image (SD1.5)",
    "sd15_image_to_image.json": "Image to image (SD1.5)",
    "blur_and_invert.json": "Blur and invert (no model)",
    "poster_effect.json": "Poster effect (no model)",
}

# Table columns: (header, Dataframe datatype, width, editable); widths add up to the table's width.
INPUT_COLUMNS = [
    ("Expose", "bool", "8%", True),
    ("Node", "str", "13%", False),
    ("ID", "str", "6%", False),
    ("Input", "str", "10%", False),
    ("Value", "str", "11%", False),
    ("Type", "str", "6%", False),
    ("Label", "str", "12%", True),
    ("Component", "str", "9%", True),
    ("Min", "number", "5%", True),
    ("Max", "number", "5%", True),
    ("Step", "number", "5%", True),
    ("Advanced", "bool", "10%", True),
]
OUTPUT_COLUMNS = [
    ("Expose", "bool", "8%", True),
    ("Node", "str", "26%", False),
    ("ID", "str", "6%", False),
    ("Kind", "str", "12%", False),
    ("Label", "str", "30%", True),
    ("Component", "str", "18%", False),
]
MODEL_COLUMNS = [
    ("File", "str", "20%", False),
    ("Folder", "str", "9%", False),
    ("Repo", "str", "19%", True),
    ("Path", "str", "19%", True),
    ("URL", "str", "11%", True),
    ("Size", "str", "6%", False),
    ("Gated", "str", "8%", False),
    ("Found by", "str", "8%", False),
]
PACK_COLUMNS = [
    ("Pack", "str", "18%", True),
    ("Repo", "str", "28%", True),
    ("Version", "str", "14%", True),
    ("Nodes", "str", "28%", False),
    ("Found by", "str", "12%", False),
]


# --- the visitor's session --------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """One visitor's workflow and choices. Frozen: every step returns a new one."""

    filename: str
    workflow_json: str  # the UI workflow (or API prompt) as JSON: what a page reload restores from
    conversion: Conversion
    analysis: Analysis
    spec: AppSpec

    def saved_workflow(self) -> dict[str, str]:
        """What the browser keeps of the workflow (stored once per upload: it can be large)."""
        return {"filename": self.filename, "workflow": self.workflow_json}


def node_defs() -> NodeDefs:
    """The bundled ComfyUI 0.3.64 node definitions (read once, never changed)."""
    return NodeDefs.snapshot()


def open_workflow(data: bytes, filename: str) -> Session:
    """Upload step: read, convert and analyse a workflow file; the automatic choice of inputs."""
    loaded = load_workflow(data, filename)
    conversion = convert(loaded, node_defs())
    analysis = analyze(conversion, node_defs())
    document = loaded.workflow if loaded.workflow is not None else loaded.prompt
    return Session(
        filename=filename,
        workflow_json=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        conversion=conversion,
        analysis=analysis,
        spec=auto_spec(conversion, analysis),
    )


def restore_session(saved_workflow: dict[str, str], spec_json: str) -> Session:
    """A session from what the browser kept: `Session.saved_workflow()` and the spec's JSON."""
    session = open_workflow(saved_workflow["workflow"].encode("utf-8"), saved_workflow["filename"])
    return with_imported_spec(session, spec_json)


def with_imported_spec(session: Session, spec_json: str) -> Session:
    """Continue with choices exported earlier; a spec for another workflow is refused (SpecError)."""
    spec = AppSpec.from_json(spec_json)
    spec.check(session.conversion)
    return dataclasses.replace(session, spec=spec)


def example_paths() -> dict[str, Path]:
    """The examples one click away, by button label."""
    return {label: EXAMPLES_DIR / name for name, label in EXAMPLES.items()}


# --- inputs and outputs -----------------------------------------------------------------------


def candidate_order(analysis: Analysis) -> list[CandidateInput]:
    """The inputs table's rows: the automatic choice first, in the app's order, then the rest."""
    return sorted(analysis.inputs, key=lambda candidate: (not candidate.auto, candidate.rank))


def exposed_node_ids(spec: AppSpec) -> set[str]:
    """The nodes whose values are inputs of the app: the graph draws them as chosen inputs."""
    return {item.node_id for item in spec.inputs}


def input_rows(session: Session) -> list[list[Any]]:
    """One row per candidate input; ticked ones show the spec's settings, the others the analysis'."""
    exposed = {(item.node_id, item.input_name): item for item in session.spec.inputs}
    rows = []
    for candidate in candidate_order(session.analysis):
        chosen = exposed.get((candidate.node_id, candidate.input_name))
        shown = chosen or candidate
        rows.append(
            [
                chosen is not None,
                candidate.node_title,
                candidate.node_id,
                candidate.input_name,
                _short_value(candidate.value),
                candidate.value_type,
                shown.label,
                shown.component,
                shown.minimum,
                shown.maximum,
                shown.step,
                shown.advanced,
            ]
        )
    return rows


def with_input_rows(session: Session, rows: list[list[Any]]) -> Session:
    """The spec after the visitor edited the inputs table (ticks, labels, components, ranges)."""
    candidates = {(c.node_id, c.input_name): c for c in session.analysis.inputs}
    previous = {(item.node_id, item.input_name): item for item in session.spec.inputs}
    order = {key: item.order for key, item in previous.items()}
    inputs = []
    for row in rows:
        expose, _, node_id, input_name, _, _, label, component, minimum, maximum, step, advanced = row
        key = (str(node_id), str(input_name))
        if not _truthy(expose) or key not in candidates:
            continue
        base = previous.get(key) or spec_input(candidates[key], name="", order=0)  # both set below
        integer = base.value_type == "INT"
        inputs.append(
            dataclasses.replace(
                base,
                label=str(label or "").strip() or base.label,
                component=str(component or "").strip() or base.component,
                minimum=_number(minimum, integer),
                maximum=_number(maximum, integer),
                step=_number(step, integer),
                advanced=_truthy(advanced),
                order=order.get(key, len(order) + len(inputs)),
            )
        )
    inputs.sort(key=lambda item: item.order)
    inputs = [dataclasses.replace(item, order=position) for position, item in enumerate(inputs)]
    return _with_spec(session, inputs=tuple(inputs))


def output_rows(session: Session) -> list[list[Any]]:
    shown = {output.node_id: output for output in session.spec.outputs}
    rows = []
    for candidate in session.analysis.outputs:
        chosen = shown.get(candidate.node_id)
        label = chosen.label if chosen else candidate.label
        rows.append(
            [
                chosen is not None,
                candidate.node_title,
                candidate.node_id,
                candidate.kind,
                label,
                candidate.component,
            ]
        )
    return rows


def with_output_rows(session: Session, rows: list[list[Any]]) -> Session:
    candidates = {candidate.node_id: candidate for candidate in session.analysis.outputs}
    previous = {output.node_id: output for output in session.spec.outputs}
    outputs = []
    for expose, _, node_id, _, label, _ in rows:
        node_id = str(node_id)
        if not _truthy(expose) or node_id not in candidates:
            continue
        base = previous.get(node_id) or spec_output(candidates[node_id], name="")  # named by `_with_spec`
        outputs.append(dataclasses.replace(base, label=str(label or "").strip() or base.label))
    return _with_spec(session, outputs=tuple(outputs))


def with_title(session: Session, title: str, description: str) -> Session:
    return _with_spec(session, title=title.strip(), description=description.strip())


def _with_spec(session: Session, **changes: Any) -> Session:
    """A new spec with parameter names derived again from the labels, checked before it is kept."""
    spec = dataclasses.replace(session.spec, **changes)
    taken: set[str] = set()
    inputs = tuple(
        dataclasses.replace(item, name=python_name(item.label, taken)) for item in spec.ordered_inputs
    )
    outputs = tuple(dataclasses.replace(item, name=python_name(item.label, taken)) for item in spec.outputs)
    spec = dataclasses.replace(spec, inputs=inputs, outputs=outputs)
    spec.check(session.conversion)
    return dataclasses.replace(session, spec=spec)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _number(value: Any, integer: bool) -> int | float | None:
    """A table cell as a number: empty cells are None, whole numbers of INT inputs stay ints."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WizardError(f"{value!r} is not a number: write a number or leave the cell empty") from None
    if number != number:  # NaN: an emptied number cell
        return None
    return int(number) if integer and number.is_integer() else number


def _short_value(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- models and custom nodes ------------------------------------------------------------------


def model_rows(session: Session) -> list[list[Any]]:
    return [
        [
            model.name,
            model.folder,
            model.repo_id or "",
            model.path or "",
            model.url or "",
            _size(model.size),
            {True: "gated", False: "open", None: "unknown"}[model.gated],
            model.source or "not found",
        ]
        for model in session.spec.models
    ]


def with_model_rows(session: Session, rows: list[list[Any]]) -> Session:
    """Hub repos, paths or URLs the visitor typed for model files (matched by file and folder)."""
    typed = {(str(row[0]), str(row[1])): row for row in rows}
    models = []
    for model in session.spec.models:
        row = typed.get((model.name, model.folder))
        if row is None:
            models.append(model)
            continue
        repo_id, path, url = (_cell(value) for value in row[2:5])
        if (repo_id, path, url) == (model.repo_id, model.path, model.url):
            models.append(model)
            continue
        if bool(repo_id) != bool(path):
            raise WizardError(f"{model.name}: give both the Hub repo (user/name) and the file's path in it")
        if repo_id and not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[\w.-]+", repo_id):
            raise WizardError(f"{model.name}: {repo_id!r} is not a Hub repo id (user/name)")
        if url and not url.startswith("https://"):
            raise WizardError(f"{model.name}: the download URL must start with https://")
        models.append(
            dataclasses.replace(
                model,
                repo_id=repo_id,
                path=path,
                url=url,
                revision=None,
                size=None,
                gated=None,
                source="user" if repo_id or url else None,
            )
        )
    return _with_spec(session, models=tuple(models))


def models_markdown(session: Session) -> str:
    models, packs = session.spec.models, session.spec.custom_nodes
    missing = [model.name for model in models if not model.resolved]
    unknown = [pack for pack in packs if pack.pack is None]
    if not models:
        lines = ["**No model files.**"]
    elif missing:
        lines = [
            f"**{len(missing)} of {len(models)} model files not found:** fill in where to download them."
        ]
    else:
        lines = [f"**{len(models)} model file{'s' * (len(models) != 1)}, all found on the Hub or the web.**"]
    if not packs:
        lines.append("Only ComfyUI's own nodes are used.")
    elif unknown:
        lines.append(f"**{len(unknown)} custom-node pack(s) unknown:** give each one's git repository.")
    else:
        lines.append(
            f"{len(packs)} custom-node pack{'s' * (len(packs) != 1)}, pinned to the workflow's versions."
        )
    if any(model.gated for model in models):
        lines.append("Some files are gated: give the Space an `HF_TOKEN` secret when you publish.")
    return " ".join(lines)


def pack_rows(session: Session) -> list[list[Any]]:
    return [
        [
            pack.pack or "",
            pack.repo or "",
            pack.version or "",
            ", ".join(pack.class_types),
            pack.source or "unknown",
        ]
        for pack in session.spec.custom_nodes
    ]


def with_pack_rows(session: Session, rows: list[list[Any]]) -> Session:
    """Pack ids, git repositories and versions the visitor typed (matched by the node types they provide)."""
    typed = {str(row[3]): row for row in rows}
    packs = []
    for pack in session.spec.custom_nodes:
        row = typed.get(", ".join(pack.class_types))
        if row is None:
            packs.append(pack)
            continue
        name, repo, version = (_cell(value) for value in row[:3])
        if (name, repo, version) == (pack.pack, pack.repo, pack.version):
            packs.append(pack)
            continue
        if repo and not re.fullmatch(r"(https://|git@|file://)\S+", repo):
            raise WizardError(f"{repo!r} is not a git repository URL (https://…)")
        pack_name = name or (repo.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1] if repo else None)
        packs.append(dataclasses.replace(pack, pack=pack_name, repo=repo, version=version, source="user"))
    return _with_spec(session, custom_nodes=tuple(packs))


def _cell(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _size(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""


# --- graph ------------------------------------------------------------------------------------

_SVG_SIZE_ATTRIBUTE = re.compile(r'\s(width|height)="[^"]*"')
_SVG_VIEWBOX = re.compile(r'viewBox="\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)[\s,]+([\d.]+)\s*"')


def graph_html(session: Session) -> str:
    """The flattened workflow as an SVG, the exposed inputs' and outputs' nodes highlighted.

    The SVG's own size attributes are dropped so CSS can scale it: `--graph-width` is its natural
    width, multiplied in the page by the zoom the visitor picks."""
    graph = build_graph(session.conversion, node_defs())
    svg = render_svg(graph, highlight=exposed_node_ids(session.spec))
    start = svg.find("<svg")
    if start < 0:
        raise WizardError("the workflow graph could not be drawn")
    tag_end = svg.find(">", start)
    tag = _SVG_SIZE_ATTRIBUTE.sub("", svg[start:tag_end])
    size = _SVG_VIEWBOX.search(tag)
    width = float(size.group(1)) if size else 800.0
    return (
        f'<div class="graph-canvas" data-workflow="{session.spec.fingerprint}" style="--graph-width: {width:.0f}px">'
        f"{svg[:start]}{tag}{svg[tag_end:]}</div>"
    )


# --- Gradio -----------------------------------------------------------------------------------

CSS = """
.wizard-header h1 { margin-bottom: 0; }
.wizard-header p { margin-top: 4px; color: var(--body-text-color-subdued); }
.step-intro p { margin: 0 0 4px 0; }
.nav-row { justify-content: space-between; margin-top: 8px; }
.nav-row button { max-width: 220px; }
.example-row button { flex: 1 1 0; }
.graph-box { border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg); }
.graph-tools { display: flex; gap: 6px; align-items: center; padding: 6px 8px;
  border-bottom: 1px solid var(--border-color-primary); font-size: var(--text-sm); }
.graph-tools button { border: 1px solid var(--border-color-primary); border-radius: var(--radius-sm);
  background: var(--button-secondary-background-fill); padding: 2px 10px; cursor: pointer; }
.graph-tools .graph-legend { margin-left: auto; display: flex; gap: 12px; color: var(--body-text-color-subdued); }
.graph-viewport { overflow: auto; max-height: 62vh; min-height: 160px; padding: 8px; }
.graph-canvas svg { width: calc(var(--graph-zoom, 1) * var(--graph-width)); height: auto; max-width: none; }
.app-preview { border: 1px dashed var(--border-color-primary); border-radius: var(--radius-lg); padding: 8px; }
.publish-link { font-size: var(--text-lg); }
.action-row { justify-content: center; }
.action-row button { max-width: 360px; }
.preview-caption p { margin: 0; font-size: var(--text-sm); color: var(--body-text-color-subdued); }
.hardware-note p { font-size: var(--text-sm); }
"""

GRAPH_TEMPLATE = """
<div class="graph-box">
  <div class="graph-tools">
    <button data-zoom="out" title="Zoom out">−</button>
    <button data-zoom="fit" title="Fit the width">Fit</button>
    <button data-zoom="in" title="Zoom in">+</button>
    <span>Ctrl + wheel zooms, scroll to pan</span>
  </div>
  <div class="graph-viewport">${value}</div>
</div>
"""

# Zoom stays in the page (no server round trip) and survives graph updates: it lives on the
# component's root element, the SVG inside is what gets replaced.
GRAPH_JS = """
const zoomTo = (zoom) => {
  element.dataset.zoom = String(zoom);
  element.style.setProperty('--graph-zoom', zoom);
};
const current = () => parseFloat(element.dataset.zoom || '1');
const fitZoom = () => {
  const canvas = element.querySelector('.graph-canvas');
  const viewport = element.querySelector('.graph-viewport');
  if (!canvas || !viewport) return 1;
  const natural = parseFloat(getComputedStyle(canvas).getPropertyValue('--graph-width')) || 800;
  return Math.max(0.1, Math.min(1, (viewport.clientWidth - 24) / natural));
};
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-zoom]');
  if (!button) return;
  const action = button.dataset.zoom;
  if (action === 'in') zoomTo(Math.min(current() * 1.25, 4));
  if (action === 'out') zoomTo(Math.max(current() / 1.25, 0.1));
  if (action === 'fit') zoomTo(fitZoom());
});
element.addEventListener('wheel', (event) => {
  if (!event.ctrlKey) return;
  event.preventDefault();
  zoomTo(Math.max(0.1, Math.min(4, current() * (event.deltaY < 0 ? 1.1 : 1 / 1.1))));
}, { passive: false });
// A new workflow starts fitted to the width (readable at worst: then it scrolls); redraws of the same
// one (ticking inputs) keep the zoom. Fitting waits until the step is shown and has a width.
const fitWhenShown = () => {
  const canvas = element.querySelector('.graph-canvas');
  if (canvas && canvas.dataset.workflow !== element.dataset.workflow) {
    element.dataset.workflow = canvas.dataset.workflow;
    element.dataset.pendingFit = '1';
  }
  const viewport = element.querySelector('.graph-viewport');
  if (!element.dataset.pendingFit || !viewport || viewport.clientWidth === 0) return;
  delete element.dataset.pendingFit;
  zoomTo(Math.max(0.35, fitZoom()));
};
new MutationObserver(fitWhenShown).observe(element, { childList: true, subtree: true });
new ResizeObserver(fitWhenShown).observe(element);
fitWhenShown();
"""

INTRO_UPLOAD = (
    "Drop what ComfyUI gave you: a saved workflow (`.json`, UI or API format) or an image, video or "
    "audio file ComfyUI saved with its workflow inside."
)
INTRO_GRAPH = (
    "Your workflow as it will run: muted, bypassed and helper nodes are gone, subgraphs are flattened."
)
INTRO_INPUTS = (
    "Tick the values your app's users may change, and the results it shows. Labels, components and ranges "
    "are editable; **Advanced** ones go in a collapsed section."
)
INTRO_MODELS = (
    "The model files and custom nodes the Space installs. Fill in the Hub repo and path of any file "
    "marked *not found*."
)
INTRO_PREVIEW = (
    "The Space's files, and the controls its page will show. Download them, or publish in the last step."
)
INTRO_TEST = "Run the app's workflow once, here, to check it and to measure the GPU time each request needs."
HARDWARE_NOTE = (
    "Hardware: **ZeroGPU**, set when the Space is created. Free accounts may host 2 ZeroGPU Spaces "
    "(PRO 10); CPU Spaces would need a paid plan."
)
INTRO_PUBLISH = "Create the Space in your Hugging Face account (or update it if it exists) and open it."


@contextlib.contextmanager
def _shown_to_user():
    """Turn any failure into one line in the page: a WizardError's own message, else a short note."""
    try:
        yield
    except gr.Error:
        raise
    except WizardError as error:
        raise gr.Error(_one_line(str(error)), duration=None, print_exception=False) from None
    except Exception as error:  # a bug: the visitor still gets one line, the log gets the traceback
        log.exception("unexpected error in the wizard UI")
        raise gr.Error(
            f"Unexpected error ({type(error).__name__}: {_one_line(str(error))[:200]}). "
            "Please report it with the workflow that caused it.",
            duration=None,
            print_exception=False,
        ) from None


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "unknown error"


def _local_login_problem() -> str | None:
    """Why this machine cannot log in, or None when it can.

    On Spaces the visitor signs in with OAuth. Elsewhere Gradio's LoginButton logs in as this machine's
    saved login (`HF_TOKEN` or `hf auth login`) and stops the app from starting without one, so the
    wizard shows the button only when that login works, and otherwise says how to log in."""
    if os.environ.get("SYSTEM") == "spaces":
        return None
    try:
        whoami(resolve_token())
    except WizardError as error:
        return _one_line(str(error))
    return None


def launch_options() -> dict[str, Any]:
    """Keyword arguments for `demo.launch()`: the look (Gradio 6 takes theme and CSS there)."""
    return {
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="pink"),
        "css": CSS,
        "footer_links": ["api", "gradio"],
        "max_file_size": "60mb",
    }


def build_ui() -> gr.Blocks:
    """The wizard's page: seven steps, then the events that tie them to the step functions."""
    # Opening one example now loads the node definitions and the model index (about a second),
    # so the first visitor's upload does not pay for it.
    open_workflow((EXAMPLES_DIR / next(iter(EXAMPLES))).read_bytes(), "warm-up.json")
    page = _Page()
    with gr.Blocks(title="ComfyUI → Gradio Space") as demo:
        page.session = gr.State(None)  # Session | None
        page.workdir = gr.State(None, delete_callback=_remove_workdir)  # this tab's build folder
        page.built = gr.State(
            None
        )  # JSON of the AppSpec the preview was built from (a str: Gradio hashes it)
        # What survives a reload: the workflow (written once per upload) and the choices (every edit).
        page.saved_workflow = gr.BrowserState(None, storage_key=f"{STORAGE_KEY}-workflow")
        page.saved_spec = gr.BrowserState(None, storage_key=f"{STORAGE_KEY}-spec")
        with gr.Row(elem_classes="wizard-header"):
            gr.Markdown("# ComfyUI → Gradio Space\nTurn a ComfyUI workflow into an app on a ZeroGPU Space.")
            page.badge = gr.Markdown("", elem_id="workflow-badge")
        with gr.Walkthrough(selected=1, elem_id="wizard-steps") as page.steps:
            for step in (_upload_step, _graph_step, _inputs_step, _models_step, _preview_step, _test_step):
                step(page)
            _publish_step(page)
        _wire_workflow_events(page, demo)
        _wire_choice_events(page)
        _wire_build_events(page)
        for button, step in page.navigation:
            # Moving between steps needs no server: the page switches at once.
            button.click(None, None, page.steps, js=f"() => ({{__type__: 'update', selected: {step}}})")
    return demo


class _Page:
    """The components the events connect, filled in by the step builders below."""

    def __init__(self) -> None:
        self.navigation: list[tuple[gr.Button, int]] = []  # (button, step it opens)

    def nav(self, back: tuple[str, int] | None, forward: tuple[str, int, str] | None) -> gr.Button | None:
        """The step's Back and Next buttons; Next is returned when the step wires it to a server event."""
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


def _upload_step(page: _Page) -> None:
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


def _graph_step(page: _Page) -> None:
    with gr.Step("Graph", id=2, elem_id="step-graph"):
        gr.Markdown(INTRO_GRAPH, elem_classes="step-intro")
        page.graph_summary = gr.Markdown("")
        page.graph = gr.HTML(
            "", html_template=GRAPH_TEMPLATE, js_on_load=GRAPH_JS, elem_id="graph", padding=False
        )
        page.nav(("← Upload another", 1), ("Choose inputs →", 3, "next-inputs"))


def _inputs_step(page: _Page) -> None:
    with gr.Step("Inputs and outputs", id=3, elem_id="step-inputs"):
        gr.Markdown(INTRO_INPUTS, elem_classes="step-intro")
        with gr.Row():
            page.app_title = gr.Textbox(label="App title", scale=1)
            page.app_description = gr.Textbox(label="Description", scale=2)
        page.inputs_table = _table(INPUT_COLUMNS, "Inputs", max_height=420, elem_id="inputs-table")
        page.outputs_table = _table(OUTPUT_COLUMNS, "Outputs", max_height=220, elem_id="outputs-table")
        with gr.Accordion("Save or load these choices", open=False):
            with gr.Row():
                page.export_spec = gr.DownloadButton("Export choices (JSON)", size="sm")
                page.import_spec = gr.UploadButton(
                    "Import choices", file_types=[".json"], type="binary", size="sm"
                )
        page.nav(("← Graph", 2), ("Models and nodes →", 4, "next-models"))


def _models_step(page: _Page) -> None:
    with gr.Step("Models and nodes", id=4, elem_id="step-models"):
        gr.Markdown(INTRO_MODELS, elem_classes="step-intro")
        page.models_summary = gr.Markdown("")
        page.models_table = _table(MODEL_COLUMNS, "Model files", max_height=320, elem_id="models-table")
        page.packs_table = _table(PACK_COLUMNS, "Custom-node packs", max_height=220, elem_id="packs-table")
        page.build = page.nav(("← Inputs and outputs", 3), ("Build the app →", 0, "next-preview"))


def _preview_step(page: _Page) -> None:
    with gr.Step("Preview", id=5, elem_id="step-preview"):
        gr.Markdown(INTRO_PREVIEW, elem_classes="step-intro")
        with gr.Row():
            with gr.Column(scale=2, elem_classes="app-preview", elem_id="app-preview"):
                gr.Markdown("App preview: its controls, not yet running", elem_classes="preview-caption")

                @gr.render(inputs=page.built)
                def _render_preview(spec_json: str | None) -> None:
                    if spec_json:
                        render_app_preview(AppSpec.from_json(spec_json))

            with gr.Column(scale=3):
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


def _test_step(page: _Page) -> None:
    with gr.Step("Test run", id=6, elem_id="step-test"):
        gr.Markdown(INTRO_TEST, elem_classes="step-intro")
        page.test_status = gr.Markdown(comfyui_status(), elem_id="test-status")
        page.test_media = gr.File(
            label="Files for the run", file_count="multiple", elem_id="test-media", visible=False
        )
        with gr.Row(elem_classes="action-row"):
            page.run_test = gr.Button("Run the workflow once", variant="primary", elem_id="run-test")
        page.test_outputs = gr.Gallery(
            label="Outputs", columns=4, height=280, visible=False, elem_id="test-outputs"
        )
        page.test_files = gr.File(label="Output files", file_count="multiple", visible=False)
        page.nav(("← Preview", 5), ("Publish →", 7, "next-publish"))


def _publish_step(page: _Page) -> None:
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
                page.hf_token_secret = gr.Textbox(
                    label="HF_TOKEN secret (optional)",
                    type="password",
                    info="Only for gated models: a read token of an account that accepted their licences. "
                    "Stored as a Space secret, never in a file.",
                )
                gr.Markdown(HARDWARE_NOTE, elem_classes="hardware-note")
            with gr.Column(scale=2, elem_classes="publish-actions"):
                login_problem = _local_login_problem()
                if login_problem is None:
                    gr.LoginButton()
                else:
                    gr.Markdown(
                        f"Publishing needs a Hugging Face login: {login_problem}. "
                        "Then start the wizard again.",
                        elem_id="login-needed",
                    )
                page.publish = gr.Button("Publish", variant="primary", elem_id="publish")
                page.published = gr.Markdown("", elem_classes="publish-link", elem_id="published")
        page.nav(("← Test run", 6), None)


# --- events -------------------------------------------------------------------------------------


def _wire_workflow_events(page: _Page, demo: gr.Blocks) -> None:
    """Everything that opens a workflow (or its saved choices) refreshes every view of it."""
    views = [
        page.session,
        page.saved_workflow,
        page.saved_spec,
        page.badge,
        page.graph_summary,
        page.graph,
        page.app_title,
        page.app_description,
        page.inputs_table,
        page.outputs_table,
        page.models_summary,
        page.models_table,
        page.packs_table,
        page.space_name,
        page.steps,
    ]
    page.upload.upload(_on_upload, page.upload, views, api_name="open_file")
    page.use_pasted.click(_on_paste, page.pasted, views, api_name="open_json")
    for button, path in page.examples:
        button.click(_example_handler(path), None, views, api_visibility="private")
    page.import_spec.upload(_on_import_spec, [page.session, page.import_spec], views, api_name="import_spec")
    demo.load(_on_restore, [page.saved_workflow, page.saved_spec], views, api_visibility="private")


def _workflow_views(new: Session, step: int) -> tuple:
    return (
        new,
        new.saved_workflow(),
        new.spec.to_json(),
        workflow_badge(new),
        graph_summary_markdown(new),
        graph_html(new),
        new.spec.title,
        new.spec.description,
        _rows(input_rows(new)),
        _rows(output_rows(new)),
        models_markdown(new),
        _rows(model_rows(new)),
        _rows(pack_rows(new)),
        suggested_space_name(new),
        gr.Walkthrough(selected=step),
    )


def _unchanged() -> tuple:
    return tuple(gr.skip() for _ in range(15))  # one per view of `_workflow_views`


def _on_upload(path: str | None):
    if not path:
        return _unchanged()
    with _shown_to_user():
        return _workflow_views(open_workflow(Path(path).read_bytes(), Path(path).name), 2)


def _on_paste(text: str | None):
    with _shown_to_user():
        if not (text or "").strip():
            raise WizardError("paste a workflow's JSON first (ComfyUI: Workflow → Export)")
        return _workflow_views(open_workflow(text.encode("utf-8"), "pasted.json"), 2)


def _example_handler(path: Path) -> Callable[[], tuple]:
    def load_example():
        with _shown_to_user():
            return _workflow_views(open_workflow(path.read_bytes(), path.name), 2)

    return load_example


def _on_import_spec(current: Session | None, data: bytes):
    with _shown_to_user():
        return _workflow_views(with_imported_spec(_require(current), data.decode("utf-8", "replace")), 3)


def _on_restore(stored_workflow: dict | None, stored_spec: str | None):
    if not stored_workflow or not stored_spec:
        return _unchanged()
    try:
        return _workflow_views(restore_session(stored_workflow, stored_spec), 3)
    except Exception as error:  # stale or foreign data in the browser: start afresh
        log.info("saved session not restored: %s", error)
        return _unchanged()


def _wire_choice_events(page: _Page) -> None:
    """Edits of the tables and the title: a new spec, the graph and the badge follow it."""
    views = [page.session, page.saved_spec, page.graph, page.badge]
    edits = (
        (page.inputs_table, with_input_rows, [page.inputs_table], "edit_inputs"),
        (page.outputs_table, with_output_rows, [page.outputs_table], "edit_outputs"),
        (page.app_title, with_title, [page.app_title, page.app_description], "edit_title"),
        (page.app_description, with_title, [page.app_title, page.app_description], None),
        (page.models_table, with_model_rows, [page.models_table], "edit_models"),
        (page.packs_table, with_pack_rows, [page.packs_table], "edit_packs"),
    )
    for component, change, values, api_name in edits:
        visibility = "public" if api_name else "private"
        component.input(
            _edited(change), [page.session, *values], views, api_name=api_name, api_visibility=visibility
        )
    page.export_spec.click(
        _export_spec, [page.session, page.workdir], [page.export_spec, page.workdir], api_name="export_spec"
    )
    page.space_name.input(space_name_message, page.space_name, page.name_check, api_visibility="private")


def _edited(change: Callable[..., Session]) -> Callable:
    def handler(current: Session | None, *values):
        with _shown_to_user():
            new = change(_require(current), *values)
            return new, new.spec.to_json(), graph_html(new), workflow_badge(new)

    return handler


def _wire_build_events(page: _Page) -> None:
    """Building the preview, the test run and publishing: each works in the tab's build folder."""
    page.build.click(
        _on_build,
        [page.session, page.workdir],
        [page.workdir, page.built, *page.code_views, page.download_zip, page.test_media, page.steps],
        api_name="build",
    )
    page.run_test.click(
        _on_test_run,
        [page.session, page.workdir, page.test_media],
        [page.workdir, page.session, page.saved_spec, page.test_status, page.test_outputs, page.test_files],
        api_name="test_run",
    )
    page.publish.click(
        _on_publish,
        [page.session, page.workdir, page.space_name, page.visibility, page.hf_token_secret],
        [page.workdir, page.published],
        api_name="publish",
    )


def _on_build(current: Session | None, folder: str | None):
    with _shown_to_user():
        folder = folder or new_workdir()
        preview = build_preview(_require(current), Path(folder))
        needed = [item.label for item in file_inputs(current.spec)]
        media = gr.File(label=f"Files for the run, in this order: {', '.join(needed)}", visible=bool(needed))
        files = [preview.files.get(name, "") for name in PREVIEW_FILES]
        return (
            folder,
            current.spec.to_json(),
            *files,
            str(preview.zip_path),
            media,
            gr.Walkthrough(selected=5),
        )


def _on_test_run(
    current: Session | None,
    folder: str | None,
    media: list[str] | None,
    progress=gr.Progress(track_tqdm=True),
):
    with _shown_to_user():
        folder = folder or new_workdir()
        progress(0, desc="Starting ComfyUI")
        result = test_run_on_gpu(_require(current), Path(folder), list(media or []))
        images = [str(path) for path in result.files if _is_image(path)]
        return (
            folder,
            result.session,
            result.session.spec.to_json(),
            result.message,
            gr.Gallery(value=images, visible=bool(images)),
            gr.File(value=[str(path) for path in result.files], visible=bool(result.files)),
        )


def _on_publish(
    current: Session | None,
    folder: str | None,
    name: str,
    private: str,
    secret: str,
    oauth_token: gr.OAuthToken | None,
    progress=gr.Progress(),
):
    with _shown_to_user():
        folder = folder or new_workdir()
        result = publish_space(
            _require(current),
            Path(folder),
            name=name,
            private=private == "private",
            hf_token_secret=secret.strip() or None,
            token=user_token(oauth_token.token if oauth_token else None),
            progress=progress,
        )
        verb = "Created" if result.created else "Updated"
        return (
            folder,
            f"{verb} **[{result.repo_id}]({result.url})**: it builds now and runs in a few minutes.",
        )


def _table(columns: list[tuple[str, str, str, bool]], label: str, **options: Any) -> gr.Dataframe:
    """A table whose rows come from a step function; only the editable columns can be typed in."""
    return gr.Dataframe(
        headers=[column[0] for column in columns],
        datatype=[column[1] for column in columns],
        column_widths=[column[2] for column in columns],
        static_columns=[index for index, column in enumerate(columns) if not column[3]],
        type="array",
        interactive=True,
        label=label,
        show_label=True,
        **options,
    )


def _rows(rows: list[list[Any]]) -> gr.Dataframe:
    """New table content; an empty table is hidden (rows the visitor adds are ignored: each row
    stands for something of the workflow)."""
    return gr.Dataframe(value=rows, visible=bool(rows))


def _require(current: Session | None) -> Session:
    if current is None:
        raise WizardError("no workflow yet: upload one in step 1")
    return current


def new_workdir() -> str:
    """A build folder for one browser tab; `_remove_workdir` deletes it with the tab's state."""
    return tempfile.mkdtemp(prefix="comfy-wizard-")


def _remove_workdir(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _export_spec(current: Session | None, folder: str | None):
    with _shown_to_user():
        folder = folder or new_workdir()
        path = Path(folder) / "appspec.json"
        path.write_text(_require(current).spec.to_json(), encoding="utf-8")
        return str(path), folder


def _code_language(name: str) -> str:
    return {"app.py": "python", "README.md": "markdown", "comfy.lock.json": "json"}.get(name, "shell")


def _element_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _is_image(path: Path | str) -> bool:
    return Path(path).suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".gif")


# --- preview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    folder: Path  # the generated Space
    files: dict[str, str]  # the files shown in the code tabs, by name
    zip_path: Path


def build_preview(session: Session, workdir: Path) -> Preview:
    """Preview step: generate the Space folder from the current choices, and its ZIP."""
    folder = workdir / "space"
    if folder.exists():
        shutil.rmtree(folder)
    build_space(session.conversion, session.spec, folder)
    files = {
        name: (folder / name).read_text(encoding="utf-8")
        for name in PREVIEW_FILES
        if (folder / name).is_file()
    }
    zip_path = workdir / f"{suggested_space_name(session)}.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder).as_posix())
    return Preview(folder=folder, files=files, zip_path=zip_path)


def render_app_preview(spec: AppSpec) -> None:
    """The generated app's controls, drawn from the spec inside a `gr.render` block.

    A look, not the app: running it needs ComfyUI and the models (that is the Test run step)."""
    gr.Markdown(f"### {spec.emoji} {spec.title}\n{spec.description}")
    main = [item for item in spec.ordered_inputs if not item.advanced]
    advanced = [item for item in spec.ordered_inputs if item.advanced]
    with gr.Row():
        with gr.Column():
            for item in main:
                _preview_input(item)
            if advanced:
                with gr.Accordion("Advanced", open=False):
                    for item in advanced:
                        _preview_input(item)
            gr.Button("Generate", variant="primary", interactive=False)
        with gr.Column():
            for output in spec.outputs:
                _preview_output(output)


def _preview_input(item: SpecInput) -> None:
    common = {"label": item.label, "key": f"preview-{item.node_id}-{item.input_name}"}
    if item.component == "Slider":
        gr.Slider(minimum=item.minimum, maximum=item.maximum, step=item.step, value=item.default, **common)
    elif item.component == "Number":
        precision = 0 if item.value_type == "INT" else None
        gr.Number(
            value=item.default, minimum=item.minimum, maximum=item.maximum, precision=precision, **common
        )
    elif item.component == "Checkbox":
        gr.Checkbox(value=bool(item.default), **common)
    elif item.component in ("Dropdown", "Radio"):
        choices = [str(choice) for choice in item.choices or ()]
        getattr(gr, item.component)(choices=choices, value=str(item.default), **common)
    elif item.component == "Textbox":
        gr.Textbox(value=str(item.default or ""), lines=3 if item.multiline else 1, **common)
    else:  # Image, ImageEditor, Video, Audio, File
        getattr(gr, item.component)(**common)
    if item.randomize:
        gr.Checkbox(
            value=True, label="Randomize seed", key=f"preview-{item.node_id}-{item.input_name}-random"
        )


def _preview_output(output: SpecOutput) -> None:
    component = getattr(gr, output.component)
    component(label=output.label, interactive=False, key=f"preview-out-{output.node_id}")


# --- test run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestRun:
    session: Session  # with the measured time and the suggested GPU duration in its spec
    files: tuple[Path, ...]
    message: str


def comfyui_status() -> str:
    """What the Test run step needs, and how to get it when it is missing."""
    found = find_comfyui()
    if found is None:
        return (
            "**ComfyUI is not installed here**, so the workflow cannot run in the wizard. Install the pinned "
            f"ComfyUI 0.3.64 with `python -m runtime.install` (into `{default_install_dir()}`), or set "
            "`COMFYUI_PATH` to a checkout, then restart the wizard. You can still download or publish the app."
        )
    return f"ComfyUI found at `{found}`. The run uses the values you chose as defaults and downloads missing model files."


def file_inputs(spec: AppSpec) -> list[SpecInput]:
    """The inputs a test run needs a file for (images, masks, videos, audio), in the app's order."""
    return [item for item in spec.ordered_inputs if item.value_type == "FILE"]


def test_run(session: Session, workdir: Path, media: list[str]) -> TestRun:
    """Test run step: build the app and run its `generate` once through `runtime/`; the measured time
    becomes the spec's GPU duration. `media` holds one file per `file_inputs`, in order."""
    if find_comfyui() is None:
        raise WizardError(
            "ComfyUI is not installed here: run `python -m runtime.install` (or set COMFYUI_PATH), then restart"
        )
    needed = file_inputs(session.spec)
    if len(media) < len(needed):
        names = ", ".join(item.label for item in needed)
        raise WizardError(f"add one file for each of: {names} (in that order)")
    folder = build_preview(session, workdir).folder
    inputs = {item.name: str(path) for item, path in zip(needed, media)}
    output_dir = workdir / "test-run"
    if output_dir.exists():
        shutil.rmtree(output_dir)
    result = run_app(folder, inputs, output_dir)
    measured = _with_spec(
        session, duration=result.recommended_duration, measured_seconds=round(result.seconds, 2)
    )
    message = (
        f"**Ran in {result.seconds:.2f} s.** The Space will ask ZeroGPU for "
        f"**{result.recommended_duration} s** per request (`@spaces.GPU(duration={result.recommended_duration})`); "
        "rebuild the preview to see it in app.py."
    )
    return TestRun(session=measured, files=tuple(Path(path) for path in result.files), message=message)


# On ZeroGPU the run gets a GPU for at most this long; elsewhere the decorator changes nothing.
test_run_on_gpu = spaces.GPU(duration=240)(test_run)


# --- publish ----------------------------------------------------------------------------------


def space_name_problem(name: str) -> str | None:
    """Why `name` ("my-app" or "user/my-app") cannot name a Space, or None when it can (the Hub's rules,
    as `wizard.publish` applies them; whether the namespace is yours is checked when publishing)."""
    if not name.strip():
        return "give the Space a name, for example my-comfy-app"
    namespace = name.strip().split("/")[0] if "/" in name else "you"
    try:
        space_repo_id(name, Account(name=namespace, orgs=()))
    except WizardError as error:
        return str(error)
    return None


def space_name_message(name: str) -> str:
    problem = space_name_problem(name)
    return f"⚠️ {problem}" if problem and name.strip() else ""


def suggested_space_name(session: Session) -> str:
    """A valid Space name made from the app's title ("Text to image (SD1.5)" -> "text-to-image-sd1-5")."""
    slug = re.sub(r"[^a-z0-9]+", "-", session.spec.title.lower()).strip("-")[:60].strip("-")
    return slug or "comfyui-app"


def publish_space(
    session: Session,
    workdir: Path,
    *,
    name: str,
    private: bool,
    hf_token_secret: str | None,
    token: str | None,
    progress: Callable[..., object] | None = None,
) -> PublishResult:
    """Publish step: the folder built from the current choices, as a ZeroGPU Space in the visitor's account."""
    problem = space_name_problem(name)
    if problem:
        raise WizardError(problem)
    if token is None:
        raise WizardError("sign in with Hugging Face first (the button above)")
    folder = build_preview(session, workdir).folder
    return publish_folder(
        folder,
        space=name.strip(),
        private=private,
        token=token,
        hf_token_secret=hf_token_secret,
        progress=progress,
    )


# --- summaries --------------------------------------------------------------------------------


def workflow_badge(session: Session) -> str:
    spec = session.spec
    return (
        f"**{html.escape(session.filename)}** · {len(session.conversion.nodes)} nodes · "
        f"{len(spec.inputs)} inputs → {len(spec.outputs)} outputs"
    )


def graph_summary_markdown(session: Session) -> str:
    """The facts of the graph step worth reading: what the colours mean, and the warnings."""
    warnings = list(dict.fromkeys([*session.conversion.warnings, *session.analysis.warnings]))
    if not warnings:
        return ""
    shown = "\n".join(f"- {html.escape(_one_line(warning))}" for warning in warnings[:8])
    more = f"\n- …and {len(warnings) - 8} more" if len(warnings) > 8 else ""
    return f"**Check these before you go on:**\n{shown}{more}"
