"""One user's way from a workflow file to a published Space, without Gradio: the page (`wizard.ui`)
and the CLI call these.

A `Session` is frozen: open / restore / import give one, every edit returns a new one whose spec
has checked itself (`AppSpec.check`: names, ranges, repo ids, the URL policy), so no rule lives in
the page. Build, Test run and publish work in a folder the caller owns (one per browser tab).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from runtime.locate import default_install_dir, find_comfyui
from runtime.progress import Report
from wizard.analyze import Analysis, CandidateInput, analyze
from wizard.app_contract import AppExample
from wizard.appspec import AppInput, AppOutput, AppSpec, auto_spec, python_name
from wizard.codegen import build_space
from wizard.errors import WizardError, hosted
from wizard.ingest import load_workflow
from wizard.nodedefs import NodeDefs
from wizard.packs import PackedConversion, PackOptions, convert_with_packs, pin_packs
from wizard.publish import (
    Account,
    PublishResult,
    SpaceTarget,
    publish_folder,
    space_repo_id,
    space_target,
    whoami,
)
from wizard.records import Conversion, LoadedWorkflow, ModelFile, NodePack
from wizard.resolve import OFFLINE, ModelsReport, ModelStatus, check_models, hub_offline, unchecked_status
from wizard.space_run import run_on_space
from wizard.testrun import run_app

EXAMPLES_DIR = Path(__file__).parent / "examples"
EXAMPLES = {  # file in wizard/examples -> its name on the page
    "sd15_text_to_image.json": "Text to image (SD1.5)",
    "sd15_image_to_image.json": "Image to image (SD1.5)",
    "blur_and_invert.json": "Blur and invert (no model)",
    "poster_effect.json": "Poster effect (no model)",
}
PREVIEW_FILES = ("app.py", "README.md", "requirements.txt", "comfy.lock.json")


@dataclass(frozen=True)
class Session:
    """One user's workflow and choices. Frozen: every step returns a new one.

    Attributes:
        filename: the opened file's name.
        ui_graph_json: the saved UI workflow (or the API prompt) as JSON: what a page reload restores from.
        conversion: the workflow as it runs.
        analysis: its candidate inputs and outputs, models and custom nodes.
        spec: the user's choices, always valid for `conversion`.
        model_statuses: what the Hub said of the spec's model files at the last check (`with_checked_models`).
        example: the last Test run: the app's first example and its Space card's picture; None before one.
    """

    filename: str
    ui_graph_json: str
    conversion: Conversion
    analysis: Analysis
    spec: AppSpec
    model_statuses: tuple[ModelStatus, ...] = ()
    example: AppExample | None = None

    def saved_workflow(self) -> dict[str, str]:
        """What the browser keeps of the workflow (stored once per upload: it can be large)."""
        return {"filename": self.filename, "workflow": self.ui_graph_json}


def node_defs() -> NodeDefs:
    """The bundled ComfyUI 0.3.64 node definitions (read once, never changed)."""
    return NodeDefs.snapshot()


def open_workflow(data: bytes, filename: str) -> Session:
    """Read, convert and analyse a workflow file; the automatic choice of inputs."""
    return open_loaded(load_workflow(data, filename), node_defs())


def open_loaded(loaded: LoadedWorkflow, defs: NodeDefs, packs: PackOptions = PackOptions()) -> Session:
    """Convert and analyse a read workflow with these node definitions and its custom-node packs'
    (found, pinned to commits and defined by `wizard.packs`); the automatic choice of inputs."""
    return open_converted(loaded, convert_with_packs(loaded, defs, packs), offline=packs.offline)


def open_converted(loaded: LoadedWorkflow, packed: PackedConversion, *, offline: bool = False) -> Session:
    """The session of a workflow converted with its packs (`wizard.packs.convert_with_packs`): its
    analysis names the pinned packs, and their warnings come first."""
    conversion = packed.conversion
    analysis = analyze(conversion, packed.node_defs)
    analysis = dataclasses.replace(
        analysis,
        custom_nodes=packed.setup.packs,
        warnings=(*packed.setup.messages(offline), *analysis.warnings),
    )
    document = loaded.ui_graph if loaded.ui_graph is not None else loaded.prompt
    return Session(
        filename=loaded.filename,
        ui_graph_json=json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        conversion=conversion,
        analysis=analysis,
        spec=auto_spec(conversion, analysis, filename=loaded.filename),
    )


def restore_session(saved_workflow: dict[str, str], spec_json: str) -> Session:
    """A session from what the browser kept: `Session.saved_workflow()` and the spec's JSON."""
    session = open_workflow(saved_workflow["workflow"].encode("utf-8"), saved_workflow["filename"])
    return with_imported_spec(session, spec_json)


