"""The generated Space folder: app.py follows the runtime API and the target shape, the other files
parse and pin what they must, and the mask helper really cuts the painted strokes out of the alpha."""

from __future__ import annotations

import ast
import functools
import json
import types
from dataclasses import replace
from pathlib import Path

import black
import pytest
import yaml
from packaging.requirements import Requirement
from PIL import Image

from runtime.workflow import ComfyWorkflow
from tests.wizard_cli import run_wizard
from tests.workflows import conversion_from_prompt, t2i_prompt
from wizard.analyze import analyze
from wizard.app_contract import APP_NAMES
from wizard.appspec import auto_spec
from wizard.codegen import BLACK_MODE, COMFYUI_REQUIREMENTS, build_space
from wizard.errors import BuildError

REPO_ROOT = Path(__file__).resolve().parent.parent


def build(prompt, node_defs, folder, **spec_changes):
    conversion = conversion_from_prompt(
        prompt, node_defs, ui_graph={"nodes": [], "links": [], "version": 0.4}
    )
    spec = replace(auto_spec(conversion, analyze(conversion, node_defs)), **spec_changes)
    return build_space(conversion, spec, folder), spec


def calls(tree, attribute):
    return [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", None) == attribute
    ]


def test_t2i_app_follows_the_runtime_api(node_defs, tmp_path):
    folder, spec = build(t2i_prompt(), node_defs, tmp_path / "space")
    source = (folder / "app.py").read_text()
    assert black.format_str(source, mode=BLACK_MODE) == source
    tree = ast.parse(source)
    body = tree.body
    assert isinstance(body[1], ast.Import) and body[1].names[0].name == "spaces"  # first, before torch
    imports = [ast.unparse(node) for node in body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imports == [
        "import spaces",
        "from pathlib import Path",
        "import gradio as gr",
        "from runtime import ComfyWorkflow, Input, Output, RunError",
        "from runtime.accel import accelerate",
    ]
    (load,) = calls(tree, "load")
    assert ast.unparse(load.args[0]) == "Path(__file__).with_name('workflow_api.json')"  # any working dir
    keywords = {k.arg: k.value for k in load.keywords}
    assert ast.literal_eval(keywords["lock"]) == "comfy.lock.json"
    assert ast.literal_eval(keywords["workflow"]) == "workflow.json"
    declared = {
        kind: {ast.literal_eval(key): ast.unparse(value) for key, value in zip(node.keys, node.values)}
        for kind, node in ((kind, keywords[kind]) for kind in ("inputs", "outputs"))
    }
    assert declared["inputs"]["prompt"] == "Input('6', 'text', label='Prompt')"
    assert declared["inputs"]["seed"] == "Input('3', 'seed', label='Seed')"
    assert declared["outputs"] == {"images": "Output('9', 'images')"}
    assert ast.unparse(keywords["uploads_from"]) == "[gr.utils.get_upload_folder()]"  # only staged files
    generate = next(node for node in body if isinstance(node, ast.FunctionDef) and node.name == "generate")
    assert ast.unparse(generate.decorator_list[0]) == "spaces.GPU(duration=60)"
    parameters = [a.arg for a in generate.args.args]
    assert parameters == [
        "prompt",
        "negative_prompt",
        "seed",
        "randomize_seed",
        "width",
        "height",
        "steps",
        "cfg",
        "progress",
    ]
    assert ast.unparse(generate.args.defaults[-1]) == "gr.Progress(track_tqdm=True)"
    (run,) = calls(generate, "run")
    run_keywords = [(k.arg, ast.unparse(k.value)) for k in run.keywords]
    assert run_keywords[:3] == [
        ("prompt", "prompt"),
        ("negative_prompt", "negative_prompt"),
        ("seed", "seed"),
    ]
    assert run_keywords[-1] == ("progress", "progress") and not run.args
    assert "seed = workflow.random_seed()" in ast.unparse(generate)
    assert "raise gr.Error(str(error)) from error" in ast.unparse(generate)
    assert ast.unparse(generate.body[-1]) == "return (outputs['images'], seed)"
    (click,) = calls(tree, "click")
    click_keywords = {k.arg: k.value for k in click.keywords}
    assert ast.literal_eval(click_keywords["api_name"]) == "generate"
    assert ast.unparse(click.args[0]) == "workflow.serve(generate)"
    (blocks,) = calls(tree, "Blocks")
    assert ast.unparse(blocks.keywords[-1]) == "delete_cache=(3600, 3600)"  # Gradio cleans what it served
    assert [ast.unparse(e) for e in click_keywords["inputs"].elts] == parameters[:-1]
    assert [ast.unparse(e) for e in click_keywords["outputs"].elts] == ["images", "seed"]
    (examples,) = calls(tree, "Examples")
    assert ast.literal_eval(examples.keywords[0].value) == [["a glass bottle", "text, watermark"]]
    main = body[-1]
    assert (
        ast.unparse(main)
        == "if __name__ == '__main__':\n    demo.queue(max_size=20).launch(mcp_server=True, max_file_size='200mb')"
    )
    # Module-level names are the app's own or the spec's: nothing a workflow could add.
    assigned = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assigned |= {
        n.optional_vars.id for n in ast.walk(tree) if isinstance(n, ast.withitem) and n.optional_vars
    }
    spec_names = {i.name for i in spec.inputs} | {o.name for o in spec.outputs}
    assert assigned <= APP_NAMES | spec_names


def test_accordion_and_components(node_defs, tmp_path):
    folder, _ = build(t2i_prompt(), node_defs, tmp_path / "space")
    source = (folder / "app.py").read_text()
    assert 'seed = gr.Number(label="Seed", value=156680208700286, precision=0, minimum=0)' in source
    assert 'steps = gr.Slider(label="Steps", minimum=1, maximum=100, step=1, value=20)' in source
    assert 'randomize_seed = gr.Checkbox(label="Randomize seed", value=True)' in source
    assert source.index('gr.Accordion("Advanced", open=False)') < source.index("seed = gr.Number")
    assert source.index("prompt = gr.Textbox") < source.index('gr.Accordion("Advanced"')
    assert 'images = gr.Gallery(label="Images")' in source


def test_other_files(node_defs, tmp_path, comfyui_path_or_none):
    folder, spec = build(t2i_prompt(), node_defs, tmp_path / "space", duration=25, measured_seconds=12.3)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    runtime_files = sorted(
        f"runtime/{p.relative_to(REPO_ROOT / 'runtime').as_posix()}"
        for p in (REPO_ROOT / "runtime").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert names == sorted(
        [
            "README.md",
            "app.py",
            "appspec.json",
            "comfy.lock.json",
            "pyproject.toml",
            "requirements.txt",
            "wizard-manifest.json",
            "workflow.json",
            "workflow_api.json",
        ]
        + runtime_files
    )
    for name in runtime_files:
        assert (folder / name).read_bytes() == (REPO_ROOT / name).read_bytes()
    assert (
        "@spaces.GPU(duration=25)  # measured by the wizard's test run: 13 s, with headroom"
        in (folder / "app.py").read_text()
    )
    lock = json.loads((folder / "comfy.lock.json").read_text())
    assert lock == {
        "comfyui": {"repo": spec.comfyui["repo"], "commit": "a125cd84b054a57729b5eecab930ca9408719832"},
        "custom_nodes": [],
        "models": [
            {
                "name": "v1-5-pruned-emaonly-fp16.safetensors",
                "folder": "checkpoints",
                "repo_id": "Comfy-Org/stable-diffusion-v1-5-archive",
                "path": "v1-5-pruned-emaonly-fp16.safetensors",
                "revision": "main",
                "url": None,
                "size": spec.models[0].size,  # the download's size limit (runtime/models.py)
            }
        ],
    }
    front = yaml.safe_load((folder / "README.md").read_text().split("---\n")[1])
    assert {k: front[k] for k in ("sdk", "sdk_version", "python_version", "app_file", "license")} == {
        "sdk": "gradio",
        "sdk_version": "6.31.0",
        "python_version": "3.12",
        "app_file": "app.py",
        "license": "gpl-3.0",
    }
    assert front["preload_from_hub"] == [
        "Comfy-Org/stable-diffusion-v1-5-archive v1-5-pruned-emaonly-fp16.safetensors"
    ]
    assert (
        "comfyui" in front["tags"]
        and len(front["short_description"]) <= 60
        and front["colorFrom"] != front["colorTo"]
    )
    requirements = {}
    for line in (folder / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            requirement = Requirement(line)
            requirements[requirement.name.lower()] = str(requirement.specifier)
    assert requirements["gradio"] == "==6.31.0" and requirements["spaces"] == "==0.51.3"
    assert (requirements["torch"], requirements["torchvision"], requirements["torchaudio"]) == (
        "==2.9.1",
        "==0.24.1",
        "==2.9.1",
    )
    assert requirements["comfyui-frontend-package"] == "==1.27.10" and "requests" in requirements
    if comfyui_path_or_none is not None:  # the bundled copy is the pinned checkout's file
        assert COMFYUI_REQUIREMENTS.read_text() == (comfyui_path_or_none / "requirements.txt").read_text()


@pytest.fixture()
def comfyui_path_or_none():
    from runtime.locate import find_comfyui

    return find_comfyui()


def test_gated_models_are_not_preloaded(node_defs, tmp_path):
    conversion = conversion_from_prompt(t2i_prompt(), node_defs)
    spec = auto_spec(conversion, analyze(conversion, node_defs))
    spec = replace(spec, models=tuple(replace(m, gated=True) for m in spec.models))
    folder = build_space(conversion, spec, tmp_path / "space")
    text = (folder / "README.md").read_text()
    assert "preload_from_hub" not in yaml.safe_load(text.split("---\n")[1])
    assert "HF\\_TOKEN" in text or "HF_TOKEN" in text


def media_prompt():
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": "photo.png"}, "_meta": {"title": "Photo"}},
        "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 3, "sigma": 1.0}},
        "3": {"class_type": "MaskToImage", "inputs": {"mask": ["1", 1]}},
        "4": {
            "class_type": "ImageBlend",
            "inputs": {"image1": ["2", 0], "image2": ["3", 0], "blend_factor": 0.5, "blend_mode": "normal"},
        },
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "x"}},
        "6": {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}},
    }


