"""An API prompt given directly (an API export, or a file that carries only a prompt): checked,
links to absent nodes dropped, its nodes described; never rewritten otherwise."""

from __future__ import annotations

import copy
from typing import Any

from runtime.links import is_link
from wizard.convert.load import check_depth, unique
from wizard.convert.plan import default_title, unknown_warning
from wizard.convert.render import check_acyclic
from wizard.convert.widgets import Layouts, exposable_widgets
from wizard.errors import WorkflowFileError
from wizard.nodedefs import NodeDefs
from wizard.records import Conversion, FlatNode, LoadedWorkflow, UnknownNode


def convert_api_prompt(loaded: LoadedWorkflow, node_defs: NodeDefs) -> Conversion:
    """An API prompt given directly: check its shape, drop links to absent nodes, describe its nodes."""
    prompt = _checked_api_prompt(loaded.prompt, loaded.filename)
    warnings = list(loaded.warnings)
    for node_id, entry in prompt.items():
        for name, value in list(entry["inputs"].items()):
            if is_link(value) and value[0] not in prompt:
                warnings.append(
                    f"node {node_id}: input {name!r} links to absent node {value[0]}; the link was dropped"
                )
                del entry["inputs"][name]
    check_acyclic(prompt)
    layouts = Layouts()
    nodes, unknown = {}, []
    for node_id, entry in prompt.items():
        node_def = node_defs.get(entry["class_type"])
        title = entry["_meta"].get("title")
        entry["_meta"]["title"] = (
            title if isinstance(title, str) else default_title(entry["class_type"], node_def)
        )
        widget_names = exposable_widgets(layouts.get(node_def), entry["inputs"]) if node_def else ()
        nodes[node_id] = FlatNode(
            node_id,
            entry["class_type"],
            entry["_meta"]["title"],
            entry["inputs"],
            widget_names,
            known=bool(node_def),
        )
        if node_def is None:
            unknown.append(UnknownNode(node_id, entry["class_type"], None, None))
    warnings += map(unknown_warning, unknown)
    return Conversion(prompt, nodes, None, unique(warnings), tuple(unknown), ())


def _checked_api_prompt(raw: Any, filename: str) -> dict[str, dict[str, Any]]:
    """A copy of an API prompt `{id: {"class_type", "inputs", "_meta"?}}`, or a one-line error."""
    if not isinstance(raw, dict) or not raw:
        raise WorkflowFileError(f"{filename}: the API prompt is not a non-empty JSON object of nodes")
    prompt = {}
    for node_id, entry in raw.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("class_type"), str):
            raise WorkflowFileError(f"{filename}: API prompt node {node_id!r} has no class_type")
        inputs = entry.get("inputs", {})
        if not isinstance(inputs, dict):
            raise WorkflowFileError(
                f"{filename}: the inputs of API prompt node {node_id!r} are not an object"
            )
        for name, value in inputs.items():
            check_depth(f"node {node_id}", name, value)
        meta = entry.get("_meta") if isinstance(entry.get("_meta"), dict) else {}
        prompt[str(node_id)] = {
            "inputs": copy.deepcopy(inputs),
            "class_type": entry["class_type"],
            "_meta": copy.deepcopy(meta),
        }
    return prompt
