"""Runs a ComfyUI workflow in-process: shipped inside every generated Space, and used by the
wizard's Test run. Imports nothing from `wizard` (it travels alone).

    workflow = ComfyWorkflow.load("workflow_api.json", lock="comfy.lock.json")
    outputs = workflow.run({("6", "text"): "a cat"})
    outputs.images("9")
"""

from runtime.errors import RunError
from runtime.workflow import ComfyWorkflow, RunOutputs

__all__ = ["ComfyWorkflow", "RunError", "RunOutputs"]
