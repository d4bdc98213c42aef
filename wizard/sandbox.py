"""Runs third-party code (custom-node packs, a built app's Test run, pip) in a sandboxed worker process,
and reads custom-node packs' node definitions there (`dump_pack_definitions`).

Every worker gets:
- an environment built from an allowlist (`PATH`, `LANG`…, `HOME` and `TMPDIR` in its own throwaway
  folder, `PYTHONPATH` for the wizard and the packs' requirement overlays): no `HF_TOKEN`, no `OAUTH_*`,
  no wizard state; a caller adds only named, non-secret variables;
- its own throwaway run folder: ComfyUI's user/input/output/temp folders, and a shadow of the ComfyUI
  checkout (links to its files, but a `custom_nodes/` of its own holding copies of the packs), so
  neither the checkout nor the pack cache is ever a pack's working copy;
- resource limits set in the child before it starts (`resource.setrlimit`: memory, CPU seconds, file
  size, no core dumps) and a wall-time limit;
- its own session (`start_new_session=True`); at its end (finish, cancel, timeout, or an exception in
  the wizard) its whole process group is killed, and so is every process that still carries the run's
  marker variable in its environment (`/proc/<pid>/environ`), which catches children that left the
  group with `setsid`.

Where Linux namespaces can be made (the wizard runs as root, or user namespaces are allowed: most
Linux desktops and CI machines, this project's dev machine), the worker also runs under
`unshare --mount --pid --fork --kill-child` (util-linux, in every Debian image) with
`wizard/worker/jail.py` first:
- its own PID namespace: when the worker ends, the kernel kills every process left in it, daemons too;
- its own mount namespace: everything read-only (the wizard's tree and site-packages, the ComfyUI
  checkout, the pack cache) except the run folder and the caller's `writable` paths; the wizard user's
  home, `HF_HOME`, `/tmp`, `/var/tmp` and `/dev/shm` replaced by empty throwaway folders (no token file
  to read); no capabilities (`setpriv`), so root inside cannot remount;
- its own network namespace (no network at all) unless the caller needs it (pip, a Test run).

On a Hugging Face Space (not root, and Docker's seccomp refuses new user namespaces) only the first list
applies: the worker cannot read the wizard's secrets from its environment and leaves no process behind
(unless it re-executes itself with a scrubbed environment and a new session: the marker is gone then),
but it can read and write whatever the Space's user can. `isolation()` says which level applies; the
hosted wizard runs Test runs on the user's own ZeroGPU Space instead (issue 16), and pack definitions
come from the Comfy Registry first (issue 15), so on a Space this worker only imports packs whose
definitions are not published.

Packs are cloned by the wizard itself (plain `git`, partial and sparse: see `fetch_pack`) into
`<cache>/packs/`, never into the ComfyUI checkout; their requirements go to `<cache>/overlays/`
(`install_requirements`), never into the wizard's site-packages; pip itself runs in the sandbox too,
since building an sdist runs its code. A Test run's models come from the Hub cache without a token:
gated files must be downloaded once beforehand (`hf download`).
"""

from __future__ import annotations

import functools
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wizard.errors import WizardError, fix

WIZARD_ROOT = Path(__file__).resolve().parent.parent
_JAIL = WIZARD_ROOT / "wizard" / "worker" / "jail.py"
RUN_MARKER = "COMFY_WIZARD_SANDBOX_RUN"  # set in every worker's environment: finds its stray processes
NAMESPACES = "namespaces"
PROCESS_GROUP = "process group"
_PASSED_VARIABLES = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|OAUTH|API_?KEY|PRIVATE", re.IGNORECASE)
_SHARED_TEMP_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")
_KILL_WAIT_S = 5.0


def _install_comfyui() -> str:
    """How to get the ComfyUI checkout the wizard needs, for whoever reads it."""
    return fix(
        "install it with `python -m runtime.install` or set COMFYUI_PATH",
        "this hosted wizard lacks its ComfyUI install, which its owner must add (please report it)",
    )


class SandboxError(WizardError):
    """The sandboxed worker could not be started."""


