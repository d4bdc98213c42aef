"""The page's events: each handler calls `wizard.session` and returns `{component: new value}`.

Every failure reaches the user as one line (`_shown_to_user`); a handler that changes nothing
returns `gr.skip()` (Gradio reads an empty dict as one missing value). API names are the endpoints a
`gradio_client` user calls.
"""

from __future__ import annotations

import contextlib
import html
import logging
import queue
import threading
from pathlib import Path
from typing import Any, Callable

import gradio as gr
import spaces

from wizard import access
from wizard import session as sessions
from wizard.app_contract import markdown_text
from wizard.appspec import AppSpec
from wizard.errors import WizardError, one_line
from wizard.session import PREVIEW_FILES, Session
from wizard.space_run import SpaceStageError, make_public
from wizard.ui import grid, tables, views
from wizard.ui.layout import Page

log = logging.getLogger(__name__)

# On ZeroGPU the run gets a GPU for at most this long; elsewhere the decorator changes nothing.
test_run_on_gpu = spaces.GPU(duration=240)(sessions.test_run)


def wire(page: Page, demo: gr.Blocks) -> None:
    """All the page's events, in the order of the steps."""
    _wire_workflow_events(page, demo)
    _wire_choice_events(page)
    _wire_build_events(page)
    for button, step in page.navigation:
        # Moving between steps needs no server: the page switches at once.
        button.click(None, None, page.steps, js=f"() => ({{__type__: 'update', selected: {step}}})")


# --- opening a workflow -------------------------------------------------------------------------


def _workflow_views(page: Page) -> list[gr.components.Component]:
    """Everything that shows a workflow: opening one (or its saved choices) refreshes them all."""
    return [
        page.session,
        page.saved_workflow,
        page.saved_spec,
        page.badge,
        page.graph_summary,
        page.graph,
        page.app_title,
        page.app_description,
        page.tables_drawn,
        page.inputs_problem,
        page.outputs_problem,
        page.models_summary,
        page.models_table,
        page.packs_table,
        page.packs_problem,
        page.accelerate,
        page.space_name,
        page.steps,
    ]


def _opened(page: Page, new: Session, step: int) -> dict:
    return {
        page.session: new,
        page.saved_workflow: new.saved_workflow(),
        page.saved_spec: new.spec.to_json(),
        page.badge: views.workflow_badge(new),
        page.graph_summary: views.graph_summary_markdown(new),
        page.graph: views.graph_html(new),
        page.app_title: new.spec.title,
        page.app_description: new.spec.description,
        page.tables_drawn: grid.tables_drawn(),
        page.inputs_problem: "",
        page.outputs_problem: "",
        page.models_summary: views.models_markdown(new),
        page.models_table: _rows(tables.model_rows(new)),
        page.packs_table: _rows(tables.pack_rows(new)),
        page.packs_problem: "",
        page.accelerate: new.spec.accelerate,
        page.space_name: sessions.suggested_space_name(new),
        page.steps: gr.Walkthrough(selected=step),
    }


def _wire_workflow_events(page: Page, demo: gr.Blocks) -> None:
    shown = _workflow_views(page)

    def on_upload(path: str | None) -> dict:
        if not path:
            return gr.skip()
        with _shown_to_user():
            return _opened(page, sessions.open_workflow(Path(path).read_bytes(), Path(path).name), 2)

    def on_paste(text: str | None) -> dict:
        with _shown_to_user():
            if not (text or "").strip():
                raise WizardError("paste a workflow's JSON first (ComfyUI: Workflow → Export)")
            return _opened(page, sessions.open_workflow(text.encode("utf-8"), "pasted.json"), 2)

    def example_opener(path: Path) -> Callable[[], dict]:
        def on_example() -> dict:
            with _shown_to_user():
                return _opened(page, sessions.open_workflow(path.read_bytes(), path.name), 2)

        return on_example

    def on_import_spec(current: Session | None, data: bytes) -> dict:
        with _shown_to_user():
            spec_json = data.decode("utf-8", "replace")
            return _opened(page, sessions.with_imported_spec(_require(current), spec_json), 3)

    def on_restore(stored_workflow: dict | None, stored_spec: str | None) -> dict:
        if not stored_workflow or not stored_spec:
            return gr.skip()
        try:
            return _opened(page, sessions.restore_session(stored_workflow, stored_spec), 3)
        except Exception as error:  # stale or foreign data in the browser: start afresh
            log.info("saved session not restored: %s", error)
            return gr.skip()

    page.upload.upload(on_upload, page.upload, shown, api_name="open_file")
    page.use_pasted.click(on_paste, page.pasted, shown, api_name="open_json")
    for button, path in page.examples:
        button.click(example_opener(path), None, shown, api_visibility="private")
    page.import_spec.upload(on_import_spec, [page.session, page.import_spec], shown, api_name="import_spec")
    demo.load(on_restore, [page.saved_workflow, page.saved_spec], shown, api_visibility="private")


