"""The one description of a generated app: what `generate` takes and returns, and each component.

Codegen writes app.py from it, Test run calls the built app through it, and the wizard's preview
draws its controls from it, so the three cannot disagree. A new component type is added here once:
in `INPUT_COMPONENTS` (which value types may use it) and in `component`.

    parameters(spec)     the parameters of `generate`, in order: the inputs, with the "Randomize seed"
                         checkbox right after the first randomized seed
    return_values(spec)  what `generate` returns, in order: the outputs, then each randomized seed
    component(item)      (Gradio class name, keyword arguments) of an input, output or parameter
    annotation(param)    the Python type `generate` declares for a parameter (the API's and MCP tool's schema)
    describe(param)      the parameter's line in `generate`'s docstring ("Args:"), which Gradio shows in
                         the API page and gives MCP clients as the tool's parameter description
    layout(spec)         the page top to bottom: title, heading, the two columns (inputs left, with the
                         collapsed "Advanced" section and the Generate button; outputs right), the
                         examples row: app.py.j2 writes it, the wizard's preview draws it
"""

from __future__ import annotations

import builtins
import html
import keyword
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizard.records import InputSettings, OutputSettings

if TYPE_CHECKING:
    from wizard.appspec import AppInput, AppOutput, AppSpec

RANDOMIZE_SEED = "randomize_seed"  # the checkbox parameter next to the seeds it replaces
# The page's fixed words, and its theme: app.py.j2 passes no theme, so the app has Gradio's default
# (`gr.themes.Default`, orange); the wizard draws its preview in that theme's colours and fonts.
THEME = "Default"
RUN_BUTTON = "Generate"
ADVANCED_SECTION = "Advanced"
NO_OUTPUT_NOTE = "This workflow has no output the app can show."

# The Gradio components each value type may use; the first is the one the analysis proposes.
INPUT_COMPONENTS: dict[str, tuple[str, ...]] = {
    "INT": ("Slider", "Number"),
    "FLOAT": ("Slider", "Number"),
    "STRING": ("Textbox",),
    "BOOLEAN": ("Checkbox",),
    "COMBO": ("Dropdown", "Radio", "Textbox"),
    "FILE": ("Image", "ImageEditor", "Video", "Audio", "File"),
}
# The component of a FILE input, by the media it takes.
MEDIA_COMPONENTS: dict[str, str] = {
    "image": "Image",
    "mask": "Image",
    "image+mask": "ImageEditor",
    "video": "Video",
    "audio": "Audio",
    "file": "File",
}
# The one component that shows each output kind.
OUTPUT_COMPONENTS: dict[str, str] = {
    "images": "Gallery",
    "video": "Video",
    "audio": "Audio",
    "mesh": "Model3D",
    "text": "Textbox",
}
# Names the generated app.py defines or uses itself; an input or output may not take them.
APP_NAMES = frozenset(
    {
        "spaces",
        "gr",
        "Path",
        "ImageChops",
        "ComfyWorkflow",
        "Input",
        "Output",
        "RunError",
        "workflow",
        "accelerate",
        "acceleration",
        "generate",
        "image_with_mask",
        "demo",
        "run_button",
        "progress",
        RANDOMIZE_SEED,
        "outputs",
        "error",
        "self",  # `workflow.run(self, ..., **values)`
    }
)
RESERVED_NAMES = (
    APP_NAMES | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
)

# What acceleration measured (bench/README.md, H200 runs of 2026-12-02): the wizard states it, never hides it.
ACCEL_MEASURED = (
    "torch.compile + CUDA graph on an H200: SD1.5 512x512 0.28x and SDXL 1024x1024 0.41-0.57x ComfyUI's own "
    "time, images 47.6-48.5 dB PSNR from eager (max difference 11/255); ZeroGPU runs eager (it does not "
    "support torch.compile; the AoT path is opt-in there)"
)


@dataclass(frozen=True)
class Parameter:
    """One parameter of `generate`, and the component that feeds it.

    Attributes:
        name: the Python parameter (and component variable) name.
        input: the app input it stands for; None for the "Randomize seed" checkbox.
        label: the component's label.
        advanced: shown in the collapsed "Advanced" section.
    """

    name: str
    input: AppInput | None
    label: str
    advanced: bool


@dataclass(frozen=True)
class ReturnValue:
    """One value `generate` returns, and the component that shows it.

    Attributes:
        name: the component variable name.
        output: the app output it shows; None for a randomized seed written back to its input.
        seed: the randomized seed input, when `output` is None.
    """

    name: str
    output: AppOutput | None
    seed: AppInput | None = None


EXAMPLES_FOLDER = "examples"  # in the build: the Test run's input files and its result image
THUMBNAIL_STEM = "thumbnail"  # examples/thumbnail.png: the Space card's picture


