"""What the page shows of a session besides the tables: the badge, the graph, and short Markdown notes."""

from __future__ import annotations

import html
import re

from wizard.errors import WizardError, one_line
from wizard.graph import build_graph, render_svg
from wizard.session import Session, exposed_node_ids, models_report, node_defs


def workflow_badge(session: Session) -> str:
    spec = session.spec
    return (
        f"**{html.escape(session.filename)}** · {len(session.conversion.nodes)} nodes · "
        f"{len(spec.inputs)} inputs → {len(spec.outputs)} outputs"
    )


def graph_summary_markdown(session: Session) -> str:
    """The facts of the graph step worth reading: what the colours mean, and the warnings."""
    warnings = list(dict.fromkeys([*session.conversion.warnings, *session.analysis.warnings]))
    if not warnings:
        return ""
    shown = "\n".join(f"- {html.escape(one_line(warning))}" for warning in warnings[:8])
    more = f"\n- …and {len(warnings) - 8} more" if len(warnings) > 8 else ""
    return f"**Check these before you go on:**\n{shown}{more}"


def models_markdown(session: Session) -> str:
    """The models step's account: found / not found / not checked, the total download and cold start,
    what cannot fit ZeroGPU, the packs and paid API nodes."""
    report, packs = models_report(session), session.spec.custom_nodes
    unknown = [pack for pack in packs if pack.pack is None]
    lines = [f"**{report.headline()}**"]
    if any(status.state == "not found" for status in report.statuses):
        lines.append("Fill in the Hub repo and path of each file *not found*.")
    if any(status.state == "not checked" for status in report.statuses):
        lines.append("Files *not checked* may still be missing: the Hub could not say.")
    download = report.download()
    lines += [download] if download else []
    lines += [f"⚠️ {html.escape(warning)}" for warning in report.warnings()]
    if not packs:
        lines.append("Only ComfyUI's own nodes are used.")
    elif unknown:
        lines.append(f"**{len(unknown)} custom-node pack(s) unknown:** give each one's git repository.")
    else:
        lines.append(
            f"{len(packs)} custom-node pack{'s' * (len(packs) != 1)}, pinned to the workflow's versions."
        )
    if report.gated:
        lines.append(
            f"Gated ({html.escape(', '.join(report.gated))}): give the Space an `HF_TOKEN` secret of an account "
            "that accepted their licences when you publish."
        )
    if session.spec.api_nodes:
        lines.append(
            f"**Paid API nodes** ({html.escape(', '.join(session.spec.api_nodes))}): each run calls Comfy.org "
            "and costs credits; enter your Comfy API key when you publish."
        )
    return "\n\n".join(lines)


_SVG_SIZE_ATTRIBUTE = re.compile(r'\s(width|height)="[^"]*"')
_SVG_VIEWBOX = re.compile(r'viewBox="\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)[\s,]+([\d.]+)\s*"')


def graph_html(session: Session) -> str:
    """The flattened workflow as an SVG, the exposed inputs' and outputs' nodes highlighted.

    The SVG's own size attributes are dropped so CSS can scale it: `--graph-width` is its natural
    width, multiplied in the page by the zoom the visitor picks."""
    graph = build_graph(session.conversion, node_defs())
    svg = render_svg(graph, highlight=exposed_node_ids(session.spec))
    start = svg.find("<svg")
    if start < 0:
        raise WizardError("the workflow graph could not be drawn")
    tag_end = svg.find(">", start)
    tag = _SVG_SIZE_ATTRIBUTE.sub("", svg[start:tag_end])
    size = _SVG_VIEWBOX.search(tag)
    width = float(size.group(1)) if size else 800.0
    return (
        f'<div class="graph-canvas" data-workflow="{session.spec.fingerprint}" style="--graph-width: {width:.0f}px">'
        f"{svg[:start]}{tag}{svg[tag_end:]}</div>"
    )
