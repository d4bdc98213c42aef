"""The inputs and outputs tables as rows of real components, drawn by `gr.render` when a workflow opens:
a Dropdown of the components an input's value type may use (`wizard.app_contract.INPUT_COMPONENTS`), number
boxes for its default and range, checkboxes, text boxes. gr.Dataframe cannot do this: Gradio 6.31's datatypes
are per column only ("str", "number", "bool", "date", "markdown", "html"; gradio/components/dataframe.py).

Each cell edits one setting through `wizard.ui.tables`. An edit the spec refuses puts the cell back to its
value and says why in the line under its table, where it stays until an edit is accepted: no toast, so
refusals never pile up over the buttons, and a repeated one replaces its own message.
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
OUTPUT_HEADERS = ("Expose", "Node", "Kind", "Label", "Component")
EDITS = "table-edits"  # one queue for the tables' edits: two quick edits never read the same session


def tables_drawn() -> str:
    """A new value for `Page.tables_drawn`: setting it draws both tables anew from the session."""
    return uuid.uuid4().hex


def lay_out_inputs(page: Page) -> None:
    """The inputs table and, under it, the line that says why an edit was refused."""
    gr.Markdown("**Inputs**", elem_classes="table-title")

    @gr.render(inputs=page.session, triggers=[page.tables_drawn.change])
    def _draw(session: Session | None) -> None:
        if session is not None:
            _inputs_table(page, session)

    page.inputs_problem = gr.Markdown("", elem_id="inputs-problem", elem_classes="table-problem")


def lay_out_outputs(page: Page) -> None:
    """The outputs table and its line for refused edits."""
    gr.Markdown("**Outputs**", elem_classes="table-title")

    @gr.render(inputs=page.session, triggers=[page.tables_drawn.change])
    def _draw(session: Session | None) -> None:
        if session is not None:
            _outputs_table(page, session)

    page.outputs_problem = gr.Markdown("", elem_id="outputs-problem", elem_classes="table-problem")


# --- inputs -------------------------------------------------------------------------------------


def _inputs_table(page: Page, session: Session) -> None:
    rows = tables.input_rows(session)
    with gr.Column(elem_id="inputs-table", elem_classes=["wizard-table", "inputs-grid"]):
        if not rows:
            gr.Markdown("This workflow has no values an app could take.")
            return
        _header(INPUT_HEADERS)
        for row in rows:
            _input_row(page, row)


def _input_row(page: Page, row: InputRow) -> None:
    key = f"input-{row.node_id}-{row.input_name}"
    with gr.Row(elem_id=_element_id(key), elem_classes="table-row", key=key):
        cells = {"exposed": gr.Checkbox(row.exposed, **_cell_options(key, "exposed"), interactive=True)}
        gr.HTML(
            _node_cell(row.node, f"#{row.node_id} · {row.input_name} · {row.value_type}"), key=f"{key}-node"
        )
        settings = _setting_cells(row, key)
        cells.update({cell: component for cell, component in settings.items() if component is not None})
    message = page.inputs_problem
    for cell, component in cells.items():
        change = _input_change(row.node_id, row.input_name, cell)
        shown = _input_shown(row.node_id, row.input_name, cell)
        if cell == "exposed":  # ticking unlocks the row's settings, unticking locks them
            row_cells = {name: cells[name] for name in cells}
            row_shown = _input_row_shown(row.node_id, row.input_name, list(row_cells))
            _on_edit(page, [component.input], component, list(row_cells.values()), change, row_shown, message)
        else:
            _on_edit(page, _edit_triggers(component), component, [component], change, shown, message)


def _setting_cells(row: InputRow, key: str) -> dict[str, gr.Component | None]:
    """The row's editable settings; a cell that does not apply to its value type is a blank."""
    editable = row.exposed
    number = row.value_type in NUMBER_TYPES
    cells: dict[str, gr.Component | None] = {
        "label": gr.Textbox(row.label, max_lines=1, interactive=editable, **_cell_options(key, "label")),
        "component": gr.Dropdown(
            list(row.components),
            value=row.component,
            interactive=editable and len(row.components) > 1,
            **_cell_options(key, "component"),
        ),
        "default": _default_cell(row, key),
    }
    for cell in ("minimum", "maximum", "step"):
        cells[cell] = (
            gr.Number(
                getattr(row, cell), step=_number_step(row), interactive=editable, **_cell_options(key, cell)
            )
            if number
            else _blank(f"{key}-{cell}")
        )
    cells["advanced"] = gr.Checkbox(row.advanced, interactive=editable, **_cell_options(key, "advanced"))
    return cells


