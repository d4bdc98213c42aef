"""The AppSpec: what the user chose for their app, as an editable, versioned JSON record.

A spec names inputs by (node id, input name) of one workflow's API prompt, so it carries a
fingerprint of that workflow's structure (node ids, class types, links; not widget values, so
editing a prompt text in ComfyUI keeps the spec valid). `AppSpec.load(path, conversion)` refuses a
spec made for another workflow, and `check(conversion)` refuses one whose inputs do not exist or
whose ranges make no sense, each with a one-line message.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from runtime.locate import COMFYUI_COMMIT, COMFYUI_GIT_URL
from runtime.urlpolicy import UrlPolicyError, check_url
import runtime.media as media
from wizard.analyze import Analysis, CandidateInput, CandidateOutput
from wizard.app_contract import INPUT_COMPONENTS, MEDIA_COMPONENTS, OUTPUT_COMPONENTS, RESERVED_NAMES
from wizard.errors import SpecError, fix
from wizard.records import (
    MODEL_SOURCES,
    OUTPUT_KINDS,
    PACK_SOURCES,
    VALUE_TYPES,
    Conversion,
    InputSettings,
    ModelFile,
    NodePack,
    OutputSettings,
)

SPEC_VERSION = 1
IMAGE_MEDIA = ("image", "mask", "image+mask")
UPLOAD_EXTENSIONS = (
    media.IMAGE_EXTENSIONS | media.VIDEO_EXTENSIONS | media.AUDIO_EXTENSIONS | media.MESH_EXTENSIONS
)
MAX_NAME_LENGTH = 32  # a parameter name is read in every API call: keep it short
MAX_DURATION = 900  # seconds; ZeroGPU refuses long requests, and a quota is minutes per day
HUB_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


@dataclass(frozen=True, kw_only=True)
class AppInput(InputSettings):
    """One exposed widget value: a parameter of `generate` and a component of the app.

    Attributes:
        name: the Python parameter (and component variable) name.
        default: the component's value at start (None for a FILE: no file ships with the app).
        order: its position among the inputs.
        randomize: a seed the "Randomize seed" checkbox replaces with a random one.
        max_pixels: for an image file, the largest the app accepts (width × height; None: the runtime's
            default, 40 MP).
        max_seconds: for a video or audio file, the longest the app accepts (None: the runtime's default).
    """

    name: str
    default: Any = None
    order: int = 0
    randomize: bool = False
    max_pixels: int | None = None
    max_seconds: float | None = None

    @classmethod
    def from_candidate(cls, candidate: CandidateInput, *, name: str, order: int) -> AppInput:
        """A candidate input, exposed with its analysed settings."""
        settings = {
            spec_field.name: getattr(candidate, spec_field.name) for spec_field in fields(InputSettings)
        }
        default = None if candidate.value_type == "FILE" else candidate.value
        return cls(
            **settings,
            name=name,
            default=default,
            order=order,
            randomize=candidate.seed,
            max_pixels=media.DEFAULT_MAX_PIXELS if candidate.media in IMAGE_MEDIA else None,
            max_seconds=media.DEFAULT_MAX_MEDIA_SECONDS if candidate.media in ("video", "audio") else None,
        )


@dataclass(frozen=True, kw_only=True)
class AppOutput(OutputSettings):
    """One shown output: a node's images, video, audio, 3D model or text.

    Attributes:
        name: the component variable name.
    """

    name: str

    @classmethod
    def from_candidate(cls, candidate: CandidateOutput, *, name: str, label: str | None = None) -> AppOutput:
        """A candidate output, as the app shows it."""
        settings = {
            spec_field.name: getattr(candidate, spec_field.name) for spec_field in fields(OutputSettings)
        }
        return cls(**{**settings, "label": candidate.label if label is None else label}, name=name)


@dataclass(frozen=True)
class AppSpec:
    """What the user chose for their app; `appspec.json` in a built Space.

    Attributes:
        fingerprint: the workflow it belongs to (`workflow_fingerprint`).
        title, description, emoji, tags: the Space card.
        inputs, outputs: the app's components.
        duration: seconds of GPU each request asks ZeroGPU for.
        measured_seconds: the wizard's Test run, when one was made.
        models, custom_nodes: what the Space installs.
        api_nodes: ComfyUI's paid API nodes it runs (class types): the Space needs a Comfy API key secret.
        comfyui: the pinned ComfyUI {"repo", "commit"}.
        spec_version: the format's version.
    """

    fingerprint: str
    title: str
    description: str
    emoji: str
    inputs: tuple[AppInput, ...]
    outputs: tuple[AppOutput, ...]
    duration: int = 60  # seconds for @spaces.GPU
    measured_seconds: float | None = None  # the wizard's test run, when one was made
    accelerate: bool = True  # compile the diffusion model at start where measured to help (runtime/accel.py)
    tags: tuple[str, ...] = ("comfyui",)
    models: tuple[ModelFile, ...] = ()
    custom_nodes: tuple[NodePack, ...] = ()
    api_nodes: tuple[str, ...] = ()
    comfyui: dict[str, str] = field(
        default_factory=lambda: {"repo": COMFYUI_GIT_URL, "commit": COMFYUI_COMMIT}
    )
    spec_version: int = SPEC_VERSION

    @property
    def ordered_inputs(self) -> tuple[AppInput, ...]:
        return tuple(sorted(self.inputs, key=lambda item: item.order))

    def to_json(self) -> str:
        """Sorted, stable JSON (building from the same spec twice gives the same bytes)."""
        data = {
            "spec_version": self.spec_version,
            "fingerprint": self.fingerprint,
            "title": self.title,
            "description": self.description,
            "emoji": self.emoji,
            "tags": list(self.tags),
            "duration": self.duration,
            "measured_seconds": self.measured_seconds,
            "accelerate": self.accelerate,
            "inputs": [asdict(item) for item in self.inputs],
            "outputs": [asdict(item) for item in self.outputs],
            "models": [model.to_dict() for model in self.models],
            "custom_nodes": [pack.to_dict() for pack in self.custom_nodes],
            "api_nodes": list(self.api_nodes),
            "comfyui": dict(self.comfyui),
        }
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> AppSpec:
        """Parse and check a spec on its own (not yet against a workflow)."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise SpecError(f"the spec is not valid JSON ({error})") from None
        spec = _parse_spec(data)
        spec.check_self()
        return spec

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, conversion: Conversion) -> AppSpec:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SpecError(f"cannot read the spec {str(path)!r}: {error}") from None
        spec = cls.from_json(text)
        spec.check(conversion)
        return spec

    def check(self, conversion: Conversion) -> None:
        """Raise SpecError unless this spec is sane and belongs to this workflow."""
        self.check_self()
        fingerprint = workflow_fingerprint(conversion.prompt)
        if self.fingerprint != fingerprint:
            raise SpecError(
                f"this spec was made for another workflow (fingerprint {self.fingerprint}, this workflow "
                f"has {fingerprint}): "
                + fix(
                    "make a new one with `python -m wizard spec FILE --auto -o SPEC.json`",
                    "import choices exported from this workflow, or choose them again in the Inputs step",
                )
            )
        for item in self.inputs:
            for node_id, input_name in item.targets:
                _check_input_against(replace(item, node_id=node_id, input_name=input_name), conversion)
        for output in self.outputs:
            if output.node_id not in conversion.prompt:
                raise SpecError(
                    f"output {output.label!r} refers to node {output.node_id}, which the workflow lacks"
                )

    def check_self(self) -> None:
        """Raise SpecError for anything wrong inside the spec itself."""
        if self.spec_version != SPEC_VERSION:
            raise SpecError(
                f"spec_version {self.spec_version!r} is not supported (this wizard reads {SPEC_VERSION})"
            )
        if not self.title.strip():
            raise SpecError("the spec's title is empty: give the app a title")
        if not self.emoji.strip():
            raise SpecError("the spec's emoji is empty: pick one, e.g. 🎨")
        if not 1 <= self.duration <= MAX_DURATION:
            raise SpecError(f"duration {self.duration} s is out of range: use 1 to {MAX_DURATION} seconds")
        names: set[str] = set()
        labels: set[str] = set()
        widgets: set[tuple[str, str]] = set()
        for record in (*self.inputs, *self.outputs, *self.models, *self.custom_nodes):
            _check_field_types(record)
        for item in self.inputs:
            _check_input(item)
            for node_id, input_name in item.targets:
                if (node_id, input_name) in widgets:
                    raise SpecError(f"node {node_id} input {input_name!r} is exposed twice")
                widgets.add((node_id, input_name))
            _claim(item.name, item.label, names, labels)
        for output in self.outputs:
            _check_output(output)
            _claim(output.name, output.label, names, labels)
        for model in self.models:
            _check_model(model)
        for pack in self.custom_nodes:
            _check_pack(pack)
        if self.comfyui["repo"] != COMFYUI_GIT_URL:  # the wizard's own setting is the user's choice
            _check_url(self.comfyui["repo"], "the spec's ComfyUI repository")


