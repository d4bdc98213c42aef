"""Publish a built Space folder to the user's own account as a ZeroGPU Space.

One publish = `whoami` (cached), then `create_repo` (or `duplicate_repo` from a template) with the ZeroGPU
hardware, visibility and the optional `HF_TOKEN` secret all set at creation (later hardware calls fail with
OAuth tokens, and free accounts get 402 on CPU hardware: `shared/docs/huggingface.md` §4), then ONE commit
that makes the Space equal the build. An existing Space (409) is updated with a new commit instead.

What the commit holds: every file of the folder (added, or updated when it changed), and a deletion for
every file of the Space that the wizard wrote in an earlier publish (the Space's `wizard-manifest.json`
lists them) and that this build no longer has, such as a `workflow.json` after an API-only rebuild. Files
the user added to the Space themselves stay as long as they lie outside what the wizard writes: anything
not in the Space's previous manifest or in this build (a LICENSE, an `assets/` folder, `.gitattributes`).
A file the user put under a name the wizard writes (`app.py`, `runtime/...`) is the wizard's.

A Space that exists without a manifest was not made by the wizard, and one whose `appspec.json` names another
workflow's fingerprint was made from another workflow: updating either needs `force=True` (`--force` on the CLI,
"Replace an existing Space" in the page), except when it holds only what the Hub puts into a new Space (an
interrupted first publish). `space_target` says which case a name is before anything is sent. Only a folder that `build` completed (its manifest lists files that are all there) is
published: a half-written folder is refused.

The upload is a single `create_commit`, not `upload_folder`: with `hf_xet` installed `upload_folder`
pipelines the files into several commits ("(part N)") and, when a commit fails, retries it split into
smaller ones, which could leave a half-published Space. One commit is all-or-nothing; when it fails, the
message says what exists on the Hub (an empty new Space, or the unchanged old one), and publishing again
completes the Space.

Tokens: explicit > `HF_TOKEN` > the saved login. A token is never written anywhere, never logged, never put
in an error message, and a folder that contains it is refused before anything is sent.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
import json
from typing import TYPE_CHECKING, Callable, Iterator, Literal

from runtime.locate import DATA_DIR_NAME
from runtime.comfy_api import COMFY_API_KEY_SECRET
from wizard.errors import (
    PublishAuthError,
    PublishConfirmationError,
    PublishError,
    PublishFolderError,
    PublishNameError,
    PublishPaymentError,
    PublishPermissionError,
    PublishRateLimitError,
    PublishRetryableError,
    fix,
    one_line,
)
from wizard.manifest import MANIFEST_NAME, SpaceManifest, parse_manifest, read_manifest

ZERO_GPU = "zero-a10g"  # huggingface_hub `SpaceHardware.ZERO_A10G`, the only ZeroGPU flavor
REQUIRED_FILES = ("app.py", "README.md", "requirements.txt")
# What the Hub commits into every new Space: a Space holding only these is empty (huggingface.md §4).
HUB_INITIAL_FILES = frozenset({".gitattributes", "README.md"})
# Never uploaded: local caches, VCS data and what a Test run leaves in the folder (the runtime's data dir).
SKIPPED_PARTS = frozenset({".git", "__pycache__", ".cache", ".ipynb_checkpoints", ".DS_Store", DATA_DIR_NAME})
SPEC_NAME = "appspec.json"  # the build's choices; its "fingerprint" names the workflow (wizard/appspec.py)
MOCK_OAUTH_PREFIX = "mock-"  # Gradio's local stand-in: "mock-oauth-token-for-local-dev" (huggingface.md §4)
TOKENS_PAGE = "https://huggingface.co/settings/tokens"
# Hub rule for a repo name: letters, digits, '-', '_', '.'; at most 96; no '--'/'..'; no '-'/'.' at the ends.
_NAME = re.compile(r"^(?![-.])(?!.*(--|\.\.))[A-Za-z0-9_.\-]{1,96}(?<![-.])$")

Progress = Callable[..., object]  # called as progress(fraction, desc=text), like gr.Progress

if TYPE_CHECKING:
    from huggingface_hub import HfApi

# huggingface_hub is imported on first use, not with this module: it reads HF_ENDPOINT once, at import, and
# importing it takes a second, which bad input (a missing folder, a bad name) should not wait for.


@functools.cache
def _hub() -> HfApi:
    """One client for the process: `whoami(cache=True)` caches per token inside it (whoami is heavily
    rate-limited). The token is passed on every call, never stored on the client."""
    from huggingface_hub import HfApi

    return HfApi()


@dataclass(frozen=True)
class PublishResult:
    url: str  # the Space page, e.g. https://huggingface.co/spaces/alice/my-app
    repo_id: str
    commit: str  # the commit holding this publish (the current head when nothing changed)
    created: bool  # False when an existing Space was updated


@dataclass(frozen=True)
class Account:
    name: str
    orgs: tuple[str, ...]


Ownership = Literal["new", "empty", "this workflow", "another workflow", "not the wizard"]


@dataclass(frozen=True)
class RemoteSpace:
    """An existing Space as the Hub shows it before an update.

    Attributes:
        sha: the head commit the update is based on (the commit's parent).
        files: every file path in the Space at `sha`.
        manifest: the wizard's manifest in the Space, or None when the wizard did not make it.
        fingerprint: the workflow fingerprint of the Space's `appspec.json` when the wizard made it, else None.
    """

    sha: str
    files: frozenset[str]
    manifest: SpaceManifest | None
    fingerprint: str | None = None

    def ownership(self, fingerprint: str | None) -> Ownership:
        """Who made this Space, for a build of the workflow with `fingerprint`."""
        if self.manifest is not None:
            return "this workflow" if self.fingerprint == fingerprint else "another workflow"
        return "not the wizard" if self.foreign_files() else "empty"

    def foreign_files(self) -> list[str]:
        """The files besides what the Hub puts into every new Space."""
        return sorted(self.files - HUB_INITIAL_FILES)


@dataclass(frozen=True)
class SpaceTarget:
    """Where a publish would go, as the Hub says before the click.

    Attributes:
        repo_id: `namespace/name`.
        ownership: "new" (no such Space yet), or who made the existing one (`RemoteSpace.ownership`).
        files: the existing Space's files besides the Hub's initial ones (none for a new Space).
    """

    repo_id: str
    ownership: Ownership
    files: tuple[str, ...] = ()

    @property
    def needs_confirmation(self) -> bool:
        """Whether publishing would replace an app that was not made from this workflow."""
        return self.ownership in ("another workflow", "not the wizard")

    def describe(self) -> str:
        """One line for the page: NEW or EXISTING, and what publishing does to it."""
        where = self.repo_id
        if self.ownership == "new":
            return f"{where} is NEW: publishing creates it as a ZeroGPU Space."
        if self.ownership == "empty":
            return f"{where} EXISTS, empty (an earlier publish did not finish): publishing completes it."
        if self.ownership == "this workflow":
            return f"{where} EXISTS, made by the wizard from this workflow: publishing updates it."
        if self.ownership == "another workflow":
            return (
                f"{where} EXISTS and the wizard made it from another workflow: publishing replaces that app "
                f"with this one. To do that, tick 'Replace an existing Space'; or choose another name."
            )
        return (
            f"{where} EXISTS and the wizard did not make it (it holds {_some(self.files)}): publishing replaces "
            f"its app, and its files outside what the wizard writes stay. To do that, tick 'Replace an existing Space'; or choose "
            "another name."
        )


def user_token(oauth_token: str | None) -> str | None:
    """The token to publish with in the wizard UI, given the visitor's OAuth token string (or None).

    On Spaces only the visitor's own token counts. Locally Gradio hands out a mock OAuth token that the
    Hub rejects, so fall back to the local login (`HF_TOKEN` or `hf auth login`)."""
    from huggingface_hub import get_token

    if os.environ.get("SYSTEM") == "spaces":
        return oauth_token or None
    if oauth_token and not oauth_token.startswith(MOCK_OAUTH_PREFIX):
        return oauth_token
    return get_token()


def resolve_token(token: str | None = None) -> str:
    """Explicit token > `HF_TOKEN` > saved login; a clear error when there is none."""
    from huggingface_hub import get_token

    resolved = token or os.environ.get("HF_TOKEN") or get_token()
    if not resolved:
        raise PublishAuthError(
            "no Hugging Face token: "
            + fix(
                f"log in with `hf auth login`, set HF_TOKEN, or pass --token (a token with write access from "
                f"{TOKENS_PAGE})",
                "sign in with Hugging Face (the button at the top of the page)",
            )
        )
    return resolved


def whoami(token: str) -> Account:
    """The account behind `token` (cached per token for the process)."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        info = _hub().whoami(token=token, cache=True)
    except (HfHubHTTPError, *_transport_errors()) as error:
        raise _explain(
            error, "checking your Hugging Face account", None, "nothing was changed on the Hub; publish again"
        ) from error
    auth = info.get("auth", {}).get("accessToken", {})
    if auth.get("role") == "read":
        raise PublishAuthError(
            f"this Hugging Face token is read-only: create a token with write access at {TOKENS_PAGE} "
            "and publish again"
        )
    orgs = tuple(org["name"] for org in info.get("orgs", []) if isinstance(org, dict) and "name" in org)
    return Account(name=info["name"], orgs=orgs)


def parse_space_name(space: str) -> tuple[str | None, str]:
    """`NAME` or `NAMESPACE/NAME` → (namespace or None, name), checked against the Hub's naming rules.
    No network: the UI can validate the name as it is typed."""
    parts = space.strip().split("/")
    if len(parts) > 2 or not all(parts):
        raise PublishNameError(f"invalid Space name {space!r}: use NAME or USER/NAME")
    name = parts[-1]
    if not _NAME.fullmatch(name):
        raise PublishNameError(
            f"invalid Space name {name!r}: use letters, digits, '-', '_' and '.', at most 96 characters, "
            "without '--' or '..' and not starting or ending with '-' or '.'"
        )
    return (parts[0] if len(parts) == 2 else None), name


def space_repo_id(space: str, account: Account) -> str:
    """`[NAMESPACE/]NAME` → `namespace/name` in a namespace this account may create Spaces in (its own
    name or one of its organizations)."""
    namespace, name = parse_space_name(space)
    namespace = namespace or account.name
    if namespace != account.name and namespace not in account.orgs:
        raise PublishPermissionError(
            f"the name {namespace}/{name} belongs to {namespace!r}, not to you ({account.name}): "
            f"publish as {account.name}/{name} or under one of your organizations"
        )
    return f"{namespace}/{name}"


def space_target(space: str, *, token: str, fingerprint: str | None) -> SpaceTarget:
    """Whether `space` is new or exists, and who made it, for a build of the workflow with `fingerprint`
    (asked live: the Space's file list, its manifest and appspec.json)."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    repo_id = space_repo_id(space, whoami(token))
    try:
        remote = _remote_space(repo_id, token)
    except RepositoryNotFoundError:
        return SpaceTarget(repo_id, "new")
    except (HfHubHTTPError, *_transport_errors()) as error:
        raise _explain(
            error, f"reading the Space {repo_id}", repo_id, "nothing was changed on the Hub"
        ) from error
    return SpaceTarget(repo_id, remote.ownership(fingerprint), tuple(remote.foreign_files()))


def publish_folder(
    folder: str | Path,
    *,
    space: str,
    private: bool = False,
    token: str | None = None,
    hf_token_secret: str | None = None,
    comfy_api_key: str | None = None,
    template: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> PublishResult:
    """Create (or update) the ZeroGPU Space `space` from the built `folder`, in one commit.

    `hf_token_secret`: stored as the Space's `HF_TOKEN` secret (gated models). `comfy_api_key`: stored as
    its `API_KEY_COMFY_ORG` secret (ComfyUI's paid API nodes). `template`: a Space to
    duplicate instead of starting empty. `force`: update an existing Space the wizard did not make.
    `progress(fraction, desc=...)` is told each step."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    report = progress or (lambda fraction, desc=None: None)
    folder = Path(folder)
    files = _space_files(folder)
    fingerprint = _fingerprint(folder)
    parse_space_name(space)  # a bad name fails here, before any network call
    token = resolve_token(token)
    _refuse_secrets_in_files(folder, files, [token, hf_token_secret, comfy_api_key])

    report(0.0, desc="Checking your Hugging Face account")
    repo_id = space_repo_id(space, whoami(token))
    given = {"HF_TOKEN": hf_token_secret, COMFY_API_KEY_SECRET: comfy_api_key}
    secrets = [{"key": key, "value": value} for key, value in given.items() if value] or None

    report(0.2, desc=f"Creating the Space {repo_id}")
    created = _create_space(repo_id, token=token, private=private, secrets=secrets, template=template)
    remote = None
    if not created:
        with _writing_to(repo_id, f"reading the Space {repo_id}", created=created, private=private):
            remote = _remote_space(repo_id, token)
        _confirm_update(repo_id, remote, force, fingerprint)
        if private:  # asked for private: an update makes sure; never the reverse, silently
            with _writing_to(repo_id, f"making {repo_id} private", created=created, private=private):
                _hub().update_repo_settings(repo_id, repo_type="space", private=True, token=token)
        for secret in secrets or ():
            with _writing_to(
                repo_id, f"setting the {secret['key']} secret of {repo_id}", created=created, private=private
            ):
                _hub().add_space_secret(repo_id, secret["key"], secret["value"], token=token)

    doomed = _files_to_delete(remote, files)
    report(0.4, desc=f"Uploading {len(files)} files to {repo_id}")
    operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=folder / path) for path in files]
    operations += [CommitOperationDelete(path_in_repo=path) for path in doomed]
    with _writing_to(repo_id, f"uploading to {repo_id}", created=created, private=private):
        commit = _hub().create_commit(
            repo_id,
            operations,
            commit_message=f"Publish {folder.resolve().name} with the ComfyUI Space wizard",
            repo_type="space",
            token=token,
            parent_commit=remote.sha if remote else None,
        )
    report(1.0, desc=f"Published {repo_id}")
    return PublishResult(
        url=f"{_hub().endpoint}/spaces/{repo_id}", repo_id=repo_id, commit=commit.oid, created=created
    )