# --- editing the choices ------------------------------------------------------------------------


def _wire_choice_events(page: Page) -> None:
    """Edits of the title, the models' and packs' tables and the acceleration switch: a new spec, the graph and the badge follow it
    (the inputs' and outputs' cells wire their own edits: `wizard.ui.grid`)."""
    shown = [page.session, page.saved_spec, page.graph, page.badge]

    def edited(change: Callable[..., Session]) -> Callable[..., dict]:
        def on_edit(current: Session | None, *values: Any) -> dict:
            with _shown_to_user():
                new = change(_require(current), *values)
                return {
                    page.session: new,
                    page.saved_spec: new.spec.to_json(),
                    page.graph: views.graph_html(new),
                    page.badge: views.workflow_badge(new),
                }

        return on_edit

    def on_export(current: Session | None, folder: str | None) -> dict:
        with _shown_to_user():
            folder = access.use_workdir(folder)
            path = Path(folder) / "appspec.json"
            path.write_text(_require(current).spec.to_json(), encoding="utf-8")
            return {page.export_spec: str(path), page.workdir: folder}

    title = [page.app_title, page.app_description]
    edits = (
        (page.app_title, sessions.with_title, title, "edit_title"),
        (page.app_description, sessions.with_title, title, None),
        (page.accelerate, sessions.with_acceleration, [page.accelerate], "set_acceleration"),
    )
    for component, change, values, api_name in edits:
        visibility = "public" if api_name else "private"
        component.input(
            edited(change), [page.session, *values], shown, api_name=api_name, api_visibility=visibility
        )
    _wire_packs_edit(page, shown)
    _wire_models_check(page, shown)
    page.export_spec.click(
        on_export, [page.session, page.workdir], [page.export_spec, page.workdir], api_name="export_spec"
    )


def _wire_packs_edit(page: Page, shown: list) -> None:
    """An edit of the packs table: the table then shows the session's packs (an accepted edit's new pins,
    or the old ones when it is refused) and the line under it says why a refused edit was refused."""

    def on_packs_edit(current: Session | None, rows: Any) -> dict:
        with _shown_to_user():
            current = _require(current)
            try:
                new = tables.with_pack_rows(current, rows)
            except WizardError as error:
                return {
                    page.packs_table: _rows(tables.pack_rows(current)),
                    page.packs_problem: f"⚠️ **Pack edit refused.** {html.escape(one_line(str(error)))}",
                }
            return {
                page.session: new,
                page.saved_spec: new.spec.to_json(),
                page.graph: views.graph_html(new),
                page.badge: views.workflow_badge(new),
                page.packs_table: _rows(tables.pack_rows(new)),
                page.packs_problem: "",
            }

    page.packs_table.input(
        on_packs_edit,
        [page.session, page.packs_table],
        [*shown, page.packs_table, page.packs_problem],
        api_name="edit_packs",
        trigger_mode="always_last",
    )


