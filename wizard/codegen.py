"""Writes a Space folder from a workflow and its AppSpec, rendering `templates/` with Jinja2.

Workflows are hostile input. Every `{{ ... }}` in a template must go through one of the filters
below, and the environment's `finalize` refuses anything else, so no string from a workflow can
reach a generated file unquoted: in app.py strings are Python literals made by `repr()`, in the
README front matter YAML scalars made by PyYAML (always double-quoted, so YAML 1.1 and 1.2 readers
agree), in the README body escaped Markdown. The output is byte-stable: no timestamps, no set
iteration, black-formatted.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

import black
import jinja2
import yaml
from packaging.requirements import InvalidRequirement, Requirement

from runtime.atomic import build_then_rename
from runtime.locate import COMFYUI_VERSION
from runtime.comfy_api import COMFY_API_KEY_SECRET
from wizard import app_contract
from wizard.app_contract import markdown_text
from wizard.appspec import AppInput, AppOutput, AppSpec
from wizard.errors import BuildError, fix, one_line
from wizard.packs import lock_entry, merged_requirements
from wizard.manifest import MANIFEST_NAME, read_manifest, write_manifest
from wizard.records import Conversion, ModelFile, NodePack

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = REPO_ROOT / "templates"
RUNTIME_DIR = REPO_ROOT / "runtime"
COMFYUI_REQUIREMENTS = Path(__file__).parent / "data" / f"comfyui-requirements-{COMFYUI_VERSION}.txt"
BLACK_MODE = black.Mode(line_length=110, target_versions={black.TargetVersion.PY310})

SDK_VERSION = "6.31.0"
PINS = ("gradio[mcp]==6.31.0", "spaces==0.51.3", "huggingface_hub==2.4.0")
TORCH_PINS = ("torch==2.9.1", "torchvision==0.24.1", "torchaudio==2.9.1")
TORCH_PACKAGES = frozenset({"torch", "torchvision", "torchaudio"})
# ComfyUI's requirements.txt omits `requests`, which its frontend management imports.
COMFYUI_MISSING_REQUIREMENTS = ("requests",)
SPACE_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SHORT_DESCRIPTION_MAX = 60
MAX_FILE_SIZE = "200mb"  # Gradio refuses a larger upload before it is stored
DELETE_CACHE = (3600, 3600)  # Gradio deletes the files it served once an hour, when older than an hour
GENERATED_FILES = (
    "app.py",
    "README.md",
    "requirements.txt",
    "workflow_api.json",
    "workflow.json",
    "comfy.lock.json",
    "appspec.json",
    "pyproject.toml",
)
_MEDIA_WORDS = {
    "image": "an image",
    "mask": "a mask image (its alpha channel, or the chosen channel)",
    "image+mask": "an image; paint over it to mask the area to change",
    "video": "a video",
    "audio": "an audio file",
    "file": "a file",
}
_OUTPUT_WORDS = {
    "images": "images",
    "video": "a video",
    "audio": "audio",
    "mesh": "a 3D model",
    "text": "text",
}


def build_space(
    conversion: Conversion,
    spec: AppSpec,
    out_dir: str | Path,
    *,
    example: app_contract.AppExample | None = None,
    space_id: str | None = None,
) -> Path:
    """Write the Space folder for `conversion` as `spec` describes it; returns the folder.

    `example`: a Test run, whose values become the app's first example (its files copied into examples/)
    and whose image the Space card's thumbnail (`space_id`, "user/name", makes its URL for the README).

    The folder is written beside `out_dir` and renamed into place once complete, with its manifest
    written last (so publish can tell a finished build). Rebuilding replaces what the wizard wrote before
    and keeps everything else in the folder (a Test run's `comfy_data/`, files the user added)."""
    spec.check(conversion)
    files = render_files(conversion, spec, example=example, space_id=space_id)
    copies = example.files() if example is not None else {}
    target = Path(out_dir)

    def write(folder: Path) -> None:
        for name, content in files.items():
            (folder / name).write_text(content, encoding="utf-8", newline="\n")
        for name, source in copies.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, folder / name)
        _copy_runtime(folder / "runtime")
        write_manifest(folder)

    try:
        kept = _kept_entries(target)
        build_then_rename(target.resolve(), write, replace=True, keep=kept)
    except OSError as error:
        raise BuildError(_write_error(error, target)) from None
    return target


