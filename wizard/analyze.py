"""What of a converted workflow can become an app: candidate inputs and outputs, models, custom nodes.

Every widget value of every node that runs is a candidate input, typed from its node definition.
Model-file COMBOs are not candidates: they are the workflow's `models`. A generated Space can only
load files that its `comfy.lock.json` names and that were downloaded while it built, so a dropdown
of other model files would offer choices that fail, and loading a model inside the GPU function is
exactly what ZeroGPU punishes. Swapping a model is a change to the workflow, not an app input.

`auto` marks the selection a user would keep: the prompts (positive before negative, found by
following links into samplers), input media, the seeds (randomized) and, when the workflow has one
sampler, its size, steps, guidance, denoise and strengths.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import networkx

from runtime.links import is_link
from runtime.comfy_api import COMFY_API_KEY_SECRET
from runtime.urlpolicy import url_problem
from wizard.app_contract import MEDIA_COMPONENTS, OUTPUT_COMPONENTS
from wizard.nodedefs import InputDef, NodeDef, NodeDefs
from wizard.records import (
    Conversion,
    FlatNode,
    InputSettings,
    ModelFile,
    NodePack,
    OutputKind,
    OutputSettings,
)
from wizard.packs import identify_packs
from wizard.resolve import find_models, resolve_models

# Output nodes the app can show, by class type: (kind, saver?). Savers write the workflow's results;
# previews are often intermediate looks (a Canny map), so auto takes a preview only when no saver
# produces its kind.
OUTPUT_NODES: dict[str, tuple[OutputKind, bool]] = {
    "SaveImage": ("images", True),
    "SaveAnimatedWEBP": ("images", True),
    "SaveAnimatedPNG": ("images", True),
    "SaveSVGNode": ("images", True),
    "PreviewImage": ("images", False),
    "MaskPreview": ("images", False),
    "SaveVideo": ("video", True),
    "SaveWEBM": ("video", True),
    "SaveAudio": ("audio", True),
    "SaveAudioMP3": ("audio", True),
    "SaveAudioOpus": ("audio", True),
    "PreviewAudio": ("audio", False),
    "SaveGLB": ("mesh", True),
    "Preview3D": ("mesh", False),
    "Preview3DAnimation": ("mesh", False),
    "PreviewAny": ("text", False),
    # Custom packs' output nodes, by what their `ui` result holds (files the runtime collects under any key):
    "VHS_VideoCombine": ("video", True),  # {"gifs": [...]} [VHS] videohelpersuite/nodes.py:624
    "Image Comparer (rgthree)": ("images", False),  # [rgthree] py/image_comparer.py:35-37
    "CR Image Output": ("images", True),  # [Comfyroll] nodes/nodes_core.py:70-124
    "ShowText|pysssss": ("text", False),  # {"text": [...]} [Custom-Scripts] py/show_text.py:40
}
# COMBOs of input-folder files to which a pack's JavaScript adds its own upload button (their definitions
# say nothing): (class type, input) -> media ([VHS] web/js/VHS.core.js:1959-1990).
PACK_UPLOAD_INPUTS = {
    ("VHS_LoadVideo", "video"): "video",
    ("VHS_LoadVideoFFmpeg", "video"): "video",
    ("VHS_LoadAudioUpload", "audio"): "audio",
}
OUTPUT_LABELS = {"images": "Images", "video": "Video", "audio": "Audio", "mesh": "3D model", "text": "Text"}

InputRole = Literal[
    "prompt", "negative_prompt", "media", "seed", "size", "steps", "guidance", "denoise", "strength"
]

# Rank groups of the auto selection, in the order the app shows them.
_POSITIVE, _PROMPT, _NEGATIVE, _MEDIA, _SEED, _SIZE, _STEPS, _GUIDANCE, _DENOISE, _STRENGTH, _OTHER = range(
    11
)
_MAIN_GROUPS = (_POSITIVE, _PROMPT, _NEGATIVE, _MEDIA)
_SLIDER_MAX_STEPS = 1000  # more positions than this and a slider cannot hit a value: use a number box
_SAFE_JS_INT = 2**53  # larger numbers lose precision in the browser, so they are never sent as bounds


@dataclass(frozen=True, kw_only=True)
class CandidateInput(InputSettings):
    """One widget value that could become an input of the app, with the settings the analysis proposes.

    Attributes:
        class_type, node_title: the node it belongs to.
        value: the workflow's own value.
        seed: it has a control_after_generate widget and is a seed: the app can randomize it.
        role: what it is in the workflow (an `InputRole`), or None.
        auto: part of the automatic selection.
        rank: its position among the inputs in the automatic order.
    """

    class_type: str
    node_title: str
    value: Any
    seed: bool = False
    role: InputRole | None = None
    auto: bool = False
    advanced: bool = True
    rank: int = 0


@dataclass(frozen=True, kw_only=True)
class CandidateOutput(OutputSettings):
    """One output node whose files or text the app can show.

    Attributes:
        class_type, node_title: the node.
        auto: part of the automatic selection.
    """

    class_type: str
    node_title: str
    auto: bool


@dataclass(frozen=True)
class Analysis:
    """What of a converted workflow can become an app.

    Attributes:
        nodes: the flattened workflow's nodes, in prompt order.
        inputs, outputs: the candidates, with the automatic selection marked.
        models, custom_nodes: what the app needs installed.
        api_nodes: the class types of ComfyUI's paid API nodes the workflow runs (they call Comfy.org).
        warnings: one line each, for the user.
    """

    nodes: tuple[FlatNode, ...]
    inputs: tuple[CandidateInput, ...]
    outputs: tuple[CandidateOutput, ...]
    models: tuple[ModelFile, ...]
    custom_nodes: tuple[NodePack, ...]
    warnings: tuple[str, ...]
    api_nodes: tuple[str, ...] = ()

    def to_report(self) -> dict[str, Any]:
        """The JSON report of `python -m wizard inspect --json`."""
        return {
            "nodes": [
                {"id": node.id, "class_type": node.class_type, "title": node.title, "pack": node.pack}
                for node in self.nodes
            ],
            "inputs": [_jsonable(asdict(candidate)) for candidate in self.inputs],
            "outputs": [asdict(candidate) for candidate in self.outputs],
            "models": [model.to_dict() for model in self.models],
            "custom_nodes": [pack.to_dict() for pack in self.custom_nodes],
            "api_nodes": list(self.api_nodes),
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        """A short human-readable account, for `python -m wizard inspect`."""
        counts = (
            _count(len(self.nodes), "node"),
            _count(len(self.inputs), "candidate input"),
            _count(len(self.outputs), "output"),
        )
        lines = [", ".join(counts)]
        lines.append("Inputs (* = chosen by --auto):")
        for candidate in sorted(self.inputs, key=lambda c: (not c.auto, c.rank)):
            mark = "*" if candidate.auto else " "
            lines.append(
                f"  {mark} {candidate.label} [{candidate.component}] = {_short(candidate.value)}"
                f"  ({candidate.node_title}.{candidate.input_name}, node {candidate.node_id})"
                + "".join(f" + node {node_id} {name}" for node_id, name in candidate.also_targets)
            )
        lines.append("Outputs:")
        for output in self.outputs:
            mark = "*" if output.auto else " "
            lines.append(
                f"  {mark} {output.label} [{output.component}]  ({output.node_title}, node {output.node_id})"
            )
        lines.append("Models:")
        for model in self.models:
            where = f"{model.repo_id}/{model.path}" if model.repo_id else (model.url or "UNRESOLVED")
            lines.append(f"    {model.folder}/{model.name} <- {where}")
        if self.custom_nodes:
            lines.append("Custom nodes:")
            for pack in self.custom_nodes:
                pin = " ".join(
                    word for word in (pack.version, pack.commit and f"@ {pack.commit[:8]}") if word
                )
                lines.append(f"    {pack.pack or 'UNKNOWN PACK'} {pin}: {', '.join(pack.class_types)}")
        for warning in self.warnings:
            lines.append(f"warning: {warning}")
        return "\n".join(lines)


def analyze(conversion: Conversion, node_defs: NodeDefs, *, online: bool = False) -> Analysis:
    """Candidate inputs and outputs with the auto selection, the model files (resolved to downloads,
    searching the Hub only when `online`) and the custom-node packs of a converted workflow."""
    warnings: list[str] = []
    typed = _candidate_inputs(conversion, node_defs)
    inputs = _label_inputs(_choose_inputs(conversion, node_defs, typed), node_defs)
    outputs = _candidate_outputs(conversion, node_defs)
    if not outputs:
        warnings.append(
            "the workflow has no output node the app can show (Save Image, Save Video, Save Audio, "
            "Save GLB, Preview Any...): add one in ComfyUI"
        )
    for node in conversion.nodes.values():
        if not node.known:
            warnings.append(
                f"node {node.title!r} ({node.class_type}) has no definition here: its values stay fixed"
            )
    api_nodes = paid_api_nodes(conversion, node_defs)
    if api_nodes:
        warnings.append(api_nodes_warning(api_nodes))
    models = tuple(
        _allowed_downloads(resolve_models(find_models(conversion, node_defs), online=online), warnings)
    )
    for model in models:
        if not model.resolved:
            warnings.append(
                f"model file {model.name!r} ({model.folder}) has no known download: add one to the spec"
            )
    return Analysis(
        nodes=tuple(conversion.nodes.values()),
        inputs=inputs,
        outputs=outputs,
        models=models,
        custom_nodes=identify_packs(conversion).packs,
        warnings=tuple(warnings),
        api_nodes=api_nodes,
    )


def paid_api_nodes(conversion: Conversion, node_defs: NodeDefs) -> tuple[str, ...]:
    """The class types, in node order, whose definition is one of ComfyUI's API nodes (`api_node`)."""
    found = []
    for node in conversion.nodes.values():
        node_def = node_defs.get(node.class_type)
        if node_def is not None and node_def.raw.get("api_node") and node.class_type not in found:
            found.append(node.class_type)
    return tuple(found)


