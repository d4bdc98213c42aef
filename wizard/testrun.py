"""Test run: call a built app's `generate` headless, as its Space would, and keep its outputs.

`run_app` checks the inputs against the folder's `appspec.json` (fast, in this process), then runs
the app in a fresh Python process with the app folder as working directory: that process imports
`app.py` as a module (ComfyUI starts and the models load, exactly as in the Space), calls
`generate` once and copies the output files to `out_dir`. A process of its own keeps ComfyUI's
process-wide state out of the wizard, so one wizard can test many builds.

What the app does meanwhile (`runtime.progress`: fetching packs, downloading models with their bytes,
starting ComfyUI, loading the models, each sampler step) crosses the sandbox as JSON lines the worker
appends to a file of the run's scratch folder; the wizard reads them as they come (`on_progress`).

    python -m wizard run DIR --input NAME=VALUE ... -o OUT     (the CLI front end)
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from runtime.atomic import free_name
from runtime.progress import Report
from wizard import app_contract
from wizard.app_contract import Parameter
from wizard.appspec import AppSpec
from wizard.errors import SpecError, WizardError, one_line

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
APP_MODULE_NAME = "comfy_space_app"  # not "app": ComfyUI has a top-level package of that name
PROGRESS_POLL_S = 0.2  # how often the wizard reads the worker's new progress lines
BYTES_REPORT_S = 0.25  # the worker writes a download's byte count at most this often
ProgressListener = Callable[[Report], None]


class TestRunError(WizardError):
    """The built app could not run with these inputs; the message is the app's own, in one line."""

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class TestRunResult:
    """One run of a built app's `generate`.

    Attributes:
        files: the output files, copied to `out_dir`.
        seconds: how long `generate` took.
        recommended_duration: the GPU seconds the app should ask ZeroGPU for (`@spaces.GPU(duration=...)`).
    """

    __test__ = False

    files: tuple[Path, ...]
    seconds: float
    recommended_duration: int


def run_app(
    app_dir: str | Path,
    inputs: dict[str, Any],
    out_dir: str | Path,
    on_progress: ProgressListener | None = None,
) -> TestRunResult:
    """Runs `generate` of the app in `app_dir` with `inputs` once: parameter name -> text (the command
    line) or the value its component gives (the page); `on_progress` hears each stage and step."""
    app_dir = Path(app_dir).resolve()
    if not (app_dir / "app.py").is_file() or not (app_dir / "appspec.json").is_file():
        raise WizardError(
            f"{app_dir} is not a folder written by `python -m wizard build` (no app.py/appspec.json)"
        )
    spec = _read_spec(app_dir)
    values = _convert_inputs(app_contract.parameters(spec), inputs)
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wizard-testrun-") as scratch:
        request = Path(scratch) / "request.json"
        result_path = Path(scratch) / "result.json"
        progress_path = Path(scratch) / "progress.jsonl"
        request.write_text(
            json.dumps({"values": values, "out_dir": str(out_dir), "progress": str(progress_path)}),
            encoding="utf-8",
        )
        with _ProgressReader(progress_path, on_progress):
            _run_worker(app_dir, request, result_path, out_dir, on_progress)
        if not result_path.is_file():
            raise TestRunError("the app's process ended before it ran; see the log above")
        result = json.loads(result_path.read_text(encoding="utf-8"))
    if result.get("error"):
        raise TestRunError(result["error"])
    return TestRunResult(
        files=tuple(Path(path) for path in result["files"]),
        seconds=result["seconds"],
        recommended_duration=result["recommended_duration"],
    )


# --- inputs (in the wizard's process) ------------------------------------------------------------


def _read_spec(app_dir: Path) -> AppSpec:
    path = app_dir / "appspec.json"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WizardError(f"cannot read {path}: {error}") from None
    try:
        return AppSpec.from_json(text)
    except SpecError as error:
        raise WizardError(f"{path} is not a valid AppSpec: {error}") from None


def _convert_inputs(parameters: tuple[Parameter, ...], inputs: dict[str, str]) -> dict[str, Any]:
    """JSON values for `generate`: given texts converted by type, the spec's defaults for the rest."""
    by_name = {parameter.name: parameter for parameter in parameters}
    unknown = sorted(set(inputs) - set(by_name))
    if unknown:
        known = ", ".join(by_name) or "none"
        raise WizardError(f"this app has no input {unknown[0]!r}; its inputs are: {known}")
    values: dict[str, Any] = {}
    for parameter in parameters:
        item = parameter.input
        if inputs.get(parameter.name) is not None:
            values[parameter.name] = _convert(parameter, inputs[parameter.name])
        elif item is None:
            # A seed given on the command line is meant to be used, so it is not randomized then.
            values[parameter.name] = not any(
                other.input is not None and other.input.randomize and name in inputs
                for name, other in by_name.items()
            )
        elif item.value_type == "FILE":
            raise WizardError(f"{item.label} needs a file (the command line: --input {parameter.name}=PATH)")
        else:
            values[parameter.name] = item.default
    return values


