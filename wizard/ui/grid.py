"""The inputs and outputs tables as rows of real components, drawn by `gr.render` when a workflow opens:
a Dropdown of the components an input's value type may use (`wizard.app_contract.INPUT_COMPONENTS`), number
boxes for its default and range, checkboxes, text boxes. gr.Dataframe cannot do this: Gradio 6.31's datatypes
are per column only ("str", "number", "bool", "date", "markdown", "html"; gradio/components/dataframe.py).

Each cell edits one setting through `wizard.ui.tables`. An edit the spec refuses puts the cell back to its
value and says why in the line under its table, where it stays until an edit is accepted: no toast, so
refusals never pile up over the buttons, and a repeated one replaces its own message.

One event per row (its cells' edits) keeps a table of 40 inputs quick to draw; cells that do not apply to a
row's value type are left out, the grid's columns (wizard.css) keep the others in place.
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from typing import TYPE_CHECKING, Any, Callable

import gradio as gr

from wizard.errors import WizardError, one_line
from wizard.session import Session
from wizard.ui import tables, views
from wizard.ui.tables import INPUT_CELLS, NUMBER_TYPES, OUTPUT_CELLS, InputRow, OutputRow

if TYPE_CHECKING:
    from wizard.ui.layout import Page

log = logging.getLogger(__name__)

INPUT_HEADERS = ("Expose", "Node · input", "Label", "Component", "Default", "Min", "Max", "Step", "Advanced")
OUTPUT_HEADERS = ("Expose", "Node", "Label", "Component")
EDITS = "table-edits"  # one queue for the tables' edits: two quick edits never read the same session

Row = InputRow | OutputRow


def tables_drawn() -> str:
    """A new value for `Page.tables_drawn`: setting it draws both tables anew from the session."""
    return uuid.uuid4().hex


def lay_out_table(page: Page, which: str) -> gr.Markdown:
    """The inputs or the outputs table (`which`), drawn anew from the session whenever `page.tables_drawn`
    changes; returns the line under it that says why an edit was refused."""
    gr.Markdown(f"**{which.capitalize()}**", elem_classes="table-title")

    @gr.render(inputs=page.session, triggers=[page.tables_drawn.change])
    def _draw(session: Session | None) -> None:
        if session is not None:
            _table(page, session, which)

    return gr.Markdown("", elem_id=f"{which}-problem", elem_classes="table-problem")


def _table(page: Page, session: Session, which: str) -> None:
    inputs = which == "inputs"
    rows = tables.input_rows(session) if inputs else tables.output_rows(session)
    with gr.Column(elem_id=f"{which}-table", elem_classes=["wizard-table", f"{which}-grid"]):
        if not rows:
            empty = "no values an app could take" if inputs else "no Save or Preview node: nothing to show"
            gr.Markdown(f"This workflow has {empty}.")
            return
        _header(INPUT_HEADERS if inputs else OUTPUT_HEADERS)
        for row in rows:
            if isinstance(row, InputRow):
                _input_row(page, row)
            else:
                _output_row(page, row)


# --- the rows -----------------------------------------------------------------------------------


def _input_row(page: Page, row: InputRow) -> None:
    key = _row_key(row)
    with gr.Row(elem_id=_element_id(key), elem_classes="table-row", key=key):
        cells = {"exposed": gr.Checkbox(row.exposed, **_cell_options(row, "exposed"))}
        also = "".join(f" · also sets #{node_id} {name}" for node_id, name in row.also_targets)
        _text(f"{key}-node", row.node, f"#{row.node_id} · {row.input_name} · {row.value_type}{also}")
        cells["label"] = gr.Textbox(row.label, max_lines=1, **_cell_options(row, "label"))
        cells["component"] = gr.Dropdown(
            list(row.components), value=row.component, **_cell_options(row, "component")
        )
        default = _default_cell(row)
        if default is not None:
            cells["default"] = default
        if row.value_type in NUMBER_TYPES:
            for cell in ("minimum", "maximum", "step"):
                cells[cell] = gr.Number(
                    getattr(row, cell), step=_number_step(row), **_cell_options(row, cell)
                )
        cells["advanced"] = gr.Checkbox(row.advanced, **_cell_options(row, "advanced"))

    def change(session: Session, cell: str, value: Any) -> Session:
        return tables.with_input_cell(session, row.node_id, row.input_name, cell, value)

    def read(session: Session) -> InputRow:
        return tables.input_row(session, row.node_id, row.input_name)

    _on_row_edit(page, cells, read, change, page.inputs_problem)


def _default_cell(row: InputRow) -> gr.Component | None:
    """The default's editor for the input's value type: a file input has none (its visitor uploads one)."""
    options = _cell_options(row, "default")
    if row.value_type in NUMBER_TYPES:
        return gr.Number(row.default, step=_number_step(row), **options)
    if row.value_type == "BOOLEAN":
        return gr.Checkbox(bool(row.default), **options)
    if row.value_type == "COMBO" and row.choices:
        return gr.Dropdown(list(row.choices), value=row.default, **options)
    if row.value_type in ("STRING", "COMBO"):
        return gr.Textbox("" if row.default is None else str(row.default), max_lines=1, **options)
    return None


def _number_step(row: InputRow) -> float:
    """The number boxes' arrow step (the browser's own; any value may be typed)."""
    return 1 if row.value_type == "INT" else 0.01


def _output_row(page: Page, row: OutputRow) -> None:
    key = _row_key(row)
    with gr.Row(elem_id=_element_id(key), elem_classes="table-row", key=key):
        cells = {"exposed": gr.Checkbox(row.exposed, **_cell_options(row, "exposed"))}
        _text(f"{key}-node", row.node, f"#{row.node_id} · {row.kind}")
        cells["label"] = gr.Textbox(row.label, max_lines=1, **_cell_options(row, "label"))
        _text(f"{key}-component", row.component, css="cell-shows")

    def change(session: Session, cell: str, value: Any) -> Session:
        return tables.with_output_cell(session, row.node_id, cell, value)

    def read(session: Session) -> OutputRow:
        (current,) = [item for item in tables.output_rows(session) if item.node_id == row.node_id]
        return current

    _on_row_edit(page, cells, read, change, page.outputs_problem)


# --- the edit, shared -------------------------------------------------------------------------


def _on_row_edit(
    page: Page,
    cells: dict[str, gr.Component],
    read: Callable[[Session], Row],
    change: Callable[[Session, str, Any], Session],
    message: gr.Markdown,
) -> None:
    """Wire a row: a cell whose value differs from the session's goes through `change`; the cell then
    shows the new session's value, or the old one's when the edit is refused, and `message` says why.
    Ticking Expose unlocks the row's other cells, unticking locks them."""
    names = list(cells)

    def on_edit(current: Session | None, *values: Any) -> dict:
        if current is None:
            return {message: "Open a workflow first (step 1)."}
        before = read(current)
        edits = [(cell, value) for cell, value in zip(names, values) if value != getattr(before, cell)]
        if not edits:
            return gr.skip()
        new = current
        try:
            for cell, value in edits:
                new = change(new, cell, value)
        except WizardError as error:
            problem = one_line(str(error)) or "refused"
        except Exception as error:  # a bug: the user still gets one line, the log the traceback
            log.exception("unexpected error in a table edit")
            problem = (
                f"unexpected error ({type(error).__name__}: {one_line(str(error), 200)}); please report it"
            )
        else:
            after = read(new)
            changed = names if "exposed" in dict(edits) else [cell for cell, _ in edits]
            return {
                page.session: new,
                page.saved_spec: new.spec.to_json(),
                page.graph: views.graph_html(new),
                page.badge: views.workflow_badge(new),
                message: "",
                **{cells[cell]: _shown(after, cell) for cell in changed},
            }
        typed = html.escape(one_line(str(value), 60)) if value not in (None, "") else "empty"
        where = html.escape(f"{before.label} · {_titles(before)[cell]}")
        return {
            message: f"⚠️ **{where}: {typed} refused.** {html.escape(problem)}. The cell keeps its value.",
            **{cells[cell]: _shown(before, cell) for cell, _ in edits},
        }

    triggers = [trigger for component in cells.values() for trigger in _edit_triggers(component)]
    gr.on(
        triggers,
        on_edit,
        [page.session, *cells.values()],
        [page.session, page.saved_spec, page.graph, page.badge, message, *cells.values()],
        concurrency_id=EDITS,
        trigger_mode="always_last",  # a cell left while the row's last edit runs is read right after it
        show_progress="hidden",
        api_visibility="private",
    )