def api_nodes_warning(api_nodes: tuple[str, ...]) -> str:
    return (
        f"paid API nodes ({', '.join(api_nodes)}): every run calls Comfy.org's API and costs credits; the "
        f"Space needs your Comfy API key (platform.comfy.org) as its {COMFY_API_KEY_SECRET} secret"
    )


def _allowed_downloads(models: list[ModelFile], warnings: list[str]) -> list[ModelFile]:
    """The models, a download URL the URL policy refuses dropped (the file is then unresolved)."""
    allowed = []
    for model in models:
        problem = url_problem(model.url) if model.url else None
        if problem is not None:
            warnings.append(
                f"model file {model.name!r}: its download URL {model.url!r} is refused ({problem})"
            )
            model = replace(model, url=None, source=None)
        allowed.append(model)
    return allowed


def _candidate_inputs(conversion: Conversion, node_defs: NodeDefs) -> list[CandidateInput]:
    candidates = []
    for node in conversion.nodes.values():
        node_def = node_defs.get(node.class_type)
        if node_def is None:
            continue
        for name in node.widget_names:
            spec = node_def.input(name)
            if spec is None or name not in node.inputs:
                continue
            candidate = _typed_candidate(node, node_def, spec, node.inputs[name], conversion)
            if candidate is not None:
                candidates.append(candidate)
    return candidates