# --- building a spec ----------------------------------------------------------------------------


def auto_spec(conversion: Conversion, analysis: Analysis, *, filename: str | None = None) -> AppSpec:
    """The spec of the `auto` selection: the inputs and outputs a user would keep, titled from the
    workflow's file name when it says something ("sdxl_refiner_prompt_example.json"), else from its task."""
    chosen = sorted((c for c in analysis.inputs if c.auto), key=lambda c: c.rank)
    taken: set[str] = set()
    inputs = [
        AppInput.from_candidate(candidate, name=python_name(candidate.label, taken), order=order)
        for order, candidate in enumerate(chosen)
    ]
    labels_taken = {item.label.casefold() for item in inputs}
    outputs = []
    for candidate in analysis.outputs:
        if not candidate.auto:
            continue
        # An input and an output both called "Audio" would read ambiguously: the output yields.
        label, number = candidate.label, 1
        while label.casefold() in labels_taken:
            number += 1
            label = f"{candidate.label} result" + (f" {number - 1}" if number > 2 else "")
        labels_taken.add(label.casefold())
        outputs.append(AppOutput.from_candidate(candidate, name=python_name(label, taken), label=label))
    task = _task(inputs, outputs)
    return AppSpec(
        fingerprint=workflow_fingerprint(conversion.prompt),
        title=title_from_filename(filename) or task,
        description=_description(task),
        emoji=_EMOJI.get(outputs[0].kind if outputs else "", "🧩"),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        tags=tuple(dict.fromkeys(["comfyui", *_task_tags(inputs, outputs)])),
        models=tuple(replace(model, node_ids=()) for model in analysis.models),  # the spec keeps no ids
        custom_nodes=tuple(analysis.custom_nodes),
        api_nodes=analysis.api_nodes,
    )