@dataclass(frozen=True)
class Limits:
    """What one worker may use.

    Attributes:
        wall_s: seconds from start to kill.
        memory_bytes: its data segment (`RLIMIT_DATA`: heap and private mappings, so CUDA's address
            space reservations do not count), per process.
        cpu_s: CPU seconds per process (`RLIMIT_CPU`).
        file_bytes: the largest file it may write (`RLIMIT_FSIZE`).
    """

    wall_s: float
    memory_bytes: int = 16 * 2**30
    cpu_s: int | None = None  # None: the wall time on every core
    file_bytes: int = 4 * 2**30


@dataclass(frozen=True)
class SandboxResult:
    """How a worker ended.

    Attributes:
        returncode: its exit status (negative: the signal that ended it).
        timed_out: it ran past its wall-time limit and was killed.
        cancelled: the caller's cancel event was set and it was killed.
        log: what it wrote to stdout and stderr, when the caller did not take them.
        isolation: `NAMESPACES` or `PROCESS_GROUP` (see the module docstring).
    """

    returncode: int
    timed_out: bool
    cancelled: bool
    log: str
    isolation: str

    def last_line(self) -> str:
        lines = [line.strip() for line in self.log.splitlines() if line.strip()]
        return lines[-1] if lines else f"it exited with status {self.returncode}"