def _shown(row: Row, cell: str) -> Any:
    """What a cell shows for `row`: its value, editable when the row is exposed (and there is a choice)."""
    return gr.update(value=getattr(row, cell), interactive=_unlocked(row, cell))


def _unlocked(row: Row, cell: str) -> bool:
    if cell == "exposed":
        return True
    if cell == "component":
        return row.exposed and len(row.components) > 1
    return row.exposed


def _edit_triggers(component: gr.Component) -> list:
    """When a cell's edit is done: a choice or a tick at once, typed text when it is left or submitted."""
    if isinstance(component, (gr.Dropdown, gr.Checkbox)):
        return [component.input]
    return [component.submit, component.blur]


def _titles(row: Row) -> dict[str, str]:
    return INPUT_CELLS if isinstance(row, InputRow) else OUTPUT_CELLS


def _cell_options(row: Row, cell: str) -> dict[str, Any]:
    return {
        "show_label": False,
        "container": False,
        "label": _titles(row)[cell],
        "interactive": _unlocked(row, cell),
        "key": f"{_row_key(row)}-{cell}",
        "elem_classes": [f"cell-{cell}"],
        "min_width": 0,
    }


def _row_key(row: Row) -> str:
    return f"input-{row.node_id}-{row.input_name}" if isinstance(row, InputRow) else f"output-{row.node_id}"


def _header(titles: tuple[str, ...]) -> None:
    """The column titles: one element laid out on the rows' grid."""
    spans = "".join(
        f'<span class="head-{index}">{html.escape(title)}</span>' for index, title in enumerate(titles)
    )
    gr.HTML(f'<div class="table-head">{spans}</div>', padding=False, elem_classes="table-head-cell")


def _text(key: str, title: str, detail: str = "", css: str = "cell-node") -> None:
    """A cell that holds no setting: a node's title and details, an output's component."""
    small = f"<br><small>{html.escape(detail)}</small>" if detail else ""
    text = f'<div class="node-cell"><b>{html.escape(title)}</b>{small}</div>'
    gr.HTML(text, key=key, padding=False, elem_classes=css)


def _element_id(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", key)