def render_files(
    conversion: Conversion,
    spec: AppSpec,
    *,
    example: app_contract.AppExample | None = None,
    space_id: str | None = None,
) -> dict[str, str]:
    """The generated text files by name (the folder minus `runtime/` and examples/), in a fixed order."""
    thumbnail = example.thumbnail if example is not None else None
    thumbnail_url = _file_url(space_id, thumbnail) if space_id and thumbnail else None
    readme = _readme_context(spec, conversion.ui_graph is not None, thumbnail_url)
    files = {
        "app.py": render_app(conversion, spec, example),
        "README.md": _render("README.md.j2", readme),
        "requirements.txt": _render("requirements.txt.j2", _requirements_context(spec)),
        "workflow_api.json": _json_text(conversion.prompt),
    }
    if conversion.ui_graph is not None:
        files["workflow.json"] = _json_text(conversion.ui_graph)
    files["comfy.lock.json"] = _json_text(lock_data(spec))
    files["appspec.json"] = spec.to_json()
    files["pyproject.toml"] = _render("pyproject.toml.j2", _formatter_context())
    return files


def render_app(conversion: Conversion, spec: AppSpec, example: app_contract.AppExample | None = None) -> str:
    source = _render("app.py.j2", _app_context(conversion, spec, example))
    try:
        return black.format_str(source, mode=BLACK_MODE)
    except black.InvalidInput as error:  # a template bug, never the workflow: its strings are literals
        raise BuildError(f"the generated app.py does not parse ({error}); please report this") from None


def lock_data(spec: AppSpec) -> dict[str, Any]:
    """`comfy.lock.json`: what runtime/ installs (the format is in the project brief)."""
    return {
        "comfyui": {"repo": spec.comfyui["repo"], "commit": spec.comfyui["commit"]},
        # A pack nobody could name has nothing to install: runtime/ then names its missing node types.
        "custom_nodes": [_lock_pack(pack) for pack in spec.custom_nodes if pack.pack or pack.repo],
        "models": [
            {
                key: getattr(model, key)
                for key in ("name", "folder", "repo_id", "path", "revision", "url", "size")
            }
            for model in spec.models
        ],
    }


# --- safe interpolation -------------------------------------------------------------------------


class Code(str):
    """Text made by one of this module's filters: a checked literal, identifier or escaped fragment."""


def literal(value: Any) -> str:
    """A Python literal that evaluates to `value` (str, numbers, bool, None, lists, tuples, dicts)."""
    if isinstance(value, str):
        return _string_literal(value)
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BuildError(f"{value!r} cannot appear in the app: use a finite number")
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(literal(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(key)}: {literal(item)}" for key, item in value.items()) + "}"
    raise BuildError(f"a {type(value).__name__} value cannot appear in the app")


def _string_literal(text: str) -> str:
    """`repr(text)`, double-quoted the way black writes it (so black has less to redo)."""
    quoted = repr(text)
    if quoted.startswith("'") and '"' not in text:  # then `text` holds no quote of either kind
        return f'"{quoted[1:-1]}"'
    return quoted


def _docstring(text: Any) -> Code:
    """A triple-quoted docstring of `text` for a function body (lines after the first indented 4 more;
    `inspect.getdoc` strips that again): quotes, backslashes and control characters escaped."""
    escaped = "".join(_docstring_char(char) for char in str(text))
    return Code('"""' + escaped.replace("\n", "\n    ") + '"""')


def _docstring_char(char: str) -> str:
    if char in ('"', "\\"):
        return "\\" + char
    if char != "\n" and not char.isprintable():
        return repr(char)[1:-1]  # "\\x00", "\\u2028"
    return char


def _py(value: Any) -> Code:
    return Code(literal(value))


def _ident(name: Any) -> Code:
    if not isinstance(name, str) or not name.isidentifier() or not name.isascii():
        raise BuildError(f"{name!r} is not a Python identifier")
    return Code(name)


def _names(names: Iterable[str]) -> Code:
    return Code(", ".join(_ident(name) for name in names))


def _code(fragment: Any) -> Code:
    if not isinstance(fragment, Code):
        raise BuildError("a template tried to write text that no filter checked")
    return fragment


def _comment(text: Any) -> Code:
    if not isinstance(text, str) or not re.fullmatch(r"[ -~]*", text):
        raise BuildError(f"{text!r} cannot be a comment")
    return Code(text)