@functools.cache
def isolation() -> str:
    """`NAMESPACES` where this process can run the jail (namespaces made, mounts done, capabilities
    dropped), else `PROCESS_GROUP`. `COMFY_WIZARD_SANDBOX=process-group` forces the weaker level (to
    test it)."""
    if os.environ.get("COMFY_WIZARD_SANDBOX") == "process-group":
        return PROCESS_GROUP
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        return PROCESS_GROUP
    with tempfile.TemporaryDirectory(prefix="wizard-sandbox-probe-") as probe_dir:
        visible = [str(WIZARD_ROOT), *map(str, _python_environment())]
        jail = {"writable": [probe_dir], "visible": visible, "masked": _masked_folders()}
        probe = [*_unshare_prefix(network=False), sys.executable, "-I", str(_JAIL), json.dumps(jail), "--"]
        try:
            completed = subprocess.run([*probe, "true"], capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            return PROCESS_GROUP
    return NAMESPACES if completed.returncode == 0 else PROCESS_GROUP


def _unshare_prefix(network: bool) -> list[str]:
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    net = [] if network else ["--net"]
    return ["unshare", *user, "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", *net, "--"]


def worker_environment(
    run_dir: Path, python_path: Sequence[Path], extra: Mapping[str, str], marker: str
) -> dict[str, str]:
    """The worker's whole environment: the allowlist, its own HOME/TMPDIR, PYTHONPATH, the run marker and
    `extra`; refuses an `extra` name that looks like a secret (a programming error, not a user's)."""
    secret = sorted(name for name in extra if _SECRET_NAME.search(name))
    if secret:
        raise ValueError(f"secrets are never passed to a sandboxed worker: {', '.join(secret)}")
    env = {name: os.environ[name] for name in _PASSED_VARIABLES if name in os.environ}
    env.update(
        HOME=str(run_dir / "home"),
        TMPDIR=str(run_dir / "tmp"),
        PYTHONPATH=os.pathsep.join(str(path) for path in python_path),
        PYTHONNOUSERSITE="1",
        PYTHONDONTWRITEBYTECODE="1",  # no .pyc files written into the packs or the wizard
        PYTHONUNBUFFERED="1",
        **{RUN_MARKER: marker},
    )
    env.update(extra)
    return env


def run_sandboxed(
    command: Sequence[str],
    run_dir: Path,
    limits: Limits,
    *,
    cwd: Path | None = None,
    writable: Sequence[Path] = (),
    visible: Sequence[Path] = (),
    python_path: Sequence[Path] = (WIZARD_ROOT,),
    env: Mapping[str, str] | None = None,
    network: bool = False,
    cancel: threading.Event | None = None,
    log: IO | None = None,
) -> SandboxResult:
    """Runs `command` in a worker and waits for it; every process it started is gone on return.

    `run_dir` (an empty folder of the caller's, deleted by the caller) becomes the worker's own: HOME,
    TMPDIR and whatever the command writes. `writable` folders may be written too, `visible` paths are
    read (needed where a namespace masks the home folder: the ComfyUI checkout, the pack cache); the
    Python environment and the wizard's tree are always visible. `log` takes stdout and stderr (else
    they are captured into `SandboxResult.log`).
    """
    run_dir = run_dir.resolve()
    (run_dir / "home").mkdir(parents=True, exist_ok=True)
    (run_dir / "tmp").mkdir(exist_ok=True)
    marker = uuid.uuid4().hex
    environment = worker_environment(run_dir, python_path, env or {}, marker)
    level = isolation()
    full_command = list(command)
    if level == NAMESPACES:
        jail = {
            "writable": [str(run_dir), *(str(Path(path).resolve()) for path in writable)],
            "visible": sorted(
                {str(Path(path).resolve()) for path in (*visible, *python_path, *_python_environment())}
            ),
            "masked": _masked_folders(),
        }
        full_command = [
            *_unshare_prefix(network),
            sys.executable,
            "-I",  # isolated: the jail imports the standard library only, whatever PYTHONPATH holds
            str(_JAIL),
            json.dumps(jail),
            "--",
            *full_command,
        ]
    with tempfile.TemporaryFile() as captured:
        output = log if log is not None else captured
        try:
            process = subprocess.Popen(
                full_command,
                cwd=cwd or run_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                preexec_fn=functools.partial(_apply_limits, limits),
            )
        except OSError as error:
            raise SandboxError(f"could not start the sandboxed worker {command[0]}: {error}") from None
        timed_out = cancelled = False
        deadline = time.monotonic() + limits.wall_s
        try:
            while process.poll() is None:
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                try:
                    process.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            _kill_everything(process, marker)
        captured.seek(0)
        text = captured.read().decode("utf-8", errors="replace") if log is None else ""
    return SandboxResult(process.returncode, timed_out, cancelled, text, level)


def _python_environment() -> list[Path]:
    """The interpreter and its libraries: the worker runs `sys.executable`."""
    return [Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent]


def _masked_folders() -> list[str]:
    """Folders replaced by empty throwaway ones: the wizard user's home (tokens, git credentials), the
    Hugging Face home wherever it is, and the temp folders other processes share."""
    folders = [str(Path.home()), *_SHARED_TEMP_FOLDERS]
    if os.environ.get("HF_HOME"):
        folders.append(str(Path(os.environ["HF_HOME"]).resolve()))
    return [folder for folder in folders if folder != "/"]


def _apply_limits(limits: Limits) -> None:
    """In the child, before it runs anything: the limits hold for it and all its descendants."""
    cpu_s = limits.cpu_s or int(limits.wall_s * (os.cpu_count() or 1)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
    resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _kill_everything(process: subprocess.Popen, marker: str) -> None:
    """Kills the worker's process group and every process carrying its marker, and waits until they are gone."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    deadline = time.monotonic() + _KILL_WAIT_S
    while (stray := marked_processes(marker)) and time.monotonic() < deadline:
        for pid in stray:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def marked_processes(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment holds `RUN_MARKER=marker`."""
    needle = f"{RUN_MARKER}={marker}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as environ:
                if needle not in environ.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as stat:
                if stat.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                    continue
        except OSError:
            continue
        found.append(int(entry))
    return found


# --- custom-node packs: fetched, their requirements installed, their definitions dumped -----------------

_DUMP_MEMORY_BYTES = 8 * 2**30
# Files a pack's import does not read, fetched only for a Test run: weights, media, notebooks.
_NOT_IMPORTED = (
    ".safetensors",
    ".ckpt",
    ".pt",
    ".pth",
    ".bin",
    ".onnx",
    ".gguf",
    ".task",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".mp4",
    ".webm",
    ".mov",
    ".ipynb",
)
_PIP_TIMEOUT_S = 900.0
# What pip needs to reach the package index the way the wizard's own pip does (no credentials here:
# pip reads those from its config files or keyring, which the worker does not see).
_PIP_VARIABLES = re.compile(
    r"^(PIP_(?!.*(PASSWORD|TOKEN)).*|SSL_CERT_FILE|SSL_CERT_DIR|REQUESTS_CA_BUNDLE|(HTTPS?|NO)_PROXY|(https?|no)_proxy)$"
)


@dataclass(frozen=True)
class PackDefinitions:
    """Node definitions that custom-node packs add, read by importing them in the sandboxed worker.

    Attributes:
        object_info: class_type -> its /object_info entry, for the classes the packs add.
        classes: pack name -> tuple of class_types it added.
        failures: pack label -> one-line import error (or why it could not be fetched or installed).
    """

    object_info: dict[str, dict]
    classes: dict[str, tuple[str, ...]]
    failures: dict[str, str]


@dataclass(frozen=True)
class _PreparedPack:
    """A pack ready to import: its lock-file entry, its clone in the cache, its requirements overlay."""

    entry: dict
    clone: Path
    overlay: Path | None


def cache_root() -> Path:
    """The wizard's own cache, shared with `wizard.packs` (its bare mirrors live in `packs/` too)."""
    from wizard.packs import cache_home  # here: `wizard.packs` may call this module

    return cache_home()


def _pack_key(pack: Mapping) -> str:
    from runtime.custom_nodes import pack_dir_name

    return f"{pack_dir_name(dict(pack))}-{pack['commit'][:12]}"


def fetch_pack(pack: Mapping, progress: Callable[[str], None] | None = None) -> Path:
    """The pack's checkout at its commit in `<cache>/packs/<name>-<commit12>`, cloned with plain `git`
    (so `url.<base>.insteadOf` applies) when absent. Cloning runs no code of the pack.

    The clone is partial (`--filter=blob:none`, where the server allows it) and its checkout sparse:
    files importing a pack never reads (`_NOT_IMPORTED`: weights, media, notebooks) stay on the
    server until `complete_checkout` fetches them for a Test run.
    """
    from runtime.atomic import build_then_rename
    from runtime.gitcmd import GitCommandError, check_repo_url, checkout, head_commit, run_git

    dest = cache_root() / "packs" / _pack_key(pack)
    if head_commit(dest) == pack["commit"]:
        return dest
    if dest.exists():
        shutil.rmtree(dest)  # an interrupted or foreign folder: fetched again
    if progress is not None:
        progress(f"fetching {pack.get('pack')} {pack['commit'][:7]}…")

    def clone(tmp: Path) -> None:
        check_repo_url(pack["repo"])
        run_git("clone", "--quiet", "--no-checkout", "--filter=blob:none", "--", pack["repo"], str(tmp))
        patterns = ["/*", *(f"!*{extension}" for extension in _NOT_IMPORTED)]
        run_git("sparse-checkout", "set", "--no-cone", *patterns, cwd=tmp)
        checkout(tmp, pack["commit"])

    try:
        build_then_rename(dest, clone)
    except GitCommandError as error:
        raise WizardError(f"could not fetch it from {pack['repo']}: {error}") from None
    return dest


def complete_checkout(pack: Mapping, checkout_dir: Path) -> None:
    """Checks out the files `fetch_pack` left on the server, in a copy of its checkout."""
    from runtime.gitcmd import GitCommandError, run_git

    try:
        run_git("sparse-checkout", "disable", cwd=checkout_dir)
    except GitCommandError as error:
        raise WizardError(f"could not fetch all its files from {pack['repo']}: {error}") from None


def install_requirements(
    pack: Mapping, clone: Path, progress: Callable[[str], None] | None = None
) -> Path | None:
    """The overlay folder holding what the pack's `requirements.txt` adds to the wizard's environment
    (`<cache>/overlays/<name>-<commit12>`, put on the worker's PYTHONPATH), or None when it has none.

    pip resolves in the sandbox against the installed packages (`--dry-run --report`); a pack whose
    requirements would replace the pinned torch, torchvision or torchaudio is refused, the rest is
    installed with `--target` into the overlay, never into the wizard's site-packages.
    """
    from runtime.atomic import build_then_rename
    from runtime.custom_nodes import PROTECTED_PACKAGES, protected_versions

    requirements = clone / "requirements.txt"
    if not requirements.is_file():
        return None
    overlay = cache_root() / "overlays" / _pack_key(pack)
    if overlay.is_dir():
        return overlay
    if progress is not None:
        progress(f"installing the requirements of {pack.get('pack')}…")
    with tempfile.TemporaryDirectory(prefix="wizard-pip-") as scratch:
        run_dir = Path(scratch)
        shutil.copyfile(requirements, run_dir / "requirements.txt")
        try:
            wanted = _resolve_requirements(run_dir, "requirements.txt")
        except WizardError:
            # As ComfyUI-Manager installs them, line by line: one that cannot be had (a git URL
            # out of reach, no wheel for this Python) is skipped, and the pack may still import.
            wanted = {}
            for index, line in enumerate(_requirement_lines(requirements)):
                (run_dir / f"line-{index}.txt").write_text(line + "\n", encoding="utf-8")
                try:
                    wanted.update(_resolve_requirements(run_dir, f"line-{index}.txt"))
                except WizardError as error:
                    if progress is not None:
                        progress(f"skipping the requirement {line!r} of {pack.get('pack')}: {error}")
        installed = protected_versions()
        for name, (version, _source) in wanted.items():
            if name in PROTECTED_PACKAGES:
                raise WizardError(
                    f"its requirements would replace {name} {installed.get(name, '(not installed)')} with "
                    f"{version}; the wizard keeps the pinned {name}: pin a commit of the pack whose "
                    "requirements accept it"
                )

        def install(tmp: Path) -> None:
            if wanted:
                sources = [source for _version, source in wanted.values()]
                _run_pip(["install", "--quiet", "--no-deps", "--target", str(tmp), *sources], run_dir, (tmp,))

        return build_then_rename(overlay, install)


def _requirement_lines(requirements: Path) -> list[str]:
    lines = (line.split(" #", 1)[0].strip() for line in requirements.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _resolve_requirements(run_dir: Path, requirements_name: str) -> dict[str, tuple[str, str]]:
    """What pip would add or change for `-r requirements_name` (a file in `run_dir`), against the installed
    packages: normalized name -> (version, what to install: `name==version` or its direct URL)."""
    report = run_dir / "report.json"
    report.unlink(missing_ok=True)
    _run_pip(
        ["install", "--dry-run", "--quiet", "--report", str(report), "-r", requirements_name], run_dir, ()
    )
    wanted = {}
    for item in json.loads(report.read_text(encoding="utf-8")).get("install", []):
        name = re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower()
        version = item["metadata"]["version"]
        source = f"{name}=={version}"
        if item.get("is_direct"):
            info = item["download_info"]
            vcs = info.get("vcs_info")
            source = f"{vcs['vcs']}+{info['url']}@{vcs['commit_id']}" if vcs else info["url"]
        wanted[name] = (version, source)
    return wanted


def _run_pip(arguments: list[str], run_dir: Path, writable: Sequence[Path]) -> None:
    env = {name: value for name, value in os.environ.items() if _PIP_VARIABLES.match(name)}
    result = run_sandboxed(
        [sys.executable, "-m", "pip", *arguments],
        run_dir,
        Limits(wall_s=_PIP_TIMEOUT_S),
        writable=writable,
        python_path=(),
        env=env,
        network=True,
    )
    if result.timed_out:
        raise WizardError(f"pip did not finish its requirements within {_PIP_TIMEOUT_S:g} s")
    if result.returncode != 0:
        # pip's own "ERROR: ..." line says what failed; its last line is often generic advice.
        errors = [line for line in result.log.splitlines() if line.startswith("ERROR: ")]
        reason = errors[-1].removeprefix("ERROR: ") if errors else result.last_line()
        raise WizardError(f"pip could not install its requirements: {reason}")


def prepare_pack(pack: Mapping, progress: Callable[[str], None] | None = None) -> _PreparedPack:
    """The pack fetched into the cache with its requirements installed into its overlay."""
    if not _is_pinned(pack):
        raise WizardError("it has no git repository and 40-hex commit to fetch (pin it first)")
    clone = fetch_pack(pack, progress)
    return _PreparedPack(dict(pack), clone, install_requirements(pack, clone, progress))


def _is_pinned(pack: Mapping) -> bool:
    return bool(pack.get("repo")) and bool(re.fullmatch(r"[0-9a-f]{40}", pack.get("commit") or ""))


def _definitions_cache(comfyui_commit: str, pack: Mapping) -> Path:
    return cache_root() / "definitions" / f"comfyui-{comfyui_commit[:12]}" / f"{_pack_key(pack)}.json"


def dump_pack_definitions(
    packs: Sequence[dict],
    *,
    progress: Callable[[str], None] | None = None,
    timeout_s: float = 300.0,
    offline: bool = False,
) -> PackDefinitions:
    """The node definitions each pack adds, by importing it into the pinned ComfyUI in the sandboxed worker.

    `packs` are lock-file entries (`{"pack", "repo", "commit", ...}`). Results are cached by (ComfyUI
    commit, pack, commit); `offline` uses only that cache. A pack that cannot be fetched, installed or
    imported is named in `failures` with its one-line reason; the others' definitions are still
    returned. All packs import together in one worker; when that worker does not finish within
    `timeout_s`, each pack gets a worker of its own, so the one that hangs is named.
    """
    from runtime.gitcmd import head_commit
    from runtime.locate import COMFYUI_COMMIT, default_install_dir, find_comfyui

    comfyui_path = find_comfyui()
    if comfyui_path is None:
        raise WizardError(
            f"no ComfyUI checkout at {os.environ.get('COMFYUI_PATH') or default_install_dir()} to read "
            "custom-node definitions with; " + _install_comfyui()
        )
    from runtime.custom_nodes import pack_dir_name

    comfyui_commit = head_commit(comfyui_path) or COMFYUI_COMMIT
    object_info: dict[str, dict] = {}
    classes: dict[str, tuple[str, ...]] = {}
    failures: dict[str, str] = {}
    to_import: list[_PreparedPack] = []
    for pack in packs:
        name = _pack_name(pack)
        if not _is_pinned(pack):
            failures[name] = "it has no git repository and 40-hex commit to fetch (pin it first)"
            continue
        cached = _definitions_cache(comfyui_commit, pack)
        if cached.is_file():
            entry = json.loads(cached.read_text(encoding="utf-8"))
            object_info.update(entry["object_info"])
            classes[name] = tuple(entry["classes"])
            continue
        if offline:
            failures[name] = f"its definitions at {pack['commit'][:7]} are not cached; run without --offline"
            continue
        try:
            to_import.append(prepare_pack(pack, progress))
        except WizardError as error:
            failures[name] = str(error)
    while to_import:
        if progress is not None:
            progress(f"reading the node definitions of {', '.join(_pack_name(p.entry) for p in to_import)}…")
        outcome = _dump_in_worker(comfyui_path, to_import, timeout_s)
        if outcome.error is not None:
            # The pack it was importing is named; the others get another worker.
            culprits = [p for p in to_import if pack_dir_name(p.entry) == outcome.importing] or to_import
            failures.update({_pack_name(p.entry): outcome.error for p in culprits})
            to_import = [p for p in to_import if p not in culprits]
            continue
        for prepared in to_import:
            name = _pack_name(prepared.entry)
            if name in outcome.failures:
                failures[name] = outcome.failures[name]
                continue
            module = f"custom_nodes.{pack_dir_name(prepared.entry)}"  # ComfyUI's RELATIVE_PYTHON_MODULE
            added = {
                key: value
                for key, value in outcome.object_info.items()
                if value.get("python_module") == module
            }
            object_info.update(added)
            classes[name] = tuple(sorted(added))
            cache = _definitions_cache(comfyui_commit, prepared.entry)
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"object_info": added, "classes": sorted(added)}), encoding="utf-8")
        to_import = []
    return PackDefinitions(object_info, classes, failures)


