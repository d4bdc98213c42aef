"""Test run on ZeroGPU: the build runs as a PRIVATE ZeroGPU Space in the user's own account.

`run_on_space` publishes the folder privately (through `wizard.publish`, one commit), follows the Space's
stages and its build and run logs until it is RUNNING, calls its `/generate` endpoint with `gradio_client`
and the user's token, writes the outputs, and writes the measured request time and the GPU duration the
app should ask for into the folder's `appspec.json`. The Space is the one Publish later makes public
(`make_public`), so a good test is one click from published. The Space's address is the Hub's own answer
(`space_info(...).host`), never built from the name.

Besides `wizard.publish`, this is the only module that talks to the Hub.

    python -m wizard run DIR --space [USER/]NAME --input NAME=VALUE ... -o OUT     (the CLI front end)
"""

from __future__ import annotations

import tempfile
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from runtime.durations import gpu_duration
from wizard import app_contract
from wizard.errors import PublishError, WizardError, one_line
from wizard.publish import Progress, _explain, _hub, _transport_errors, publish_folder, resolve_token
from wizard.publish import space_repo_id, whoami
from wizard.testrun import _convert_inputs, _read_spec, _save_outputs

# huggingface_hub `SpaceStage` values (`_space_api.py`).
WAITING_STAGES = frozenset({"BUILDING", "RUNNING_BUILDING", "APP_STARTING", "RUNNING_APP_STARTING"})
BUILD_STAGES = frozenset({"BUILDING", "RUNNING_BUILDING", "BUILD_ERROR"})
LOG_TAIL_LINES = 20
REBUILD_GRACE_S = 30.0  # how long a just-updated Space may still report its previous build's stage
DEFAULT_TIMEOUT_S = 1800.0  # a first build installs torch and ComfyUI's requirements

LogSink = Callable[[str], object]


class SpaceStageError(WizardError):
    """The Space stopped in a stage that cannot serve (BUILD_ERROR, RUNTIME_ERROR, …) or did not reach RUNNING
    in time; `stage` names it and `log_tail` holds the last lines of the log that explains it."""

    def __init__(self, message: str, *, repo_id: str, stage: str, log_tail: tuple[str, ...]):
        super().__init__(message)
        self.repo_id = repo_id
        self.stage = stage
        self.log_tail = log_tail


class SpaceCallError(WizardError):
    """The Space runs, but its `/generate` call failed; the message is the app's or ZeroGPU's, with the fix."""


@dataclass(frozen=True)
class SpaceRunResult:
    """A Test run on ZeroGPU.

    Attributes:
        repo_id: the private Space that ran it. host: its address, as the Hub reports it.
        files: the outputs, copied into the output folder. request_seconds: the `/generate` call's wall time.
        recommended_duration: the seconds `@spaces.GPU(duration=…)` should ask for (written to appspec.json,
            a `--spec` for the next build).
    """

    repo_id: str
    host: str
    files: tuple[Path, ...]
    request_seconds: float
    recommended_duration: int


def run_on_space(
    app_dir: str | Path,
    *,
    space: str,
    inputs: dict[str, str],
    out_dir: str | Path,
    token: str | None = None,
    hf_token_secret: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_interval_s: float = 2.0,
    progress: Progress | None = None,
    log: LogSink | None = None,
) -> SpaceRunResult:
    """Publish `app_dir` as the private ZeroGPU Space `space`, wait until it runs, call `/generate` with
    `inputs` (parameter name -> text, as `wizard run` takes them) and write the outputs to `out_dir`.

    `progress(fraction, desc=...)` hears each step; `log(line)` every new build or run log line."""
    app_dir = Path(app_dir).resolve()
    if not (app_dir / "appspec.json").is_file():
        raise WizardError(f"{app_dir} is not a folder written by `python -m wizard build` (no appspec.json)")
    spec = _read_spec(app_dir)
    parameters = app_contract.parameters(spec)
    values = _convert_inputs(parameters, inputs)  # bad inputs fail here, before anything is published
    report = progress or (lambda fraction, desc=None: None)
    token = resolve_token(token)
    repo_id = space_repo_id(space, whoami(token))
    previous = _head_commit(repo_id, token)
    published = publish_folder(
        app_dir,
        space=repo_id,
        private=True,
        token=token,
        hf_token_secret=hf_token_secret,
        progress=lambda fraction, desc=None: report(0.3 * fraction, desc=desc),
    )
    report(0.3, desc=f"Waiting for {repo_id} to build and start")
    watcher = _SpaceWatcher(repo_id, token, log)
    watcher.wait_until_running(
        expect_rebuild=published.commit != previous, timeout_s=timeout_s, poll_interval_s=poll_interval_s
    )
    host = _space_host(repo_id, token)
    report(0.8, desc=f"Calling /generate on {repo_id}")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wizard-space-run-") as downloads:
        returned, seconds = _call_generate(host, token, parameters, values, Path(downloads))
        files = _save_outputs(spec, _local_paths(returned), out_dir)
    duration = gpu_duration(seconds)
    replace(spec, duration=duration, measured_seconds=round(seconds, 2)).save(app_dir / "appspec.json")
    report(1.0, desc=f"Ran on {repo_id} in {seconds:.1f} s")
    return SpaceRunResult(
        repo_id=repo_id,
        host=host,
        files=tuple(Path(path) for path in files),
        request_seconds=seconds,
        recommended_duration=duration,
    )