def with_imported_spec(session: Session, spec_json: str) -> Session:
    """Continue with choices exported earlier; a spec for another workflow, or one the spec's own
    rules refuse (a URL, a range), is refused with a SpecError."""
    spec = AppSpec.from_json(spec_json)
    spec.check(session.conversion)
    return dataclasses.replace(session, spec=spec)


def example_paths() -> dict[str, Path]:
    """The examples one click away, by their name on the page."""
    return {label: EXAMPLES_DIR / name for name, label in EXAMPLES.items()}


# --- edits --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputChoice:
    """One candidate input the user exposes, with the settings they typed.

    Attributes:
        node_id, input_name: the candidate.
        label, component: None keeps the current (or proposed) one.
        minimum, maximum, step: the range; None for none.
        advanced: shown in the collapsed section.
        default: the app's value at start; None keeps the current one (the workflow's at first).
    """

    node_id: str
    input_name: str
    label: str | None
    component: str | None
    minimum: int | float | None
    maximum: int | float | None
    step: int | float | None
    advanced: bool
    default: Any = None


@dataclass(frozen=True)
class OutputChoice:
    """One candidate output the user shows. Attributes: node_id: the output node; label: None keeps it."""

    node_id: str
    label: str | None


@dataclass(frozen=True)
class ModelDownload:
    """Where the user says one model file comes from.

    Attributes:
        name, folder: the model file (as the spec lists it).
        repo_id, path: a Hub file; url: another download; all None: unknown.
    """

    name: str
    folder: str
    repo_id: str | None
    path: str | None
    url: str | None


@dataclass(frozen=True)
class PackSource:
    """Where the user says one custom-node pack comes from.

    Attributes:
        class_types: the node types it provides (which pack of the spec it is).
        pack, repo, version: its registry id or name, git repository and version (None: unknown).
    """

    class_types: tuple[str, ...]
    pack: str | None
    repo: str | None
    version: str | None


def candidate_order(analysis: Analysis) -> list[CandidateInput]:
    """The candidates as the inputs table lists them: the automatic choice first, in the app's order."""
    return sorted(analysis.inputs, key=lambda candidate: (not candidate.auto, candidate.rank))


def exposed_node_ids(spec: AppSpec) -> set[str]:
    """The nodes whose values are inputs of the app: the graph draws them as chosen inputs."""
    return {node_id for item in spec.inputs for node_id, _name in item.targets}


def with_inputs(session: Session, choices: Sequence[InputChoice]) -> Session:
    """The spec exposing exactly `choices` (unknown candidates ignored); kept inputs keep their order."""
    candidates = {(c.node_id, c.input_name): c for c in session.analysis.inputs}
    previous = {(item.node_id, item.input_name): item for item in session.spec.inputs}
    order = {key: item.order for key, item in previous.items()}
    inputs = []
    for choice in choices:
        key = (choice.node_id, choice.input_name)
        if key not in candidates:
            continue
        base = previous.get(key) or AppInput.from_candidate(candidates[key], name="", order=0)  # set below
        inputs.append(
            dataclasses.replace(
                base,
                label=choice.label or base.label,
                component=choice.component or base.component,
                default=base.default if choice.default is None else choice.default,
                minimum=choice.minimum,
                maximum=choice.maximum,
                step=choice.step,
                advanced=choice.advanced,
                order=order.get(key, len(order) + len(inputs)),
            )
        )
    inputs.sort(key=lambda item: item.order)
    inputs = [dataclasses.replace(item, order=position) for position, item in enumerate(inputs)]
    return _with_spec(session, inputs=tuple(inputs))