def _pack_name(pack: Mapping) -> str:
    from runtime.custom_nodes import pack_name

    return pack_name(dict(pack))


@dataclass(frozen=True)
class _DumpOutcome:
    """What one definitions worker gave.

    Attributes:
        object_info: every class it dumped (core ones too).
        failures: pack name -> its import error, for packs ComfyUI did not load.
        error: why the worker gave nothing (timed out, crashed), else None.
        importing: the pack folder it was importing when it stopped, if any.
    """

    object_info: dict[str, dict]
    failures: dict[str, str]
    error: str | None = None
    importing: str | None = None


def _dump_in_worker(comfyui_path: Path, group: Sequence[_PreparedPack], timeout_s: float) -> _DumpOutcome:
    with tempfile.TemporaryDirectory(prefix="wizard-definitions-") as scratch:
        run_dir = Path(scratch)
        shadow = _shadow_checkout(comfyui_path, run_dir / "ComfyUI", group, complete=False)
        files = {name: run_dir / f"{name}.json" for name in ("packs", "object_info", "failures", "progress")}
        files["packs"].write_text(json.dumps([prepared.entry for prepared in group]), encoding="utf-8")
        overlays = [prepared.overlay for prepared in group if prepared.overlay is not None]
        command = [sys.executable, "-m", "wizard.worker.object_info", "--comfyui", str(shadow)]
        command += ["--packs", str(files["packs"])]
        command += ["--failures", str(files["failures"]), "--output", str(files["object_info"])]
        command += ["--progress", str(files["progress"])]
        result = run_sandboxed(
            command,
            run_dir,
            Limits(wall_s=timeout_s, memory_bytes=_DUMP_MEMORY_BYTES),
            visible=(comfyui_path, *overlays),
            python_path=(WIZARD_ROOT, *overlays),
        )
        if result.timed_out or result.returncode != 0 or not files["object_info"].is_file():
            started = (
                files["progress"].read_text(encoding="utf-8").splitlines()
                if files["progress"].is_file()
                else []
            )
            importing = Path(started[-1]).name if started else None
            if result.timed_out:
                error = f"importing it did not finish within {timeout_s:g} s; it was stopped"
            else:
                error = f"the worker importing it failed: {result.last_line()}"
            return _DumpOutcome({}, {}, error, importing)
        return _DumpOutcome(
            json.loads(files["object_info"].read_text(encoding="utf-8")),
            json.loads(files["failures"].read_text(encoding="utf-8")),
        )


