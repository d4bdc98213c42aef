"""`NodeDef.display_name` follows frontend 1.27.10's title rule, with its English locale table."""

from __future__ import annotations

import json

from scripts.build_frontend_titles import build, english_titles, frontend_assets, frontend_version
from wizard.nodedefs import FRONTEND_TITLES_PATH, NodeDef, frontend_titles


def test_the_locale_name_comes_first(node_defs):
    # V3 nodes whose /object_info has no display_name: the frontend titles them from its locale.
    assert node_defs.get("ImageBlur").raw.get("display_name") is None
    assert node_defs.get("ImageBlur").display_name == "Image Blur"
    assert node_defs.get("ImageScaleToTotalPixels").display_name == "Scale Image to Total Pixels"
    # The locale wins over the server's own display_name too.
    assert NodeDef("ImageBlur", {"display_name": "Blur (server)"}).display_name == "Image Blur"


def test_without_a_locale_name_the_definition_then_the_type_is_the_title():
    assert "MyPackNode" not in frontend_titles()
    assert NodeDef("MyPackNode", {"display_name": "My Pack Node"}).display_name == "My Pack Node"
    assert NodeDef("MyPackNode", {"display_name": None}).display_name == "MyPackNode"
    assert NodeDef("MyPackNode", {}).display_name == "MyPackNode"


def test_committed_table_is_what_the_script_builds_from_the_installed_frontend():
    assert FRONTEND_TITLES_PATH.name == f"frontend-node-titles-{frontend_version()}.json"  # ComfyUI pins it
    committed = json.loads(FRONTEND_TITLES_PATH.read_text(encoding="utf-8"))
    assert build(frontend_assets()) == committed
    assert len(committed) > 400 and list(committed) == sorted(committed)


def test_script_reads_both_shapes_of_locale_entries():
    bundle = (
        '\nconst APG = {\n  display_name: "Adaptive Projected Guidance",\n  inputs: {\n'
        '    model: {\n      name: "model"\n    }\n  }\n};\n'
        "const ImageBlur$7 = {\n  display_name: 'Image \\'Blur\\'',\n  inputs: {}\n};\n"
        'const NoTitle$7 = {\n  description: "x"\n};\n'
        "const enNodes = {\n  APG,\n  ImageBlur: ImageBlur$7,\n  NoTitle: NoTitle$7\n};\n"
    )
    assert english_titles(bundle) == {"APG": "Adaptive Projected Guidance", "ImageBlur": "Image 'Blur'"}