def _space_files(folder: Path) -> list[str]:
    """Every file to upload, as sorted POSIX paths relative to `folder`; refuses a folder `build` did not
    complete (no manifest, or a file it lists is missing)."""
    if not folder.is_dir():
        raise PublishFolderError(
            f"{folder} is not a folder: build the Space first with `python -m wizard build`"
        )
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise PublishFolderError(
            f"{folder} is not a built Space (missing {', '.join(missing)}): build it with `python -m wizard build`"
        )
    manifest = read_manifest(folder)
    if manifest is None:
        raise PublishFolderError(
            f"{folder} has no {MANIFEST_NAME}, so its build did not finish: build it again with "
            "`python -m wizard build`"
        )
    lost = [name for name in manifest.files if not (folder / name).is_file()]
    if lost:
        raise PublishFolderError(
            f"{folder} lacks {len(lost)} file(s) its build wrote ({', '.join(lost[:3])}): build it again "
            "with `python -m wizard build`"
        )
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not SKIPPED_PARTS.intersection(path.relative_to(folder).parts)
    )


def _remote_space(repo_id: str, token: str) -> RemoteSpace:
    """The existing Space's head, files and manifest."""
    info = _hub().space_info(repo_id, token=token)
    files = frozenset(sibling.rfilename for sibling in info.siblings or ())
    manifest = fingerprint = None
    if MANIFEST_NAME in files:
        with tempfile.TemporaryDirectory() as scratch:
            path = _hub().hf_hub_download(
                repo_id, MANIFEST_NAME, repo_type="space", revision=info.sha, token=token, local_dir=scratch
            )
            manifest = parse_manifest(Path(path).read_bytes())
            if manifest is not None and SPEC_NAME in files:
                path = _hub().hf_hub_download(
                    repo_id, SPEC_NAME, repo_type="space", revision=info.sha, token=token, local_dir=scratch
                )
                fingerprint = _fingerprint(Path(path).parent)
    return RemoteSpace(sha=info.sha, files=files, manifest=manifest, fingerprint=fingerprint)


