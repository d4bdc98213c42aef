"""The wizard's steps without a browser: `wizard.session` and the page's tables in-process, then the launched
app (`python app.py`, against a local fake Hub) through `gradio_client`, as the Space's API users see it."""

from __future__ import annotations

import ast
import json
import re
import time
import zipfile
from pathlib import Path

import pytest

from wizard import session as sessions
from wizard.ui import tables, views
from wizard.errors import WizardError

EXAMPLES = sorted(sessions.example_paths().values())


@pytest.fixture(scope="module")
def default_session(templates_dir) -> sessions.Session:
    return sessions.open_workflow((templates_dir / "default.json").read_bytes(), "default.json")


def test_upload_gives_the_automatic_choice_ticked(default_session):
    rows = tables.input_rows(default_session)
    ticked = {(row.node_id, row.input_name) for row in rows if row.exposed}
    assert ticked == {(item.node_id, item.input_name) for item in default_session.spec.inputs}
    assert ("6", "text") in ticked and ("3", "seed") in ticked
    assert rows[0].exposed, "the automatic choice comes first"
    assert all(row.node and row.label for row in rows), "every row has a node title and a label"
    outputs = tables.output_rows(default_session)
    assert [(row.exposed, row.node_id, row.kind) for row in outputs] == [(True, "9", "images")]


def test_ticking_an_input_reaches_the_generated_app_and_the_graph(default_session, tmp_path):
    assert not tables.input_row(default_session, "3", "sampler_name").exposed
    session = tables.with_input_cell(default_session, "3", "sampler_name", "exposed", True)
    chosen = [
        item for item in session.spec.inputs if (item.node_id, item.input_name) == ("3", "sampler_name")
    ]
    assert chosen and chosen[0].component == "Dropdown" and chosen[0].order == len(session.spec.inputs) - 1
    preview = sessions.build_preview(session, tmp_path)
    assert 'Input("3", "sampler_name"' in preview.files["app.py"]
    assert (
        '("3", "sampler_name")'
        not in sessions.build_preview(default_session, tmp_path / "before").files["app.py"]
    )
    with zipfile.ZipFile(preview.zip_path) as archive:
        assert {"app.py", "README.md", "requirements.txt", "comfy.lock.json"} <= set(archive.namelist())
    assert set(sessions.PREVIEW_FILES) <= set(preview.files)


def test_graph_highlights_the_exposed_nodes(default_session):
    session = default_session
    for row in tables.input_rows(default_session):
        if row.exposed and row.node_id != "5":  # only the latent size node stays
            session = tables.with_input_cell(session, row.node_id, row.input_name, "exposed", False)
    assert sessions.exposed_node_ids(session.spec) == {"5"}
    assert views.graph_html(session) != views.graph_html(default_session)
    assert "<svg" in views.graph_html(session) and "--graph-width" in views.graph_html(session)


def test_a_workflow_of_250_nodes_opens_quickly_and_draws_zoomable(tmp_path):
    nodes = [
        {
            "id": 1,
            "type": "LoadImage",
            "mode": 0,
            "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}],
            "widgets_values": ["example.png", "image"],
            "properties": {},
        }
    ]
    for index in range(2, 250):
        nodes.append(
            {
                "id": index,
                "type": "ImageInvert",
                "mode": 0,
                "properties": {},
                "inputs": [{"name": "image", "type": "IMAGE", "link": index - 1}],
                "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [index]}],
            }
        )
    nodes.append(
        {
            "id": 250,
            "type": "SaveImage",
            "mode": 0,
            "properties": {},
            "widgets_values": ["chain"],
            "inputs": [{"name": "images", "type": "IMAGE", "link": 249}],
        }
    )
    links = [[index, index, 0, index + 1, 0, "IMAGE"] for index in range(1, 250)]
    workflow = {"nodes": nodes, "links": links, "version": 0.4, "last_node_id": 250, "last_link_id": 249}
    started = time.perf_counter()
    session = sessions.open_workflow(json.dumps(workflow).encode(), "chain.json")
    html = views.graph_html(session)
    assert time.perf_counter() - started < 2
    assert len(session.conversion.nodes) == 250
    width = float(re.search(r"--graph-width: (\d+)px", html).group(1))
    assert width > 2000, "a long chain is drawn wide, for the page to scale and scroll"
    assert ' width="' not in html.split(">", 2)[1], "the SVG's own size is dropped so CSS can zoom it"


