"""Code that runs in the sandboxed worker process (`wizard.sandbox` starts it), never in the wizard's:
`jail` sets up the worker's file-system view, `object_info` dumps node definitions."""