def _typed_candidate(
    node: FlatNode, node_def: NodeDef, spec: InputDef, value: Any, conversion: Conversion
) -> CandidateInput | None:
    """The candidate for one widget value, or None when it is no app input (model files, lists)."""
    base = dict(
        node_id=node.id, input_name=spec.name, class_type=node.class_type, node_title=node.title, label=""
    )
    if isinstance(value, (dict, list)):  # {"__value__": [...]} lists have no Gradio counterpart
        return None
    if spec.type == "COMBO":
        if spec.model_folder is not None:
            return None
        media = _media_kind(node, node_def, spec, conversion)
        if media is not None:
            return CandidateInput(
                **base, value_type="FILE", component=MEDIA_COMPONENTS[media], value=value, media=media
            )
        if not spec.choices:
            return CandidateInput(**base, value_type="COMBO", component="Textbox", value=value)
        choices = spec.choices if value in spec.choices else (value, *spec.choices)
        return CandidateInput(**base, value_type="COMBO", component="Dropdown", value=value, choices=choices)
    if spec.type in ("INT", "FLOAT") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_candidate(base, spec, value)
    if spec.type == "BOOLEAN" and isinstance(value, bool):
        return CandidateInput(**base, value_type="BOOLEAN", component="Checkbox", value=value)
    if spec.type == "STRING" and isinstance(value, str):
        multiline = bool(spec.options.get("multiline"))
        return CandidateInput(
            **base, value_type="STRING", component="Textbox", value=value, multiline=multiline
        )
    return None