def make_public(repo_id: str, *, token: str | None = None) -> None:
    """Publish after a good Test run: the same Space becomes public."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        _hub().update_repo_settings(repo_id, repo_type="space", private=False, token=resolve_token(token))
    except (HfHubHTTPError, *_transport_errors()) as error:
        raise _explain(error, f"making {repo_id} public", repo_id) from error


# --- the Hub -------------------------------------------------------------------------------------


def _head_commit(repo_id: str, token: str) -> str | None:
    """The Space's current commit, or None when it does not exist yet (or is hidden from this token)."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        return _hub().space_info(repo_id, token=token).sha
    except RepositoryNotFoundError:
        return None
    except (HfHubHTTPError, *_transport_errors()) as error:
        raise _explain(error, f"reading the Space {repo_id}", repo_id) from error


def _space_host(repo_id: str, token: str) -> str:
    from huggingface_hub.errors import HfHubHTTPError

    try:
        host = _hub().space_info(repo_id, token=token).host
    except (HfHubHTTPError, *_transport_errors()) as error:
        raise _explain(error, f"reading the address of {repo_id}", repo_id) from error
    if not host:
        raise PublishError(f"the Hub gives no address for {repo_id} although it runs: try the Test run again")
    return host


class _SpaceWatcher:
    """Follows one Space's stage and logs; each new log line goes to `log`, the last ones are kept."""

    def __init__(self, repo_id: str, token: str, log: LogSink | None) -> None:
        self.repo_id = repo_id
        self.token = token
        self.log = log or (lambda line: None)
        self.seen = {"build": 0, "run": 0}
        self.build_read = False  # whether the build log was read to its end
        self.tails = {"build": deque(maxlen=LOG_TAIL_LINES), "run": deque(maxlen=LOG_TAIL_LINES)}

    def wait_until_running(self, *, expect_rebuild: bool, timeout_s: float, poll_interval_s: float) -> None:
        """Return once the Space runs; raise SpaceStageError when it stops in another stage or time runs out.
        After a new commit the Hub may report the previous build's stage (RUNNING, or an error) for a moment:
        until a build or start stage shows (or REBUILD_GRACE_S pass), a final stage is not believed."""
        started = time.monotonic()
        current = not expect_rebuild
        while True:
            runtime = self._runtime()
            stage = runtime.stage
            elapsed = time.monotonic() - started
            current = current or stage in WAITING_STAGES or elapsed > REBUILD_GRACE_S
            if current:
                if stage in BUILD_STAGES or not self.build_read:
                    self._read_logs("build")  # once more after the build, for the lines of its end
                    self.build_read = stage not in BUILD_STAGES
                if stage not in BUILD_STAGES:
                    self._read_logs("run")
                if stage == "RUNNING":
                    return
                if stage not in WAITING_STAGES:
                    raise self._stage_error(stage, runtime.raw.get("errorMessage"))
            if elapsed > timeout_s:
                raise SpaceStageError(
                    f"{self.repo_id} is still {stage} after {timeout_s:.0f} s: open "
                    f"https://huggingface.co/spaces/{self.repo_id} to see its logs, then Test run again",
                    repo_id=self.repo_id,
                    stage=stage,
                    log_tail=self._tail(stage),
                )
            time.sleep(poll_interval_s)

    def _runtime(self):
        from huggingface_hub.errors import HfHubHTTPError

        try:
            return _hub().get_space_runtime(self.repo_id, token=self.token)
        except (HfHubHTTPError, *_transport_errors()) as error:
            raise _explain(error, f"reading the state of {self.repo_id}", self.repo_id) from error

    def _read_logs(self, kind: str) -> None:
        """The lines of the `kind` log not seen yet (the Hub replays a log from its start)."""
        from huggingface_hub.errors import HfHubHTTPError

        try:
            lines = list(
                _hub().fetch_space_logs(self.repo_id, build=kind == "build", follow=False, token=self.token)
            )
        except (HfHubHTTPError, *_transport_errors()):
            return  # logs are a help, not a step: the stage decides
        for line in lines[self.seen[kind] :]:
            text = line.rstrip("\n")
            self.tails[kind].append(text)
            self.log(text)
        self.seen[kind] = max(self.seen[kind], len(lines))

    def _tail(self, stage: str | None) -> tuple[str, ...]:
        return tuple(self.tails["build" if stage in BUILD_STAGES else "run"])

    def _stage_error(self, stage: str, reason: str | None) -> SpaceStageError:
        tail = self._tail(stage)
        last = next((line.strip() for line in reversed(tail) if line.strip()), "")
        why = reason or last or "no reason given"
        page = f"https://huggingface.co/spaces/{self.repo_id}"
        messages = {
            "BUILD_ERROR": f"{self.repo_id} failed to build ({why}): fix the requirement or file the build "
            "log names, rebuild and Test run again",
            "RUNTIME_ERROR": f"{self.repo_id} built, but its app stopped ({why}): read the run log, fix the "
            "workflow or its models, rebuild and Test run again",
            "CONFIG_ERROR": f"the Hub rejects {self.repo_id}'s README.md configuration ({why}): fix the front "
            "matter and Test run again",
            "NO_APP_FILE": f"{self.repo_id} has no app.py: build the app again and Test run again",
            "PAUSED": f"{self.repo_id} is paused: resume it on {page}, then Test run again",
            "STOPPED": f"{self.repo_id} is stopped: restart it on {page}, then Test run again",
        }
        message = messages.get(stage, f"{self.repo_id} is in stage {stage} ({why}): see {page}")
        return SpaceStageError(message, repo_id=self.repo_id, stage=stage, log_tail=tail)


