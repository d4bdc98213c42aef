"""Runs a ComfyUI workflow in-process: shipped inside every generated Space, and used by the
wizard's Test run. Imports nothing from `wizard` (it travels alone)."""
