"""`wizard.sandbox`: third-party code (custom-node packs, a built app's Test run) in a sandboxed worker.

Hostile code reads the environment (with canary `HF_TOKEN`/`OAUTH_CLIENT_SECRET` set in the parent and
a canary token file in `HF_HOME`), writes into the wizard's `runtime/`, its site-packages and the
ComfyUI checkout's `custom_nodes/`, starts a daemon with `setsid`, and sleeps forever. The tests check
that no canary reaches anything it returns or prints, that nothing outside its run changed (file
listings with sizes and mtimes), that it was killed within its limit and that no process of it is left
(/proc). Packs are local git repositories cloned through `url.<base>.insteadOf` in a test
`GIT_CONFIG_GLOBAL`, as the product's plain `git` clones real ones.

Tier 1 runs plain Python in the worker; tier 2 (marked) imports packs into the pinned ComfyUI; tier 3
(`COMFY_PACK_MIRRORS`: a folder of `<owner>+<name>/repo` bare mirrors) dumps the 10 packs of the shared
corpus and compares them with the definitions the real server gave.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import time
import uuid
from pathlib import Path

import pytest

import wizard.sandbox as sandbox
from tests.support.install_git import commit_files, init_repo
from wizard.sandbox import Limits, dump_pack_definitions, run_sandboxed

REPO_ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
CORPUS = REPO_ROOT.parent / "shared" / "data" / "customnodes"
HF_TOKEN_CANARY = "hf_canaryTOKEN" + "x" * 20
OAUTH_CANARY = "oauth-canary-secret-" + "y" * 12
FILE_TOKEN_CANARY = "hf_canaryFILE" + "z" * 20
CANARIES = (HF_TOKEN_CANARY, OAUTH_CANARY, FILE_TOKEN_CANARY)
GITHUB_BASE = "https://github.com/sandbox-tests/"

# The hostile code; {targets} are files it tries to create, {daemon_tag} names its daemon's command line.
HOSTILE = """
import json, os, subprocess, sys, time

def _attack():
    found = {{"environment": dict(os.environ), "writes": {{}}}}
    try:
        found["token_file"] = open(os.path.join(os.environ.get("HF_HOME", "/nonexistent"), "token")).read()
    except OSError as error:
        found["token_file"] = "unreadable: " + type(error).__name__
    for target in {targets!r}:
        try:
            with open(target, "w") as stream:
                stream.write("pwned")
            found["writes"][target] = "written"
        except OSError as error:
            found["writes"][target] = "blocked: " + type(error).__name__
    code = "import os, time; os.setsid(); time.sleep(100000)  # " + {daemon_tag!r}
    subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return found

FOUND = _attack()
print("HOSTILE-REPORT " + json.dumps(FOUND), file=sys.stderr, flush=True)
"""
SLEEP_FOREVER = "\ntime.sleep(10 ** 6)\n"
SPY_NODE = '''

class HostileSpy:
    """Shows what the pack could see and do, in its own definition (`report`'s default)."""

    CATEGORY = "sandbox-tests"
    FUNCTION = "run"
    RETURN_TYPES = ("STRING",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"report": ("STRING", {"default": json.dumps(FOUND)})}}

    def run(self, report):
        return (report,)