def _media_kind(node: FlatNode, node_def: NodeDef, spec: InputDef, conversion: Conversion) -> str | None:
    """ "image", "mask", "image+mask", "video", "audio" or "file" for a COMBO of uploaded files."""
    kind = spec.upload_kind or PACK_UPLOAD_INPUTS.get((node.class_type, spec.name))
    if kind is None:
        return "file" if spec.options.get("file_upload") or spec.input_file_kinds else None
    if kind == "image":
        if node_def.output_types and set(node_def.output_types) == {"MASK"}:
            return "mask"  # LoadImageMask: the uploaded picture is the mask
        if _mask_output_used(node, node_def, conversion):
            return "image+mask"  # LoadImage whose MASK (the alpha channel) feeds a node
    return kind


def _mask_output_used(node: FlatNode, node_def: NodeDef, conversion: Conversion) -> bool:
    mask_slots = {slot for slot, kind in enumerate(node_def.output_types) if kind == "MASK"}
    return any(
        is_link(value) and value[0] == node.id and int(value[1]) in mask_slots
        for other in conversion.prompt.values()
        for value in other.get("inputs", {}).values()
    )


def _number_candidate(base: dict[str, Any], spec: InputDef, value: int | float) -> CandidateInput:
    is_int = spec.type == "INT"
    minimum, maximum = _finite(spec.options.get("min")), _finite(spec.options.get("max"))
    step = _finite(spec.options.get("step")) or (1 if is_int else _float_step(spec))
    if is_int:
        value, step = int(value), max(1, int(step))
    if _is_seed(spec, base["node_title"]):
        # Seeds span 64 bits; the browser keeps 53. Only the lower bound is sent.
        return CandidateInput(
            **base, value_type="INT", component="Number", value=value, minimum=minimum, step=1, seed=True
        )
    minimum, maximum = _slider_window(spec.name, minimum, maximum, step, value)
    # Old workflows may hold a value the definition no longer allows; the range keeps it.
    minimum = value if minimum is not None and value < minimum else minimum
    maximum = value if maximum is not None and value > maximum else maximum
    slider = minimum is not None and maximum is not None and (maximum - minimum) / step <= _SLIDER_MAX_STEPS
    return CandidateInput(
        **base,
        value_type=spec.type,
        component="Slider" if slider else "Number",
        value=value,
        minimum=_browser_safe(minimum),
        maximum=_browser_safe(maximum),
        step=step,
    )


def _is_seed(spec: InputDef, node_title: str) -> bool:
    """An INT with a control_after_generate widget that is a seed by name or by its node's title.

    Primitive Int nodes also carry the control widget, but mostly hold counts ("Steps", "Batch
    size") that their workflow keeps fixed; randomizing those would break the app.
    """
    return spec.has_control_after_generate and ("seed" in spec.name.lower() or "seed" in node_title.lower())


def _float_step(spec: InputDef) -> float:
    rounding = _finite(spec.options.get("round"))
    return rounding if rounding else 0.01


def _slider_window(name: str, minimum, maximum, step, value):
    """A narrower range for the few inputs whose declared range is too wide for a useful slider.

    ComfyUI declares steps up to 10000 and sizes up to 16384; a hand-written app offers 1-100 steps
    and sizes up to 2048 (always keeping the workflow's own value inside the range).
    """
    if minimum is None or maximum is None or (maximum - minimum) / step <= _SLIDER_MAX_STEPS:
        return minimum, maximum
    if name == "steps":
        return minimum, min(maximum, max(100, value))
    if name in ("width", "height", "length"):
        upper = max(2048, value)
        return minimum, min(maximum, upper - (upper - minimum) % step)
    return minimum, maximum