# --- the call --------------------------------------------------------------------------------------


def _call_generate(
    host: str,
    token: str,
    parameters: tuple[app_contract.Parameter, ...],
    values: dict[str, Any],
    downloads: Path,
) -> tuple[Any, float]:
    """`/generate` with the values in the app's parameter order; (what it returned, with its files in
    `downloads`, and the seconds it took)."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    arguments = [_client_value(values[parameter.name]) for parameter in parameters]
    try:
        client = Client(host, token=token, verbose=False, download_files=str(downloads))
    except Exception as error:  # gradio_client raises plain exceptions for an unreachable app
        raise SpaceCallError(
            f"cannot reach the running Space at {host}: {_error_line(error)}; try again"
        ) from None
    try:
        started = time.perf_counter()
        returned = client.predict(*arguments, api_name="/generate")
        return returned, time.perf_counter() - started
    except AppError as error:
        raise SpaceCallError(_explain_app_error(str(error))) from None
    except Exception as error:
        raise SpaceCallError(f"the call to /generate failed: {_error_line(error)}; try again") from None
    finally:
        client.close()


def _client_value(value: Any) -> Any:
    """A file input as gradio_client sends it (an ImageEditor gets its background and composite)."""
    if not isinstance(value, dict):
        return value
    from gradio_client import handle_file

    if not value["editor"]:
        return handle_file(value["file"])
    layers = [handle_file(layer) for layer in value.get("layers", [])]
    return {
        "background": handle_file(value["file"]),
        "layers": layers,
        "composite": handle_file(value["file"]),
    }


def _local_paths(returned: Any) -> Any:
    """gradio_client's answer with each media item (`{"image": path, …}`, `{"video": path, …}`) as its path."""
    if isinstance(returned, dict):
        for key in ("image", "video", "path", "name"):
            if isinstance(returned.get(key), str):
                return returned[key]
        return returned
    if isinstance(returned, tuple):
        return tuple(_local_paths(item) for item in returned)
    if isinstance(returned, list):
        return [_local_paths(item) for item in returned]
    return returned


def _explain_app_error(message: str) -> str:
    """ZeroGPU's own refusals (spaces 0.51.3 error texts) with what to do; the app's message otherwise."""
    text = _error_line(message)
    lowered = text.lower()
    if "quota" in lowered:
        return (
            f"ZeroGPU refused the run: {text}. Your daily ZeroGPU quota is used up: wait until it resets "
            "(24 h after first use) or get more with PRO (https://huggingface.co/pricing), then Test run again"
        )
    if "illegal duration" in lowered:
        return (
            f"ZeroGPU refused the run: {text}. Lower the GPU duration in the spec, rebuild and Test run again"
        )
    if "no gpu was available" in lowered or "queue timeout" in lowered:
        return f"ZeroGPU had no free GPU ({text}): Test run again in a few minutes"
    return f"the app failed: {text}"


def _error_line(error: object) -> str:
    """An error (or a message) as one line of at most 300 characters; its class name when it says nothing."""
    return one_line(str(error), 300) or type(error).__name__