# --- the local Test run --------------------------------------------------------------------------------

TEST_RUN_TIMEOUT_VARIABLE = "COMFY_WIZARD_TEST_RUN_TIMEOUT_S"
_TEST_RUN_TIMEOUT_S = 1800.0
# What a built app reads besides the allowlist: the Hub it downloads from (no token: gated models must
# already be in the cache) and the cache itself.
_HUB_VARIABLES = ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "HF_HUB_ETAG_TIMEOUT")
_APP_COPY_IGNORED = ("comfy_data", "__pycache__", ".git")


def test_run_limits() -> Limits:
    """Half an hour (or `$COMFY_WIZARD_TEST_RUN_TIMEOUT_S` seconds) and three quarters of the memory."""
    wall_s = float(os.environ.get(TEST_RUN_TIMEOUT_VARIABLE) or _TEST_RUN_TIMEOUT_S)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 3 // 4
    return Limits(wall_s=wall_s, memory_bytes=memory)


def run_app_sandboxed(
    app_dir: Path,
    module_args: Sequence[str],
    writable: Sequence[Path],
    *,
    readable: Sequence[Path] = (),
    limits: Limits | None = None,
    cancel: threading.Event | None = None,
    progress: Callable[[str], None] | None = None,
) -> SandboxResult:
    """Runs `python -m MODULE_ARGS` on a throwaway copy of the built app in `app_dir`, sandboxed.

    The copy (its `comfy_data/` fresh: uploads, outputs, temp and user folders of this run only; its
    `models/` the app's own, linked, where it has one) runs on a shadow of the ComfyUI checkout: links to the checkout's
    files but a `custom_nodes/` of its own, holding copies of the lock's packs from the pack cache (their
    requirements' overlays on PYTHONPATH). So the app's runtime installs nothing into the checkout or the
    app folder. `writable` are the folders the command writes its results to, `readable` the input files
    it reads.
    """
    from runtime.locate import DATA_DIR_NAME, default_install_dir, find_comfyui

    comfyui_path = find_comfyui()
    if comfyui_path is None:
        raise WizardError(
            f"no ComfyUI checkout at {os.environ.get('COMFYUI_PATH') or default_install_dir()} for the Test "
            "run; " + _install_comfyui()
        )
    packs = _lock_packs(app_dir)
    prepared = []
    for pack in packs:
        try:
            prepared.append(prepare_pack(pack, progress))
        except WizardError as error:
            raise WizardError(f"custom-node pack {_pack_name(pack)!r}: {error}") from None
    # The app's own model files (put there by the user or a former run) are used and kept; without that
    # folder the run gets a fresh one (Hub files are links into the Hub cache, so nothing downloads twice).
    models = app_dir / DATA_DIR_NAME / "models"
    kept_models = [models.resolve()] if models.is_dir() else []
    hub_cache = _hub_cache()
    hub_cache.mkdir(parents=True, exist_ok=True)
    overlays = [item.overlay for item in prepared if item.overlay is not None]
    with tempfile.TemporaryDirectory(prefix="wizard-testrun-") as scratch:
        run_dir = Path(scratch)
        app_copy = run_dir / "app"
        shutil.copytree(app_dir, app_copy, symlinks=True, ignore=shutil.ignore_patterns(*_APP_COPY_IGNORED))
        (app_copy / DATA_DIR_NAME).mkdir()
        if kept_models:
            (app_copy / DATA_DIR_NAME / "models").symlink_to(kept_models[0], target_is_directory=True)
        shadow = _shadow_checkout(comfyui_path, run_dir / "ComfyUI", prepared, complete=True)
        env = {name: os.environ[name] for name in _HUB_VARIABLES if name in os.environ}
        env.update(COMFYUI_PATH=str(shadow), HF_HUB_CACHE=str(hub_cache))
        log = _stderr_file()
        result = run_sandboxed(
            [sys.executable, "-m", *module_args],
            run_dir,
            limits or test_run_limits(),
            cwd=app_copy,  # first on sys.path: the app's own runtime/ is used
            writable=(*writable, *kept_models, hub_cache),
            visible=(comfyui_path, app_dir, *overlays, *readable),
            python_path=(WIZARD_ROOT, *overlays),
            env=env,
            network=True,  # the app downloads its models
            cancel=cancel,
            log=log,
        )
    if log is None:
        sys.stderr.write(result.log)
    return result


