"""The wizard's preview is the generated app's page: the `with gr.Blocks()` body of the app.py codegen writes
(run by real Gradio, its Generate button calling nothing instead of ComfyUI) and the preview the page draws
(`wizard.ui.preview.render_app_preview`) give the same component tree: types, labels, order, column, and
the values, ranges and choices, for official templates of four kinds and the wizard's own examples.

The browser half (`test_preview_browser.py`) checks the theme and that the page redraws it on each edit.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

gr = pytest.importorskip("gradio")

from wizard import app_contract  # noqa: E402
from wizard.codegen import render_app  # noqa: E402
from wizard.session import EXAMPLES_DIR, open_workflow  # noqa: E402
from wizard.ui.preview import render_app_preview, theme_css  # noqa: E402

TEMPLATES = (
    "sdxl_refiner_prompt_example.json",  # text to image, two samplers, Advanced inputs
    "image_qwen_image_edit.json",  # image edit: an image input
    "video_wan2_2_14B_i2v.json",  # video: an image in, a video out
    "api_openai_image_1_t2i.json",  # a paid API node
)
EXAMPLES = ("sd15_text_to_image.json", "poster_effect.json")  # an examples row; a file input
# What a component shows and takes; `interactive` differs on purpose (the preview does not run).
PROPS = (
    "label",
    "value",
    "minimum",
    "maximum",
    "step",
    "choices",
    "lines",
    "precision",
    "type",
    "image_mode",
    "variant",
    "open",
    "samples",
)


def generated_tree(app_py: str) -> list[tuple]:
    """The page of a generated app.py: its `with gr.Blocks(...) as demo:` statement run by Gradio, the
    Generate button wired as written to a function that does nothing instead of the workflow (ComfyUI)."""
    module = ast.parse(app_py)
    blocks = next(
        node
        for node in module.body
        if isinstance(node, ast.With) and ast.unparse(node.items[0].context_expr).startswith("gr.Blocks(")
    )
    for statement in blocks.body:
        if isinstance(statement, ast.Expr) and ast.unparse(statement.value.func) == "run_button.click":
            statement.value.args = [ast.parse("lambda *values: None", mode="eval").body]  # not ComfyUI
    namespace: dict[str, Any] = {"gr": gr}
    exec(compile(ast.Module(body=[blocks], type_ignores=[]), "app.py", "exec"), namespace)
    return tree(namespace["demo"])


def preview_tree(spec) -> list[tuple]:
    with gr.Blocks() as demo:
        render_app_preview(spec)
    return tree(demo)


def tree(block, path: tuple[str, ...] = ()) -> list[tuple]:
    """(container path, component type, its props) for every component, in page order; a container's
    place among its siblings is in the path, so "the second column" is told from the first."""
    rows = []
    for index, child in enumerate(getattr(block, "children", [])):
        kind = type(child).__name__
        if isinstance(child, gr.blocks.BlockContext):
            if kind == "Accordion":
                rows.append((path, kind, {"label": child.label, "open": child.open}))
            rows += tree(child, (*path, f"{kind}#{index}"))
            continue
        config = child.get_config()
        rows.append((path, kind, {key: _plain(config[key]) for key in PROPS if key in config}))
    return rows


def _plain(value: Any) -> Any:
    """A config value comparable across two Blocks: file payloads by their path, tuples as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if key not in ("url", "meta")}
    return value


def session_of(path: Path):
    return open_workflow(path.read_bytes(), path.name)


@pytest.fixture(scope="module", params=TEMPLATES + EXAMPLES)
def opened(request, templates_dir):
    folder = EXAMPLES_DIR if request.param in EXAMPLES else templates_dir
    return session_of(folder / request.param)


def test_the_preview_is_the_generated_apps_page(opened):
    app_py = render_app(opened.conversion, opened.spec)
    generated, previewed = generated_tree(app_py), preview_tree(opened.spec)
    assert previewed == generated
    # the two columns: inputs (and the Generate button) left, outputs right
    columns = {row[0][:2] for row in generated if len(row[0]) >= 2}
    assert len(columns) == 2
    left, right = sorted(columns)
    kinds = {column: [kind for path, kind, _ in generated if path[:2] == column] for column in columns}
    assert kinds[left][-1] == "Button"
    assert all(kind not in ("Button",) for kind in kinds[right])


def test_every_input_and_output_is_in_the_tree_once(opened):
    rows = preview_tree(opened.spec)
    labels = [props.get("label") for _, kind, props in rows if kind not in ("Markdown", "Button", "Dataset")]
    expected = [parameter.label for parameter in app_contract.parameters(opened.spec)]
    expected += [output.label for output in opened.spec.outputs]
    assert sorted(label for label in labels if label != app_contract.ADVANCED_SECTION) == sorted(expected)


