"""The runtime's exceptions. Each message is one line a Space owner or user can act on."""


class RuntimeSetupError(Exception):
    """Base class: the Space cannot set up or run its workflow; the message says the fix."""


class ComfyUIInstallError(RuntimeSetupError):
    """ComfyUI is missing and cannot be cloned at the pinned commit."""


class CustomNodeError(RuntimeSetupError):
    """A custom-node pack cannot be installed, or fails to import."""


class ModelDownloadError(RuntimeSetupError):
    """A model file cannot be downloaded or linked into ComfyUI's model folders."""


class ComfyUIStartError(RuntimeSetupError):
    """ComfyUI cannot start in this process, or the workflow needs node types it does not have."""


class RunError(Exception):
    """One request failed; the message is for the app's end user and names the input to fix."""


class InputError(RunError):
    """An input value or file is invalid (out of range, not a choice, unreadable file)."""


class MissingModelError(RunError):
    """A model file the workflow needs is not in its ComfyUI model folder."""


class NodeExecutionError(RunError):
    """A node raised while the workflow ran."""


class RunCancelledError(RunError):
    """The request was cancelled or ran over its time limit; ComfyUI was interrupted, its outputs dropped."""