def _md(text: Any) -> Code:
    return Code(markdown_text(str(text)))


def _md_code(text: Any) -> Code:
    """A fenced Python block, its fence longer than any run of backticks inside."""
    longest = max((len(run) for run in re.findall(r"`+", str(text))), default=0)
    fence = "`" * max(3, longest + 1)
    return Code(f"{fence}python\n{text}\n{fence}")


def _url(url: Any) -> Code:
    if not isinstance(url, str) or not re.fullmatch(r"https://huggingface\.co/[A-Za-z0-9_.~%/-]+", url):
        raise BuildError(f"{url!r} is not a link the README may hold")
    return Code(url)


# Plain scalars a YAML 1.2 reader (the Hub's) takes for something other than a string; PyYAML
# (YAML 1.1) would write some of them unquoted, so they are always double-quoted.
_YAML12_NON_STRING = re.compile(
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)


class _FrontMatterDumper(yaml.SafeDumper):
    """Double-quotes strings that hold control characters or read as numbers, booleans or null."""

    def represent_str(self, data: str) -> yaml.ScalarNode:
        ambiguous = _YAML12_NON_STRING.fullmatch(data) or not data.isprintable()
        return self.represent_scalar("tag:yaml.org,2002:str", data, style='"' if ambiguous else None)


_FrontMatterDumper.add_representer(str, _FrontMatterDumper.represent_str)


def _yaml(mapping: Any) -> Code:
    text = yaml.dump(mapping, Dumper=_FrontMatterDumper, sort_keys=False, allow_unicode=True, width=1_000_000)
    return Code(text.rstrip("\n"))


def _requirement(line: Any) -> Code:
    try:
        Requirement(line)
    except (InvalidRequirement, TypeError):
        raise BuildError(f"{line!r} is not a valid requirement") from None
    return Code(line)


def _refuse_unfiltered(value: Any) -> Any:
    if isinstance(value, Code):
        return value
    raise BuildError(
        f"a template wrote {type(value).__name__} {value!r} without a filter; please report this"
    )


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_refuse_unfiltered,
)
_ENVIRONMENT.filters.update(
    {
        "py": _py,
        "docstring": _docstring,
        "ident": _ident,
        "names": _names,
        "code": _code,
        "comment": _comment,
        "md": _md,
        "md_code": _md_code,
        "url": _url,
        "yaml": _yaml,
        "requirement": _requirement,
    }
)


def _render(template: str, context: dict[str, Any]) -> str:
    return _ENVIRONMENT.get_template(template).render(context)


# --- app.py -------------------------------------------------------------------------------------


def _app_context(
    conversion: Conversion, spec: AppSpec, example: app_contract.AppExample | None
) -> dict[str, Any]:
    inputs = spec.ordered_inputs
    parameters = app_contract.parameters(spec)
    page = app_contract.layout(spec, example)
    returns = app_contract.return_values(spec)
    return {
        "docstring": f"{one_line(spec.title)}: a Gradio app made from a ComfyUI workflow.",
        "mask_editor": any(item.component == "ImageEditor" for item in inputs),
        "has_ui_workflow": conversion.ui_graph is not None,
        "max_file_size": MAX_FILE_SIZE,
        "delete_cache": DELETE_CACHE,
        "duration": spec.duration,
        "duration_note": _duration_note(spec),
        "parameters": [parameter.name for parameter in parameters],
        "signature": [
            {"name": parameter.name, "annotation": app_contract.annotation(parameter)}
            for parameter in parameters
        ],
        "api_doc": _api_doc(spec, parameters, returns),
        "randomized": app_contract.randomized_seeds(spec),
        "randomize_seed": app_contract.RANDOMIZE_SEED,
        "accelerate": spec.accelerate,
        "inputs": [
            {
                "name": item.name,
                "node_id": item.node_id,
                "input_name": item.input_name,
                "label": item.label,
                "also": item.also_targets,
                "limits": {
                    key: getattr(item, key) for key in ("max_pixels", "max_seconds") if getattr(item, key)
                },
                "value_expression": _value_expression(item),
            }
            for item in inputs
        ],
        "outputs": [{"name": o.name, "node_id": o.node_id, "kind": o.kind} for o in spec.outputs],
        "returns": Code(", ".join(_return_expression(value) for value in returns)),
        "title": page.title,
        "heading": page.heading,
        "main_components": [_component_line(parameter) for parameter in page.main],
        "advanced_section": app_contract.ADVANCED_SECTION,
        "advanced_components": [_component_line(parameter) for parameter in page.advanced],
        "run_button": app_contract.RUN_BUTTON,
        "output_components": [_component_line(output) for output in page.outputs],
        "no_output_note": app_contract.NO_OUTPUT_NOTE,
        "examples": page.examples
        and {
            "names": page.examples.names,
            "rows": [list(row) for row in page.examples.rows],
        },
        "click_outputs": [value.name for value in returns],
    }