def workflow_fingerprint(prompt: dict[str, dict[str, Any]]) -> str:
    """A hash of the prompt's structure: node ids, class types and links (not widget values)."""
    structure = []
    for node_id in sorted(prompt):
        node = prompt[node_id]
        links = sorted(
            [name, value[0], value[1]]
            for name, value in (node.get("inputs") or {}).items()
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
        )
        structure.append([node_id, node.get("class_type"), links])
    digest = hashlib.sha256(json.dumps(structure, separators=(",", ":")).encode()).hexdigest()
    return f"sha256:{digest[:16]}"


def python_name(label: str, taken: set[str]) -> str:
    """A readable, unique, non-reserved Python identifier for a label; adds it to `taken`."""
    ascii_text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:MAX_NAME_LENGTH].rstrip("_") or "value"
    if base[0].isdigit():
        base = f"input_{base}"
    name, number = base, 1
    while name in taken or name in RESERVED_NAMES:
        number += 1
        name = f"{base}_{number}"
    taken.add(name)
    return name


_EMOJI = {"images": "🎨", "video": "🎬", "audio": "🎵", "mesh": "🧊", "text": "📝"}
_NOUNS = {"images": "image", "video": "video", "audio": "audio", "mesh": "3D", "text": "text"}


def _task(inputs: list[AppInput], outputs: list[AppOutput]) -> str:
    """ "Text to image", "Image to video", "Text and image to video"... from the chosen media."""
    sources = []
    if any(item.value_type == "STRING" and item.multiline for item in inputs):
        sources.append("text")
    for item in inputs:
        noun = {"image": "image", "image+mask": "image", "mask": "image", "video": "video", "audio": "audio"}
        word = noun.get(item.media or "")
        if word and word not in sources:
            sources.append(word)
    targets = list(dict.fromkeys(_NOUNS[output.kind] for output in outputs))
    if not targets:
        return "ComfyUI workflow"
    target = _join(targets)
    if not sources:
        return f"{target[:1].upper()}{target[1:]} generator"
    task = f"{_join(sources)} to {target}"
    return task[:1].upper() + task[1:]