NODE_CLASS_MAPPINGS = {"HostileSpy": HostileSpy}
'''
GOOD_PACK = """
class SandboxGood:
    CATEGORY = "sandbox-tests"
    FUNCTION = "run"
    RETURN_TYPES = ("INT",)

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 7, "min": 0, "max": 9})}}

    def run(self, value):
        return (value,)


NODE_CLASS_MAPPINGS = {"SandboxGood": SandboxGood}
"""
BROKEN_PACK = "import sandbox_tests_no_such_module\n"


# --- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture
def canaries(tmp_path: Path, monkeypatch) -> None:
    """Secrets the wizard holds: in its environment and in its Hugging Face token file."""
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    (hf_home / "token").write_text(FILE_TOKEN_CANARY)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN_CANARY)
    monkeypatch.setenv("OAUTH_CLIENT_SECRET", OAUTH_CANARY)


@pytest.fixture
def daemon_tag() -> str:
    return f"sandbox-test-daemon-{uuid.uuid4().hex}"


@pytest.fixture
def targets(tmp_path: Path, comfyui_path_or_stand_in: Path):
    """Files the hostile code tries to create outside its run; removed again should one appear."""
    paths = [
        REPO_ROOT / "runtime" / f"hostile_{uuid.uuid4().hex[:8]}.py",
        SITE_PACKAGES / f"hostile_{uuid.uuid4().hex[:8]}.py",
        comfyui_path_or_stand_in / "custom_nodes" / f"hostile_{uuid.uuid4().hex[:8]}.py",
    ]
    yield paths
    for path in paths:
        path.unlink(missing_ok=True)


@pytest.fixture
def comfyui_path_or_stand_in(tmp_path: Path) -> Path:
    """The real checkout where there is one, else a read-only stand-in with a custom_nodes/ folder."""
    from runtime.locate import find_comfyui

    found = find_comfyui()
    if found is not None:
        return found
    stand_in = tmp_path / "ComfyUI"
    (stand_in / "custom_nodes").mkdir(parents=True)
    return stand_in


@pytest.fixture
def pack_sources(tmp_path: Path, monkeypatch):
    """Makes packs as local git repositories, reachable as `https://github.com/sandbox-tests/<name>`
    through `url.insteadOf` in a test GIT_CONFIG_GLOBAL; the pack cache lives in the test's folder."""
    from runtime.locate import find_comfyui

    sources = tmp_path / "sources"
    sources.mkdir()
    git_config = tmp_path / "gitconfig"
    git_config.write_text(f'[url "{sources.as_uri()}/"]\n\tinsteadOf = {GITHUB_BASE}\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(git_config))
    checkout = find_comfyui()
    if checkout is not None:
        monkeypatch.setenv("COMFYUI_PATH", str(checkout))  # before COMFYUI_HOME moves the default
    monkeypatch.setenv("COMFYUI_HOME", str(tmp_path / "cache"))

    def make(name: str, files: dict[str, str]) -> dict:
        repo = init_repo(sources / name)
        commit = commit_files(repo, files, "pack")
        return {"pack": name, "repo": GITHUB_BASE + name, "commit": commit, "version": None}

    return make


def tree_listing(root: Path) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of every file and folder under `root` (bytecode caches left out: other
    processes of this machine may write those)."""
    listing = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in ("__pycache__", ".pytest_cache", ".git")]
        for name in [*files, *subfolders]:
            path = Path(folder, name)
            info = path.lstat()
            listing[str(path)] = (info.st_size, info.st_mtime_ns)
    return listing


def processes_with(tag: str) -> list[int]:
    """Live processes whose command line holds `tag`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0]
            except OSError:
                continue
            if tag.encode() in cmdline and state != b"Z":
                found.append(int(entry))
    return found


def hostile_report(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("HOSTILE-REPORT ")]
    assert lines, f"the hostile code did not run: {text[-2000:]}"
    return json.loads(lines[-1].removeprefix("HOSTILE-REPORT "))


def assert_contained(report: dict, targets: list[Path]) -> None:
    """What the hostile code saw and did, as it reported it itself: no secret, and no write that stayed
    (a write under a masked folder such as /tmp lands in a throwaway tmpfs)."""
    leaked = sorted(
        name for name, value in report["environment"].items() if any(c in value for c in CANARIES)
    )
    assert leaked == [] and "HF_TOKEN" not in report["environment"]
    assert not any(name.startswith("OAUTH") for name in report["environment"])
    assert report["token_file"].startswith("unreadable")
    assert sorted(report["writes"]) == sorted(map(str, targets))
    for target in (REPO_ROOT / "runtime", SITE_PACKAGES):
        attempted = [path for path in report["writes"] if Path(path).parent == target]
        assert [report["writes"][path] for path in attempted] == ["blocked: OSError"]
    assert not any(path.exists() for path in targets)


def assert_no_canary(*texts: str) -> None:
    for text in texts:
        assert not any(canary in text for canary in CANARIES)


def files_text(root: Path) -> str:
    return "\n".join(
        path.read_text(errors="replace")
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    )


namespaces_only = pytest.mark.skipif(
    sandbox.isolation() != sandbox.NAMESPACES,
    reason="mount and PID namespaces cannot be made here (not root, no user namespaces): "
    "the file-system protection does not apply",
)


# --- tier 1: the worker itself -------------------------------------------------------------------------


def test_worker_environment_is_an_allowlist(canaries, tmp_path: Path) -> None:
    env = sandbox.worker_environment(tmp_path, [REPO_ROOT], {"COMFYUI_PATH": "/x"}, "marker")

    assert set(env) <= {*sandbox._PASSED_VARIABLES, "HOME", "TMPDIR", "PYTHONPATH", "PYTHONNOUSERSITE"} | {
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        sandbox.RUN_MARKER,
        "COMFYUI_PATH",
    }
    assert env["HOME"] == str(tmp_path / "home") and env["PYTHONPATH"] == str(REPO_ROOT)
    with pytest.raises(ValueError, match="secrets are never passed to a sandboxed worker: HF_TOKEN"):
        sandbox.worker_environment(tmp_path, [], {"HF_TOKEN": HF_TOKEN_CANARY}, "marker")


@namespaces_only
def test_hostile_code_sees_no_secret_writes_nothing_and_leaves_no_process(
    canaries, tmp_path: Path, targets, daemon_tag, comfyui_path_or_stand_in: Path
) -> None:
    script = tmp_path / "run" / "hostile.py"
    script.parent.mkdir()
    script.write_text(
        HOSTILE.format(targets=[str(p) for p in targets], daemon_tag=daemon_tag) + SLEEP_FOREVER
    )
    before = {root: tree_listing(root) for root in (REPO_ROOT, comfyui_path_or_stand_in)}

    started = time.monotonic()
    result = run_sandboxed([sys.executable, str(script)], script.parent, Limits(wall_s=5))
    elapsed = time.monotonic() - started

    assert result.timed_out and result.isolation == sandbox.NAMESPACES
    assert elapsed < 5 + 3, f"killed {elapsed:.1f} s after start (limit 5 s)"
    assert_contained(hostile_report(result.log), targets)
    assert_no_canary(result.log, files_text(script.parent))
    assert processes_with(daemon_tag) == []
    assert {root: tree_listing(root) for root in before} == before


def test_without_namespaces_secrets_stay_out_and_no_process_survives(
    canaries, tmp_path: Path, daemon_tag, monkeypatch
) -> None:
    """The level a Hugging Face Space gets: allowlisted environment, limits, process group + marker kill."""
    monkeypatch.setenv("COMFY_WIZARD_SANDBOX", "process-group")
    sandbox.isolation.cache_clear()
    script = tmp_path / "run" / "hostile.py"
    script.parent.mkdir()
    script.write_text(HOSTILE.format(targets=[], daemon_tag=daemon_tag) + SLEEP_FOREVER)
    try:
        result = run_sandboxed([sys.executable, str(script)], script.parent, Limits(wall_s=3))
    finally:
        sandbox.isolation.cache_clear()

    assert result.timed_out and result.isolation == sandbox.PROCESS_GROUP
    report = hostile_report(result.log)
    assert "HF_TOKEN" not in report["environment"] and "OAUTH_CLIENT_SECRET" not in report["environment"]
    assert_no_canary(json.dumps(report["environment"]), result.log)
    assert processes_with(daemon_tag) == []


def test_cancel_stops_the_worker_and_its_daemon_at_once(tmp_path: Path, daemon_tag) -> None:
    import threading

    script = tmp_path / "hostile.py"
    script.write_text(HOSTILE.format(targets=[], daemon_tag=daemon_tag) + SLEEP_FOREVER)
    cancel = threading.Event()
    threading.Timer(2.0, cancel.set).start()

    started = time.monotonic()
    result = run_sandboxed([sys.executable, str(script)], tmp_path, Limits(wall_s=120), cancel=cancel)

    assert result.cancelled and not result.timed_out and time.monotonic() - started < 2.0 + 3
    hostile_report(result.log)
    assert processes_with(daemon_tag) == []


def test_memory_limit_stops_a_greedy_worker(tmp_path: Path) -> None:
    code = "b = bytearray(2 * 1024 ** 3); print('allocated')"
    result = run_sandboxed([sys.executable, "-c", code], tmp_path, Limits(wall_s=60, memory_bytes=2**30))

    assert result.returncode != 0 and "MemoryError" in result.log and "allocated" not in result.log


# --- tier 2: packs imported into the pinned ComfyUI ------------------------------------------------------


@pytest.mark.tier2
@namespaces_only
def test_pack_definitions_come_back_and_a_broken_pack_is_named(
    canaries, pack_sources, targets, daemon_tag, comfyui_path_or_stand_in: Path
) -> None:
    good = pack_sources("sandbox-good", {"__init__.py": GOOD_PACK})
    broken = pack_sources("sandbox-broken", {"__init__.py": BROKEN_PACK})
    spy_code = HOSTILE.format(targets=[str(p) for p in targets], daemon_tag=daemon_tag) + SPY_NODE
    spy = pack_sources("sandbox-spy", {"__init__.py": spy_code})
    before = {root: tree_listing(root) for root in (REPO_ROOT, comfyui_path_or_stand_in)}
    messages: list[str] = []

    definitions = dump_pack_definitions([good, broken, spy], progress=messages.append, timeout_s=240)

    assert definitions.classes == {"sandbox-good": ("SandboxGood",), "sandbox-spy": ("HostileSpy",)}
    assert definitions.object_info["SandboxGood"]["input"]["required"]["value"] == [
        "INT",
        {"default": 7, "min": 0, "max": 9},
    ]
    assert definitions.object_info["SandboxGood"]["python_module"] == "custom_nodes.sandbox-good"
    assert definitions.failures == {
        "sandbox-broken": "ModuleNotFoundError: No module named 'sandbox_tests_no_such_module'"
    }
    assert f"fetching sandbox-good {good['commit'][:7]}…" in messages
    report = json.loads(definitions.object_info["HostileSpy"]["input"]["required"]["report"][1]["default"])
    assert_contained(report, targets)
    assert processes_with(daemon_tag) == []
    assert {root: tree_listing(root) for root in before} == before
    # The cache answers the second time, also offline; a pack never dumped is named.
    other = pack_sources("sandbox-other", {"__init__.py": GOOD_PACK.replace("SandboxGood", "SandboxOther")})
    cached = dump_pack_definitions([good, spy, other], offline=True)
    assert cached.classes == {"sandbox-good": ("SandboxGood",), "sandbox-spy": ("HostileSpy",)}
    assert cached.failures == {
        "sandbox-other": f"its definitions at {other['commit'][:7]} are not cached; run without --offline"
    }


@pytest.mark.tier2
@namespaces_only
def test_a_pack_that_hangs_at_import_is_killed_within_its_limit_and_the_others_still_load(
    canaries, pack_sources, targets, daemon_tag
) -> None:
    hanger_code = HOSTILE.format(targets=[str(p) for p in targets], daemon_tag=daemon_tag) + SLEEP_FOREVER
    hanger = pack_sources("sandbox-hanger", {"__init__.py": hanger_code})
    good = pack_sources("sandbox-good", {"__init__.py": GOOD_PACK})
    limit = 150.0  # this machine is shared: ComfyUI alone may take a minute to start

    started = time.monotonic()
    definitions = dump_pack_definitions([hanger, good], timeout_s=limit)
    elapsed = time.monotonic() - started

    assert definitions.failures == {
        "sandbox-hanger": f"importing it did not finish within {limit:g} s; it was stopped"
    }
    assert definitions.classes == {"sandbox-good": ("SandboxGood",)}
    # Both in one worker, stopped at the limit while importing the hanger; then the good pack alone.
    assert elapsed < 2 * limit, f"took {elapsed:.0f} s"
    assert processes_with(daemon_tag) == []
    assert not any(path.exists() for path in targets)


@pytest.mark.tier2
def test_requirements_that_would_replace_torch_are_refused(pack_sources) -> None:
    pack = pack_sources("sandbox-old-torch", {"__init__.py": GOOD_PACK, "requirements.txt": "torch==2.0.0\n"})

    definitions = dump_pack_definitions([pack], timeout_s=240)

    message = definitions.failures["sandbox-old-torch"]
    assert message.startswith("its requirements would replace torch 2.9.1") and "with 2.0.0" in message
    assert definitions.classes == {}


@pytest.mark.tier2
@namespaces_only
def test_hostile_pack_in_a_local_test_run_leaks_nothing_and_is_stopped(
    canaries, pack_sources, targets, daemon_tag, tmp_path: Path, monkeypatch, capfd
) -> None:
    from runtime.locate import find_comfyui
    from tests.wizard_cli import run_wizard
    from wizard.testrun import TestRunError, run_app

    hostile = pack_sources(
        "sandbox-hostile",
        {
            "__init__.py": HOSTILE.format(targets=[str(p) for p in targets], daemon_tag=daemon_tag)
            + SLEEP_FOREVER
        },
    )
    prompt = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
    }
    (tmp_path / "prompt.json").write_text(json.dumps(prompt))
    app_dir = tmp_path / "app"
    built = run_wizard("build", tmp_path / "prompt.json", "--auto", "-o", app_dir, env=dict(os.environ))
    assert built.returncode == 0, built.stderr
    lock = json.loads((app_dir / "comfy.lock.json").read_text())
    lock["custom_nodes"] = [hostile]
    (app_dir / "comfy.lock.json").write_text(json.dumps(lock))
    roots = (REPO_ROOT, find_comfyui(), app_dir)
    before = {root: tree_listing(root) for root in roots}
    limit = 90
    monkeypatch.setenv("COMFY_WIZARD_TEST_RUN_TIMEOUT_S", str(limit))
    capfd.readouterr()

    started = time.monotonic()
    with pytest.raises(TestRunError, match=f"the app did not finish within {limit} s and was stopped"):
        run_app(app_dir, {}, tmp_path / "out")
    elapsed = time.monotonic() - started

    # The limit counts from the worker's start; before it the pack is fetched and the app copied.
    assert elapsed < limit + 30, f"stopped {elapsed:.0f} s after start (limit {limit} s)"
    output = capfd.readouterr()
    assert_contained(hostile_report(output.err), targets)
    assert_no_canary(
        output.out, output.err, files_text(tmp_path / "out") if (tmp_path / "out").exists() else ""
    )
    assert processes_with(daemon_tag) == []
    for root in roots:
        after = tree_listing(root)
        changed = sorted(
            path for path in {*before[root], *after} if before[root].get(path) != after.get(path)
        )
        assert changed == [], f"changed under {root}"


# --- tier 3: the corpus' packs, dumped here ------------------------------------------------------------


def _without_sentinels(value, comfyui_path: Path):
    """`value` as the corpus' server, which had no model or input files, would list it: the sentinel
    options (`__folder__<folder>__<ext>`, `__input__.*`) and the files ComfyUI ships in that model
    folder (`models/configs/*.yaml`) left out of each COMBO list."""
    if isinstance(value, dict):
        return {key: _without_sentinels(item, comfyui_path) for key, item in value.items()}
    if not isinstance(value, list):
        return value
    folders = [
        item.split("__")[2] for item in value if isinstance(item, str) and item.startswith("__folder__")
    ]
    if folders or any(isinstance(item, str) and item.startswith("__input__.") for item in value):
        shipped = {path.name for folder in folders for path in (comfyui_path / "models" / folder).glob("*")}
        return [
            item
            for item in value
            if not (
                isinstance(item, str) and (item.startswith(("__folder__", "__input__.")) or item in shipped)
            )
        ]
    return [_without_sentinels(item, comfyui_path) for item in value]


@pytest.mark.tier2
@pytest.mark.timeout(5400)  # cold: ten clones and their requirements from PyPI
def test_corpus_packs_dumped_here_agree_with_the_real_server(corpus_pack_definitions) -> None:
    from runtime.locate import find_comfyui

    packs_json = json.loads((CORPUS / "packs.json").read_text())
    server = json.loads((CORPUS / "object_info-comfyui-0.3.64-with-10-packs.json").read_text())
    definitions = corpus_pack_definitions

    expected = {name: server[name] for entry in packs_json for name in entry["classes"] if name in server}
    dumped = {
        name: _without_sentinels(value, find_comfyui()) for name, value in definitions.object_info.items()
    }
    agreeing = sorted(name for name in expected if dumped.get(name) == expected[name])
    differing = sorted(name for name in expected if name in dumped and name not in agreeing)
    missing = sorted(set(expected) - set(dumped))
    print(
        f"tier 3: {len(agreeing)}/{len(expected)} classes identical, {len(differing)} differ "
        f"({differing[:20]}), {len(missing)} missing ({missing[:20]}); failures: {definitions.failures}"
    )
    assert len(agreeing) >= 0.95 * len(expected)