def _component_line(item: app_contract.Parameter | AppOutput) -> dict[str, Any]:
    return {"name": item.name, "constructor": _constructor(item)}


def _api_doc(
    spec: AppSpec,
    parameters: tuple[app_contract.Parameter, ...],
    returns: tuple[app_contract.ReturnValue, ...],
) -> str:
    """`generate`'s docstring in the "Args:"/"Returns:" form Gradio reads for the API page and the MCP tool."""
    lines = [f"{one_line(spec.description).rstrip('.')}: runs the ComfyUI workflow once.", ""]
    if parameters:
        lines.append("Args:")
        lines += [f"    {parameter.name}: {app_contract.describe(parameter)}" for parameter in parameters]
    lines += ["", "Returns:"]
    for value in returns:
        label = value.output.label if value.output is not None else f"the seed used for {value.seed.label}"
        lines.append(f"    {label}")
    return "\n".join(lines) + "\n"


def _constructor(item: app_contract.Parameter | AppOutput) -> Code:
    """`gr.Class(keyword=literal, ...)`, as `app_contract.component` describes the component."""
    name, kwargs = app_contract.component(item)
    arguments = ", ".join(f"{key}={literal(value)}" for key, value in kwargs.items())
    return Code(f"gr.{_ident(name)}({arguments})")


def _return_expression(value: app_contract.ReturnValue) -> Code:
    if value.output is None:
        return _ident(value.name)  # the seed the run used
    return Code(f"outputs[{literal(value.output.name)}]")


def _value_expression(item: AppInput) -> Code:
    if item.component == "ImageEditor":
        return Code(f"image_with_mask({_ident(item.name)})")
    return _ident(item.name)


def _duration_note(spec: AppSpec) -> str:
    if spec.measured_seconds is None:
        return "ZeroGPU's default; the wizard's Test run measures this workflow"
    return f"measured by the wizard's test run: {math.ceil(spec.measured_seconds)} s, with headroom"


# --- README.md ----------------------------------------------------------------------------------


def _readme_context(spec: AppSpec, has_ui_workflow: bool, thumbnail_url: str | None) -> dict[str, Any]:
    return {
        "front_matter": front_matter(spec, thumbnail_url),
        "title": spec.title,
        "description_sentence": f"{spec.description.rstrip('.')}.",
        "inputs": [
            {"label": item.label, "kind": _input_words(item), "advanced": item.advanced}
            for item in spec.ordered_inputs
        ],
        "outputs": [{"label": output.label, "kind": _OUTPUT_WORDS[output.kind]} for output in spec.outputs],
        "models": [_model_entry(model) for model in spec.models],
        "custom_nodes": [_pack_words(pack) for pack in spec.custom_nodes],
        "api_nodes": ", ".join(spec.api_nodes),
        "api_key_secret": COMFY_API_KEY_SECRET,
        "client_call": _client_call(spec),
        "comfyui": f"{COMFYUI_VERSION} (commit {spec.comfyui['commit'][:8]})",
        "has_ui_workflow": has_ui_workflow,
    }


def _client_call(spec: AppSpec) -> str:
    """The `gradio_client` call of `/generate` with the app's own defaults (files as `handle_file`)."""
    parameters = app_contract.parameters(spec)
    files = any(
        parameter.input is not None and parameter.input.value_type == "FILE" for parameter in parameters
    )
    lines = [
        f"from gradio_client import Client{', handle_file' if files else ''}",
        "",
        'client = Client("user/space")',
    ]
    lines.append("result = client.predict(")
    for parameter in parameters:
        item = parameter.input
        if item is None:
            value = "True"
        elif item.value_type == "FILE":
            value = 'handle_file("input.png")' if item.media in ("image", "mask") else 'handle_file("input")'
            if item.component == "ImageEditor":
                value = '{"background": handle_file("input.png"), "layers": [], "composite": None}'
        else:  # no HTML in the README, not even inside a string: "<" is written "\\x3c"
            value = literal(item.default).replace("<", "\\x3c").replace(">", "\\x3e").replace("&", "\\x26")
        lines.append(f"    {parameter.name}={value},")
    lines += ['    api_name="/generate",', ")", "print(result)"]
    return "\n".join(lines)