def _description(task: str) -> str:
    """The longest of these that still fits the Space card's 60 characters."""
    options = (f"{task}, made from a ComfyUI workflow", f"{task} with ComfyUI", task)
    return next((option for option in options if len(option) <= 60), task)


def _join(words: list[str]) -> str:
    """ "text", "text and image", "text, image and audio"."""
    return " and ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} and {words[-1]}"


def _task_tags(inputs: list[AppInput], outputs: list[AppOutput]) -> list[str]:
    task = _task(inputs, outputs).lower()
    known = {
        "text to image": "text-to-image",
        "image to image": "image-to-image",
        "text to video": "text-to-video",
        "image to video": "image-to-video",
        "text to audio": "text-to-audio",
        "text to 3d": "text-to-3d",
        "image to 3d": "image-to-3d",
        "image to text": "image-to-text",
    }
    return [known[task]] if task in known else []


_GENERIC_WORDS = frozenset(
    {
        "comfyui",
        "comfy",
        "workflow",
        "workflows",
        "api",
        "untitled",
        "new",
        "copy",
        "export",
        "default",
        "final",
    }
)
_TITLE_WORDS = {
    "sdxl": "SDXL",
    "sd": "SD",
    "sd3": "SD3",
    "sd15": "SD1.5",
    "api": "API",
    "vae": "VAE",
    "lora": "LoRA",
    "controlnet": "ControlNet",
    "3d": "3D",
    "openai": "OpenAI",
    "ai": "AI",
    "gpt": "GPT",
    "ltxv": "LTXV",
    "i2v": "I2V",
    "t2v": "T2V",
    "t2i": "T2I",
    "i2i": "I2I",
    "svd": "SVD",
    "flux": "Flux",
    "hidream": "HiDream",
}


def title_from_filename(filename: str | None) -> str | None:
    """ "SDXL refiner prompt example" for "sdxl_refiner_prompt_example.json"; None for a name that says
    nothing of the workflow ("workflow (3).json", "ComfyUI_00012_.png")."""
    if not filename:
        return None
    stem = Path(filename.replace("\\", "/")).name.rsplit(".", 1)[0]
    words = [word for word in re.split(r"[\s_\-.()\[\]]+", stem) if word and not word.isdigit()]
    if not [word for word in words if word.lower() not in _GENERIC_WORDS]:
        return None
    words = [
        _TITLE_WORDS.get(word.lower(), word if word[1:] and not word[1:].islower() else word.lower())
        for word in words
    ]
    title = " ".join(words)[:60].rstrip()
    return title[:1].upper() + title[1:]


