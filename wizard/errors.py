"""The wizard's exception hierarchy.

Every error a user can cause is a `WizardError` whose message is one line that says what is wrong
and, where there is one, the fix. The CLI prints it and exits with status 2; the UI shows it.
"""

import os


def hosted() -> bool:
    """Whether this is the hosted wizard (a Space: `SYSTEM=spaces`), whose users have only the page."""
    return os.environ.get("SYSTEM") == "spaces"


def fix(cli: str, page: str) -> str:
    """How to fix something, for whoever reads it: on the hosted wizard only what to do in the page (its
    users have no command line); elsewhere the command line's way, then the page's."""
    return page if hosted() else f"{cli} (in the wizard: {page})"


def one_line(text: str, limit: int | None = None) -> str:
    """`text` as one line for a message or a card: printable characters, whitespace collapsed, at most
    `limit` characters when given."""
    printable = "".join(char if char.isprintable() else " " for char in str(text))
    return " ".join(printable.split())[:limit]


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


class PublishFolderError(PublishError):
    """The folder to publish is not a built Space, or holds something that must not be published (a token)."""


class PublishAuthError(PublishError):
    """No token, or the Hub rejected it (invalid, expired, read-only): log in again or make a new token."""


class PublishPermissionError(PublishError):
    """The token may not create or write this Space (missing scope, someone else's name)."""


class PublishPaymentError(PublishError):
    """The Hub wants payment (402): the account is not eligible for one more ZeroGPU Space."""


class PublishConfirmationError(PublishError):
    """The Space exists and was not made from this workflow: replacing its app needs `force` (`--force`)."""


class PublishNameError(PublishError):
    """The Space name is invalid."""


class PublishRetryableError(PublishError):
    """A transient failure (rate limit, Hub trouble, dropped connection): publishing again completes the Space."""


class PublishRateLimitError(PublishRetryableError):
    """The Hub rate-limited us (429); `retry_after` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