def _finite(number: Any) -> int | float | None:
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return None
    return number if math.isfinite(number) else None


def _browser_safe(number: int | float | None) -> int | float | None:
    return number if number is None or abs(number) <= _SAFE_JS_INT else None


# --- the auto selection -------------------------------------------------------------------------


def _choose_inputs(
    conversion: Conversion, node_defs: NodeDefs, candidates: list[CandidateInput]
) -> list[CandidateInput]:
    """The candidates (in node order) with their role, auto flag, advanced flag and rank; widgets that
    mean one thing to the app's user (the base's and the refiner's prompt) merged into one candidate."""
    polarity = _prompt_polarity(conversion, node_defs)
    one_chain = len(_sampler_chains(conversion, node_defs)) == 1
    takes_media = any(candidate.media is not None for candidate in candidates)
    chosen = []
    for position, candidate in enumerate(candidates):
        key = (candidate.node_id, candidate.input_name)
        group, role = _group(candidate, polarity.get(key), one_chain, takes_media, conversion)
        chosen.append(
            replace(
                candidate,
                role=role,
                auto=group != _OTHER,
                advanced=group not in _MAIN_GROUPS,
                rank=group * 1_000_000 + position,
            )
        )
    return _merge_shared(chosen, one_chain)


def _group(
    candidate: CandidateInput,
    polarity: str | None,
    one_chain: bool,
    takes_media: bool,
    conversion: Conversion,
) -> tuple[int, InputRole | None]:
    name = candidate.input_name
    if candidate.value_type == "STRING" and (candidate.multiline or polarity):
        if polarity == "negative":
            return _NEGATIVE, "negative_prompt"
        return (_POSITIVE if polarity == "positive" else _PROMPT), "prompt"
    if candidate.media is not None:
        return _MEDIA, "media"
    if candidate.seed:
        if _noise_disabled(candidate, conversion):
            return _OTHER, None
        return _SEED, "seed"
    if not one_chain or candidate.value_type not in ("INT", "FLOAT"):
        return _OTHER, None
    if name in ("width", "height") and _is_empty_latent(candidate.class_type):
        return _SIZE, "size"
    if name == "steps":
        return _STEPS, "steps"
    if name in ("cfg", "guidance"):
        return _GUIDANCE, "guidance"
    if name == "denoise" and takes_media:  # text to image always denoises fully
        return _DENOISE, "denoise"
    if name.startswith("strength"):
        return _STRENGTH, "strength"
    return _OTHER, None


def _noise_disabled(candidate: CandidateInput, conversion: Conversion) -> bool:
    """A KSampler (Advanced) seed with add_noise "disable" (a refiner's) adds no noise: it does nothing
    ([C] nodes.py:1557-1558)."""
    node = conversion.nodes[candidate.node_id]
    return candidate.input_name == "noise_seed" and node.inputs.get("add_noise") == "disable"


def _merge_shared(candidates: list[CandidateInput], one_chain: bool) -> list[CandidateInput]:
    """Auto candidates that one app input should drive, merged into the first of them.

    Widgets of the same role, name, type and value merge (one seed for two samplers, the same
    negative text in two encoders); the prompts of one sampler chain (a base and its refiner) merge
    by polarity whatever their texts, since the app's user writes one prompt. The first keeps its
    value and settings and takes the others as `also_targets`; they are no candidates of their own.
    """
    merged: dict[tuple, CandidateInput] = {}
    result: list[CandidateInput] = []
    for candidate in candidates:
        key = _merge_key(candidate, one_chain)
        first = merged.get(key) if key is not None else None
        if first is None:
            if key is not None:
                merged[key] = candidate
            result.append(candidate)
            continue
        grown = replace(first, also_targets=(*first.also_targets, (candidate.node_id, candidate.input_name)))
        merged[key] = grown
        result[result.index(first)] = grown
    return result


def _merge_key(candidate: CandidateInput, one_chain: bool) -> tuple | None:
    if not candidate.auto or candidate.role in (None, "media"):
        return None
    group = candidate.rank // 1_000_000
    if one_chain and group in (_POSITIVE, _NEGATIVE):
        return (group, candidate.value_type)
    return (candidate.role, candidate.input_name, candidate.value_type, repr(candidate.value))