@dataclass(frozen=True)
class AppExample:
    """A Test run, kept as the app's first example and its Space card's picture.

    Attributes:
        values: (parameter name, value) as the run had them; a file input's value is its file's path here.
        result: the first image the run made (its path here), or None.
    """

    values: tuple[tuple[str, Any], ...]
    result: Path | None

    def files(self) -> dict[str, Path]:
        """The build's example files (path in the Space -> file here): the run's input files, its image."""
        files = {
            example_file(name, Path(value)): Path(value)
            for name, value in self.values
            if isinstance(value, str) and Path(value).is_file()
        }
        if self.result is not None:
            files[f"{EXAMPLES_FOLDER}/{THUMBNAIL_STEM}{self.result.suffix.lower()}"] = self.result
        return files

    @property
    def thumbnail(self) -> str | None:
        """The result image's path in the Space, or None."""
        if self.result is None:
            return None
        return f"{EXAMPLES_FOLDER}/{THUMBNAIL_STEM}{self.result.suffix.lower()}"


def example_file(name: str, source: Path) -> str:
    """Where an example input file of parameter `name` lies in the Space: examples/<name><suffix>."""
    return f"{EXAMPLES_FOLDER}/{name}{source.suffix.lower()}"


@dataclass(frozen=True)
class ExamplesRow:
    """The `gr.Examples` under the columns.

    Attributes:
        names: the parameters each row fills, in order.
        rows: the rows: the Test run's first (when one was kept), then the workflow's own values.
    """

    names: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Layout:
    """The generated app's page, top to bottom.

    Attributes:
        title: the browser tab's title (`gr.Blocks(title=...)`).
        heading: the Markdown above the columns: the title as a level-1 heading, then the description.
        main: the left column's parameters, before the collapsed Advanced section.
        advanced: the parameters in the Advanced section (below `main`, above the Generate button).
        outputs: the right column's outputs, in order (none: `NO_OUTPUT_NOTE` instead).
        examples: the examples row under the columns, or None.
    """

    title: str
    heading: str
    main: tuple[Parameter, ...]
    advanced: tuple[Parameter, ...]
    outputs: tuple[AppOutput, ...]
    examples: ExamplesRow | None


def layout(spec: AppSpec, example: AppExample | None = None) -> Layout:
    """The page app.py.j2 writes and the wizard's preview draws, from the same spec (and Test run)."""
    every = parameters(spec)
    return Layout(
        title=spec.title,
        heading=f"# {markdown_text(spec.title)}\n{markdown_text(spec.description.rstrip('.'))}.",
        main=tuple(parameter for parameter in every if not parameter.advanced),
        advanced=tuple(parameter for parameter in every if parameter.advanced),
        outputs=spec.outputs,
        examples=examples_row(spec, example),
    )


def examples_row(spec: AppSpec, example: AppExample | None = None) -> ExamplesRow | None:
    """The examples: the Test run's values first (its files shipped in examples/), then the workflow's own.

    The main inputs and every file input are filled; seeds are left out (a fixed seed in an example would
    fight the Randomize box). Without a Test run a generated Space holds no example media, so when the
    app takes a file a row would leave it empty and invite a click that fails: then the workflow's own
    values make no row. A mask painted in the image editor cannot be an example.
    """
    inputs = spec.ordered_inputs
    shown = [
        item for item in inputs if (item.value_type == "FILE" or not item.advanced) and not item.randomize
    ]
    if not shown or any(item.component == "ImageEditor" for item in shown):
        return None
    rows = []
    run = dict(example.values) if example is not None else {}
    if all(item.value_type != "FILE" or isinstance(run.get(item.name), str) for item in shown) and run:
        rows.append(
            tuple(
                (
                    example_file(item.name, Path(run[item.name]))
                    if item.value_type == "FILE"
                    else run.get(item.name, item.default)
                )
                for item in shown
            )
        )
    if not any(item.value_type == "FILE" for item in shown):
        defaults = tuple(item.default for item in shown)
        if defaults not in rows:
            rows.append(defaults)
    if not rows:
        return None
    return ExamplesRow(names=tuple(item.name for item in shown), rows=tuple(rows))


def markdown_text(text: str) -> str:
    """`text` as inert Markdown: one line, HTML escaped, Markdown punctuation backslash-escaped."""
    flat = "".join(" " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in text)
    escaped = html.escape(flat, quote=False)
    return re.sub(r"([\\`*_\[\]#|~!])", r"\\\1", escaped)


def parameters(spec: AppSpec) -> tuple[Parameter, ...]:
    """`generate`'s parameters in order: the inputs by `order`, the seed randomizer after the first seed."""
    inputs = spec.ordered_inputs
    randomized = randomized_seeds(spec)
    result = []
    for item in inputs:
        result.append(Parameter(item.name, item, item.label, item.advanced))
        if randomized and item is randomized[0]:
            label = "Randomize seed" if len(randomized) == 1 else "Randomize seeds"
            result.append(Parameter(RANDOMIZE_SEED, None, label, item.advanced))
    return tuple(result)