def with_outputs(session: Session, choices: Sequence[OutputChoice]) -> Session:
    candidates = {candidate.node_id: candidate for candidate in session.analysis.outputs}
    previous = {output.node_id: output for output in session.spec.outputs}
    outputs = []
    for choice in choices:
        if choice.node_id not in candidates:
            continue
        base = previous.get(choice.node_id) or AppOutput.from_candidate(candidates[choice.node_id], name="")
        outputs.append(dataclasses.replace(base, label=choice.label or base.label))
    return _with_spec(session, outputs=tuple(outputs))


def with_title(session: Session, title: str, description: str) -> Session:
    return _with_spec(session, title=title.strip(), description=description.strip())


def with_acceleration(session: Session, enabled: bool) -> Session:
    """The app compiles its diffusion model at start where measured to help (runtime/accel.py), or not."""
    return _with_spec(session, accelerate=enabled)


def with_model_downloads(session: Session, downloads: Sequence[ModelDownload]) -> Session:
    """The models with the downloads the user gave (matched by file and folder); the spec checks them."""

    def downloaded(model: ModelFile, download: ModelDownload) -> ModelFile:
        source = "user" if download.repo_id or download.url else None
        where = {"repo_id": download.repo_id, "path": download.path, "url": download.url}
        return dataclasses.replace(model, **where, revision=None, size=None, gated=None, source=source)

    models = _edited(
        session.spec.models, downloads, ("name", "folder"), ("repo_id", "path", "url"), downloaded
    )
    kept = {(model.name, model.folder) for model in models if model in session.spec.models}
    statuses = tuple(status for status in session.model_statuses if (status.name, status.folder) in kept)
    return dataclasses.replace(_with_spec(session, models=models), model_statuses=statuses)


def with_checked_models(session: Session, token: str | None) -> Session:
    """The model files as the Hub describes them now (unresolved ones searched; sizes, gated status),
    and what it said of each; nothing is asked when `HF_HUB_OFFLINE` is set."""
    checked = check_models(session.spec.models, online=True, token=token)
    return dataclasses.replace(_with_spec(session, models=checked.models), model_statuses=checked.statuses)


def models_report(session: Session, not_asked: str = "the Hub was not asked yet") -> ModelsReport:
    """Found / not found / not checked per model file, the total download, and whether it fits ZeroGPU
    (`not_asked`: why a file the Hub was not asked about is not checked)."""
    statuses = {(status.name, status.folder): status for status in session.model_statuses}
    why = OFFLINE if hub_offline() else not_asked
    return ModelsReport.of(
        session.spec.models,
        [
            statuses.get((model.name, model.folder)) or unchecked_status(model, why)
            for model in session.spec.models
        ],
    )


def with_pack_sources(session: Session, sources: Sequence[PackSource]) -> Session:
    """The packs with the ids, repositories and versions the user gave, each edited one pinned again by
    `wizard.packs.pin_packs` (a version may be a commit, 7-40 hex digits); the spec checks them. A commit
    or version that cannot be had is refused with a WizardError, and the session stays as it was."""

    def sourced(pack: NodePack, source: PackSource) -> NodePack:
        repo_name = source.repo.rstrip("/").removesuffix(".git").rsplit("/", 1)[-1] if source.repo else None
        name = source.pack or repo_name
        edited = dataclasses.replace(
            pack,
            pack=name,
            repo=source.repo,
            version=source.version,
            source="user",
            commit=None,
            requirements=(),
        )
        if not (edited.pack or edited.repo):
            return edited
        # An unpinnable pack (no repository can be cloned) stays unpinned, and the build says so.
        pinned = pin_packs([edited])
        if pinned.unavailable:
            kept = f"the pack keeps its pin {pack.commit[:12]}" if pack.commit else "the pack stays as it was"
            raise WizardError(
                f"{'; '.join(pinned.unavailable)}: {kept}; type a commit its repository has, "
                "or empty the Version cell to pin its last commit on or before ComfyUI's date"
            )
        return pinned.packs[0]

    packs = _edited(
        session.spec.custom_nodes, sources, ("class_types",), ("pack", "repo", "version"), sourced
    )
    return _with_spec(session, custom_nodes=packs)