def _lock_packs(app_dir: Path) -> list[dict]:
    try:
        lock = json.loads((app_dir / "comfy.lock.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        raise WizardError(f"cannot read {app_dir / 'comfy.lock.json'}: {error}") from None
    return list(lock.get("custom_nodes") or []) if isinstance(lock, dict) else []


def _hub_cache() -> Path:
    """The Hugging Face hub cache (models only: the token lives in HF_HOME, outside it)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).resolve()
    hf_home = (
        os.environ.get("HF_HOME")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "huggingface"
    )
    return (Path(hf_home) / "hub").resolve()


def _shadow_checkout(
    comfyui_path: Path, shadow: Path, packs: Sequence[_PreparedPack], *, complete: bool
) -> Path:
    """A folder that ComfyUI takes for its checkout: links to every entry of `comfyui_path` but its own
    `custom_nodes/` (the checkout's files linked, the packs copied) and a copy of `folder_paths.py`,
    which finds `custom_nodes/`, `models/`... next to its own real path. Packs that write next to
    ComfyUI at import (Custom-Scripts' old-style `web/extensions/`) write into the shadow. `complete`:
    the packs' copies keep their `.git` and get every file (a Test run), else only what imports need.
    """
    from runtime.custom_nodes import pack_dir_name

    shadow.mkdir()
    for entry in comfyui_path.iterdir():
        if entry.name == "folder_paths.py":
            shutil.copyfile(entry, shadow / entry.name)
        elif entry.name != "custom_nodes":
            (shadow / entry.name).symlink_to(entry)
    custom_nodes = shadow / "custom_nodes"
    custom_nodes.mkdir()
    if (comfyui_path / "custom_nodes").is_dir():
        for entry in (comfyui_path / "custom_nodes").iterdir():
            (custom_nodes / entry.name).symlink_to(entry)
    for prepared in packs:
        # A copy: the pack's code may write into its own folder, never into the cache.
        target = custom_nodes / pack_dir_name(prepared.entry)
        if complete:
            # With its .git: the runtime sees the pinned commit checked out and clones nothing.
            complete_checkout(prepared.entry, shutil.copytree(prepared.clone, target, symlinks=True))
        else:
            shutil.copytree(prepared.clone, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return shadow


def _stderr_file() -> IO | None:
    """The wizard's stderr where it is a real file (the Test run's progress streams there), else None."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return sys.stderr