def _wire_models_check(page: Page, shown: list) -> None:
    """The models step asks the Hub as it opens, and again after each edit of the models table."""
    checked = [*shown, page.models_summary, page.models_table]

    def check(new: Session, oauth_token: gr.OAuthToken | None) -> dict:
        new = sessions.with_checked_models(
            new, access.lookup_token(oauth_token.token if oauth_token else None)
        )
        return {
            page.session: new,
            page.saved_spec: new.spec.to_json(),
            page.graph: views.graph_html(new),
            page.badge: views.workflow_badge(new),
            page.models_summary: views.models_markdown(new),
            page.models_table: _rows(tables.model_rows(new)),
        }

    def on_models_step(current: Session | None, oauth_token: gr.OAuthToken | None) -> dict:
        if current is None:
            return gr.skip()
        with _shown_to_user():
            return check(current, oauth_token)

    def on_models_edit(current: Session | None, rows: Any, oauth_token: gr.OAuthToken | None) -> dict:
        with _shown_to_user():
            return check(tables.with_model_rows(_require(current), rows), oauth_token)

    page.next_models.click(on_models_step, page.session, checked, api_name="check_models")
    page.models_table.input(
        on_models_edit,
        [page.session, page.models_table],
        checked,
        api_name="edit_models",
        trigger_mode="always_last",
    )


# --- build, test run, publish -------------------------------------------------------------------


def _wire_build_events(page: Page) -> None:
    """Building the preview, the test run and publishing: each works in the tab's build folder."""
    _wire_build(page)
    _wire_test_run(page)
    _wire_publish(page)
    _wire_publish_target(page)  # after _wire_publish: refreshes the target once a publish succeeded


def _wire_build(page: Page) -> None:
    def on_build(current: Session | None, folder: str | None, oauth_token: gr.OAuthToken | None) -> dict:
        with _shown_to_user():
            access.require_sign_in(oauth_token.token if oauth_token else None)
            folder = access.use_workdir(folder)
            preview = sessions.build_preview(_require(current), Path(folder))
            return {
                page.workdir: folder,
                **{view: preview.files.get(name, "") for view, name in zip(page.code_views, PREVIEW_FILES)},
                page.download_zip: str(preview.zip_path),
                page.steps: gr.Walkthrough(selected=5),
            }

    page.build.click(
        on_build,
        [page.session, page.workdir],
        [page.workdir, *page.code_views, page.download_zip, page.steps],
        api_name="build",
    )