def test_editing_labels_ranges_and_advanced(default_session):
    session = default_session
    for cell, value in (("exposed", True), ("label", "Sampling steps"), ("minimum", 4), ("maximum", 40.0)):
        session = tables.with_input_cell(session, "3", "steps", cell, value)
    session = tables.with_input_cell(session, "3", "steps", "advanced", True)
    (item,) = [item for item in session.spec.inputs if item.input_name == "steps"]
    assert (item.label, item.name, item.minimum, item.maximum, item.advanced) == (
        "Sampling steps",
        "sampling_steps",
        4,
        40,
        True,
    )
    assert isinstance(item.maximum, int), "an INT input keeps integer bounds"


def test_bad_edits_are_refused_with_one_line(default_session):
    prompt_label = tables.input_row(default_session, "6", "text").label
    with pytest.raises(WizardError, match="used twice"):  # two inputs with one label
        tables.with_input_cell(default_session, "7", "text", "label", prompt_label)
    with pytest.raises(WizardError, match="cannot be a Checkbox"):
        tables.with_input_cell(default_session, "3", "steps", "component", "Checkbox")
    with pytest.raises(WizardError, match="not a number"):
        tables.with_input_cell(default_session, "3", "steps", "minimum", "many")


def test_outputs_and_title(default_session):
    session = sessions.with_title(
        tables.with_output_cell(default_session, "9", "label", "Pictures"), "  My app ", "Pretty pictures"
    )
    assert [(o.label, o.name) for o in session.spec.outputs] == [("Pictures", "pictures")]
    assert (session.spec.title, session.spec.description) == ("My app", "Pretty pictures")
    assert sessions.suggested_space_name(session).startswith("my-app-")
    with pytest.raises(WizardError, match="title"):
        sessions.with_title(default_session, " ", "")


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"", "empty.json", "empty"),
        (b'{"nodes": [', "truncated.json", "json"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "photo.png", "png"),
        (b'{"hello": "world"}', "other.json", "not a comfyui workflow"),
    ],
)
def test_bad_files_give_one_line_quickly(data, filename, message):
    started = time.perf_counter()
    with pytest.raises(WizardError) as caught:
        sessions.open_workflow(data, filename)
    assert time.perf_counter() - started < 2
    text = str(caught.value)
    assert "\n" not in text and message in text.lower()


def test_choices_survive_a_reload_and_travel_as_json(default_session, templates_dir):
    session = sessions.with_title(
        tables.with_input_cell(default_session, "3", "cfg", "exposed", True), "Kept", ""
    )
    saved = json.loads(json.dumps(session.saved_workflow()))  # what the browser's localStorage holds
    restored = sessions.restore_session(saved, session.spec.to_json())
    assert restored.spec == session.spec and restored.filename == "default.json"
    other = sessions.open_workflow(EXAMPLES[0].read_bytes(), EXAMPLES[0].name)
    with pytest.raises(WizardError, match="another workflow"):
        sessions.with_imported_spec(other, session.spec.to_json())
    assert sessions.with_imported_spec(default_session, session.spec.to_json()).spec == session.spec