def _is_empty_latent(class_type: str) -> bool:
    """EmptyLatentImage, EmptySD3LatentImage, EmptyHunyuanLatentVideo...: their size is the image's."""
    return class_type.startswith("Empty") and "Latent" in class_type


def _sampler_chains(conversion: Conversion, node_defs: NodeDefs) -> list[set[str]]:
    """The samplers (nodes of a "sampling" category that output a LATENT), grouped into chains: a
    sampler working on another's result (a refiner, a hires-fix pass) is in that one's chain."""
    graph = networkx.DiGraph()
    for node_id, node in conversion.prompt.items():
        graph.add_node(node_id)
        for value in (node.get("inputs") or {}).values():
            if is_link(value):
                graph.add_edge(value[0], node_id)
    samplers = []
    for node in conversion.nodes.values():
        node_def = node_defs.get(node.class_type)
        if node_def and node_def.category.startswith("sampling") and "LATENT" in node_def.output_types:
            samplers.append(node.id)
    chains = networkx.Graph()
    chains.add_nodes_from(samplers)
    for sampler in samplers:
        chains.add_edges_from(
            (sampler, other) for other in networkx.ancestors(graph, sampler) if other in chains
        )
    return [set(chain) for chain in networkx.connected_components(chains)]


def _prompt_polarity(conversion: Conversion, node_defs: NodeDefs) -> dict[tuple[str, str], str]:
    """(node id, input) of each text widget that reaches a sampler's positive or negative input.

    Walks upstream from every `positive`/`negative` link (and a guider's `conditioning`), through
    CONDITIONING and STRING inputs only, so a ControlNet apply node's `negative` branch is not taken
    for the positive one. A text reached both ways (ConditioningZeroOut) counts as positive.
    """
    polarity: dict[tuple[str, str], str] = {}
    for sign in ("negative", "positive"):  # positive last: it wins
        starts = []
        for node in conversion.nodes.values():
            node_def = node_defs.get(node.class_type)
            for name, value in node.inputs.items():
                is_guider = (
                    node_def is not None and "GUIDER" in node_def.output_types and name == "conditioning"
                )
                if is_link(value) and (name == sign or (sign == "positive" and is_guider)):
                    starts.append(value)
        for key in _texts_upstream(starts, conversion, node_defs):
            polarity[key] = sign
    return polarity


def _texts_upstream(starts: list, conversion: Conversion, node_defs: NodeDefs) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    seen: set[tuple[str, int]] = set()
    stack = [(link[0], int(link[1])) for link in starts]
    while stack:
        node_id, slot = stack.pop()
        if (node_id, slot) in seen or node_id not in conversion.nodes:
            continue
        seen.add((node_id, slot))
        node = conversion.nodes[node_id]
        node_def = node_defs.get(node.class_type)
        if node_def is None:
            continue
        for name in node.widget_names:
            spec = node_def.input(name)
            if spec is not None and spec.type == "STRING":
                found.add((node_id, name))
        output_names = [name.lower() for name in node_def.output_names]
        same_name = output_names[slot] if slot < len(output_names) else None
        for name, value in node.inputs.items():
            spec = node_def.input(name)
            if not is_link(value) or spec is None or spec.type not in ("CONDITIONING", "STRING"):
                continue
            if same_name in node.inputs and name != same_name and spec.type == "CONDITIONING":
                continue  # a node passing `positive` through follows its own `positive` only
            stack.append((value[0], int(value[1])))
    return found


# --- labels -------------------------------------------------------------------------------------


_ROLE_LABELS = {"prompt": "Prompt", "negative_prompt": "Negative prompt", "seed": "Seed"}
_ACRONYMS = {"cfg": "CFG", "vae": "VAE", "clip": "CLIP", "fps": "FPS", "crf": "CRF"}


def _humanize(name: str) -> str:
    words = " ".join(_ACRONYMS.get(word, word) for word in name.replace("_", " ").split())
    return words[:1].upper() + words[1:] if words else "Value"