# --- checks -------------------------------------------------------------------------------------


def _claim(name: str, label: str, names: set[str], labels: set[str]) -> None:
    if not name.isidentifier() or name in RESERVED_NAMES or not name.isascii():
        raise SpecError(f"{name!r} cannot be a parameter name: use a plain, unreserved Python identifier")
    if name in names:
        raise SpecError(f"the name {name!r} is used twice: each input and output needs its own")
    if not label.strip():
        raise SpecError(f"{name!r} has an empty label: give it one")
    if label.casefold() in labels:
        raise SpecError(f"the label {label!r} is used twice: labels must be unique")
    names.add(name)
    labels.add(label.casefold())


_FIELD_TYPES = {
    "node_id": str,
    "input_name": str,
    "name": str,
    "label": str,
    "component": str,
    "value_type": str,
    "kind": str,
    "folder": str,
    "multiline": bool,
    "advanced": bool,
    "randomize": bool,
    "order": int,
}


def _check_field_types(record: Any) -> None:
    for spec_field in fields(record):
        expected = _FIELD_TYPES.get(spec_field.name)
        value = getattr(record, spec_field.name)
        if expected is not None and (type(value) is not expected):
            raise SpecError(
                f"{type(record).__name__} field {spec_field.name!r} must be {expected.__name__}, got {value!r}"
            )


def _check_input(item: AppInput) -> None:
    where = f"input {item.label!r}"
    allowed = INPUT_COMPONENTS.get(item.value_type)
    if allowed is None:
        raise SpecError(f"{where} has value_type {item.value_type!r}: use one of {', '.join(VALUE_TYPES)}")
    if item.component not in allowed:
        raise SpecError(
            f"{where}: a {item.value_type} value cannot be a {item.component}; use {' or '.join(allowed)}"
        )
    if item.randomize and item.value_type != "INT":
        raise SpecError(f"{where}: only an INT seed can be randomized")
    if item.value_type == "FILE":
        if item.default is not None and not isinstance(item.default, str):
            raise SpecError(f"{where}: a file input's default must be null or a file path")
        if item.media not in MEDIA_COMPONENTS:
            raise SpecError(f"{where}: a file input needs media, one of {', '.join(MEDIA_COMPONENTS)}")
        for key in ("max_pixels", "max_seconds"):
            cap = getattr(item, key)
            if cap is not None and (not _is_number(cap) or not math.isfinite(cap) or cap <= 0):
                raise SpecError(f"{where}: {key} must be a positive number or null")
        if item.max_pixels is not None and not isinstance(item.max_pixels, int):
            raise SpecError(f"{where}: max_pixels must be a whole number")
        return
    if item.max_pixels is not None or item.max_seconds is not None:
        raise SpecError(f"{where}: max_pixels and max_seconds apply to file inputs only")
    _check_value_type(where, item.value_type, item.default)
    for bound in (item.minimum, item.maximum, item.step):
        if bound is not None and (not _is_number(bound) or not math.isfinite(bound)):
            raise SpecError(f"{where}: minimum, maximum and step must be finite numbers or null")
    if item.component == "Slider" and None in (item.minimum, item.maximum, item.step):
        raise SpecError(f"{where}: a Slider needs minimum, maximum and step")
    if item.minimum is not None and item.maximum is not None and item.minimum > item.maximum:
        raise SpecError(f"{where}: minimum {item.minimum} is above maximum {item.maximum}")
    if item.step is not None and item.step <= 0:
        raise SpecError(f"{where}: step must be positive, got {item.step}")
    if _is_number(item.default) and not item.randomize:
        if (item.minimum is not None and item.default < item.minimum) or (
            item.maximum is not None and item.default > item.maximum
        ):
            raise SpecError(f"{where}: default {item.default} is outside {item.minimum}..{item.maximum}")
    if item.component in ("Dropdown", "Radio"):
        if not item.choices:
            raise SpecError(f"{where}: a {item.component} needs choices")
        if item.default not in item.choices:
            raise SpecError(f"{where}: default {item.default!r} is not one of its choices")