def front_matter(spec: AppSpec, thumbnail_url: str | None = None) -> dict[str, Any]:
    """The Space card and build settings (https://huggingface.co/docs/hub/spaces-config-reference); the
    card's `thumbnail` (a URL) is the Test run's image, once the Space's name is known."""
    color_from, color_to = _colors(spec.fingerprint)
    matter: dict[str, Any] = {
        "title": spec.title,
        "emoji": spec.emoji,
        "colorFrom": color_from,
        "colorTo": color_to,
        "sdk": "gradio",
        "sdk_version": SDK_VERSION,
        "python_version": "3.12",
        "app_file": "app.py",
        "short_description": short_description(spec.description),
        **({"thumbnail": thumbnail_url} if thumbnail_url else {}),
        "license": "gpl-3.0",
        "tags": list(dict.fromkeys(["comfyui", *spec.tags])),
    }
    hub_models = [model for model in spec.models if model.repo_id and model.path]
    repos = list(dict.fromkeys(model.repo_id for model in hub_models))
    if repos:
        matter["models"] = repos
    preload = [entry for entry in (_preload_entry(model) for model in hub_models) if entry]
    if preload:
        matter["preload_from_hub"] = list(dict.fromkeys(preload))
    return matter


def short_description(description: str) -> str:
    """The card's one-liner: at most 60 characters, cut at a word with "…" when longer."""
    text = one_line(description)
    if len(text) <= SHORT_DESCRIPTION_MAX:
        return text
    cut = text[: SHORT_DESCRIPTION_MAX - 1].rsplit(" ", 1)[0] or text[: SHORT_DESCRIPTION_MAX - 1]
    return cut.rstrip(" ,.;:") + "…"