def _label_inputs(candidates: list[CandidateInput], node_defs: NodeDefs) -> tuple[CandidateInput, ...]:
    """What a person would call each value: "Prompt", "Negative prompt" by role; a node's own title
    when the user gave it one and it is the node's only candidate ("Photo"); "Seed"; else the input's
    name ("Steps", "CFG", "Width"). A label that repeats is led by what the artist wrote in the node's
    title ("Base steps" for "KSampler (Advanced) - BASE"), else by the node's title."""
    widgets_per_node = Counter(c.node_id for c in candidates)
    shorts = []
    for candidate in candidates:
        titled = widgets_per_node[candidate.node_id] == 1 and _has_custom_title(
            candidate.node_title, candidate.class_type, node_defs
        )
        if candidate.role in ("prompt", "negative_prompt"):
            shorts.append(_ROLE_LABELS[candidate.role])
        elif titled:
            shorts.append(candidate.node_title.strip())
        elif candidate.role == "seed":
            shorts.append(_ROLE_LABELS["seed"])
        else:
            shorts.append(_humanize(candidate.input_name))
    counts = Counter(short.casefold() for short in shorts)
    labels = []
    for candidate, short in zip(candidates, shorts):
        qualifier = _title_qualifier(candidate.node_title, candidate.class_type, node_defs)
        if counts[short.casefold()] == 1:
            labels.append(short)
        elif qualifier:
            labels.append(f"{qualifier} {_lower_first(short)}")
        elif widgets_per_node[candidate.node_id] == 1 and candidate.node_title.strip():
            labels.append(candidate.node_title.strip())
        else:
            labels.append(f"{candidate.node_title.strip()} {_lower_first(short)}".strip())
    return tuple(replace(c, label=label) for c, label in zip(candidates, unique_labels(labels)))


def _title_qualifier(title: str, class_type: str, node_defs: NodeDefs) -> str | None:
    """What the artist added to a node's default title: "Base" for "KSampler (Advanced) - BASE"."""
    node_def = node_defs.get(class_type)
    default = node_def.display_name if node_def else class_type
    text = title.strip()
    for known in (default, class_type):
        if known and text.casefold().startswith(known.casefold()):
            text = text[len(known) :]
    text = text.strip(" -–—:|()[]/")
    if not text:
        return None
    return text.capitalize() if text.isupper() else text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """ "Steps" -> "steps", but "CFG" stays "CFG"."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _has_custom_title(title: str, class_type: str, node_defs: NodeDefs) -> bool:
    """True when the user renamed the node (its title is not the definition's display name)."""
    node_def = node_defs.get(class_type)
    default = node_def.display_name if node_def else class_type
    return bool(title.strip()) and title not in (default, class_type)


def unique_labels(labels: list[str]) -> list[str]:
    """The labels, with " 2", " 3" ... added to repeats (case-insensitively), in order."""
    taken: set[str] = set()
    result = []
    for label in labels:
        candidate, number = label, 1
        while candidate.casefold() in taken:
            number += 1
            candidate = f"{label} {number}"
        taken.add(candidate.casefold())
        result.append(candidate)
    return result


# --- outputs ------------------------------------------------------------------------------------


def _candidate_outputs(conversion: Conversion, node_defs: NodeDefs) -> tuple[CandidateOutput, ...]:
    found = [node for node in conversion.nodes.values() if node.class_type in OUTPUT_NODES]
    saved_kinds = {OUTPUT_NODES[node.class_type][0] for node in found if OUTPUT_NODES[node.class_type][1]}
    labels = [
        (
            node.title.strip()
            if _has_custom_title(node.title, node.class_type, node_defs)
            else OUTPUT_LABELS[OUTPUT_NODES[node.class_type][0]]
        )
        for node in found
    ]
    outputs = []
    for node, label in zip(found, unique_labels(labels)):
        kind, saver = OUTPUT_NODES[node.class_type]
        outputs.append(
            CandidateOutput(
                node_id=node.id,
                class_type=node.class_type,
                node_title=node.title,
                kind=kind,
                component=OUTPUT_COMPONENTS[kind],
                label=label,
                auto=saver or kind not in saved_kinds,
            )
        )
    return tuple(outputs)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value for key, value in record.items()}