def return_values(spec: AppSpec) -> tuple[ReturnValue, ...]:
    """What `generate` returns in order: each output, then each randomized seed (the value it used)."""
    outputs = [ReturnValue(output.name, output) for output in spec.outputs]
    seeds = [ReturnValue(item.name, None, item) for item in randomized_seeds(spec)]
    return tuple(outputs + seeds)


def randomized_seeds(spec: AppSpec) -> tuple[AppInput, ...]:
    """The seeds the "Randomize seed" checkbox replaces, in the app's order."""
    return tuple(item for item in spec.ordered_inputs if item.randomize)


_ANNOTATIONS = {"INT": "int", "FLOAT": "float", "STRING": "str", "BOOLEAN": "bool"}


def annotation(parameter: Parameter) -> str:
    """ "int", "float", "str", "bool"; a file input takes a path or URL ("str"), the mask editor its
    layers ("dict"); a choice the type of its choices."""
    item = parameter.input
    if item is None:
        return "bool"
    if item.value_type == "FILE":
        return "dict" if item.component == "ImageEditor" else "str"
    if item.value_type == "COMBO":
        kinds = {type(choice).__name__ for choice in (item.choices or ())} or {"str"}
        return kinds.pop() if len(kinds) == 1 and kinds <= {"str", "int", "float"} else "str"
    return _ANNOTATIONS[item.value_type]


def describe(parameter: Parameter) -> str:
    """What the parameter is and takes, in one line: "Steps (an integer from 1 to 100)."."""
    item = parameter.input
    if item is None:
        return f"{parameter.label} (true: a random seed for each run)."
    if item.value_type == "FILE":
        words = {
            "image": "an image (path or URL)",
            "mask": "an image whose alpha channel is the mask (path or URL)",
            "image+mask": "an image with the mask painted over it (the image editor's background and layers)",
            "video": "a video (path or URL)",
            "audio": "an audio file (path or URL)",
            "file": "a file (path or URL)",
        }
        return f"{item.label} ({words[item.media or 'file']})."
    if item.component in ("Dropdown", "Radio"):
        return f"{item.label} (one of {', '.join(map(str, item.choices or ()))})."
    bounds = ""
    if item.minimum is not None and item.maximum is not None:
        bounds = f" from {item.minimum} to {item.maximum}"
    elif item.minimum is not None:
        bounds = f" of at least {item.minimum}"
    kinds = {"INT": "an integer", "FLOAT": "a number", "STRING": "text", "BOOLEAN": "true or false"}
    return f"{item.label} ({kinds.get(item.value_type, 'a value')}{bounds})."


def component(item: InputSettings | OutputSettings | Parameter) -> tuple[str, dict[str, Any]]:
    """The Gradio class name and keyword arguments of an input, an output or a parameter of `generate`."""
    if isinstance(item, Parameter):
        if item.input is None:
            return "Checkbox", {"label": item.label, "value": True}
        return component(item.input)
    if isinstance(item, OutputSettings):
        if item.component == "Textbox":
            return "Textbox", {"label": item.label, "lines": 4}
        return item.component, {"label": item.label}
    return item.component, _input_arguments(item)


def _input_arguments(item: InputSettings) -> dict[str, Any]:
    name, label = item.component, item.label
    default = getattr(item, "default", None)
    if name == "Textbox":
        lines = {"lines": 3} if item.multiline else {}
        return {"label": label, **lines, "value": default}
    if name == "Number":
        bounds = {
            key: value
            for key, value in (("minimum", item.minimum), ("maximum", item.maximum))
            if value is not None
        }
        precision = {"precision": 0} if item.value_type == "INT" else {}
        return {"label": label, "value": default, **precision, **bounds}
    if name == "Slider":
        return {
            "label": label,
            "minimum": item.minimum,
            "maximum": item.maximum,
            "step": item.step,
            "value": default,
        }
    if name in ("Dropdown", "Radio"):
        return {"label": label, "choices": list(item.choices or ()), "value": default}
    if name == "Checkbox":
        return {"label": label, "value": default}
    if name == "Image":
        # The mask is the alpha channel. Otherwise image_mode None: Gradio passes the upload's path on
        # without decoding it, so the runtime checks its pixels from the header first (ComfyUI's loader
        # converts to RGB itself).
        return {"label": label, "type": "filepath", "image_mode": "RGBA" if item.media == "mask" else None}
    if name == "ImageEditor":
        return {"label": label, "type": "pil"}  # `image_with_mask` reads its layers
    if name in ("Audio", "File"):
        return {"label": label, "type": "filepath"}
    return {"label": label}  # Video: its value is a file path
