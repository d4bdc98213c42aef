"""Node definitions (ComfyUI's `/object_info`): one interface, two sources.

- `NodeDefs.snapshot()`: the bundled dump of ComfyUI 0.3.64's 495 core nodes (no ComfyUI needed).
- `NodeDefs.live()`: dumped from an installed ComfyUI, custom nodes included (`wizard.worker.object_info`,
  run in a subprocess so the wizard process never imports torch or ComfyUI).

`NodeDefs.from_object_info(data)` reads any `/object_info` dict (a server's, a saved file), and
`defs.with_extra(object_info)` adds custom packs' classes (dumped by the sandbox worker or read from the
Comfy Registry) over a base such as the snapshot.

Both dumps are made with one sentinel file in every model folder and in the input folder, so a
model-file COMBO lists exactly one option `__folder__<folder>__<ext>` naming the ComfyUI model
folder it reads, and an input-file COMBO lists `__input__.<ext>` options. That is how the wizard
knows which inputs are model files, without a hard-coded list of input names.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from wizard.errors import WizardError

SNAPSHOT_PATH = Path(__file__).parent / "data" / "object_info-comfyui-0.3.64.json"
# The English node titles of the frontend the converter follows (built by scripts/build_frontend_titles.py).
FRONTEND_TITLES_PATH = Path(__file__).parent / "data" / "frontend-node-titles-1.27.10.json"

WIDGET_TYPES = frozenset(
    {
        "INT",
        "FLOAT",
        "BOOLEAN",
        "STRING",
        "MARKDOWN",
        "COMBO",
        "IMAGEUPLOAD",
        "FILEUPLOAD",
        "COLOR",
        "IMAGECOMPARE",
        "TREESELECT",
        "MULTISELECT",
        "CHART",
        "GALLERIA",
        "SELECTBUTTON",
        "TEXTAREA",
    }
)
UPLOAD_OPTIONS = {
    "image_upload": "image",
    "video_upload": "video",
    "animated_image_upload": "image",
    "audio_upload": "audio",
}
_FOLDER_SENTINEL = "__folder__"
_INPUT_SENTINEL = "__input__"


@dataclass(frozen=True)
class InputDef:
    """One input of a node definition: `("INT", {"min": 0, ...})` made explicit."""

    name: str
    type: str  # "INT", "FLOAT", "STRING", "BOOLEAN", "COMBO", or a socket type ("MODEL", ...)
    options: dict[str, Any]
    choices: tuple[Any, ...] | None  # COMBO choices (V1 list or V3 "options")
    section: str  # "required" or "optional"

    @property
    def is_widget(self) -> bool:
        """True when the frontend draws a widget for it (and so it has a `widgets_values` slot)."""
        widget_type = self.options.get("widgetType", self.type)
        return widget_type in WIDGET_TYPES and not self.options.get("forceInput", False)

    @property
    def default(self) -> Any:
        """The frontend's value for a missing widget: the spec default, else the first choice."""
        if "default" in self.options:
            return self.options["default"]
        if self.choices:
            return self.choices[0]
        return {"INT": 0, "FLOAT": 0.0, "BOOLEAN": False, "STRING": ""}.get(self.type)

    @property
    def has_control_after_generate(self) -> bool:
        """An INT with a seed-style control widget right after it (fixed/increment/.../randomize)."""
        if self.type != "INT":
            return False
        if "control_after_generate" in self.options:
            return bool(self.options["control_after_generate"])
        return self.name in ("seed", "noise_seed")

    @property
    def upload_kind(self) -> str | None:
        """ "image", "video" or "audio" for a COMBO the frontend draws with an upload button."""
        for option, kind in UPLOAD_OPTIONS.items():
            if self.options.get(option):
                return kind
        return None

    @property
    def model_folder(self) -> str | None:
        """The ComfyUI model folder whose files this COMBO lists, e.g. "checkpoints"."""
        for choice in self.choices or ():
            if isinstance(choice, str) and choice.startswith(_FOLDER_SENTINEL):
                return choice[len(_FOLDER_SENTINEL) :].rsplit("__", 1)[0]
        return None

    @property
    def input_file_kinds(self) -> tuple[str, ...]:
        """Extensions of input-folder files this COMBO lists (e.g. ("png",)), else ()."""
        return tuple(
            choice[len(_INPUT_SENTINEL) + 1 :]
            for choice in self.choices or ()
            if isinstance(choice, str) and choice.startswith(_INPUT_SENTINEL + ".")
        )


