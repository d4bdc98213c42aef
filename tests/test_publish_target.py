"""Publishing never surprises: before the first click the page names the account and says whether the Space
is NEW or EXISTING (asked live, on the fake Hub over real HTTP); an existing Space not made from this workflow
needs the tick first; hosted users are never told to use a command-line flag.

Browser tests: the real wizard (`python app.py`) on localhost in headless Chromium; screenshots go to
tests/artifacts/ like tests/test_browser.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.fakehub import FakeHub, client_env
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, shot, sync_api
from tests.wizard_server import wizard_app
from wizard.errors import PublishConfirmationError
from wizard.manifest import SpaceManifest
from wizard.publish import RemoteSpace, SpaceTarget, _confirm_update, _explain_failure

TOKEN, USER = "hf_publishtargettoken", "ada"
SD15, BLUR = "Text to image (SD1.5)", "Blur and invert (no model)"
CLI_WORDS = ("--", "python -m", "hf auth login", "command line")
expect = sync_api.expect
expect.set_options(timeout=30_000)  # each check asks the Hub; the machine is loaded


# --- what the messages say, hosted or not --------------------------------------------------------------


def foreign_space() -> RemoteSpace:
    return RemoteSpace(sha="0" * 40, files=frozenset({"README.md", "app.py", "LICENSE"}), manifest=None)


def wizard_space(fingerprint: str) -> RemoteSpace:
    return RemoteSpace(
        sha="0" * 40,
        files=frozenset({"app.py"}),
        manifest=SpaceManifest(("app.py",)),
        fingerprint=fingerprint,
    )


def test_who_made_an_existing_space_decides_whether_it_needs_the_tick():
    assert wizard_space("sha256:a").ownership("sha256:a") == "this workflow"
    assert wizard_space("sha256:a").ownership("sha256:b") == "another workflow"
    assert foreign_space().ownership("sha256:a") == "not the wizard"
    empty = RemoteSpace(sha="0" * 40, files=frozenset({"README.md", ".gitattributes"}), manifest=None)
    assert empty.ownership("sha256:a") == "empty"
    _confirm_update("ada/x", wizard_space("sha256:a"), False, "sha256:a")  # its own Space: no tick
    _confirm_update("ada/x", foreign_space(), True, "sha256:a")  # ticked
    with pytest.raises(PublishConfirmationError, match="the wizard made it from another workflow"):
        _confirm_update("ada/x", wizard_space("sha256:a"), False, "sha256:b")
    needs = [SpaceTarget("ada/x", state).needs_confirmation for state in ("new", "empty", "this workflow")]
    assert needs == [False, False, False]
    assert SpaceTarget("ada/x", "another workflow").needs_confirmation


def test_hosted_users_are_told_what_to_do_in_the_page(monkeypatch):
    from wizard import access

    monkeypatch.setenv("SYSTEM", "spaces")
    messages = [
        SpaceTarget("ada/x", "not the wizard", ("app.py",)).describe(),
        SpaceTarget("ada/x", "another workflow").describe(),
        access.account_note(None),
    ]
    for space in (foreign_space(), wizard_space("sha256:a")):
        with pytest.raises(PublishConfirmationError) as refused:
            _confirm_update("ada/x", space, False, "sha256:b")
        messages.append(str(refused.value))
    messages.append(str(_explain_failure(_http_error(401), "publishing", "ada/x")))
    for message in messages:
        assert not any(word in message for word in CLI_WORDS), message
    assert "tick 'Replace an existing Space'" in messages[0] and "sign in with Hugging Face" in messages[-1]
    monkeypatch.delenv("SYSTEM")
    with pytest.raises(PublishConfirmationError, match="pass --force"):  # the CLI's way, off Spaces
        _confirm_update("ada/x", foreign_space(), False, "sha256:b")


def test_a_hosted_visitor_without_a_token_is_told_to_sign_in(tmp_path):
    probe = "from wizard.publish import resolve_token\ntry:\n    resolve_token()\nexcept Exception as e:\n    print(e)"
    env = client_env("http://127.0.0.1:9", tmp_path / "hf-home", SYSTEM="spaces")
    message = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True).stdout
    assert message.startswith("no Hugging Face token: sign in with Hugging Face"), message
    assert not any(word in message for word in CLI_WORDS), message


def _http_error(status: int):
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    response = httpx2.Response(status, request=httpx2.Request("GET", "https://huggingface.co/api/whoami-v2"))
    return HfHubHTTPError("refused", response=response)


# --- in the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def hub():
    with FakeHub(users={TOKEN: USER}) as running:
        yield running


def new_page(browser, url: str, width: int = 1360):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_selector("#upload")
    return context, page


def walk_to_publish(page, example: str) -> None:
    page.get_by_role("button", name=example).click()
    page.locator("#graph .graph-canvas svg").wait_for()
    page.locator("#next-inputs").click()
    page.locator("#next-models").click()
    page.locator("#next-preview").click()
    page.locator("#code-app-py .cm-content").wait_for()
    page.locator("#next-test").click()
    page.locator("#next-publish").click()


def name_field(page):
    return page.locator("#space-name input, #space-name textarea").first


def type_name(page, name: str) -> None:
    """Type the Space name as a person does (Gradio's input event follows key presses, not `fill`)."""
    name_field(page).fill(name[:-1])
    name_field(page).press_sequentially(name[-1])


def name_check(page):
    return page.locator("#name-check")


@pytest.mark.browser
def test_the_page_says_new_or_existing_and_whose_account_before_the_first_click(browser, hub, tmp_path):
    hub.add_repo(f"{USER}/foreign", repo_type="space", files={"app.py": b"print('mine')\n"})
    with wizard_app(hub.url, TOKEN, tmp_path / "wizard") as url:
        context, page = new_page(browser, url)
        try:
            walk_to_publish(page, SD15)
            expect(page.locator("#account-note")).to_have_text(
                "Publishes to ada (this machine's Hugging Face login)."
            )
            assert page.get_by_text("Sign in with Hugging Face").count() == 0  # the machine's login is used
            suggested = name_field(page).input_value()
            expect(name_check(page)).to_have_text(
                f"{USER}/{suggested} is NEW: publishing creates it as a ZeroGPU Space."
            )
            expect(page.locator("#replace-existing")).to_be_hidden()
            expect(page.locator("#publish")).to_be_enabled()
            shot(page, "publish-target-01-new")

            page.locator("#publish").click()
            page.locator("#published").get_by_text("Created").wait_for(timeout=90_000)
            expect(name_check(page)).to_have_text(
                f"{USER}/{suggested} EXISTS, made by the wizard from this workflow: publishing updates it."
            )
            page.locator("#publish").click()  # its own Space: no tick needed
            page.locator("#published").get_by_text("Updated").wait_for(timeout=90_000)

            type_name(page, "bad--name")
            expect(name_check(page)).to_contain_text("invalid Space name 'bad--name'")

            type_name(page, "foreign")
            expect(name_check(page)).to_contain_text(
                f"{USER}/foreign EXISTS and the wizard did not make it (it holds app.py)"
            )
            expect(page.locator("#replace-existing")).to_be_visible()
            expect(page.locator("#replace-existing")).to_contain_text("Needed because this Space exists")
            assert "--force" not in name_check(page).inner_text()  # the page's way only
            expect(page.locator("#publish")).to_be_disabled()
            shot(page, "publish-target-02-foreign-needs-the-tick")
            page.locator("#replace-existing input[type=checkbox]").check()
            expect(page.locator("#publish")).to_be_enabled()
            page.locator("#publish").click()
            page.locator("#published").get_by_text(f"Updated {USER}/foreign").wait_for(timeout=90_000)
            assert b"ComfyWorkflow" in hub.repos[("space", f"{USER}/foreign")].files["app.py"]
        finally:
            context.close()

        context, page = new_page(browser, url)  # another workflow, the first one's Space name
        try:
            walk_to_publish(page, BLUR)
            type_name(page, suggested)
            expect(name_check(page)).to_contain_text(
                f"{USER}/{suggested} EXISTS and the wizard made it from another workflow"
            )
            expect(page.locator("#publish")).to_be_disabled()
            shot(page, "publish-target-03-another-workflow")
            context.close()
            context, page = new_page(browser, url, width=390)
            walk_to_publish(page, BLUR)
            expect(name_check(page)).to_contain_text("is NEW")
            shot(page, "publish-target-04-390px")
        finally:
            context.close()


@pytest.mark.browser
def test_the_hosted_page_offers_sign_in_and_names_no_command_line_flag(browser, hub, tmp_path):
    with wizard_app(hub.url, TOKEN, tmp_path / "wizard", env={"SYSTEM": "spaces"}) as url:
        context, page = new_page(browser, url)
        try:
            sign_in = page.locator("#sign-in")
            expect(sign_in).to_have_text("Sign in with Hugging Face")  # at the top: every step reaches it
            page.get_by_role("button", name=BLUR).click()
            page.locator("#graph .graph-canvas svg").wait_for()
            page.locator("#next-inputs").click()
            page.locator("#next-models").click()
            page.locator("#next-preview").click()  # building needs the sign-in on the hosted wizard
            error = page.locator(".toast-body").first
            error.wait_for()
            text = error.inner_text()
            assert "sign in with Hugging Face first (the button at the top of the page)" in text, text
            assert not any(word in text for word in CLI_WORDS), text
            shot(page, "publish-target-05-hosted-sign-in")
            page.locator(".toast-close").first.click()  # the message sits over the page's top right corner
            sign_in.click()  # off a real Space Gradio signs in as the machine's login: ada
            expect(page.locator("#sign-in")).to_have_text(f"Logout ({USER})", timeout=60_000)
            assert page.get_by_text("Sign in with Hugging Face").count() == 0
            shot(page, "publish-target-06-hosted-signed-in")
        finally:
            context.close()


def test_the_hosted_account_note_names_the_signed_in_visitor(monkeypatch):
    from wizard import access

    monkeypatch.setenv("SYSTEM", "spaces")
    assert access.account_note("ada") == "Publishes to **ada** (your Hugging Face account)."
    assert access.account_note(None).startswith(
        "Sign in with Hugging Face (the button at the top of the page)"
    )
