"""ComfyUI workflow -> Gradio Space wizard.

Stages, one module each, with typed records between them (`wizard.records`):
ingest -> convert (+ graph) -> analyze (+ resolve) -> appspec -> codegen -> publish.
The CLI (`python -m wizard`) and the UI (`wizard.ui`) call the same functions.
"""

__version__ = "0.1.0"
