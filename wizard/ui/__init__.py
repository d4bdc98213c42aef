"""The wizard's web page: seven steps from a ComfyUI workflow to a published Space, thin over
`wizard.session` (which owns every rule and step, and is what the CLI uses too).

    layout.py   the page top to bottom (`Page` holds its components)
    events.py   what each click and edit does: session calls, `{component: value}` updates
    tables.py   the four tables: session <-> rows
    grid.py     the inputs' and outputs' tables drawn as rows of components, their cells' edits
    views.py    the badge, the graph and short notes
    preview.py  the generated app's page (and the Test run's controls), from wizard.app_contract
    assets/     the page's CSS, the graph's HTML template and script

Everything a visitor does lives in that visitor's `gr.State` (a frozen `Session`) and in a work
folder per session, both gone after the session's time to live (`wizard.access`); nothing mutable is
module-global.
A reload restores the workflow and the choices from `gr.BrowserState`.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from wizard import access
from wizard.session import EXAMPLES, EXAMPLES_DIR, open_workflow
from wizard.ui import events
from wizard.ui.layout import Page, asset, lay_out
from wizard.ui.preview import theme_css


def build_ui() -> gr.Blocks:
    """The wizard's page, then the events that tie it to the session's steps."""
    # Opening one example now loads the node definitions and the model index (about a second),
    # so the first visitor's upload does not pay for it.
    open_workflow((EXAMPLES_DIR / next(iter(EXAMPLES))).read_bytes(), "warm-up.json")
    page = Page()
    access.start_sweeper()
    with gr.Blocks(title="ComfyUI → Gradio Space", delete_cache=access.delete_cache()) as demo:
        lay_out(page)
        events.wire(page, demo)
    return demo


def launch_options() -> dict[str, Any]:
    """Keyword arguments for `demo.launch()`: the look (Gradio 6 takes theme and CSS there)."""
    return {
        "theme": gr.themes.Soft(primary_hue="indigo", secondary_hue="pink"),
        "css": asset("wizard.css") + theme_css(),
        "footer_links": ["api", "gradio"],
        "max_file_size": "60mb",
        "app_kwargs": access.app_kwargs(),
    }
