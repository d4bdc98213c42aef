"""ComfyUI workflow -> Gradio Space wizard.

Stages, one module each, with typed records between them (`wizard.records`):
ingest -> convert (+ graph) -> analyze (+ resolve) -> appspec -> codegen -> publish.
`wizard.app_contract` describes the generated app once (codegen, Test run and the preview use it);
`wizard.session` runs the stages for one user, and the CLI (`python -m wizard`) and the page
(`wizard.ui`) both call it.
"""

__version__ = "0.1.0"