def _edited(records: tuple, edits: Sequence, keys: tuple[str, ...], values: tuple[str, ...], apply: Callable):
    """`records`, each one whose edit (matched by the `keys` fields) changes one of its `values` fields
    replaced by `apply(record, edit)`."""

    def key(item: Any) -> tuple:
        return tuple(getattr(item, name) for name in keys)

    by_key = {key(edit): edit for edit in edits}
    result = []
    for record in records:
        edit = by_key.get(key(record))
        unchanged = edit is None or all(getattr(edit, name) == getattr(record, name) for name in values)
        result.append(record if unchanged else apply(record, edit))
    return tuple(result)


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


# --- build --------------------------------------------------------------------------------------


def build(session: Session, folder: Path, space_id: str | None = None) -> Path:
    """Write the Space folder of the current choices (an empty folder, or one built before); `space_id`
    ("user/name"), when known, gives the card's thumbnail its URL."""
    return build_space(session.conversion, session.spec, folder, example=session.example, space_id=space_id)


@dataclass(frozen=True)
class Preview:
    """A built Space. Attributes: folder: the generated Space; files: PREVIEW_FILES' texts by name;
    zip_path: the folder as a ZIP."""

    folder: Path
    files: dict[str, str]
    zip_path: Path


def build_preview(session: Session, workdir: Path, space_id: str | None = None) -> Preview:
    """Generate the Space folder from the current choices, and its ZIP."""
    folder = workdir / "space"
    if folder.exists():
        shutil.rmtree(folder)
    build(session, folder, space_id)
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


# --- test run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestRun:
    """A Test run's result.

    Attributes:
        session: with the measured time and the suggested GPU duration in its spec.
        files: the output files.
        message: what to tell the user (Markdown).
    """

    __test__ = False  # not a pytest test class

    session: Session
    files: tuple[Path, ...]
    message: str


def comfyui_status() -> str:
    """What the Test run step needs, and how to get it when it is missing (Markdown)."""
    found = find_comfyui()
    if hosted():
        return "On the hosted wizard the Test run runs on ZeroGPU, as a private Space in your account."
    if found is None:
        return (
            "**ComfyUI is not installed here**, so the workflow cannot run in the wizard. Install the pinned "
            f"ComfyUI 0.3.64 with `python -m runtime.install` (into `{default_install_dir()}`), or set "
            "`COMFYUI_PATH` to a checkout, then restart the wizard. You can still download or publish the app."
        )
    return f"ComfyUI found at `{found}`. The run uses the values you chose as defaults and downloads missing model files."


def test_run(
    session: Session,
    workdir: Path,
    values: dict[str, Any],
    progress: Callable[[Report], object] | None = None,
) -> TestRun:
    """Build the app and run its `generate` once through `runtime/` with `values` (by parameter name, as
    the app's components give them; a missing one: its default); `progress` hears each stage and step.
    The measured time becomes the spec's GPU duration."""
    if find_comfyui() is None:
        raise WizardError(
            "ComfyUI is not installed here: run `python -m runtime.install` (or set COMFYUI_PATH), then restart"
        )
    folder, output_dir = _test_run_folders(session, workdir)
    result = run_app(folder, values, output_dir, on_progress=progress)
    measured = _measured(session, workdir, values, result.recommended_duration, result.seconds, result.files)
    message = (
        f"**GPU time measured: {result.seconds:.2f} s** (one run of `generate`). The Space will ask ZeroGPU "
        f"for **{result.recommended_duration} s** per request (`@spaces.GPU(duration={result.recommended_duration})`), "
        "written into app.py at the next build."
    )
    return TestRun(session=measured, files=tuple(Path(path) for path in result.files), message=message)


test_run.__test__ = False  # a step of the wizard, not a pytest test


def test_run_on_space(
    session: Session,
    workdir: Path,
    values: dict[str, Any],
    *,
    name: str,
    token: str,
    hf_token_secret: str | None,
    log: Callable[[str], object] | None = None,
    progress: Callable[..., object] | None = None,
) -> TestRun:
    """Test run on ZeroGPU: the app built from the current choices runs as the private Space `name` in the
    token's account (`wizard.space_run`); the request's time becomes the spec's GPU duration."""
    problem = space_name_problem(name)
    if problem:
        raise WizardError(problem)
    folder, output_dir = _test_run_folders(session, workdir)
    result = run_on_space(
        folder,
        space=name.strip(),
        inputs=values,
        out_dir=output_dir,
        token=token,
        hf_token_secret=hf_token_secret,
        progress=progress,
        log=log,
    )
    measured = _measured(
        session, workdir, values, result.recommended_duration, result.request_seconds, result.files
    )
    message = (
        f"**Ran on the private Space [{result.repo_id}]({result.host}) in {result.request_seconds:.2f} s.** "
        f"The app will ask ZeroGPU for **{result.recommended_duration} s** per request "
        f"(`@spaces.GPU(duration={result.recommended_duration})`). Publish makes this Space public."
    )
    return TestRun(session=measured, files=result.files, message=message)