@functools.cache
def frontend_titles() -> dict[str, str]:
    """{node type: title} from the frontend's bundled English locale, read once."""
    return json.loads(FRONTEND_TITLES_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class NodeDef:
    """One node class's definition, read from its `/object_info` entry."""

    class_type: str
    raw: dict[str, Any]

    @property
    def display_name(self) -> str:
        """The frontend's title for a new node: its English locale's name for the type, else the
        definition's `display_name`, else the type ([FE] app.ts `translateNodeDef`: `st(key, display_name ??
        name)`, so an empty name stays empty, as there)."""
        title = frontend_titles().get(self.class_type, self.raw.get("display_name"))
        return self.class_type if title is None else title

    @property
    def category(self) -> str:
        return self.raw.get("category", "")

    @property
    def is_output_node(self) -> bool:
        return bool(self.raw.get("output_node"))

    @property
    def output_types(self) -> tuple[str, ...]:
        return tuple(str(t) if not isinstance(t, list) else "COMBO" for t in self.raw.get("output", ()))

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.raw.get("output_name", ()) or self.output_types)

    @functools.cached_property
    def inputs(self) -> tuple[InputDef, ...]:
        """Required then optional inputs, in the frontend's order (`input_order`, then leftovers)."""
        specs: list[InputDef] = []
        declared = self.raw.get("input", {})
        order = self.raw.get("input_order", {})
        for section in ("required", "optional"):
            section_inputs = declared.get(section) or {}
            names = list(order.get(section) or section_inputs.keys())
            names += [name for name in section_inputs if name not in names]
            for name in names:
                if name in section_inputs:
                    specs.append(_input_spec(name, section_inputs[name], section))
        return tuple(specs)

    def input(self, name: str) -> InputDef | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    @property
    def widget_inputs(self) -> tuple[InputDef, ...]:
        return tuple(spec for spec in self.inputs if spec.is_widget)


def _input_spec(name: str, declaration: Any, section: str) -> InputDef:
    if not isinstance(declaration, (list, tuple)) or not declaration:
        return InputDef(name, "*", {}, None, section)
    kind = declaration[0]
    options = declaration[1] if len(declaration) > 1 and isinstance(declaration[1], dict) else {}
    if isinstance(kind, list):
        return InputDef(name, "COMBO", options, tuple(kind), section)
    if kind == "COMBO":
        return InputDef(name, "COMBO", options, tuple(options.get("options", ())), section)
    return InputDef(name, str(kind), options, None, section)


class NodeDefs:
    """All node definitions of one ComfyUI installation, by class type."""

    def __init__(self, object_info: dict[str, Any], source: str):
        self._defs = {
            class_type: NodeDef(class_type, raw)
            for class_type, raw in object_info.items()
            if isinstance(raw, dict)
        }
        self.source = source

    @classmethod
    def snapshot(cls) -> NodeDefs:
        """The bundled definitions of ComfyUI 0.3.64's core nodes."""
        return _snapshot()

    @classmethod
    def from_object_info(cls, data: Any, source: str = "object_info") -> NodeDefs:
        """Definitions from an `/object_info` JSON object `{class_type: definition}`."""
        if not isinstance(data, dict):
            raise WizardError(
                f"node definitions ({source}) are not an /object_info JSON object of node classes"
            )
        return cls(data, source=source)

    def with_extra(self, object_info: dict[str, Any], source: str = "extra") -> NodeDefs:
        """These definitions with `object_info`'s classes added (a class in both takes the new one)."""
        merged = {node_def.class_type: node_def.raw for node_def in self}
        merged.update(NodeDefs.from_object_info(object_info, source).raw_items())
        return NodeDefs(merged, source=f"{self.source}+{source}")

    def raw_items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(class type, its /object_info entry) for every class."""
        return ((class_type, node_def.raw) for class_type, node_def in self._defs.items())

    @classmethod
    def live(cls, comfyui_path: str | os.PathLike | None = None) -> NodeDefs:
        """Definitions dumped from an installed ComfyUI, custom nodes included.

        Runs `python -m wizard.worker.object_info` in a subprocess (ComfyUI imports torch and reads
        `sys.path`; keeping it out of this process keeps the wizard light and its state clean).
        """
        env = dict(os.environ)
        if comfyui_path is not None:
            env["COMFYUI_PATH"] = str(comfyui_path)
        completed = subprocess.run(
            [sys.executable, "-m", "wizard.worker.object_info"],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            capture_output=True,
            text=True,
        )
        if completed.returncode != 0:
            last_line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
            raise WizardError(f"Could not read node definitions from ComfyUI: {last_line}")
        return cls(json.loads(completed.stdout), source="live")

    def get(self, class_type: str) -> NodeDef | None:
        return self._defs.get(class_type)

    def __contains__(self, class_type: object) -> bool:
        return class_type in self._defs

    def __iter__(self) -> Iterator[NodeDef]:
        return iter(self._defs.values())

    def __len__(self) -> int:
        return len(self._defs)


def read_object_info(path: str | os.PathLike) -> dict[str, Any]:
    """An /object_info JSON file's content, or a one-line error saying what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise WizardError(f"cannot read node definitions {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise WizardError(f"node definitions {path} are not JSON: {error}") from None
    if not isinstance(data, dict) or not all(isinstance(entry, dict) for entry in data.values()):
        raise WizardError(
            f"node definitions {path} are not an /object_info object {{class_type: definition}}"
        )
    return data


@functools.lru_cache(maxsize=1)
def _snapshot() -> NodeDefs:
    with SNAPSHOT_PATH.open(encoding="utf-8") as snapshot_file:
        return NodeDefs(json.load(snapshot_file), source="snapshot-0.3.64")