def _check_value_type(where: str, value_type: str, value: Any) -> None:
    ok = {
        "INT": isinstance(value, int) and not isinstance(value, bool),
        "FLOAT": _is_number(value),
        "STRING": isinstance(value, str),
        "BOOLEAN": isinstance(value, bool),
        "COMBO": isinstance(value, (str, int, float)) and not isinstance(value, bool),
    }[value_type]
    if not ok:
        raise SpecError(f"{where}: {value!r} is not a {value_type} value")


def _check_input_against(item: AppInput, conversion: Conversion) -> None:
    node = conversion.nodes.get(item.node_id)
    if node is None or item.node_id not in conversion.prompt:
        raise SpecError(f"input {item.label!r} refers to node {item.node_id}, which the workflow lacks")
    if item.input_name not in node.widget_names:
        raise SpecError(
            f"input {item.label!r}: node {item.node_id} ({node.class_type}) has no widget {item.input_name!r}"
        )
    value = conversion.prompt[item.node_id]["inputs"].get(item.input_name)
    if (
        item.value_type != "FILE"
        and isinstance(value, str)
        and Path(value).suffix.lower() in UPLOAD_EXTENSIONS
    ):
        # The app would pass the text on as a file name in ComfyUI's input folder: a visitor could name
        # any file there, or try a server path. An upload input is a file component, always.
        raise SpecError(
            f"input {item.label!r}: node {item.node_id}'s {item.input_name!r} takes an uploaded file "
            f"({value!r}): make it value_type FILE with one of {', '.join(INPUT_COMPONENTS['FILE'])}"
        )
    expected = "STRING" if item.value_type == "FILE" else item.value_type
    if expected == "INT" and isinstance(value, float) and value.is_integer():
        return  # ComfyUI casts 20.0 to 20 when it validates
    try:
        _check_value_type(f"input {item.label!r}", expected, value)
    except SpecError:
        raise SpecError(
            f"input {item.label!r}: node {item.node_id}'s {item.input_name!r} holds {value!r}, "
            f"not a {item.value_type} value"
        ) from None


def _check_output(output: AppOutput) -> None:
    expected = OUTPUT_COMPONENTS.get(output.kind)
    if expected is None:
        raise SpecError(
            f"output {output.label!r} has kind {output.kind!r}: use one of {', '.join(OUTPUT_KINDS)}"
        )
    if output.component != expected:
        raise SpecError(
            f"output {output.label!r}: {output.kind} is shown with a {expected}, not {output.component}"
        )


def _check_model(model: ModelFile) -> None:
    if bool(model.repo_id) != bool(model.path):
        raise SpecError(f"model {model.name}: give both the Hub repo (user/name) and the file's path in it")
    if model.repo_id and not HUB_REPO_ID.fullmatch(model.repo_id):
        raise SpecError(f"model {model.name}: {model.repo_id!r} is not a Hub repo id (user/name)")
    if model.url:
        _check_url(model.url, f"model {model.name}'s download URL")
    if model.source is not None and model.source not in MODEL_SOURCES:
        raise SpecError(
            f"model {model.name}: source {model.source!r} is not one of {', '.join(MODEL_SOURCES)}"
        )


def _check_pack(pack: NodePack) -> None:
    name = pack.pack or ", ".join(pack.class_types)
    if pack.repo:
        _check_url(pack.repo, f"custom-node pack {name}'s repository")
    if pack.source is not None and pack.source not in PACK_SOURCES:
        raise SpecError(
            f"custom-node pack {name}: source {pack.source!r} is not one of {', '.join(PACK_SOURCES)}"
        )


def _check_url(url: str, what: str) -> None:
    try:
        check_url(url, what)
    except UrlPolicyError as error:
        raise SpecError(str(error)) from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- JSON parsing -------------------------------------------------------------------------------