def _default_cell(row: InputRow, key: str) -> gr.Component | None:
    """The default's editor for the input's value type: a file input has none (its visitor uploads one)."""
    options = {"interactive": row.exposed, **_cell_options(key, "default")}
    if row.value_type in NUMBER_TYPES:
        return gr.Number(row.default, step=_number_step(row), **options)
    if row.value_type == "BOOLEAN":
        return gr.Checkbox(bool(row.default), **options)
    if row.value_type == "COMBO" and row.choices:
        return gr.Dropdown(list(row.choices), value=row.default, **options)
    if row.value_type in ("STRING", "COMBO"):
        return gr.Textbox("" if row.default is None else str(row.default), max_lines=1, **options)
    return _blank(f"{key}-default", "an upload")


def _number_step(row: InputRow) -> float:
    """The number boxes' arrow step (the browser's own; any value may be typed)."""
    return 1 if row.value_type == "INT" else 0.01


def _input_change(node_id: str, input_name: str, cell: str) -> Callable[[Session, Any], Session]:
    return lambda session, value: tables.with_input_cell(session, node_id, input_name, cell, value)


def _input_shown(node_id: str, input_name: str, cell: str) -> Callable[[Session], list]:
    """What the cell shows for a session: its setting."""
    return lambda session: [getattr(tables.input_row(session, node_id, input_name), cell)]


def _input_row_shown(node_id: str, input_name: str, cells: list[str]) -> Callable[[Session], list]:
    """What the row's cells show for a session, its settings locked unless it is exposed."""

    def shown(session: Session) -> list:
        row = tables.input_row(session, node_id, input_name)
        updates = []
        for cell in cells:
            value = getattr(row, cell)
            if cell == "exposed":
                updates.append(value)
            else:
                unlocked = row.exposed and (cell != "component" or len(row.components) > 1)
                updates.append(gr.update(value=value, interactive=unlocked))
        return updates

    return shown


# --- outputs ------------------------------------------------------------------------------------


def _outputs_table(page: Page, session: Session) -> None:
    rows = tables.output_rows(session)
    with gr.Column(elem_id="outputs-table", elem_classes=["wizard-table", "outputs-grid"]):
        if not rows:
            gr.Markdown("This workflow saves nothing an app could show: add a Save or Preview node.")
            return
        _header(OUTPUT_HEADERS)
        for row in rows:
            _output_row(page, row)


def _output_row(page: Page, row: OutputRow) -> None:
    key = f"output-{row.node_id}"
    with gr.Row(elem_id=_element_id(key), elem_classes="table-row", key=key):
        exposed = gr.Checkbox(row.exposed, interactive=True, **_cell_options(key, "exposed"))
        gr.HTML(_node_cell(row.node, f"#{row.node_id}"), key=f"{key}-node")
        _blank(f"{key}-kind", row.kind)
        label = gr.Textbox(row.label, max_lines=1, interactive=row.exposed, **_cell_options(key, "label"))
        _blank(f"{key}-component", row.component)

    def shown(session: Session) -> list:
        (current,) = [item for item in tables.output_rows(session) if item.node_id == row.node_id]
        return [current.exposed, gr.update(value=current.label, interactive=current.exposed)]

    def change(cell: str) -> Callable[[Session, Any], Session]:
        return lambda session, value: tables.with_output_cell(session, row.node_id, cell, value)

    message = page.outputs_problem
    _on_edit(page, [exposed.input], exposed, [exposed, label], change("exposed"), shown, message)
    _on_edit(page, _edit_triggers(label), label, [exposed, label], change("label"), shown, message)