def test_the_heading_is_the_apps_title_and_description_without_an_emoji(opened):
    markdown = [props["value"] for _, kind, props in preview_tree(opened.spec) if kind == "Markdown"][0]
    assert markdown.startswith(f"# {app_contract.markdown_text(opened.spec.title)}\n")
    assert opened.spec.emoji not in markdown


def test_an_edit_shows_in_the_next_preview(templates_dir):
    import dataclasses

    session = session_of(templates_dir / TEMPLATES[0])
    first = session.spec.ordered_inputs[0]
    renamed = dataclasses.replace(first, label="Describe the picture")
    spec = dataclasses.replace(
        session.spec, inputs=tuple(renamed if item is first else item for item in session.spec.inputs)
    )
    labels = [props.get("label") for _, _, props in preview_tree(spec)]
    assert "Describe the picture" in labels and first.label not in labels


def test_the_examples_row_fills_the_inputs_it_names():
    session = session_of(EXAMPLES_DIR / "sd15_text_to_image.json")
    row = app_contract.layout(session.spec).examples
    assert row is not None and row.names
    dataset = [props for _, kind, props in preview_tree(session.spec) if kind == "Dataset"]
    assert len(dataset) == 1 and len(dataset[0]["samples"]) == 1


def test_the_generated_app_sets_no_theme_so_the_preview_uses_gradios_default():
    """app.py.j2 names no theme: the app gets Gradio's default, the one the preview's CSS is made from."""
    template = (Path(__file__).resolve().parent.parent / "templates" / "app.py.j2").read_text(
        encoding="utf-8"
    )
    assert "theme" not in template
    assert app_contract.THEME == "Default"
    default = gr.themes.Default()
    css = theme_css()
    assert f"--primary-500: {default.primary_500};" in css  # orange
    assert "--button-primary-background-fill: var(--primary-500);" in css
    assert ":root" not in css  # scoped to the preview: the wizard keeps its own theme


def test_a_test_run_becomes_the_first_example_and_the_cards_thumbnail(tmp_path, monkeypatch):
    """The run's input file and result image are copied into examples/; app.py's first examples row is the
    run's values; the README's `thumbnail` is the result's URL in the Space; the app's page still builds
    (Gradio reads the example files, relative to the Space's folder, as the Space runs it)."""
    import yaml
    from PIL import Image

    from wizard.codegen import build_space

    session = session_of(EXAMPLES_DIR / "poster_effect.json")
    photo, result = tmp_path / "upload.PNG", tmp_path / "poster_00001_.png"
    Image.new("RGB", (40, 30), (10, 120, 200)).save(photo, format="PNG")
    Image.new("RGB", (40, 30), (200, 120, 10)).save(result)
    name = app_contract.parameters(session.spec)[0].name
    example = app_contract.AppExample(values=((name, str(photo)),), result=result)
    folder = build_space(
        session.conversion, session.spec, tmp_path / "space", example=example, space_id="ada/poster"
    )

    assert (folder / "examples" / f"{name}.png").read_bytes() == photo.read_bytes()
    assert (folder / "examples" / "thumbnail.png").read_bytes() == result.read_bytes()
    front = yaml.safe_load((folder / "README.md").read_text(encoding="utf-8").split("---")[1])
    assert (
        front["thumbnail"] == "https://huggingface.co/spaces/ada/poster/resolve/main/examples/thumbnail.png"
    )
    app_py = (folder / "app.py").read_text(encoding="utf-8")
    monkeypatch.chdir(folder)
    dataset = [props for _, kind, props in generated_tree(app_py) if kind == "Dataset"]
    assert len(dataset) == 1 and len(dataset[0]["samples"]) == 1
    assert f'examples=[["examples/{name}.png"]]' in app_py
    manifest = (folder / "wizard-manifest.json").read_text(encoding="utf-8")
    assert "examples/thumbnail.png" in manifest  # the build wrote it: a rebuild replaces it


def test_without_a_test_run_an_app_with_a_file_input_has_no_examples_and_no_thumbnail(tmp_path):
    from wizard.codegen import build_space

    session = session_of(EXAMPLES_DIR / "poster_effect.json")
    folder = build_space(session.conversion, session.spec, tmp_path / "space", space_id="ada/poster")
    assert not (folder / "examples").exists()
    assert "thumbnail" not in (folder / "README.md").read_text(encoding="utf-8")
    assert "gr.Examples" not in (folder / "app.py").read_text(encoding="utf-8")
