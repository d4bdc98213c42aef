"""Widgets: what the frontend builds from a node definition, and how saved values fill them.

`Layout` is a node definition as the frontend instantiates it (widget creation order, which widgets own
a `widgets_values` position, the sockets); `realign_if_shifted` undoes the shift an older node signature
left in saved values, the one place the converter deliberately differs from the frontend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.links import is_link
from wizard.convert.frontend_js import js_string
from wizard.convert.load import Slot, is_int
from wizard.nodedefs import InputDef, NodeDef

CONTROL_VALUES = frozenset({"fixed", "increment", "decrement", "randomize", "increment-wrap"})
# COMBO options that make the frontend append an upload button ([FE] uploadImage.ts:36-53).
IMAGE_UPLOAD_OPTIONS = ("image_upload", "video_upload", "animated_image_upload")
# Stands for "no saved value here": the widget keeps its default.
UNASSIGNED: Any = object()


@dataclass(frozen=True)
class WidgetFacts:
    """The facts about one widget input that conversion needs, computed once per definition."""

    name: str
    type: str
    minimum: float | None
    maximum: float | None
    options: frozenset[Any] | None  # fixed COMBO options (not file or remote lists)
    dynamic_prompts: bool
    multiline: bool  # a textarea, which holds its value as text

    def held(self, value: Any) -> Any:
        """What the widget holds after `widget.value = value`: a textarea turns anything into text, with
        line breaks normalised (HTML `textarea.value`; [FE] useStringWidget.ts:12-30)."""
        if not self.multiline or isinstance(value, str) and "\r" not in value:
            return value
        text = "" if value is None else js_string(value)
        return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True, eq=False)  # compared by identity: one object per widget of a layout
class Widget:
    """One widget the frontend creates for a node.

    `saved`: it owns a position in `widgets_values` (`widget.serialize !== false`, [FE] LGraphNode.ts:836-846).
    `sent`: graphToPrompt sends it (`options.serialize !== false`, [FE] executionUtil.ts:91).
    `kind`: "value" (checked against `facts`), "control" (control_after_generate) or "other".
    `exposable`: it is an input of the node definition (not a button or player a frontend extension adds).
    """

    name: str
    facts: WidgetFacts | None
    kind: str
    default: Any
    saved: bool = True
    sent: bool = True
    exposable: bool = False

    def hold(self, value: Any) -> Any:
        return self.facts.held(value) if self.facts else value


@dataclass(frozen=True)
class Layout:
    """A node definition as the frontend instantiates it."""

    widgets: tuple[Widget, ...]  # in creation order
    positions: tuple[Widget, ...]  # the widgets that own a `widgets_values` position, in order
    sockets: tuple[Slot, ...]  # socket inputs, then one per widget input ([FE] litegraphService.ts:528-538)
    facts: dict[str, WidgetFacts]
    force_input_order: tuple[bool, ...]  # for `migrateWidgetsValues`: widget-or-forceInput inputs, in order
    force_input_controls: tuple[bool, ...]


# Core frontend extensions that add widgets to particular nodes: an audio player without a saved
# position ([FE] uploadAudio.ts:96-125), a 3D viewer ([FE] saveMesh.ts:13-18, load3d.ts:501-505) and a
# read-only text preview ([FE] previewAny.ts:13-30). They are appended to `required`, after `input_order`.
_AUDIO_PLAYER_NODES = frozenset({"LoadAudio", "SaveAudio", "PreviewAudio", "SaveAudioMP3", "SaveAudioOpus"})
_VIEWER_3D_NODES = frozenset({"Preview3D", "SaveGLB"})
_TEXT_PREVIEW_NODES = frozenset({"PreviewAny"})
# Widget types whose constructors core frontend extensions register, beyond the core ones
# (PREVIEW_TEXT stands for PreviewAny's read-only STRING widget).
_EXTENSION_WIDGET_TYPES = frozenset(
    {
        "IMAGEUPLOAD",
        "AUDIOUPLOAD",
        "AUDIO_UI",
        "AUDIO_RECORD",
        "PREVIEW_3D",
        "PREVIEW_TEXT",
        "LOAD_3D",
        "LOAD_3D_ANIMATION",
        "WEBCAM",
    }
)


class Layouts:
    """Layouts by class type, built on first use (one conversion's cache; no global state)."""

    def __init__(self) -> None:
        self._cache: dict[str, Layout] = {}

    def get(self, node_def: NodeDef) -> Layout:
        layout = self._cache.get(node_def.class_type)
        if layout is None:
            layout = self._cache[node_def.class_type] = _build_layout(node_def)
        return layout


def _build_layout(node_def: NodeDef) -> Layout:
    specs = _ordered_specs(node_def)
    widget_specs = [spec for spec in specs if _is_widget_spec(spec)]
    facts = {spec.name: _widget_facts(spec) for spec in widget_specs}
    widgets = tuple(w for spec in widget_specs for w in _widgets_for(spec, facts[spec.name]))
    # Every widget input also gets a socket: no core widget is `socketless` ([FE] litegraphService.ts:506).
    sockets = tuple(Slot(s.name, s.type) for s in specs if not _is_widget_spec(s)) + tuple(
        Slot(s.name, s.type, widget=s.name) for s in widget_specs
    )
    original = [s for s in specs if _is_widget_spec(s) or s.options.get("forceInput")]
    return Layout(
        widgets=widgets,
        positions=tuple(w for w in widgets if w.saved),
        sockets=sockets,
        facts=facts,
        force_input_order=tuple(bool(s.options.get("forceInput")) for s in original),
        force_input_controls=tuple(
            bool(s.options.get("control_after_generate")) or s.name in ("seed", "noise_seed")
            for s in original
        ),
    )


def _ordered_specs(node_def: NodeDef) -> tuple[InputDef, ...]:
    """`input_order` (required, optional), then what extensions appended to `required` as leftovers
    ([FE] nodeDefOrderingUtil.ts:13-53)."""
    specs = node_def.inputs
    extra: list[InputDef] = []
    if node_def.class_type in _AUDIO_PLAYER_NODES:
        extra.append(InputDef("audioUI", "AUDIO_UI", {}, None, "required"))
    if node_def.class_type in _VIEWER_3D_NODES:
        extra.append(InputDef("image", "PREVIEW_3D", {}, None, "required"))
    if node_def.class_type in _TEXT_PREVIEW_NODES:
        extra.append(InputDef("preview", "PREVIEW_TEXT", {}, None, "required"))
    upload = _upload_button(specs)
    if upload is not None:
        extra.append(upload)
    replaced = {spec.name for spec in extra}
    return tuple(spec for spec in specs if spec.name not in replaced) + tuple(extra)


def _upload_button(specs: tuple[InputDef, ...]) -> InputDef | None:
    """The upload button input ([FE] uploadImage.ts:36-53, uploadAudio.ts:185-188)."""
    for spec in specs:
        if spec.section != "required":
            continue
        if spec.type == "COMBO" and any(spec.options.get(option) for option in IMAGE_UPLOAD_OPTIONS):
            return InputDef("upload", "IMAGEUPLOAD", {}, None, "required")
        if spec.name == "audio" and spec.options.get("audio_upload") is True:
            return InputDef("upload", "AUDIOUPLOAD", {}, None, "required")
    return None


def _is_widget_spec(spec: InputDef) -> bool:
    """[FE] litegraphService.ts:465-474: a widget constructor exists for the type, and no forceInput."""
    if spec.type in _EXTENSION_WIDGET_TYPES:
        return not spec.options.get("forceInput")
    return spec.is_widget


def _widget_facts(spec: InputDef) -> WidgetFacts:
    fixed = spec.type == "COMBO" and _has_fixed_options(spec)
    low, high = spec.options.get("min"), spec.options.get("max")
    return WidgetFacts(
        name=spec.name,
        type=spec.type,
        minimum=low if isinstance(low, (int, float)) and not isinstance(low, bool) else None,
        maximum=high if isinstance(high, (int, float)) and not isinstance(high, bool) else None,
        options=(
            frozenset(c for c in spec.choices or () if isinstance(c, (str, int, float))) if fixed else None
        ),
        dynamic_prompts=spec.type == "STRING" and bool(spec.options.get("dynamicPrompts")),
        multiline=spec.type == "STRING" and bool(spec.options.get("multiline")),
    )


def _has_fixed_options(spec: InputDef) -> bool:
    """A COMBO whose options do not come from files on disk or a remote list."""
    dynamic = ("image_folder", "remote", "file_upload", *IMAGE_UPLOAD_OPTIONS, "audio_upload")
    return (
        bool(spec.choices)
        and spec.model_folder is None
        and not spec.input_file_kinds
        and not any(spec.options.get(option) for option in dynamic)
    )


def _widgets_for(spec: InputDef, facts: WidgetFacts) -> tuple[Widget, ...]:
    """The widgets one input creates, in creation order."""
    kind = spec.type
    if kind in ("IMAGEUPLOAD", "AUDIOUPLOAD"):  # button with options.serialize = false
        return (Widget(spec.name, None, "other", spec.name, sent=False),)
    if kind == "AUDIO_UI":  # DOM player: widget.serialize = false, still sent ('' by default)
        return (Widget(spec.name, None, "other", "", saved=False),)
    if kind == "PREVIEW_TEXT":  # read-only STRING widget, widget.serialize = false
        return (Widget(spec.name, None, "other", "", saved=False),)
    if kind == "PREVIEW_3D":
        return (Widget(spec.name, None, "other", ""),)
    value = Widget(spec.name, facts, "value", spec.default, exposable=True)
    if kind in ("AUDIO_RECORD", "WEBCAM"):  # recorder / capture button follows ([FE] uploadAudio.ts:312-401)
        return (value, Widget(spec.name, None, "other", "", sent=False))
    if kind in ("LOAD_3D", "LOAD_3D_ANIMATION"):  # three buttons first ([FE] load3d.ts:239-262)
        buttons = (("upload 3d model", "upload3dmodel"), ("upload extra resources", "uploadExtraResources"))
        return (
            *(Widget(name, None, "other", label) for name, label in buttons),
            Widget("clear", None, "other", "clear"),
            Widget(spec.name, facts, "value", "", exposable=True),
        )
    if kind == "INT" and spec.has_control_after_generate:  # [FE] useIntWidget.ts:74-91
        return (value, Widget("control_after_generate", None, "control", "randomize", sent=False))
    if kind == "COMBO" and spec.options.get("control_after_generate"):  # [FE] widgets.ts:150-163
        return (
            value,
            Widget("control_after_generate", None, "control", "randomize", sent=False),
            Widget("control_filter_list", None, "other", "", sent=False),
        )
    remote = spec.options.get("remote")
    if kind == "COMBO" and isinstance(remote, dict):  # [FE] useRemoteWidget.ts: toggle, then refresh button
        toggle = Widget("Auto-refresh after generation", None, "other", False, sent=False)
        refresh = (Widget("refresh", None, "other", "refresh"),) if remote.get("refresh_button") else ()
        return (value, toggle, *refresh)
    return (value,)


def live_inputs(layout: Layout, saved: tuple[Slot, ...]) -> tuple[Slot, ...]:
    """Defined inputs take the saved link by name; saved extra inputs follow ([FE] litegraphService.ts:304-331)."""
    by_name = {slot.name: slot for slot in saved}
    defined = tuple(
        (
            Slot(s.name, s.type, by_name[s.name].link, s.widget, by_name[s.name].label)
            if s.name in by_name
            else s
        )
        for s in layout.sockets
    )
    names = {socket.name for socket in layout.sockets}
    return defined + tuple(slot for slot in saved if slot.name not in names)


def value_matches(spec: WidgetFacts, value: Any) -> bool:
    """Whether a value has exactly the widget's type (and, for fixed option lists, is an option)."""
    kind = spec.type
    if kind == "INT":
        return is_int(value)
    if kind == "FLOAT":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "BOOLEAN":
        return isinstance(value, bool)
    if kind == "COMBO":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return False
        return spec.options is None or value in spec.options
    if kind in ("STRING", "MARKDOWN", "TEXTAREA"):
        return isinstance(value, str)
    return True


def _comfy_accepts(spec: WidgetFacts, value: Any) -> bool:
    """Whether ComfyUI's `validate_inputs` accepts it: its casts, min/max, options ([C] execution.py:840-905)."""
    if spec.type in ("INT", "FLOAT"):
        try:
            number = int(value) if spec.type == "INT" else float(value)
        except (TypeError, ValueError, OverflowError):
            return False
        return not (spec.minimum is not None and number < spec.minimum) and not (
            spec.maximum is not None and number > spec.maximum
        )
    if spec.type == "COMBO":
        return value_matches(spec, value)
    return True


def _fit(widget: Widget, value: Any) -> int:
    """How well a saved value fits a widget position: 2 exact type, 1 accepted by ComfyUI, 0 not at all."""
    if widget.kind == "control":
        legacy = (
            isinstance(value, bool) or value is None
        )  # old files store true/false ([FE] app.ts:1244-1256)
        return 2 if legacy or isinstance(value, str) and value in CONTROL_VALUES else 0
    if widget.facts is None:
        return 2 if value is None or isinstance(value, (str, bool)) else 0
    if not _comfy_accepts(widget.facts, value):
        return 0
    return 2 if value_matches(widget.facts, value) else 1


def migrate_force_input_placeholders(layout: Layout, values: list[Any]) -> list[Any]:
    """`migrateWidgetsValues` ([FE] litegraphUtil.ts:105-131): drop pre-1.16 placeholders of forceInput
    inputs when the count matches. Reproduced as written: inputs pair with values by input index."""
    if not any(layout.force_input_order):
        return values
    if sum(2 if control else 1 for control in layout.force_input_controls) != len(values):
        return values
    forced = layout.force_input_order
    return [value for index, value in enumerate(values) if not (index < len(forced) and forced[index])]


def _align_to_definition(positions: tuple[Widget, ...], values: list[Any]) -> tuple[list[Any], int]:
    """The best order-preserving assignment of saved values to widget positions, and its score.

    Each assigned value scores its `fit`; a dropped control word (`randomize`, ...) right after a value
    assigned to an INT widget scores 1, being the control widget an older signature had. Positions left
    without a value hold `UNASSIGNED`. Dynamic programming over (position, value): O(positions × values).
    """
    n_positions, n_values = len(positions), len(values)
    best = [[0] * (n_values + 1) for _ in range(n_positions + 1)]
    for i in range(n_positions - 1, -1, -1):
        for j in range(n_values - 1, -1, -1):
            fit = _fit(positions[i], values[j])
            best[i][j] = max(
                best[i + 1][j],
                best[i][j + 1] + _control_bonus(positions, values, i, j),
                best[i + 1][j + 1] + fit if fit else 0,
            )
    aligned: list[Any] = []
    i = j = 0
    while i < n_positions:
        fit = _fit(positions[i], values[j]) if j < n_values else 0
        if fit and best[i][j] == best[i + 1][j + 1] + fit:
            aligned.append(values[j])
            i, j = i + 1, j + 1
        elif j < n_values and best[i][j] == best[i][j + 1] + _control_bonus(positions, values, i, j):
            j += 1
        else:
            aligned.append(UNASSIGNED)
            i += 1
    return aligned, best[0][0]


def realign_if_shifted(layout: Layout, values: list[Any]) -> list[Any] | None:
    """Saved values realigned to `layout` when an older node signature (`properties.ver`) shifted them,
    else None (they stay as saved).

    The frontend assigns by position, so a widget added, removed or moved since the workflow was
    saved shifts later values and ComfyUI rejects the prompt. Only when the positional assignment
    gives a value ComfyUI rejects and an order-preserving alignment explains the saved values strictly
    better (see `_align_to_definition`) are they realigned; one wrong value with nothing shifted
    stays as saved, exactly as the frontend would send it.
    """
    positions = layout.positions
    positional_fits = [_fit(w, v) for w, v in zip(positions, values)]
    if all(positional_fits):
        return None
    aligned, score = _align_to_definition(positions, values)
    return aligned if score > sum(positional_fits) else None


def _control_bonus(positions: tuple[Widget, ...], values: list[Any], i: int, j: int) -> int:
    """1 when values[j] is a control word following a value that fits the INT widget before position i."""
    previous = positions[i - 1] if i > 0 else None
    return int(
        j > 0
        and previous is not None
        and previous.facts is not None
        and previous.facts.type == "INT"
        and isinstance(values[j], str)
        and values[j] in CONTROL_VALUES
        and is_int(values[j - 1])
    )


def exposable_widgets(layout: Layout, inputs: dict[str, Any]) -> tuple[str, ...]:
    """Widget inputs of the definition that hold a value (not a link), in definition order."""
    return tuple(
        w.name for w in layout.widgets if w.exposable and w.name in inputs and not is_link(inputs[w.name])
    )