test_run_on_space.__test__ = False

_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})


def _test_run_folders(session: Session, workdir: Path) -> tuple[Path, Path]:
    """(the app built from the session's choices, an empty folder for the run's outputs)."""
    folder = build_preview(session, workdir).folder
    output_dir = workdir / "test-run"
    if output_dir.exists():
        shutil.rmtree(output_dir)
    return folder, output_dir


def _measured(
    session: Session,
    workdir: Path,
    values: dict[str, Any],
    duration: int,
    seconds: float,
    files: Sequence[Path | str],
) -> Session:
    """The session after a Test run: the measured GPU duration and the run kept as the app's example."""
    measured = _with_spec(session, duration=duration, measured_seconds=round(seconds, 2))
    return dataclasses.replace(measured, example=_kept_example(workdir, values, files))


def _kept_example(workdir: Path, values: dict[str, Any], outputs: Sequence[Path]) -> AppExample:
    """The run as the app's first example: its input files and its first image copied to `example/` of the
    tab's folder (the run's own folders are replaced by the next run)."""
    folder = workdir / "example"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    kept: list[tuple[str, Any]] = []
    for name, value in values.items():
        if isinstance(value, str) and Path(value).is_file():
            value = str(shutil.copy(value, folder / f"{name}{Path(value).suffix.lower()}"))
        kept.append((name, value if not isinstance(value, dict) else None))
    image = next((Path(path) for path in outputs if Path(path).suffix.lower() in _IMAGE_SUFFIXES), None)
    result = Path(shutil.copy(image, folder / f"result{image.suffix.lower()}")) if image else None
    return AppExample(values=tuple(kept), result=result)


# --- publish ------------------------------------------------------------------------------------


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


def suggested_space_name(session: Session) -> str:
    """A valid Space name made from the app's title and its workflow's fingerprint, so two workflows
    never share one ("Text to image" -> "text-to-image-3fa9c1")."""
    slug = re.sub(r"[^a-z0-9]+", "-", session.spec.title.lower()).strip("-")[:50].strip("-")
    return f"{slug or 'comfyui-app'}-{session.spec.fingerprint.removeprefix('sha256:')[:6]}"


def publish_target(session: Session, name: str, token: str) -> SpaceTarget:
    """Where Publish would go with these choices: NEW or EXISTING, and who made it (asked live)."""
    problem = space_name_problem(name)
    if problem:
        raise WizardError(problem)
    return space_target(name.strip(), token=token, fingerprint=session.spec.fingerprint)


def publish_space(
    session: Session,
    workdir: Path,
    *,
    name: str,
    private: bool,
    hf_token_secret: str | None,
    token: str | None,
    comfy_api_key: str | None = None,
    force: bool = False,
    progress: Callable[..., object] | None = None,
) -> PublishResult:
    """The folder built from the current choices, as a ZeroGPU Space in the token's account (`force`:
    also update a Space the wizard did not make)."""
    problem = space_name_problem(name)
    if problem:
        raise WizardError(problem)
    if token is None:
        raise WizardError("sign in with Hugging Face first (the button at the top of the page)")
    if session.spec.api_nodes and not comfy_api_key:
        raise WizardError(
            f"this workflow runs paid API nodes ({', '.join(session.spec.api_nodes)}): "
            "enter your Comfy API key (platform.comfy.org) in the field above"
        )
    folder = build_preview(session, workdir, space_repo_id(name, whoami(token))).folder
    return publish_folder(
        folder,
        space=name.strip(),
        private=private,
        token=token,
        hf_token_secret=hf_token_secret,
        comfy_api_key=comfy_api_key if session.spec.api_nodes else None,
        force=force,
        progress=progress,
    )
