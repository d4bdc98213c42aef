"""`build --auto` for all 172 templates of comfyui-workflow-templates 0.1.95.

Each folder is built in this process, and once more in one subprocess with another hash seed
(set iteration order differs between processes, so this catches any unsorted iteration); the two
trees must be byte-identical. app.py must parse and be black-formatted, the README front matter
must parse with `sdk: gradio`, every requirements line must parse, and `black --check .` run inside
each built folder (as its owner would, with the folder's own pyproject.toml) must pass.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import black
import yaml
from packaging.requirements import Requirement

from wizard.analyze import analyze
from wizard.appspec import auto_spec
from wizard.codegen import BLACK_MODE, build_space
from wizard.convert import convert
from wizard.ingest import load_path

REPO_ROOT = Path(__file__).resolve().parent.parent

BUILD_ALL = textwrap.dedent("""
    import sys
    from pathlib import Path
    from wizard.analyze import analyze
    from wizard.appspec import auto_spec
    from wizard.codegen import build_space
    from wizard.convert import convert
    from wizard.ingest import load_path
    from wizard.nodedefs import NodeDefs

    node_defs = NodeDefs.snapshot()
    for path in sys.argv[2:]:
        conversion = convert(load_path(path), node_defs)
        build_space(conversion, auto_spec(conversion, analyze(conversion, node_defs)), Path(sys.argv[1]) / Path(path).stem)
    """)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def check_folder(folder: Path) -> None:
    source = (folder / "app.py").read_text(encoding="utf-8")
    ast.parse(source)
    assert black.format_str(source, mode=BLACK_MODE) == source, "app.py is not black-formatted"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("---\n")
    front = yaml.safe_load(readme.split("---\n", 2)[1])
    assert front["sdk"] == "gradio" and front["app_file"] == "app.py" and "comfyui" in front["tags"]
    assert len(front["short_description"]) <= 60
    for line in (folder / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            Requirement(line)


def black_check(folder: Path) -> subprocess.CompletedProcess:
    """`black --check .` inside `folder`, reading only the folder's own configuration."""
    return subprocess.run(
        [sys.executable, "-m", "black", "--check", "--no-cache", "."],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_template_builds_parses_and_is_byte_stable(template_paths, node_defs, tmp_path):
    assert len(template_paths) == 172
    first = tmp_path / "first"
    for path in template_paths:
        conversion = convert(load_path(path), node_defs)
        folder = build_space(
            conversion, auto_spec(conversion, analyze(conversion, node_defs)), first / path.stem
        )
        check_folder(folder)
    with ThreadPoolExecutor(max_workers=2) as pool:
        checks = dict(zip(template_paths, pool.map(black_check, [first / p.stem for p in template_paths])))
    failed = {path.name: check.stderr[-300:] for path, check in checks.items() if check.returncode != 0}
    assert not failed, failed
    second = tmp_path / "second"
    environment = {**os.environ, "PYTHONHASHSEED": "12345", "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", BUILD_ALL, str(second), *map(str, template_paths)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    for path in template_paths:
        assert tree_bytes(first / path.stem) == tree_bytes(second / path.stem), path.name