def _wire_test_run(page: Page) -> None:
    """The Test run's buttons take the values of the app's input controls, which are drawn again whenever
    the spec changes (`wizard.ui.preview.live_form`): each drawing wires them anew. Their handlers get one
    dict (component -> value: the inputs are a set), so the controls can be any in number."""
    tested = [
        page.workdir,
        page.session,
        page.saved_spec,
        page.test_status,
        page.test_outputs,
        page.test_files,
    ]

    def wire_form(controls: dict[str, gr.components.Component]) -> None:
        def run_values(data: dict) -> tuple[Session, str, dict[str, Any]]:
            session, folder = _require(data[page.session]), access.use_workdir(data[page.workdir])
            values = {name: data[control] for name, control in controls.items()}
            return session, folder, _run_values(session.spec, Path(folder), values)

        def on_test_run(data: dict, progress=gr.Progress()):
            """Run here, each stage and step shown as it comes: in the status line, with its numbers
            ("Downloading model x – 1.2 of 6.5 GB at 80 MB/s"), and in the progress bar when it has a
            fraction (Gradio draws a description only with one)."""
            with _shown_to_user():
                if access.on_spaces():
                    raise access.AccessError(
                        "on the hosted wizard the Test run runs on ZeroGPU: use Test run on ZeroGPU"
                    )
                session, folder, values = run_values(data)
                reports: queue.Queue = queue.Queue()
                outcome: dict[str, Any] = {}

                def work() -> None:
                    try:
                        outcome["run"] = test_run_on_gpu(session, Path(folder), values, reports.put)
                    except Exception as error:  # raised below, in the page's thread
                        outcome["error"] = error
                    reports.put(None)

                threading.Thread(target=work, name="test-run", daemon=True).start()
                yield {page.test_status: "⏳ Building the app"}
                while (report := reports.get()) is not None:
                    if report.fraction is not None:
                        progress(report.fraction, desc=report.text())
                    yield {page.test_status: f"⏳ {markdown_text(report.text())}"}
                if "error" in outcome:
                    raise outcome["error"]
                yield _tested(page, folder, outcome["run"])

        def on_space_test_run(data: dict, oauth_token: gr.OAuthToken | None, progress=gr.Progress()):
            """Test run on ZeroGPU, the Space's log streamed into the page while it builds and starts."""
            with _shown_to_user():
                token = access.acting_token(oauth_token.token if oauth_token else None)
                session, folder, values = run_values(data)
                lines: queue.Queue = queue.Queue()
                outcome: dict[str, Any] = {}

                def work() -> None:
                    try:
                        outcome["run"] = sessions.test_run_on_space(
                            session,
                            Path(folder),
                            values,
                            name=data[page.space_name],
                            token=token,
                            hf_token_secret=(data[page.hf_token_secret] or "").strip() or None,
                            log=lines.put,
                            progress=progress,
                        )
                    except Exception as error:  # raised below, in the page's thread
                        outcome["error"] = error
                    lines.put(None)

                threading.Thread(target=work, name="space-test-run", daemon=True).start()
                shown: list[str] = []
                while (line := lines.get()) is not None:
                    shown.append(line)
                    yield {page.space_log: gr.Textbox(value="\n".join(shown[-200:]), visible=True)}
                error = outcome.get("error")
                if isinstance(error, SpaceStageError):
                    shown += ["", f"{error.stage}: last lines of the log", *error.log_tail]
                    yield {page.space_log: gr.Textbox(value="\n".join(shown[-200:]), visible=True)}
                if error is not None:
                    raise error
                yield _tested(page, folder, outcome["run"])

        inputs = {page.session, page.workdir, *controls.values()}
        page.run_test.click(on_test_run, inputs, tested, api_visibility="private")
        page.run_space_test.click(
            on_space_test_run,
            inputs | {page.space_name, page.hf_token_secret},
            [*tested, page.space_log],
            api_visibility="private",
        )

    page.test_form_drawn = wire_form


def _run_values(spec: AppSpec, folder: Path, values: dict[str, Any]) -> dict[str, Any]:
    """The controls' values for `generate`: an ImageEditor's images saved as files in the tab's folder (the
    run's sandbox reads files), its background and painted layers by path."""
    editors = {item.name for item in spec.ordered_inputs if item.component == "ImageEditor"}
    result = dict(values)
    for name in editors & set(values):
        editor = values[name]
        if not editor or editor.get("background") is None:
            result[name] = None
            continue
        target = folder / "test-inputs" / name
        target.mkdir(parents=True, exist_ok=True)
        editor["background"].save(target / "background.png")
        layers = []
        for index, layer in enumerate(editor.get("layers") or []):
            layer.save(target / f"layer-{index}.png")
            layers.append(str(target / f"layer-{index}.png"))
        result[name] = {"background": str(target / "background.png"), "layers": layers}
    return result


def _tested(page: Page, folder: str, result: sessions.TestRun) -> dict:
    images = [str(path) for path in result.files if Path(path).suffix.lower() in _IMAGE_SUFFIXES]
    return {
        page.workdir: folder,
        page.session: result.session,
        page.saved_spec: result.session.spec.to_json(),
        page.test_status: result.message,
        page.test_outputs: gr.Gallery(value=images, visible=bool(images)),
        page.test_files: gr.File(value=[str(path) for path in result.files], visible=bool(result.files)),
    }