def _fingerprint(folder: Path) -> str | None:
    """The workflow fingerprint of the build in `folder` (its appspec.json), or None when it has none."""
    try:
        value = json.loads((folder / SPEC_NAME).read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _confirm_update(repo_id: str, remote: RemoteSpace, force: bool, fingerprint: str | None) -> None:
    """Refuse to replace the app of a Space not made from this workflow, unless `force`."""
    ownership = remote.ownership(fingerprint)
    if force or ownership not in ("another workflow", "not the wizard"):
        return
    if ownership == "another workflow":
        raise PublishConfirmationError(
            f"the Space {repo_id} already exists and the wizard made it from another workflow: choose another "
            f"name, or confirm to replace that app with this build ({_how_to_confirm()})"
        )
    raise PublishConfirmationError(
        f"the Space {repo_id} already exists and the wizard did not make it (it holds "
        f"{_some(remote.foreign_files())}): choose another name, or confirm to replace its app with this build "
        f"({_how_to_confirm()}); its files outside what the wizard writes stay"
    )


def _how_to_confirm() -> str:
    return fix("pass --force", "tick 'Replace an existing Space'")


def _some(files) -> str:
    """A few file names: "app.py, LICENSE and 3 more"."""
    files = list(files)
    return ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")


def _files_to_delete(remote: RemoteSpace | None, files: list[str]) -> list[str]:
    """Files of the Space that an earlier publish wrote and this build no longer has."""
    if remote is None or remote.manifest is None:
        return []
    owned = {*remote.manifest.files, MANIFEST_NAME}
    return sorted((remote.files & owned) - set(files))


def _hub_state(repo_id: str, *, created: bool, private: bool) -> str:
    """What exists on the Hub if the rest of this publish fails, and what publishing again does."""
    if created:
        visibility = "private" if private else "public"
        return (
            f"the Space {repo_id} now exists on the Hub as an empty {visibility} ZeroGPU Space without "
            "your files; publish again to complete the Space"
        )
    return f"the Space {repo_id} on the Hub is unchanged; publish again to update it"


def _refuse_secrets_in_files(folder: Path, files: list[str], secrets: list[str | None]) -> None:
    """Refuse to publish a folder where any file holds a token (it would be public on the Hub)."""
    needles = [secret.encode() for secret in secrets if secret]
    for path in files:
        data = (folder / path).read_bytes()
        if any(needle in data for needle in needles):
            raise PublishFolderError(
                f"refusing to publish: {path} contains your Hugging Face token; remove it from the file "
                "(the app reads the HF_TOKEN secret at run time instead)"
            )


def _create_space(
    repo_id: str, *, token: str, private: bool, secrets: list[dict] | None, template: str | None
) -> bool:
    """Create the Space (from `template` when given) with ZeroGPU set at creation. False if it exists."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        if template:
            _hub().duplicate_repo(
                from_id=template,
                to_id=repo_id,
                repo_type="space",
                private=private,
                space_hardware=ZERO_GPU,
                space_secrets=secrets,
                token=token,
            )
        else:
            _hub().create_repo(
                repo_id,
                repo_type="space",
                space_sdk="gradio",
                space_hardware=ZERO_GPU,
                private=private,
                space_secrets=secrets,
                exist_ok=False,
                token=token,
            )
    except HfHubHTTPError as error:
        if error.response is not None and error.response.status_code == 409:
            return False  # the Space exists: this publish updates it
        state = _state_after_failed_creation(repo_id, token, error)
        if template:  # a repository missing here is the template
            raise _explain(
                error, f"duplicating the template {template} into {repo_id}", template, state
            ) from error
        raise _explain(error, f"creating the Space {repo_id}", repo_id, state) from error
    except _transport_errors() as error:
        state = _state_after_failed_creation(repo_id, token, error)
        raise _explain(error, f"creating the Space {repo_id}", repo_id, state) from error
    return True


def _state_after_failed_creation(repo_id: str, token: str, error: Exception) -> str:
    """Whether a failed creation left a Space: a refusal (4xx) did not; after a dropped connection or a
    server error the Hub is asked."""
    from huggingface_hub.errors import HfHubHTTPError

    response = getattr(error, "response", None)
    if response is not None and response.status_code < 500:
        return f"no Space was created; publishing again creates {repo_id}"
    try:
        exists = _hub().repo_exists(repo_id, repo_type="space", token=token)
    except (HfHubHTTPError, *_transport_errors()):
        return (
            f"the Hub could not be asked whether {repo_id} was created (if it was, it is empty); "
            "publish again to complete the Space"
        )
    if exists:
        return f"the Space {repo_id} exists on the Hub, empty; publish again to complete the Space"
    return f"no Space was created; publishing again creates {repo_id}"


@contextmanager
def _writing_to(repo_id: str, action: str, *, created: bool, private: bool) -> Iterator[None]:
    """Turn a failed Hub call on an existing Space into a one-line PublishError naming the fix and what
    exists on the Hub."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    state = _hub_state(repo_id, created=created, private=private)
    try:
        yield
    except RepositoryNotFoundError as error:
        # The Space exists (we just created it, or the Hub said 409), yet the Hub hides it from this token:
        # the token may create repos but lacks the scope to write them (huggingface.md §4 item 3).
        raise PublishPermissionError(
            f"the Hub does not let this token write to {repo_id} (it lacks the write scope for it): "
            f"use a token with write access ({TOKENS_PAGE}) or, in the wizard, sign in again granting "
            f"`manage-repos`; {state}"
        ) from error
    except HfHubHTTPError as error:
        if error.response is not None and error.response.status_code == 403 and not created:
            raise PublishPermissionError(
                f"the Space {repo_id} already exists and this token cannot write to it: choose another "
                f"name, or use a token with write access to {repo_id.split('/')[0]}'s repos"
            ) from error
        raise _explain(error, action, repo_id, state) from error
    except ValueError as error:  # huggingface_hub raises it for README metadata the Hub rejects
        if "README.md" not in str(error):
            raise
        raise PublishFolderError(
            f"the Hub rejects the front matter of README.md: {one_line(str(error), 300)}; fix it and publish again"
        ) from error
    except _transport_errors() as error:
        raise _explain(error, action, repo_id, state) from error


def _transport_errors() -> tuple[type[Exception], ...]:
    """Connection-level failures (refused, dropped mid-request, timed out), as huggingface_hub raises them."""
    import httpx2

    return (httpx2.TransportError,)


def _explain(error: Exception, action: str, repo_id: str | None, state: str | None = None) -> PublishError:
    """One line naming the fix for a failure while doing `action`, ending with `state` (what exists on
    the Hub now) when known. Never includes a token: the messages are ours, plus at most the Hub's own
    short reason."""
    message = _explain_failure(error, action, repo_id)
    if state is None:
        return message
    return type(message)(f"{message}; {state}", **_extra_fields(message))


def _extra_fields(error: PublishError) -> dict:
    return {"retry_after": error.retry_after} if isinstance(error, PublishRateLimitError) else {}


def _explain_failure(error: Exception, action: str, repo_id: str | None) -> PublishError:
    from huggingface_hub.errors import RepositoryNotFoundError

    response = getattr(error, "response", None)
    if isinstance(error, _transport_errors()) or response is None:
        return PublishRetryableError(
            f"the connection to the Hugging Face Hub dropped while {action}: check your network"
        )
    status = response.status_code
    if isinstance(error, RepositoryNotFoundError):
        return PublishPermissionError(
            f"the Hub does not show {repo_id or 'this repository'} to this token while {action}: check the "
            f"name, and use a token with write access ({TOKENS_PAGE})"
        )
    if status == 401:
        return PublishAuthError(
            "the Hugging Face Hub rejected your token (invalid or expired): "
            + fix(
                f"log in again with `hf auth login`, or create a new token with write access at {TOKENS_PAGE}",
                "sign out and sign in with Hugging Face again",
            )
        )
    if status == 402:
        return PublishPaymentError(
            "the Hugging Face Hub requires payment for one more ZeroGPU Space on this account: ZeroGPU needs "
            "an account in good standing with a verified email (free accounts host 2 ZeroGPU Spaces, PRO "
            "accounts 10); verify your email, delete an unused ZeroGPU Space or subscribe to PRO "
            "(https://huggingface.co/pricing), then publish again"
        )
    if status == 403:
        return PublishPermissionError(
            f"the Hugging Face Hub refused {action} (403: {_hub_reason(error)}): your token lacks the scope; "
            f"use a token with write access ({TOKENS_PAGE}), or in the wizard sign in again granting "
            "`manage-repos`"
        )
    if status == 409:
        return PublishRetryableError(
            f"the Hugging Face Hub reported a conflict while {action} (another operation on {repo_id} is in "
            "progress): wait a moment and publish again"
        )
    if status == 412:
        return PublishRetryableError(f"the Space {repo_id} changed on the Hub while {action}")
    if status == 429:
        wait = _retry_after(response.headers)
        return PublishRateLimitError(
            f"the Hugging Face Hub is rate-limiting your account ({action}): wait {wait} s and publish again",
            retry_after=wait,
        )
    if status >= 500:
        return PublishRetryableError(
            f"the Hugging Face Hub is having trouble (HTTP {status} while {action}): try again in a few "
            "minutes"
        )
    return PublishError(f"the Hugging Face Hub refused {action} (HTTP {status}: {_hub_reason(error)})")


def _retry_after(headers) -> int:
    """Seconds to wait from `Retry-After` or the `RateLimit` header's `t=`; 60 when neither says."""
    value = headers.get("Retry-After", "")
    if value.strip().isdigit():
        return int(value)
    match = re.search(r"\bt=(\d+)", headers.get("RateLimit", ""))
    return int(match.group(1)) if match else 60


def _hub_reason(error) -> str:
    """The Hub's short reason (`X-Error-Message`), if any."""
    return one_line(error.response.headers.get("X-Error-Message") or "no reason given", 300)
