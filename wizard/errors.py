"""The wizard's exception hierarchy.

Every error a user can cause is a `WizardError` whose message is one line that says what is wrong
and, where there is one, the fix. The CLI prints it and exits with status 2; the UI shows it.
"""


class WizardError(Exception):
    """Base class: a problem with the user's input or environment, explained in one line."""


class WorkflowFileError(WizardError):
    """The uploaded file cannot be read as a ComfyUI workflow (format, size, metadata)."""


class WorkflowGraphError(WizardError):
    """The workflow reads, but its graph is broken (dangling links, cycles, recursive subgraphs)."""


class SpecError(WizardError):
    """An AppSpec is invalid or belongs to another workflow."""


class BuildError(WizardError):
    """A Space folder cannot be generated."""


class PublishError(WizardError):
    """Publishing to the Hub failed; the message names the fix."""
