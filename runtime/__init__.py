"""Runs a ComfyUI workflow in-process: shipped inside every generated Space, and used by the
wizard's Test run. Imports nothing from `wizard` (it travels alone).

    workflow = ComfyWorkflow.load(
        "workflow_api.json",
        lock="comfy.lock.json",
        inputs={"prompt": Input("6", "text", label="Prompt")},
        outputs={"images": Output("9", "images")},
    )
    outputs = workflow.run(prompt="a cat")
    outputs["images"]
"""

from runtime.errors import RunError
from runtime.workflow import ComfyWorkflow, Input, Output, RunOutputs

__all__ = ["ComfyWorkflow", "Input", "Output", "RunError", "RunOutputs"]