def _parse_spec(data: Any) -> AppSpec:
    _require(isinstance(data, dict), "the spec must be a JSON object")
    version = data.get("spec_version")
    _require(
        version == SPEC_VERSION,
        f"spec_version {version!r} is not supported (this wizard reads {SPEC_VERSION})",
    )
    inputs = tuple(_record(AppInput, item, "inputs") for item in _list(data, "inputs"))
    outputs = tuple(_record(AppOutput, item, "outputs") for item in _list(data, "outputs"))
    models = tuple(_from_dict(ModelFile, item, "models") for item in _list(data, "models"))
    packs = tuple(_from_dict(NodePack, item, "custom_nodes") for item in _list(data, "custom_nodes"))
    comfyui = data.get("comfyui")
    _require(
        isinstance(comfyui, dict) and all(isinstance(comfyui.get(key), str) for key in ("repo", "commit")),
        'the spec\'s "comfyui" must be {"repo": URL, "commit": SHA}',
    )
    for key, kind in (("fingerprint", str), ("title", str), ("description", str), ("emoji", str)):
        _require(isinstance(data.get(key), kind), f'the spec needs a string "{key}"')
    duration, measured = data.get("duration"), data.get("measured_seconds")
    _require(
        isinstance(duration, int) and not isinstance(duration, bool), 'the spec\'s "duration" must be seconds'
    )
    _require(
        measured is None or _is_number(measured), 'the spec\'s "measured_seconds" must be a number or null'
    )
    accelerate = data.get("accelerate", True)
    _require(isinstance(accelerate, bool), 'the spec\'s "accelerate" must be true or false')
    api_nodes = data.get("api_nodes", [])
    _require(
        isinstance(api_nodes, list) and all(isinstance(name, str) for name in api_nodes),
        '"api_nodes" must be a list of node class types',
    )
    tags = data.get("tags", ["comfyui"])
    _require(
        isinstance(tags, list) and all(isinstance(tag, str) for tag in tags),
        '"tags" must be a list of strings',
    )
    return AppSpec(
        fingerprint=data["fingerprint"],
        title=data["title"],
        description=data["description"],
        emoji=data["emoji"],
        inputs=inputs,
        outputs=outputs,
        duration=duration,
        measured_seconds=measured,
        accelerate=accelerate,
        tags=tuple(tags),
        models=models,
        custom_nodes=packs,
        api_nodes=tuple(api_nodes),
        comfyui={"repo": comfyui["repo"], "commit": comfyui["commit"]},
    )


def _list(data: dict[str, Any], key: str) -> list:
    value = data.get(key, [])
    _require(isinstance(value, list), f'the spec\'s "{key}" must be a list')
    return value


def _record(cls, item: Any, where: str):
    """An input or output from a JSON object: known keys only, required ones present, lists made tuples."""
    _require(isinstance(item, dict), f'each entry of "{where}" must be an object')
    allowed = {f.name for f in fields(cls)}
    unknown = sorted(set(item) - allowed)
    _require(not unknown, f'"{where}" entry has unknown key(s) {", ".join(unknown)}')
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in item]
    _require(not missing, f'"{where}" entry lacks {", ".join(missing)}')
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in item.items()}
    if "also_targets" in values:
        targets = values["also_targets"]
        _require(
            isinstance(targets, tuple)
            and all(
                isinstance(target, list)
                and len(target) == 2
                and all(isinstance(part, str) for part in target)
                for target in targets
            ),
            f'"{where}" entry: "also_targets" must be a list of [node id, input name] pairs',
        )
        values["also_targets"] = tuple(tuple(target) for target in targets)
    return cls(**values)


def _from_dict(cls, item: Any, where: str):
    try:
        return cls.from_dict(item)
    except ValueError as error:
        raise SpecError(f'bad "{where}" entry: {error}') from None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SpecError(message)