def test_model_files_can_be_pointed_at_the_hub(default_session):
    rows = tables.model_rows(default_session)
    assert rows[0][:4] == [
        "v1-5-pruned-emaonly-fp16.safetensors",
        "checkpoints",
        "Comfy-Org/stable-diffusion-v1-5-archive",
        "v1-5-pruned-emaonly-fp16.safetensors",
    ]
    rows[0][2:5] = ["me/my-checkpoints", "sd15/model.safetensors", ""]
    session = tables.with_model_rows(default_session, rows)
    (model,) = session.spec.models
    assert (model.repo_id, model.path, model.source, model.resolved) == (
        "me/my-checkpoints",
        "sd15/model.safetensors",
        "user",
        True,
    )
    rows[0][2:5] = ["me/my-checkpoints", "", ""]
    with pytest.raises(WizardError, match="both"):
        tables.with_model_rows(default_session, rows)
    assert "**1 model file: 1 not checked.**" in views.models_markdown(default_session)  # the Hub not asked
    assert "**1 model file: 1 not found.**" in views.models_markdown(
        tables.with_model_rows(default_session, [rows[0][:2] + ["", "", ""] + rows[0][5:]])
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_examples_open_and_build(path, tmp_path):
    session = sessions.open_workflow(path.read_bytes(), path.name)
    assert session.spec.inputs and session.spec.outputs
    app_py = sessions.build_preview(session, tmp_path).files["app.py"]
    ast.parse(app_py)
    for item in session.spec.inputs:
        assert f"Input({item.node_id!r}, {item.input_name!r}".replace("'", '"') in app_py


def test_space_names_are_checked_before_publishing():
    assert sessions.space_name_problem("my-app") is None
    assert sessions.space_name_problem("ada/my.app_2") is None
    for bad in ("", "my app", "-app", "a--b", "x/y/z", "é"):
        assert sessions.space_name_problem(bad), bad


def test_test_run_says_how_to_get_comfyui(monkeypatch, tmp_path):
    monkeypatch.setenv("COMFYUI_PATH", str(tmp_path))  # an empty folder: no ComfyUI there
    assert "python -m runtime.install" in sessions.comfyui_status()


# --- the launched app, through gradio_client -------------------------------------------------------

TOKEN, USER = "hf_uitesttoken", "grace"


@pytest.fixture(scope="module")
def hub():
    from tests.fakehub import FakeHub

    with FakeHub(users={TOKEN: USER}) as running:
        yield running


@pytest.fixture(scope="module")
def app_url(hub, tmp_path_factory):
    from tests.wizard_server import wizard_app

    with wizard_app(hub.url, TOKEN, tmp_path_factory.mktemp("wizard")) as url:
        yield url


def client_for(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def opened(client, path: Path) -> dict:
    """Open a workflow through the app's API; the named outputs of /open_file."""
    from gradio_client import handle_file

    values = client.predict(handle_file(str(path)), api_name="/open_file")
    badge, _, _, title = values[2:6]
    return {"badge": badge, "title": title, "spec": json.loads(values[1])}


def test_api_walks_from_upload_to_a_published_space(app_url, hub, templates_dir, tmp_path):
    """An API user's choices travel as a spec (the page's table edits are the page's own)."""
    from gradio_client import handle_file

    client = client_for(app_url)
    try:
        result = opened(client, templates_dir / "default.json")
        assert result["badge"].startswith("**default.json** · 7 nodes")
        assert ("3", "sampler_name") not in {
            (i["node_id"], i["input_name"]) for i in result["spec"]["inputs"]
        }
        session = sessions.open_workflow((templates_dir / "default.json").read_bytes(), "default.json")
        choices = tmp_path / "choices.json"
        choices.write_text(
            tables.with_input_cell(session, "3", "sampler_name", "exposed", True).spec.to_json()
        )
        values = client.predict(handle_file(str(choices)), api_name="/import_spec")
        graph, badge = values[4], values[2]
        assert "graph-canvas" in graph and f"{len(result['spec']['inputs']) + 1} inputs" in badge
        app_py = client.predict(api_name="/build")[0]
        assert 'Input("3", "sampler_name"' in app_py
        link = client.predict("sd15-app", "private", "", "", api_name="/publish")
        assert f"]({hub.url}/spaces/{USER}/sd15-app)" in link
        repo = hub.repos[("space", f"{USER}/sd15-app")]
        assert repo.private and repo.hardware == "zero-a10g"
        assert 'Input("3", "sampler_name"' in repo.files["app.py"].decode()
        assert all(TOKEN.encode() not in content for content in repo.files.values())
        client.predict("Pocket painter", "Pictures from words", api_name="/edit_title")
        again = client.predict("sd15-app", "private", "hf_readgatedmodels", "", api_name="/publish")
        assert again.startswith("Updated") and len(repo.commits) == 3  # initial, first publish, update
        assert "HF_TOKEN" in repo.secrets and "Pocket painter" in repo.files["README.md"].decode()
        assert all(b"hf_readgatedmodels" not in content for content in repo.files.values())
        assert "accelerate(workflow, enabled=True)" in repo.files["app.py"].decode()  # on by default
        client.predict(False, api_name="/set_acceleration")  # the Models step's switch
        assert "accelerate(workflow, enabled=False)" in client.predict(api_name="/build")[0]
    finally:
        client.close()


def test_api_sessions_are_isolated_and_errors_are_one_line(app_url, templates_dir, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    first, second = client_for(app_url), client_for(app_url)
    try:
        opened(first, templates_dir / "default.json")
        second.predict(EXAMPLES[0].read_text(), api_name="/open_json")  # pasted: blur and invert
        assert 'Input("3", "seed"' in first.predict(api_name="/build")[0]
        assert 'Input("3", "seed"' not in second.predict(api_name="/build")[0]
        not_a_workflow = tmp_path / "notes.json"
        not_a_workflow.write_text('{"shopping": ["milk"]}')
        with pytest.raises(AppError) as caught:
            second.predict(handle_file(str(not_a_workflow)), api_name="/open_file")
        assert "not a ComfyUI workflow" in str(caught.value) and "Traceback" not in str(caught.value)
        # the failed upload changed nothing: the session still holds its workflow
        assert 'Input("1", "image"' in second.predict(api_name="/build")[0]
    finally:
        first.close()
        second.close()


def test_the_wizard_starts_without_a_hugging_face_login_and_says_how_to_log_in(tmp_path):
    import urllib.request

    from tests.wizard_server import wizard_app

    # No token anywhere: Gradio's LoginButton would stop the app at start; the wizard explains instead.
    with wizard_app("http://127.0.0.1:9", "", tmp_path) as url:
        with urllib.request.urlopen(f"{url}/config", timeout=30) as response:
            config = response.read().decode()
    assert "Publishing needs a Hugging Face login: no Hugging Face token" in config
    assert "Sign in with Hugging Face" not in config  # no LoginButton without a login to stand in for OAuth


def test_api_refuses_what_the_url_policy_refuses(app_url, templates_dir, tmp_path):
    """The page's handlers go through the spec's own validation: a table edit and an imported spec alike."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    client = client_for(app_url)
    try:
        values = client.predict(handle_file(str(templates_dir / "default.json")), api_name="/open_file")
        models, saved_spec = values[10]["value"], json.loads(values[1])
        models["data"][0][4] = "https://169.254.169.254/latest/meta-data/"
        with pytest.raises(AppError) as caught:
            client.predict(models, api_name="/edit_models")
        assert "link-local" in str(caught.value) and "Traceback" not in str(caught.value)
        saved_spec["custom_nodes"] = [
            {"pack": "x", "repo": "file:///tmp/x", "version": None, "class_types": ["X"], "source": "user"}
        ]
        spec_path = tmp_path / "hostile-spec.json"
        spec_path.write_text(json.dumps(saved_spec))
        with pytest.raises(AppError) as caught:
            client.predict(handle_file(str(spec_path)), api_name="/import_spec")
        assert "'file:///tmp/x' is refused: only https://" in str(caught.value)
        lock = client.predict(api_name="/build")[3]  # the tab keeps its valid choices
        assert "169.254" not in lock and "file://" not in lock
    finally:
        client.close()