def test_mask_editor_app_and_no_examples_without_example_files(node_defs, tmp_path):
    folder, spec = build(media_prompt(), node_defs, tmp_path / "space")
    source = (folder / "app.py").read_text()
    tree = ast.parse(source)
    assert "from PIL import ImageChops" in source
    assert 'photo = gr.ImageEditor(label="Photo", type="pil")' in source
    assert "photo=image_with_mask(photo)" in source
    assert not calls(tree, "Examples")  # the photo has no example file in the Space
    generate = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "generate"
    )
    assert ast.unparse(generate.body[-1]) == "return (outputs['images'], outputs['text'])"
    assert '"images": Output("5", "images"),\n        "text": Output("6", "text"),' in source
    # The helper is real code: run it on a picture with one painted stroke.
    helper = next(
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "image_with_mask"
    )
    namespace: dict = {}
    exec("from PIL import ImageChops\n" + ast.unparse(helper), namespace)
    background = Image.new("RGB", (8, 8), (200, 10, 10))
    stroke = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    stroke.paste((255, 255, 255, 255), (2, 2, 5, 5))
    image = namespace["image_with_mask"]({"background": background, "layers": [stroke], "composite": None})
    assert image.mode == "RGBA"
    assert image.getpixel((3, 3))[3] == 0 and image.getpixel((0, 0)) == (200, 10, 10, 255)
    assert namespace["image_with_mask"](None) is None