def _wire_publish_target(page: Page) -> None:
    """Before the first click: whose account, and whether the Space is NEW or EXISTING (asked live as the
    step opens and as the name is typed); an existing Space not made from this workflow needs the tick."""
    targets = [page.account_note, page.name_check, page.replace_existing, page.publish]

    def on_target(
        current: Session | None, name: str, profile: gr.OAuthProfile | None, oauth_token: gr.OAuthToken | None
    ) -> dict:
        shown = {page.account_note: access.account_note(profile.username if profile else None)}
        problem = sessions.space_name_problem(name or "")
        token = access.lookup_token(oauth_token.token if oauth_token else None)
        target = None
        if problem:
            note = f"⚠️ {problem}"
        elif current is None:
            note = "Open a workflow first (step 1)."
        elif token is None:
            note = f"Sign in to see whether **{name.strip()}** exists in your account."
        else:
            try:
                target = sessions.publish_target(current, name, token)
                note = (
                    f"**{target.describe()}**" if not target.needs_confirmation else f"⚠️ {target.describe()}"
                )
            except WizardError as error:
                note = f"⚠️ {one_line(str(error))}"
        needed = target is not None and target.needs_confirmation
        return {
            **shown,
            page.name_check: note,
            page.replace_existing: gr.Checkbox(value=False, visible=needed),
            page.publish: gr.Button(interactive=not needed),
        }

    inputs = [page.session, page.space_name]
    # One queue for every check, so the last one asked (the name as typed now) is the one shown.
    one_at_a_time = {"api_visibility": "private", "concurrency_id": "publish-target"}
    page.next_publish.click(on_target, inputs, targets, **one_at_a_time)
    page.space_name.input(on_target, inputs, targets, trigger_mode="always_last", **one_at_a_time)
    page.publish_done.success(on_target, inputs, targets, **one_at_a_time)  # now EXISTING
    page.replace_existing.input(
        lambda ticked: gr.Button(interactive=bool(ticked)),
        page.replace_existing,
        page.publish,
        api_visibility="private",
    )


def _wire_publish(page: Page) -> None:
    def on_publish(
        current: Session | None,
        folder: str | None,
        name: str,
        private: str,
        secret: str,
        comfy_api_key: str,
        replace_existing: bool,
        oauth_token: gr.OAuthToken | None,
        progress=gr.Progress(),
    ) -> dict:
        with _shown_to_user():
            token = access.acting_token(oauth_token.token if oauth_token else None)
            folder = access.use_workdir(folder)
            result = sessions.publish_space(
                _require(current),
                Path(folder),
                name=name,
                private=private == "private",
                hf_token_secret=secret.strip() or None,
                comfy_api_key=comfy_api_key.strip() or None,
                token=token,
                force=bool(replace_existing),
                progress=progress,
            )
            if private != "private" and not result.created:  # e.g. the private Space of a ZeroGPU Test run
                make_public(result.repo_id, token=token)
            verb = "Created" if result.created else "Updated"
            link = f"{verb} **[{result.repo_id}]({result.url})**: it builds now and runs in a few minutes."
            return {page.workdir: folder, page.published: link}

    page.publish_done = page.publish.click(
        on_publish,
        [
            page.session,
            page.workdir,
            page.space_name,
            page.visibility,
            page.hf_token_secret,
            page.comfy_api_key,
            page.replace_existing,
        ],
        [page.workdir, page.published],
        api_name="publish",
    )


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def _rows(rows: list[list[Any]]) -> gr.Dataframe:
    """New table content; an empty table is hidden (rows the user adds are ignored: each row stands
    for something of the workflow)."""
    return gr.Dataframe(value=rows, visible=bool(rows))


def _require(current: Session | None) -> Session:
    if current is None:
        raise WizardError("no workflow yet: upload one in step 1")
    return current


@contextlib.contextmanager
def _shown_to_user():
    """Turn any failure into one line in the page: a WizardError's own message, else a short note."""
    try:
        yield
    except gr.Error:
        raise
    except WizardError as error:
        raise gr.Error(
            one_line(str(error)) or "unknown error", duration=None, print_exception=False
        ) from None
    except Exception as error:  # a bug: the user still gets one line, the log gets the traceback
        log.exception("unexpected error in the wizard UI")
        raise gr.Error(
            f"Unexpected error ({type(error).__name__}: {one_line(str(error), 200)}). "
            "Please report it with the workflow that caused it.",
            duration=None,
            print_exception=False,
        ) from None
