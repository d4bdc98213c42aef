"""One description of a generated app (wizard/app_contract.py): codegen, Test run and the preview agree."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest

from tests.workflows import conversion_from_prompt, t2i_prompt
from wizard import app_contract
from wizard.analyze import analyze
from wizard.appspec import AppInput, auto_spec
from wizard.codegen import render_app


@pytest.fixture()
def conversion(node_defs):
    return conversion_from_prompt(t2i_prompt(), node_defs)


@pytest.fixture()
def spec(conversion, node_defs):
    return auto_spec(conversion, analyze(conversion, node_defs))


def odd_inputs_spec(spec):
    """A spec with the two components the old preview drew differently from the app."""
    batch = AppInput(
        node_id="5",
        input_name="batch_size",
        label="Batch",
        value_type="COMBO",
        component="Dropdown",
        choices=(1, 2, 4),
        default=2,
        name="batch",
        order=100,
    )
    mask = AppInput(
        node_id="20",
        input_name="image",
        label="Mask",
        value_type="FILE",
        component="Image",
        media="mask",
        name="mask",
        order=101,
    )
    return replace(spec, inputs=(*spec.inputs, batch, mask))


def generate_signature(app_py: str) -> list[str]:
    (generate,) = [node for node in ast.walk(ast.parse(app_py)) if getattr(node, "name", None) == "generate"]
    return [argument.arg for argument in generate.args.args if argument.arg != "progress"]


def test_generate_takes_the_parameters_in_the_contract_order(spec, conversion):
    names = [parameter.name for parameter in app_contract.parameters(spec)]
    assert names == [
        "prompt",
        "negative_prompt",
        "seed",
        app_contract.RANDOMIZE_SEED,
        "width",
        "height",
        "steps",
        "cfg",
    ]
    assert generate_signature(render_app(conversion, spec)) == names


def test_generate_returns_the_outputs_then_the_randomized_seeds(spec, conversion):
    returned = app_contract.return_values(spec)
    assert [(value.name, value.output is not None) for value in returned] == [
        ("images", True),
        ("seed", False),
    ]
    assert 'return outputs["images"], seed' in render_app(conversion, spec)


def test_every_component_of_the_app_is_written_as_the_contract_says(spec, conversion):
    app_py = render_app(conversion, spec)
    for item in [*app_contract.parameters(spec), *spec.outputs]:
        name, kwargs = app_contract.component(item)
        assert f"{item.name} = gr.{name}(" in app_py
        for key in kwargs:
            assert f"{key}=" in app_py


def test_a_mask_image_asks_for_the_alpha_channel(spec):
    mask = odd_inputs_spec(spec).inputs[-1]
    assert app_contract.component(mask) == (
        "Image",
        {"label": "Mask", "type": "filepath", "image_mode": "RGBA"},
    )


def preview_components(spec) -> dict[str, object]:
    import gradio as gr

    from wizard.ui.preview import render_app_preview

    with gr.Blocks():
        render_app_preview(spec)
        return {
            block.key: block
            for block in gr.context.Context.root_block.blocks.values()
            if isinstance(getattr(block, "key", None), str)
        }


def test_the_preview_keeps_choices_typed_and_masks_rgba(spec):
    """The old preview stringified choices (a Dropdown of 1, 2, 4 offered "1", "2", "4") and drew a
    mask as an RGB image; the generated app did neither."""
    shown = preview_components(odd_inputs_spec(spec))
    batch, mask = shown["preview-batch"], shown["preview-mask"]
    assert [value for _, value in batch.choices] == [1, 2, 4] and batch.value == 2
    assert mask.image_mode == "RGBA" and mask.type == "filepath"


def test_the_preview_draws_what_the_app_draws(spec):
    shown = preview_components(spec)
    for parameter in app_contract.parameters(spec):
        name, kwargs = app_contract.component(parameter)
        component = shown[f"preview-{parameter.name}"]
        assert type(component).__name__ == name
        assert component.label == kwargs["label"]
    assert [key for key in shown if key.startswith("preview-out-")] == ["preview-out-images"]
    assert shown[f"preview-{app_contract.RANDOMIZE_SEED}"].value is True