def _convert(parameter: Parameter, text: Any) -> Any:
    """The value `generate` gets for a text of the command line, or for a component's value."""
    name, item = parameter.name, parameter.input
    kind = "BOOLEAN" if item is None else item.value_type  # the seed randomizer is a checkbox
    if not isinstance(text, str):
        return _typed(parameter, kind, text)
    if kind == "INT":
        try:
            return int(text)
        except ValueError:
            raise WizardError(f"input {name!r} needs a whole number, got {text!r}") from None
    if kind == "FLOAT":
        try:
            return float(text)
        except ValueError:
            raise WizardError(f"input {name!r} needs a number, got {text!r}") from None
    if kind == "BOOLEAN":
        if text.strip().lower() in TRUE_WORDS | FALSE_WORDS:
            return text.strip().lower() in TRUE_WORDS
        raise WizardError(f"input {name!r} needs true or false, got {text!r}")
    if kind == "COMBO" and item.choices is not None:
        for choice in item.choices:
            if str(choice) == text:
                return choice
        shown = ", ".join(map(str, item.choices[:10]))
        raise WizardError(f"input {name!r} must be one of: {shown}; got {text!r}")
    if kind == "FILE":
        path = Path(text).expanduser().resolve()
        if not path.is_file():
            raise WizardError(f"input {name!r}: no file at {text!r}")
        return {"file": str(path), "layers": [], "editor": item.component == "ImageEditor"}
    return text


def _typed(parameter: Parameter, kind: str, value: Any) -> Any:
    """A component's value: numbers as the type asks (a Slider gives 25.0 for an INT), a bool, a choice as
    it is; a file as a path, and an ImageEditor's {"background": path, "layers": [paths]}."""
    name = parameter.name
    if kind == "FILE" and isinstance(value, dict):
        if not value.get("background"):
            raise WizardError(f"{parameter.label}: add an image first")
        converted = _convert(parameter, str(value["background"]))
        return {**converted, "layers": [str(layer) for layer in value.get("layers") or []]}
    if kind == "INT" and isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if kind == "FLOAT" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "BOOLEAN" and isinstance(value, bool):
        return value
    if kind == "COMBO" and parameter.input.choices is not None and value in parameter.input.choices:
        return value
    raise WizardError(f"input {name!r} cannot take {value!r}")


# --- the app's process ---------------------------------------------------------------------------


def _run_worker(
    app_dir: Path, request: Path, result_path: Path, out_dir: Path, on_progress: ProgressListener | None
) -> None:
    """Runs `_worker` in the sandbox (`wizard.sandbox`): an allowlisted environment, a throwaway copy of
    the app and of ComfyUI's data and custom-node folders, limits, and every process killed at its end."""
    from wizard.sandbox import TEST_RUN_TIMEOUT_VARIABLE, run_app_sandboxed, test_run_limits

    # Inside the wizard's own ZeroGPU call the GPU is already held: the app runs as on a plain GPU
    # machine, without a second `spaces` emulation of its own (SPACES_ZERO_GPU is not passed on).
    limits = test_run_limits()
    command = ["wizard.testrun", str(request), str(result_path)]
    values = json.loads(request.read_text(encoding="utf-8"))["values"].values()
    files = [
        Path(path)
        for value in values
        if isinstance(value, dict) and "file" in value
        for path in (value["file"], *value["layers"])
    ]
    fetching = (lambda line: on_progress(Report(line))) if on_progress is not None else None
    result = run_app_sandboxed(
        app_dir,
        command,
        writable=(request.parent, out_dir),
        readable=files,
        limits=limits,
        progress=fetching,  # the wizard fetches the lock's packs first: "fetching kijai/ComfyUI-KJNodes…"
    )
    if result.timed_out:
        raise TestRunError(
            f"the app did not finish within {limits.wall_s:g} s and was stopped; "
            f"set {TEST_RUN_TIMEOUT_VARIABLE} to allow more"
        )
    if result.cancelled:
        raise TestRunError("the Test run was cancelled; its processes were stopped")


def _worker(request_path: Path, result_path: Path) -> None:
    """In the app's process (cwd = the app folder): import app.py, call generate, save its outputs."""
    request = json.loads(request_path.read_text(encoding="utf-8"))
    spec = _read_spec(Path.cwd())
    writer = _ProgressWriter(Path(request["progress"]))
    try:
        from runtime import progress  # the app's own copy (its folder comes first on sys.path)

        progress.listen(writer)
        app = _import_app(Path.cwd() / "app.py")
        uploads_from = getattr(app.workflow, "uploads_from", None)
        values = {name: _app_value(value, uploads_from) for name, value in request["values"].items()}
        started = time.perf_counter()
        returned = app.generate(**values, progress=writer.step)
        seconds = time.perf_counter() - started
        files = _save_outputs(spec, returned, Path(request["out_dir"]))
        result = {
            "files": files,
            "seconds": seconds,
            "recommended_duration": app.workflow.recommended_duration(),
        }
    except Exception as error:  # reported to the wizard as one line, whatever the app raised
        result = {"error": _failure_reason(error)}
    result_path.write_text(json.dumps(result), encoding="utf-8")


