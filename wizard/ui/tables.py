"""The page's four tables: a session's choices as rows, and edited rows back as the session's typed edits.

Rows only carry what the user typed; every rule (names, ranges, repo ids, URLs) is the spec's own,
applied by `wizard.session` when the edit is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from wizard import session as sessions
from wizard.errors import WizardError
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


INPUT_COLUMNS = (
    Column("Expose", "bool", "8%", editable=True),
    Column("Node", "str", "13%"),
    Column("ID", "str", "6%"),
    Column("Input", "str", "10%"),
    Column("Value", "str", "11%"),
    Column("Type", "str", "6%"),
    Column("Label", "str", "12%", editable=True),
    Column("Component", "str", "9%", editable=True),
    Column("Min", "number", "5%", editable=True),
    Column("Max", "number", "5%", editable=True),
    Column("Step", "number", "5%", editable=True),
    Column("Advanced", "bool", "10%", editable=True),
)
OUTPUT_COLUMNS = (
    Column("Expose", "bool", "8%", editable=True),
    Column("Node", "str", "26%"),
    Column("ID", "str", "6%"),
    Column("Kind", "str", "12%"),
    Column("Label", "str", "30%", editable=True),
    Column("Component", "str", "18%"),
)
MODEL_COLUMNS = (
    Column("File", "str", "20%"),
    Column("Folder", "str", "9%"),
    Column("Repo", "str", "19%", editable=True),
    Column("Path", "str", "19%", editable=True),
    Column("URL", "str", "11%", editable=True),
    Column("Size", "str", "6%"),
    Column("Gated", "str", "8%"),
    Column("Found by", "str", "8%"),
)
PACK_COLUMNS = (
    Column("Pack", "str", "18%", editable=True),
    Column("Repo", "str", "28%", editable=True),
    Column("Version", "str", "14%", editable=True),
    Column("Nodes", "str", "28%"),
    Column("Found by", "str", "12%"),
)


def input_rows(session: Session) -> list[list[Any]]:
    """One row per candidate input; ticked ones show the spec's settings, the others the analysis'."""
    exposed = {(item.node_id, item.input_name): item for item in session.spec.inputs}
    rows = []
    for candidate in sessions.candidate_order(session.analysis):
        chosen = exposed.get((candidate.node_id, candidate.input_name))
        shown = chosen or candidate
        rows.append(
            [
                chosen is not None,
                candidate.node_title,
                candidate.node_id,
                candidate.input_name,
                _short_value(candidate.value),
                candidate.value_type,
                shown.label,
                shown.component,
                shown.minimum,
                shown.maximum,
                shown.step,
                shown.advanced,
            ]
        )
    return rows


def with_input_rows(session: Session, rows: list[list[Any]]) -> Session:
    """The session after the user edited the inputs table (ticks, labels, components, ranges)."""
    value_types = {(c.node_id, c.input_name): c.value_type for c in session.analysis.inputs}
    choices = []
    for row in rows:
        expose, _, node_id, input_name, _, _, label, component, minimum, maximum, step, advanced = row
        key = (str(node_id), str(input_name))
        if not _truthy(expose) or key not in value_types:
            continue
        integer = value_types[key] == "INT"
        choices.append(
            sessions.InputChoice(
                node_id=key[0],
                input_name=key[1],
                label=_cell(label),
                component=_cell(component),
                minimum=_number(minimum, integer),
                maximum=_number(maximum, integer),
                step=_number(step, integer),
                advanced=_truthy(advanced),
            )
        )
    return sessions.with_inputs(session, choices)


def output_rows(session: Session) -> list[list[Any]]:
    shown = {output.node_id: output for output in session.spec.outputs}
    rows = []
    for candidate in session.analysis.outputs:
        chosen = shown.get(candidate.node_id)
        label = chosen.label if chosen else candidate.label
        rows.append(
            [
                chosen is not None,
                candidate.node_title,
                candidate.node_id,
                candidate.kind,
                label,
                candidate.component,
            ]
        )
    return rows


def with_output_rows(session: Session, rows: list[list[Any]]) -> Session:
    choices = [
        sessions.OutputChoice(node_id=str(node_id), label=_cell(label))
        for expose, _, node_id, _, label, _ in rows
        if _truthy(expose)
    ]
    return sessions.with_outputs(session, choices)


def model_rows(session: Session) -> list[list[Any]]:
    return [
        [
            model.name,
            model.folder,
            model.repo_id or "",
            model.path or "",
            model.url or "",
            _size(model.size),
            {True: "gated", False: "open", None: "unknown"}[model.gated],
            model.source or "not found",
        ]
        for model in session.spec.models
    ]


def with_model_rows(session: Session, rows: list[list[Any]]) -> Session:
    """Hub repos, paths or URLs the user typed for model files (matched by file and folder)."""
    downloads = [
        sessions.ModelDownload(str(row[0]), str(row[1]), *(_cell(value) for value in row[2:5]))
        for row in rows
    ]
    return sessions.with_model_downloads(session, downloads)


def pack_rows(session: Session) -> list[list[Any]]:
    return [
        [
            pack.pack or "",
            pack.repo or "",
            pack.version or "",
            _nodes_cell(pack.class_types),
            pack.source or "unknown",
        ]
        for pack in session.spec.custom_nodes
    ]


def with_pack_rows(session: Session, rows: list[list[Any]]) -> Session:
    """Pack ids, git repositories and versions the user typed (matched by the node types they provide)."""
    by_nodes = {_nodes_cell(pack.class_types): pack.class_types for pack in session.spec.custom_nodes}
    sources = [
        sessions.PackSource(by_nodes[str(row[3])], *(_cell(value) for value in row[:3]))
        for row in rows
        if str(row[3]) in by_nodes
    ]
    return sessions.with_pack_sources(session, sources)


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
    return int(number) if integer and number.is_integer() else number


def _short_value(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(size: int | None) -> str:
    if size is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return ""
