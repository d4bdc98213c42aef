"""The walls between the project's parts, read from the import graph (`ast`, nothing imported):

- `runtime/` (shipped alone in every Space) imports nothing from `wizard`;
- gradio only in the page package (`wizard/ui/`) and `app.py`;
- the Hub (`huggingface_hub`) only in publishing, the Test run on ZeroGPU (`wizard/space_run.py`, which
  publishes through `wizard/publish.py` and calls the Space with `gradio_client`) and the online model
  search, within the wizard;
- the wizard never imports ComfyUI or custom-node code (nor the runtime modules that start ComfyUI),
  and loads modules dynamically only in worker modules, which run in a process of their own.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

GRADIO = frozenset({"gradio", "gradio_client"})
GRADIO_ALLOWED = ("wizard/ui/", "app.py")
GRADIO_CLIENT_ALLOWED = ("wizard/space_run.py",)  # calls the user's Space, as any API client does
HUB = frozenset({"huggingface_hub"})
# publishing; the Test run on ZeroGPU; the online model search
HUB_ALLOWED = ("wizard/publish.py", "wizard/space_run.py", "wizard/resolve.py")
# ComfyUI's own top-level modules and packages (its checkout root is on sys.path when it runs).
COMFYUI_MODULES = frozenset(
    {
        "comfy",
        "comfy_api",
        "comfy_api_nodes",
        "comfy_config",
        "comfy_execution",
        "comfy_extras",
        "comfyui_version",
        "custom_nodes",
        "execution",
        "folder_paths",
        "latent_preview",
        "node_helpers",
        "nodes",
        "server",
    }
)
# The runtime modules that start ComfyUI (and so load custom nodes): `runtime` itself re-exports them.
RUNTIME_STARTING_COMFYUI = frozenset({"runtime", "runtime.engine", "runtime.workflow"})
DYNAMIC_LOADERS = frozenset(
    {"import_module", "__import__", "spec_from_file_location", "exec_module", "run_path", "run_module"}
)
# Modules whose code runs in a sandboxed worker process of its own (`python -m wizard.testrun` in the app
# folder, `python -m wizard.worker...` for node-definition dumps): they may run ComfyUI and packs' code.
WORKER_MODULES = ("wizard/testrun.py", "wizard/worker/")


@dataclass(frozen=True)
class Import:
    """One import statement. Attributes: path: the file (relative, posix); line: its line; module: the
    imported module's dotted name (`from a.b import c` gives "a.b" and "a.b.c")."""

    path: str
    line: int
    module: str

    @property
    def top(self) -> str:
        return self.module.split(".", 1)[0]


def python_files(root: Path) -> list[str]:
    files = [path for folder in ("wizard", "runtime") for path in (root / folder).rglob("*.py")]
    files += [root / "app.py"] if (root / "app.py").is_file() else []
    return sorted(path.relative_to(root).as_posix() for path in files if "__pycache__" not in path.parts)


def imports_of(root: Path, path: str) -> list[Import]:
    """Every import in the file, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(ast.parse((root / path).read_text(encoding="utf-8"), filename=path)):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(path, node.module, node.level)
            found.append(Import(path, node.lineno, base))
            found += [Import(path, node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _absolute(path: str, module: str | None, level: int) -> str:
    if level == 0:
        return module or ""
    package = path.removesuffix(".py").split("/")[:-level]
    return ".".join([*package, *([module] if module else [])])


def dynamic_loads(root: Path, path: str) -> list[int]:
    """Lines that load a module by name or file at run time."""
    tree = ast.parse((root / path).read_text(encoding="utf-8"), filename=path)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) in DYNAMIC_LOADERS
    ]


def wall_breaches(root: Path) -> list[str]:
    """Each import that crosses a wall, as "path:line: what"."""
    breaches = []
    for path in python_files(root):
        for item in imports_of(root, path):
            where = f"{path}:{item.line}: imports {item.module}"
            if path.startswith("runtime/") and item.top == "wizard":
                breaches.append(f"{where} (runtime/ travels alone into every Space)")
            client_call = item.top == "gradio_client" and path.startswith(GRADIO_CLIENT_ALLOWED)
            if item.top in GRADIO and not path.startswith(GRADIO_ALLOWED) and not client_call:
                breaches.append(f"{where} (gradio belongs to the page: wizard/ui/ and app.py)")
            if path.startswith(("wizard/", "app.py")):
                if item.top in HUB and not path.startswith(HUB_ALLOWED):
                    breaches.append(
                        f"{where} (only publishing, the Test run on ZeroGPU and the online model search talk "
                        "to the Hub)"
                    )
                in_worker = path.startswith(WORKER_MODULES)
                if (item.top in COMFYUI_MODULES or item.module in RUNTIME_STARTING_COMFYUI) and not in_worker:
                    breaches.append(f"{where} (the wizard process never runs ComfyUI or custom-node code)")
        if path.startswith("wizard/") and not path.startswith(WORKER_MODULES):
            breaches += [
                f"{path}:{line}: loads a module dynamically outside a worker"
                for line in dynamic_loads(root, path)
            ]
    return breaches


def test_the_walls_hold():
    assert wall_breaches(REPO_ROOT) == []


def test_the_walls_see_every_module():
    files = python_files(REPO_ROOT)
    assert "app.py" in files and "runtime/workflow.py" in files and "wizard/ui/events.py" in files
    gradio_users = {item.path for path in files for item in imports_of(REPO_ROOT, path) if item.top in GRADIO}
    assert {"wizard/ui/events.py", "wizard/ui/layout.py", "wizard/ui/preview.py"} <= gradio_users
    hub_users = {item.path for path in files for item in imports_of(REPO_ROOT, path) if item.top in HUB}
    assert {"wizard/publish.py", "wizard/resolve.py"} <= hub_users


@pytest.mark.parametrize(
    ("path", "source", "breach"),
    [
        (
            "runtime/bad.py",
            "from wizard.appspec import AppSpec\n",
            "runtime/bad.py:1: imports wizard.appspec",
        ),
        ("runtime/bad.py", "from ..wizard import cli\n", "imports wizard"),
        ("wizard/session.py", "def f():\n    import gradio as gr\n", "wizard/session.py:2: imports gradio"),
        ("wizard/codegen.py", "from huggingface_hub import HfApi\n", "talk to the Hub"),
        ("wizard/space_run.py", "import gradio as gr\n", "gradio belongs to the page"),
        ("wizard/codegen.py", "from gradio_client import Client\n", "gradio belongs to the page"),
        ("wizard/analyze.py", "import folder_paths\n", "never runs ComfyUI"),
        ("wizard/analyze.py", "from runtime import ComfyWorkflow\n", "never runs ComfyUI"),
        ("wizard/analyze.py", "from runtime.engine import start\n", "never runs ComfyUI"),
        ("wizard/analyze.py", "import importlib\nimportlib.import_module(name)\n", "dynamically"),
    ],
)
def test_a_breach_is_named_with_its_line(tmp_path, path, source, breach):
    for folder in ("wizard", "runtime"):
        (tmp_path / folder).mkdir()
    (tmp_path / "app.py").write_text("from wizard.ui import build_ui\n")
    (tmp_path / path).write_text(source)
    breaches = wall_breaches(tmp_path)
    assert len(breaches) >= 1 and breach in breaches[0], breaches