def _import_app(path: Path):
    module_spec = importlib.util.spec_from_file_location(APP_MODULE_NAME, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[APP_MODULE_NAME] = module
    module_spec.loader.exec_module(module)
    return module


def _staged_upload(path: str, uploads_from: tuple[Path, ...] | None) -> str:
    """A copy of the local file in the folder the app takes uploads from (Gradio's upload folder, where the
    Space's web server stages them), removed when the worker exits."""
    if uploads_from is None or not Path(path).is_file():
        return path  # an app that takes any path; or a missing file, which the app's message names
    uploads_from[0].mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="wizard-testrun-", dir=uploads_from[0]))
    atexit.register(shutil.rmtree, folder, True)
    return shutil.copy(path, folder / Path(path).name)


def _app_value(value: Any, uploads_from: tuple[Path, ...] | None) -> Any:
    """A file input as the app's component delivers it: a path in Gradio's upload folder, or an
    ImageEditor's dict."""
    if not isinstance(value, dict):
        return value
    if not value["editor"]:
        return _staged_upload(value["file"], uploads_from)
    from PIL import Image

    image = Image.open(value["file"])
    layers = [Image.open(layer) for layer in value["layers"]]
    return {"background": image, "layers": layers, "composite": image}


class _ProgressWriter:
    """In the worker: every report as one JSON line appended to the run's progress file (a download's
    byte counts at most every BYTES_REPORT_S); `step` is the `progress` argument `generate` gets."""

    def __init__(self, path: Path) -> None:
        self.path, self.last = path, (None, 0.0)

    def __call__(self, report: Report) -> None:
        now = time.monotonic()
        finished = report.total is not None and report.done == report.total
        if report.unit == "bytes" and self.last[0] == report.stage and now - self.last[1] < BYTES_REPORT_S:
            if not finished:
                return
        self.last = (report.stage, now)
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(report.to_json()) + "\n")

    def step(self, value: Any, desc: str | None = None, **_ignored: Any) -> None:
        """`gr.Progress`'s call: (done, total) of a node's steps, named by the node's title."""
        if isinstance(value, tuple):
            self(Report(desc or "Running", value[0], value[1], "steps"))


class _ProgressReader:
    """In the wizard, while the worker runs: hands each new line of the progress file to `listener`."""

    def __init__(self, path: Path, listener: ProgressListener | None) -> None:
        self.path, self.listener = path, listener
        self.offset, self.stopped = 0, threading.Event()
        self.thread = threading.Thread(target=self._follow, name="test-run-progress", daemon=True)

    def __enter__(self) -> "_ProgressReader":
        if self.listener is not None:
            self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        if self.listener is not None:
            self.stopped.set()
            self.thread.join()

    def _follow(self) -> None:
        while not self.stopped.wait(PROGRESS_POLL_S):
            self._read_new()
        self._read_new()  # what came after the last look

    def _read_new(self) -> None:
        try:
            with self.path.open("rb") as file:
                file.seek(self.offset)
                chunk = file.read()
        except FileNotFoundError:
            return
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next look
        self.offset += len(complete)
        for line in complete.splitlines():
            try:
                report = Report.from_json(json.loads(line))
            except (ValueError, TypeError):
                continue  # not a report: the worker writes only these, so nothing is lost
            self.listener(report)


def _save_outputs(spec: AppSpec, returned: Any, out_dir: Path) -> list[str]:
    """Copies each output's files into `out_dir` (texts as `<name>.txt`); returns the new paths."""
    returns = app_contract.return_values(spec)
    values = returned if len(returns) > 1 else (returned,)
    saved: list[str] = []
    for value, returned_value in zip(values, returns):
        output = returned_value.output
        if output is None:
            continue  # a seed the run used
        if output.kind == "text":
            target = out_dir / f"{output.name}.txt"
            target.write_text(str(value), encoding="utf-8")
            saved.append(str(target))
            continue
        for source in value if isinstance(value, (list, tuple)) else [value]:
            if source:
                saved.append(str(_copy_unique(Path(source), out_dir)))
    return saved


def _copy_unique(source: Path, out_dir: Path) -> Path:
    target = free_name(out_dir, source.name)
    shutil.copyfile(source, target)
    return target


def _failure_reason(error: Exception) -> str:
    """The user-facing text: a RunError's own message (gr.Error wraps it in the app), else the type too."""
    cause = error.__cause__ if type(error).__name__ == "Error" and error.__cause__ is not None else error
    message = one_line(str(cause)) or type(cause).__name__
    if type(cause).__module__.startswith("runtime."):
        return message
    return f"the app failed: {type(cause).__name__}: {message}"


if __name__ == "__main__":
    _worker(Path(sys.argv[1]), Path(sys.argv[2]))