def _colors(fingerprint: str) -> tuple[str, str]:
    """Two different card colours, the same for every build of one workflow."""
    number = int(hashlib.sha256(fingerprint.encode()).hexdigest()[:8], 16)
    first = number % len(SPACE_COLORS)
    second = (first + 1 + (number // len(SPACE_COLORS)) % (len(SPACE_COLORS) - 1)) % len(SPACE_COLORS)
    return SPACE_COLORS[first], SPACE_COLORS[second]


def _file_url(space_id: str, path: str) -> str:
    """The URL of a file of the Space's main branch."""
    return f"https://huggingface.co/spaces/{quote(space_id, safe='/')}/resolve/main/{quote(path, safe='/')}"


def _preload_entry(model: ModelFile) -> str | None:
    """ "repo file" (plus the revision when it is a commit) for `preload_from_hub`, else None.

    Gated files cannot be fetched while the Space builds, and a name with a space or comma cannot be
    written in this list: runtime/ downloads those at start-up instead.
    """
    if model.gated or not model.repo_id or not model.path:
        return None
    if re.search(r"[\s,]", model.repo_id + model.path):
        return None
    entry = f"{model.repo_id} {model.path}"
    if model.revision and re.fullmatch(r"[0-9a-f]{40}", model.revision):
        entry += f" {model.revision}"
    return entry


def _model_entry(model: ModelFile) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "where": f"{model.folder}/{model.name}",
        "gated": bool(model.gated),
        "link": None,
    }
    if model.repo_id and model.path:
        revision = model.revision or "main"
        entry["link"] = "https://huggingface.co/" + quote(
            f"{model.repo_id}/blob/{revision}/{model.path}", safe="/"
        )
        entry["link_text"] = f"{model.repo_id}"
    elif model.url:
        entry["where"] += f" from {model.url}"
    else:
        entry["where"] += " (no download known: place it in the model folder)"
    return entry


def _pack_words(pack: NodePack) -> str:
    name = pack.pack or "an unknown pack (install it, then add it to comfy.lock.json)"
    version = f" {pack.version}" if pack.version else ""
    repo = f" ({pack.repo})" if pack.repo else ""
    return f"{name}{version}{repo}: {', '.join(pack.class_types)}"


def _input_words(item: AppInput) -> str:
    if item.value_type == "FILE":
        return _MEDIA_WORDS.get(item.media or "file", "a file")
    if item.randomize:
        return "a seed (random each run unless Randomize is unticked)"
    words = {"Textbox": "text", "Checkbox": "on or off", "Dropdown": "a choice", "Radio": "a choice"}
    if item.component in words:
        return words[item.component]
    if item.minimum is not None and item.maximum is not None:
        return f"a number from {item.minimum} to {item.maximum}"
    return "a number"


# --- requirements.txt, lock, files --------------------------------------------------------------


def comfyui_requirements() -> list[str]:
    """ComfyUI's own requirements without its unpinned torch trio, plus what it forgets to list.

    Read from the copy bundled with the wizard (a test checks it equals the pinned checkout's), not
    from whatever checkout this machine has, so every machine writes the same requirements.txt.
    """
    lines = []
    for raw in COMFYUI_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and Requirement(line).name.lower() not in TORCH_PACKAGES:
            lines.append(line)
    known = {Requirement(line).name.lower() for line in lines}
    return lines + [line for line in COMFYUI_MISSING_REQUIREMENTS if line not in known]


def _requirements_context(spec: AppSpec) -> dict[str, Any]:
    comfyui = comfyui_requirements()
    return {
        "pins": list(PINS),
        "torch": list(TORCH_PINS),
        "comfyui_version": COMFYUI_VERSION,
        "comfyui": comfyui,
        "custom_nodes": merged_requirements(
            spec.custom_nodes, [*PINS, *TORCH_PINS, *comfyui], TORCH_PACKAGES
        ),
    }


def _lock_pack(pack: NodePack) -> dict[str, Any]:
    """A lock-file entry; every pack the Space installs is pinned to a commit: the one
    `wizard.packs.pin_packs` found, else a full commit the workflow itself names (unchecked)."""
    named = pack.version if pack.version and re.fullmatch(r"[0-9a-f]{40}", pack.version) else None
    commit = pack.commit or named
    if not commit:
        raise BuildError(
            f"custom-node pack {pack.pack or pack.repo} is not pinned to a commit: "
            + fix(
                f"build without --offline (or with its clone cached), or give --pin {pack.pack or 'PACK'}=COMMIT",
                "give its commit in the Version column of the packs table",
            )
        )
    return lock_entry(replace(pack, commit=commit, version=None if named else pack.version))


def _formatter_context() -> dict[str, Any]:
    """BLACK_MODE in pyproject.toml terms (Python int and list-of-str literals are TOML too)."""
    versions = sorted(version.name.lower() for version in BLACK_MODE.target_versions)
    return {"line_length": BLACK_MODE.line_length, "target_versions": versions}


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _kept_entries(folder: Path) -> list[str]:
    """The top-level entries of an existing Space folder that a rebuild keeps: all but what the wizard
    wrote (its manifest's files, or, for a folder built before manifests, the generated files)."""
    if folder.exists() and not folder.is_dir():
        raise BuildError(f"{folder} is a file: choose a folder for the Space")
    if not folder.is_dir():
        return []
    manifest = read_manifest(folder)
    if manifest is None and any(folder.iterdir()) and not (folder / "appspec.json").is_file():
        raise BuildError(f"{folder} is not empty and holds no Space the wizard wrote: choose an empty folder")
    written = manifest.files if manifest is not None else GENERATED_FILES
    owned = {name.split("/")[0] for name in written} | {"runtime", MANIFEST_NAME}
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in owned)


def _write_error(error: OSError, target: Path) -> str:
    """A one-line user error for a failed write while building `target`."""
    where = error.filename or target
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full while writing {where}: free some space or build into another folder"
    if error.errno == errno.EFBIG:
        return f"a file is over this system's file-size limit while writing {where}: build elsewhere"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write {where}: build into a folder you can write to"
    return f"cannot write {where} ({error.strerror or error}): build into another folder"


def _copy_runtime(target: Path) -> None:
    """The runtime package's Python files (no caches), in sorted order."""
    for source in sorted(RUNTIME_DIR.rglob("*.py")):
        relative = source.relative_to(RUNTIME_DIR)
        if "__pycache__" in relative.parts:
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(source.read_bytes())