def test_building_into_a_foreign_folder_is_refused_and_rebuilding_works(node_defs, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(BuildError, match="not empty"):
        build(t2i_prompt(), node_defs, foreign)
    folder, _ = build(t2i_prompt(), node_defs, tmp_path / "space")
    (folder / "runtime" / "stale.py").write_text("")
    build(t2i_prompt(), node_defs, folder)
    assert not (folder / "runtime" / "stale.py").exists()


def test_build_cli(templates_dir, tmp_path):
    completed = run_wizard(
        "build", str(templates_dir / "image2image.json"), "--auto", "-o", str(tmp_path / "app")
    )
    assert completed.returncode == 0, completed.stderr
    source = (tmp_path / "app" / "app.py").read_text()
    assert "gr.Image(" in source and 'api_name="generate"' in source
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    failed = run_wizard("build", str(bad), "--auto", "-o", str(tmp_path / "bad"))
    assert failed.returncode == 2 and failed.stderr.startswith("error: ") and "Traceback" not in failed.stderr


def _ui_signature(spec) -> frozenset:
    """What the generated UI is made of: component kinds, media, outputs, seeds, examples."""
    parts = {("input", item.component, item.media, item.advanced, item.randomize) for item in spec.inputs}
    parts |= {("output", output.component) for output in spec.outputs}
    return frozenset(parts)


def test_generated_interfaces_build_in_real_gradio(template_paths, node_defs, tmp_path):
    """Every kind of generated UI in the corpus is constructed by Gradio 6.31 itself, with `generate`
    wrapped by the runtime's `ComfyWorkflow.serve` as the app wraps it.

    One template per new combination of components covers what all 172 generate. The runtime
    start (`ComfyWorkflow.load`) and `launch()` are left out: the Blocks, its components and the
    `/generate` endpoint are built exactly as the Space builds them.
    """
    import gradio as gr

    from wizard.convert import convert
    from wizard.ingest import load_path

    covered: set = set()
    chosen = []
    for path in template_paths:
        conversion = convert(load_path(path), node_defs)
        spec = auto_spec(conversion, analyze(conversion, node_defs))
        if not _ui_signature(spec) <= covered:
            covered |= _ui_signature(spec)
            chosen.append((path, conversion, spec))
    assert len(chosen) >= 5
    for path, conversion, spec in chosen:
        folder = build_space(conversion, spec, tmp_path / path.stem)
        tree = ast.parse((folder / "app.py").read_text())
        tree.body = [
            node
            for node in tree.body
            if not (isinstance(node, ast.ImportFrom) and node.module in ("runtime", "runtime.accel"))
            and not (
                isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) in ("workflow", "acceleration")
            )
            and not isinstance(node, ast.If)
        ]
        # `serve` needs no started ComfyUI: the real one wraps generate, as Gradio will see it
        served = types.SimpleNamespace(serve=functools.partial(ComfyWorkflow.serve, None))
        namespace = {"__name__": "generated_app", "workflow": served}
        exec(compile(tree, str(folder / "app.py"), "exec"), namespace)
        demo = namespace["demo"]
        assert isinstance(demo, gr.Blocks)
        endpoints = demo.get_api_info()["named_endpoints"]
        assert list(endpoints) == ["/generate"], path.name
        parameters = [p["parameter_name"] for p in endpoints["/generate"]["parameters"]]
        randomize = ["randomize_seed"] if any(item.randomize for item in spec.inputs) else []
        names = [item.name for item in spec.ordered_inputs]
        if randomize:
            first_seed = next(i for i, item in enumerate(spec.ordered_inputs) if item.randomize)
            names.insert(first_seed + 1, "randomize_seed")
        assert parameters == names, path.name


