"""The page's four tables: a session's choices as rows, and edited rows (models, packs) or cells (inputs,
outputs) back as the session's typed edits.

Rows only carry what the user typed; every rule (names, ranges, repo ids, URLs) is the spec's own,
applied by `wizard.session` when the edit is made.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from wizard import session as sessions
from wizard.app_contract import INPUT_COMPONENTS
from wizard.errors import WizardError
from wizard.records import NodePack
from wizard.resolve import format_size
from wizard.session import Session


@dataclass(frozen=True)
class Column:
    """One table column.

    Attributes:
        header: its title.
        datatype: the Dataframe's datatype of its cells.
        width: its share of the table's width ("8%"); a table's columns add up to 100%.
        editable: the user may type in it.
    """

    header: str
    datatype: Literal["str", "number", "bool"]
    width: str
    editable: bool = False


MODEL_COLUMNS = (
    Column("File", "str", "17%"),
    Column("Folder", "str", "8%"),
    Column("Repo", "str", "16%", editable=True),
    Column("Path", "str", "16%", editable=True),
    Column("URL", "str", "9%", editable=True),
    Column("Size", "str", "6%"),
    Column("Gated", "str", "6%"),
    Column("Found by", "str", "7%"),
    Column("On the Hub", "str", "15%"),
)
PACK_COLUMNS = (
    Column("Pack", "str", "16%", editable=True),
    Column("Repo", "str", "24%", editable=True),
    Column("Version", "str", "12%", editable=True),
    Column("Commit", "str", "12%"),
    Column("Nodes", "str", "25%"),
    Column("Found by", "str", "11%"),
)
NOT_PINNED = "not pinned"  # the Commit cell of a pack without a commit


@dataclass(frozen=True)
class InputRow:
    """One candidate input as the inputs table shows it: the spec's settings when it is exposed, else
    the analysis' proposal.

    Attributes:
        node_id, input_name: the candidate (its widget value in the API prompt).
        node: the node's title.
        also_targets: the other widgets (node id, input name) the input sets, e.g. the refiner's prompt.
        value_type: what the widget holds (`wizard.app_contract.INPUT_COMPONENTS`' keys).
        exposed: an input of the app.
        label, component, default, minimum, maximum, step, advanced: its settings.
        components: the components its value type may use, the proposed one first.
        choices: a COMBO's values (what its default may be).
    """

    node_id: str
    input_name: str
    node: str
    also_targets: tuple[tuple[str, str], ...]
    value_type: str
    exposed: bool
    label: str
    component: str
    default: Any
    minimum: int | float | None
    maximum: int | float | None
    step: int | float | None
    advanced: bool
    components: tuple[str, ...]
    choices: tuple[Any, ...] | None


@dataclass(frozen=True)
class OutputRow:
    """One candidate output as the outputs table shows it.

    Attributes:
        node_id: the output node.
        node: its title.
        kind: what it makes (images, video, audio, mesh, text).
        exposed: shown by the app.
        label: its label in the app.
        component: the one component that shows its kind.
    """

    node_id: str
    node: str
    kind: str
    exposed: bool
    label: str
    component: str


# The editable cells of a row, by the name the edit functions take, and their column titles.
INPUT_CELLS = {
    "exposed": "Expose",
    "label": "Label",
    "component": "Component",
    "default": "Default",
    "minimum": "Min",
    "maximum": "Max",
    "step": "Step",
    "advanced": "Advanced",
}
OUTPUT_CELLS = {"exposed": "Expose", "label": "Label"}
NUMBER_TYPES = ("INT", "FLOAT")  # the value types with a range


def input_rows(session: Session) -> list[InputRow]:
    """One row per candidate input, the automatic choice first."""
    exposed = {(item.node_id, item.input_name): item for item in session.spec.inputs}
    rows = []
    for candidate in sessions.candidate_order(session.analysis):
        chosen = exposed.get((candidate.node_id, candidate.input_name))
        shown = chosen or candidate
        rows.append(
            InputRow(
                node_id=candidate.node_id,
                input_name=candidate.input_name,
                node=candidate.node_title,
                also_targets=candidate.also_targets,
                value_type=candidate.value_type,
                exposed=chosen is not None,
                label=shown.label,
                component=shown.component,
                default=chosen.default if chosen else _workflow_default(candidate),
                minimum=shown.minimum,
                maximum=shown.maximum,
                step=shown.step,
                advanced=shown.advanced,
                components=INPUT_COMPONENTS[candidate.value_type],
                choices=candidate.choices,
            )
        )
    return rows


def input_row(session: Session, node_id: str, input_name: str) -> InputRow:
    """The row of one candidate input (`input_rows`' row for it)."""
    for row in input_rows(session):
        if (row.node_id, row.input_name) == (node_id, input_name):
            return row
    raise WizardError(f"this workflow has no input {input_name!r} on node {node_id}: open the workflow again")


def with_input_cell(session: Session, node_id: str, input_name: str, cell: str, value: Any) -> Session:
    """The session after the user edited one cell (`INPUT_CELLS`) of the inputs table; a value the spec
    refuses raises a WizardError, and the session stays as it was."""
    row = input_row(session, node_id, input_name)
    key = (node_id, input_name)
    choices = {(choice.node_id, choice.input_name): choice for choice in _input_choices(session)}
    if cell == "exposed":
        if not _truthy(value):
            choices.pop(key, None)
        elif key not in choices:
            choices[key] = sessions.InputChoice(
                node_id, input_name, None, None, row.minimum, row.maximum, row.step, row.advanced
            )
    elif key not in choices:
        raise WizardError(f"tick Expose for {row.label!r} first: only the app's inputs have settings")
    elif cell in INPUT_CELLS:
        choices[key] = dataclasses.replace(choices[key], **{cell: _input_value(row, cell, value)})
    else:
        raise WizardError(f"the inputs table has no cell {cell!r}")
    return sessions.with_inputs(session, list(choices.values()))


def output_rows(session: Session) -> list[OutputRow]:
    shown = {output.node_id: output for output in session.spec.outputs}
    rows = []
    for candidate in session.analysis.outputs:
        chosen = shown.get(candidate.node_id)
        rows.append(
            OutputRow(
                node_id=candidate.node_id,
                node=candidate.node_title,
                kind=candidate.kind,
                exposed=chosen is not None,
                label=chosen.label if chosen else candidate.label,
                component=candidate.component,
            )
        )
    return rows


def with_output_cell(session: Session, node_id: str, cell: str, value: Any) -> Session:
    """The session after the user edited one cell (`OUTPUT_CELLS`) of the outputs table."""
    if node_id not in {candidate.node_id for candidate in session.analysis.outputs}:
        raise WizardError(f"this workflow has no output node {node_id}: open the workflow again")
    choices = {output.node_id: sessions.OutputChoice(output.node_id, None) for output in session.spec.outputs}
    if cell == "exposed":
        if not _truthy(value):
            choices.pop(node_id, None)
        else:
            choices.setdefault(node_id, sessions.OutputChoice(node_id, None))
    elif node_id not in choices:
        raise WizardError("tick Expose for this output first: only the app's outputs have a label")
    elif cell == "label":
        choices[node_id] = sessions.OutputChoice(node_id, _cell(value))
    else:
        raise WizardError(f"the outputs table has no cell {cell!r}")
    return sessions.with_outputs(session, list(choices.values()))


def _input_choices(session: Session) -> list[sessions.InputChoice]:
    """The spec's inputs as the choices `sessions.with_inputs` takes (each keeps its settings)."""
    return [
        sessions.InputChoice(
            item.node_id,
            item.input_name,
            item.label,
            item.component,
            item.minimum,
            item.maximum,
            item.step,
            item.advanced,
            item.default,
        )
        for item in session.spec.ordered_inputs
    ]


def _input_value(row: InputRow, cell: str, value: Any) -> Any:
    """A cell's value as the setting it edits: None keeps a label, component or default as it is."""
    if cell in ("label", "component"):
        return _cell(value)
    if cell == "advanced":
        return _truthy(value)
    if cell in ("minimum", "maximum", "step"):
        if row.value_type not in NUMBER_TYPES:
            raise WizardError(f"{row.label!r} is a {row.value_type} value: only numbers have a range")
        return _number(value, row.value_type == "INT")
    # the default
    if row.value_type == "FILE":
        raise WizardError(f"{row.label!r} takes a file the app's visitor uploads: it has no default")
    if row.value_type in NUMBER_TYPES:
        return _number(value, row.value_type == "INT")
    if row.value_type == "BOOLEAN":
        return _truthy(value)
    if row.value_type == "STRING":
        return "" if value is None else str(value)
    return value  # a COMBO's choice: the spec checks it is one of them


def _workflow_default(candidate) -> Any:
    """What the app would start with if the candidate were exposed: the workflow's value (no file)."""
    return None if candidate.value_type == "FILE" else candidate.value


def model_rows(session: Session) -> list[list[Any]]:
    statuses = sessions.models_report(session).statuses
    return [
        [
            model.name,
            model.folder,
            model.repo_id or "",
            model.path or "",
            model.url or "",
            format_size(model.size),
            {True: "gated", False: "open", None: "not checked"}[model.gated],
            model.source or "nobody",
            status.text(),
        ]
        for model, status in zip(session.spec.models, statuses)
    ]


def with_model_rows(session: Session, rows: list[list[Any]]) -> Session:
    """Hub repos, paths or URLs the user typed for model files (matched by file and folder)."""
    downloads = [
        sessions.ModelDownload(str(row[0]), str(row[1]), *(_cell(value) for value in row[2:5]))
        for row in rows
    ]
    return sessions.with_model_downloads(session, downloads)


def pack_rows(session: Session) -> list[list[Any]]:
    """One row per pack, its cells in `PACK_COLUMNS`' order; Commit is the pinned commit's first 12 digits."""
    return [
        [_pack_cells(pack)[column.header] for column in PACK_COLUMNS] for pack in session.spec.custom_nodes
    ]


def with_pack_rows(session: Session, rows: list[list[Any]]) -> Session:
    """Pack ids, git repositories and versions (or commits) the user typed, matched by the node types they
    provide (the Nodes cell); a commit or version that cannot be had is refused with a WizardError."""
    by_nodes = {_nodes_cell(pack.class_types): pack.class_types for pack in session.spec.custom_nodes}
    headers = [column.header for column in PACK_COLUMNS]
    typed = [dict(zip(headers, row)) for row in rows]
    sources = [
        sessions.PackSource(
            by_nodes[str(cells["Nodes"])], *(_cell(cells[header]) for header in ("Pack", "Repo", "Version"))
        )
        for cells in typed
        if str(cells.get("Nodes")) in by_nodes
    ]
    return sessions.with_pack_sources(session, sources)


def _pack_cells(pack: NodePack) -> dict[str, Any]:
    """A pack's cells by column header."""
    return {
        "Pack": pack.pack or "",
        "Repo": pack.repo or "",
        "Version": pack.version or "",
        "Commit": pack.commit[:12] if pack.commit else NOT_PINNED,
        "Nodes": _nodes_cell(pack.class_types),
        "Found by": pack.source or "unknown",
    }


def _nodes_cell(class_types: tuple[str, ...]) -> str:
    return ", ".join(class_types)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _cell(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _number(value: Any, integer: bool) -> int | float | None:
    """A table cell as a number: empty cells are None, whole numbers of INT inputs stay ints."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WizardError(f"{value!r} is not a number: write a number or leave the cell empty") from None
    if number != number:  # NaN: an emptied number cell
        return None
    if integer and not (math.isfinite(number) and number.is_integer()):
        raise WizardError(f"{value!r} is not a whole number: this input takes integers")
    return int(number) if integer else number
