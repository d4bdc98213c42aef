"""Prepares what the GPU benchmark carries to the device machine, which reaches no network:
ComfyUI's checkout as a tarball, wheels of the Python packages the machine lacks, and the app built
by the wizard from the template. Everything goes into an ignored folder (default `.gpu_carry/`) that
`run_on_device.sh` reads there.

    python bench/gpu/prepare.py                          # for the device: Python 3.12, manylinux x86_64
    python bench/gpu/prepare.py --python-version 3.11 --carry /tmp/carry311   # a local dry run here

The gradio wheel is repacked without its web frontend (`templates/frontend`, `templates/node`,
`media_assets`, 30 of its 31 MB): the benchmark imports the app and calls `generate`, it never serves
the page, and with PyAV (36 MB) the full wheel would not fit in the 64 MiB a device call may carry.
"""

from __future__ import annotations

import argparse
import email.parser
import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_CARRY = REPO_ROOT / ".gpu_carry"
CARRY_LIMIT_BYTES = 64 * 2**20  # the device tool's limit on the working tree plus carried paths
# Missing on the device image (device_packages.txt) and needed by ComfyUI's core nodes (av, torchsde)
# or by the generated app (gradio, spaces). Versions: those the app is tested with here.
# Not carried: alembic/SQLAlchemy (ComfyUI's app/database/db.py logs their absence; only main.py's
# server uses the database), kornia/spandrel (optional nodes ComfyUI skips with a warning).
WHEELS = (
    "av==18.1.0",
    "torchsde==0.2.6",
    "trampoline==0.1.2",
    "gradio==6.31.0",
    "gradio-client==2.7.2",
    "spaces==0.51.3",
    "hf-gradio==0.4.1",
    "fastapi==0.165.0",
    "starlette==1.10.0",
    "uvicorn==0.54.0",
    "pydantic==2.13.4",
    "pydantic-core==2.46.4",
    "annotated-types==0.7.0",
    "typing-inspection==0.4.2",
    "opentelemetry-api==1.45.2",
    "orjson==3.13.0",
    "python-multipart==0.0.34",
    "groovy==0.1.2",
    "safehttpx==0.1.7",
    "semantic-version==2.10.0",
    "tomlkit==0.14.0",
    "brotli==1.2.1",
    "pydub==0.25.1",
    "pytz==2026.6",
)
PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
)
GRADIO_WEB_PARTS = ("gradio/templates/frontend/", "gradio/templates/node/", "gradio/media_assets/")
COMFYUI_ARCHIVE = "comfyui.tar.gz"
COMFYUI_DIR_IN_ARCHIVE = "ComfyUI"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--carry", type=Path, default=DEFAULT_CARRY, help="output folder (git must ignore it)"
    )
    parser.add_argument("--python-version", default="3.12", help="the interpreter the wheels are for")
    parser.add_argument("--comfyui", type=Path, help="ComfyUI checkout (default: runtime.locate's)")
    options = parser.parse_args(argv)
    carry = options.carry.resolve()
    if carry.is_relative_to(REPO_ROOT):
        _require_ignored(carry)
    wheels = download_wheels(carry / "wheels", options.python_version)
    strip_gradio_frontend(next(wheels.glob("gradio-*.whl")))
    missing = missing_requirements(wheels, options.python_version)
    if missing:
        print("error: carried wheels need packages neither carried nor on the device:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in missing), file=sys.stderr)
        return 1
    archive_comfyui(_comfyui_path(options.comfyui), carry / COMFYUI_ARCHIVE)
    space = carry / "space"
    if space.exists():
        shutil.rmtree(space)
    _bench_module().build_app(space)
    size = _tree_bytes(carry) + _working_tree_bytes()
    print(f"{carry}: {_tree_bytes(carry) / 2**20:.1f} MiB; with the working tree {size / 2**20:.1f} MiB")
    if size > CARRY_LIMIT_BYTES:
        print(f"error: over the device call's {CARRY_LIMIT_BYTES // 2**20} MiB", file=sys.stderr)
        return 1
    return 0


def download_wheels(folder: Path, python_version: str) -> Path:
    """`pip download` of WHEELS for Linux x86_64 CPython `python_version`, binary only, no dependencies
    (the device has most of them: missing_requirements checks the rest). Wheels already there are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    pinned = {_normalized(pin).replace("==", "-") for pin in WHEELS}
    for wheel in folder.glob("*.whl"):  # pip keeps files already there; other versions must go
        name, version = wheel.name.split("-")[:2]
        if _normalized(f"{name}-{version}") not in pinned:
            wheel.unlink()
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    command += ["--python-version", python_version, "--implementation", "cp", "-d", str(folder)]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    subprocess.run([*command, *WHEELS], check=True)
    return folder


def strip_gradio_frontend(wheel: Path) -> None:
    """Rewrites the gradio wheel without its web frontend and drops those files from its RECORD."""
    repacked = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename.startswith(GRADIO_WEB_PARTS):
                continue
            data = source.read(item)
            if item.filename.endswith(".dist-info/RECORD"):
                data = b"".join(
                    line
                    for line in data.splitlines(keepends=True)
                    if not line.decode().startswith(GRADIO_WEB_PARTS)
                )
            target.writestr(item, data)
    repacked.replace(wheel)


def missing_requirements(wheels: Path, python_version: str) -> list[str]:
    """Requirements of the carried wheels (for Linux x86_64, no extras) found neither among them nor
    in device_packages.txt."""
    environment = default_environment()
    environment.update(
        python_version=python_version,
        python_full_version=f"{python_version}.0",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        extra="",
    )
    available = _device_packages()
    metadata = [_metadata(wheel) for wheel in sorted(wheels.glob("*.whl"))]
    available |= {_normalized(item["Name"]) for item in metadata}
    missing = []
    for item in metadata:
        for line in item.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            if _normalized(requirement.name) not in available:
                missing.append(f"{item['Name']} needs {requirement}")
    return missing


def archive_comfyui(comfyui: Path, archive: Path) -> None:
    """The checkout without .git and caches, as `ComfyUI/` in a gzipped tarball."""

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        parts = Path(info.name).parts
        return None if ".git" in parts or "__pycache__" in parts else info

    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(comfyui, arcname=COMFYUI_DIR_IN_ARCHIVE, filter=keep)


def _comfyui_path(configured: Path | None) -> Path:
    if configured is not None:
        return configured
    sys.path.insert(0, str(REPO_ROOT))
    from runtime.locate import find_comfyui

    found = find_comfyui()
    if found is None:
        raise SystemExit("error: no ComfyUI checkout here (set COMFYUI_PATH or pass --comfyui)")
    return found


def _bench_module():
    """bench/gpu/bench.py (its name would clash with the repo's bench/ folder on sys.path)."""
    spec = importlib.util.spec_from_file_location("gpu_bench", HERE / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _require_ignored(carry: Path) -> None:
    """The carry folder must be ignored by git: the device tool carries only ignored paths named in
    `carry`, and nothing in it may be committed."""
    probe = carry / "wheels" / "probe.whl"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=REPO_ROOT).returncode == 0
    if not ignored:
        relative = carry.relative_to(REPO_ROOT).as_posix()
        raise SystemExit(f"error: git does not ignore {relative}/; add `/{relative}/` to .git/info/exclude")


def _device_packages() -> set[str]:
    lines = (HERE / "device_packages.txt").read_text().splitlines()
    return {_normalized(line) for line in lines if line.strip() and not line.startswith("#")}


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.BytesParser().parsebytes(archive.read(name))


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _tree_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def _working_tree_bytes() -> int:
    """What a device call sends besides the carried folder: tracked and untracked-not-ignored files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return sum(
        (REPO_ROOT / name.decode()).stat().st_size
        for name in listed
        if name and (REPO_ROOT / name.decode()).is_file()
    )


if __name__ == "__main__":
    sys.exit(main())