# --- the edit, shared -------------------------------------------------------------------------


def _on_edit(
    page: Page,
    triggers: list,
    component: gr.Component,
    cells: list[gr.Component],
    change: Callable[[Session, Any], Session],
    shown: Callable[[Session], list],
    message: gr.Markdown,
) -> None:
    """Wire one cell: its value goes through `change`; `cells` then show `shown(session)` (the new
    session's values, or the old one's when the edit is refused) and `message` why it was refused,
    naming the cell by its column and its row's label."""
    column = str(component.label or "")

    def on_edit(current: Session | None, value: Any) -> dict:
        if current is None:
            return {message: "Open a workflow first (step 1)."}
        try:
            new = change(current, value)
        except WizardError as error:
            problem = one_line(str(error)) or "refused"
        except Exception as error:  # a bug: the user still gets one line, the log the traceback
            log.exception("unexpected error in a table edit")
            problem = (
                f"unexpected error ({type(error).__name__}: {one_line(str(error), 200)}); please report it"
            )
        else:
            return {
                page.session: new,
                page.saved_spec: new.spec.to_json(),
                page.graph: views.graph_html(new),
                page.badge: views.workflow_badge(new),
                message: "",
                **dict(zip(cells, shown(new))),
            }
        typed = html.escape(one_line(str(value), 60)) if value not in (None, "") else "empty"
        where = html.escape(f"{_row_label(current, component)} · {column}")
        return {
            message: f"⚠️ **{where}: {typed} refused.** {html.escape(problem)}. The cell keeps its value.",
            **dict(zip(cells, shown(current))),
        }

    gr.on(
        triggers,
        on_edit,
        [page.session, component],
        [page.session, page.saved_spec, page.graph, page.badge, message, *cells],
        concurrency_id=EDITS,
        show_progress="hidden",
        api_visibility="private",
    )


def _edit_triggers(component: gr.Component) -> list:
    """When a cell's edit is done: a choice or a tick at once, typed text when it is left or submitted."""
    if isinstance(component, (gr.Dropdown, gr.Checkbox)):
        return [component.input]
    return [component.submit, component.blur]


def _cell_options(key: str, cell: str) -> dict[str, Any]:
    title = INPUT_CELLS.get(cell) if key.startswith("input-") else OUTPUT_CELLS.get(cell)
    return {
        "show_label": False,
        "container": False,
        "label": title,
        "key": f"{key}-{cell}",
        "elem_classes": [f"cell-{cell}"],
        "min_width": 0,
    }


def _row_label(session: Session, component: gr.Component) -> str:
    """The label of the row a cell belongs to, as the session has it now (its key names the row)."""
    key = str(component.key)
    for row in [*tables.input_rows(session), *tables.output_rows(session)]:
        row_key = (
            f"input-{row.node_id}-{row.input_name}" if isinstance(row, InputRow) else f"output-{row.node_id}"
        )
        if key.startswith(f"{row_key}-"):
            return row.label
    return "this row"


def _header(titles: tuple[str, ...]) -> None:
    with gr.Row(elem_classes=["table-row", "table-head"]):
        for title in titles:
            gr.HTML(f"<span>{html.escape(title)}</span>", padding=False)


def _node_cell(title: str, detail: str) -> str:
    return f'<div class="node-cell"><b>{html.escape(title)}</b><br><small>{html.escape(detail)}</small></div>'


def _blank(key: str, text: str = "") -> None:
    """A cell that holds no setting (a range of text, the component of an output kind)."""
    gr.HTML(f'<span class="cell-text">{html.escape(text)}</span>', key=key, padding=False)


def _element_id(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", key)