def test_custom_node_packs_in_lock_readme_and_requirements(node_defs, tmp_path):
    from wizard.records import NodePack

    kj_commit = "6ee278aa7d802c03ad713a7c5fbc02861b6773a8"
    packs = (
        NodePack(
            "comfyui-kjnodes",
            "https://github.com/kijai/ComfyUI-KJNodes",
            "1.1.7",
            ("GetImageSize+",),
            "cnr_id",
            commit=kj_commit,
            requirements=("pillow>=10.3.0", "color-matcher", "numpy<3"),
        ),
        NodePack(
            "someone/nodes",
            "https://github.com/someone/nodes",
            None,
            ("Thing",),
            "aux_id",
            commit="0123abcd" * 5,
        ),
        NodePack(None, None, None, ("Mystery",), None),
    )
    folder, _ = build(t2i_prompt(), node_defs, tmp_path / "space", custom_nodes=packs)
    lock = json.loads((folder / "comfy.lock.json").read_text())
    assert lock["custom_nodes"] == [
        {
            "pack": "comfyui-kjnodes",
            "repo": "https://github.com/kijai/ComfyUI-KJNodes",
            "commit": kj_commit,
            "version": "1.1.7",
            "requirements": ["pillow>=10.3.0", "color-matcher", "numpy<3"],
        },
        {
            "pack": "someone/nodes",
            "repo": "https://github.com/someone/nodes",
            "commit": "0123abcd" * 5,
            "version": None,
            "requirements": [],
        },
    ]
    readme = (folder / "README.md").read_text()
    assert "## Custom nodes" in readme and "Mystery" in readme and "comfyui-kjnodes 1.1.7" in readme
    section = (
        (folder / "requirements.txt").read_text().split("# The pinned custom-node packs' requirements")[1]
    )
    # Pillow and numpy are ComfyUI's own requirements: a pack's narrower ask gets its own line.
    assert section.splitlines()[1:] == ["pillow>=10.3.0", "color-matcher", "numpy<3"]
    unpinned = replace(packs[1], commit=None)
    with pytest.raises(BuildError, match="someone/nodes is not pinned to a commit"):
        build(t2i_prompt(), node_defs, tmp_path / "other", custom_nodes=(unpinned,))
