"""Extract ComfyUI frontend's English node display names into a committed table.

    python scripts/build_frontend_titles.py [-o FILE]

The frontend titles a new node with `st("nodeDefs.<type>.display_name", def.display_name ?? def.name)`
(`translateNodeDef` in src/scripts/app.ts): its bundled English locale (`src/locales/en/nodeDefs.json`)
wins over `/object_info`. That locale only exists inside the installed `comfyui_frontend_package`,
compiled into `static/assets/index-*.js`, where Vite turned each node's JSON object into a module
constant (`const ImageBlur$7 = {\n  display_name: "Image Blur", ...}`) and the locale into
`const enNodes = {\n  ImageBlur: ImageBlur$7,\n  APG,\n ...}`. This script reads those two shapes back.

Writes `wizard/data/frontend-node-titles-<version>.json` ({node type: English display name}, sorted
keys), so running it against the same package gives the same bytes.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "comfyui_frontend_package"

_LOCALE_START = "\nconst enNodes = {\n"
_LOCALE_ENTRY = re.compile(r"^  (?:\"([^\"]+)\"|([\w$]+))(?:: ([\w$]+))?,?$")
_DISPLAY_NAME = re.compile(r"^  display_name: (\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')(?:,)?$", re.M)


def frontend_assets() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{PACKAGE} is not installed; install ComfyUI's requirements")
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "assets"


def frontend_version() -> str:
    return importlib.metadata.version(PACKAGE)


def english_titles(bundle: str) -> dict[str, str]:
    """{node type: display name} of the English locale compiled into the frontend's main bundle."""
    start = bundle.find(_LOCALE_START)
    if start < 0:
        raise ValueError("no `const enNodes = {` in the bundle; the frontend's build layout changed")
    body = bundle[start + len(_LOCALE_START) : bundle.index("\n};", start)]
    titles = {}
    for line in body.splitlines():
        match = _LOCALE_ENTRY.match(line)
        if match is None:
            raise ValueError(f"unexpected line in enNodes: {line!r}")
        node_type = match.group(1) or match.group(2)
        title = _display_name(bundle, match.group(3) or node_type)
        if title is not None:
            titles[node_type] = title
    return dict(sorted(titles.items()))


def _display_name(bundle: str, constant: str) -> str | None:
    """The `display_name` of the module constant `constant` (top-level key of its object), if any."""
    start = bundle.find(f"\nconst {constant} = {{\n")
    if start < 0:
        raise ValueError(f"the bundle defines no constant {constant}")
    end = bundle.index("\n};", start)
    match = _DISPLAY_NAME.search(bundle, start, end)
    return _js_string(match.group(1)) if match else None


def _js_string(literal: str) -> str:
    """A JS string literal's value (the escapes a bundler writes are those of JSON, plus \\')."""
    if literal.startswith("'"):
        literal = '"' + literal[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
    return json.loads(literal)


def build(assets: Path) -> dict[str, str]:
    bundles = [path for path in sorted(assets.glob("index-*.js")) if _LOCALE_START in path.read_text()]
    if len(bundles) != 1:
        raise ValueError(f"expected one bundle holding the English locale in {assets}, found {bundles}")
    return english_titles(bundles[0].read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = REPO_ROOT / "wizard" / "data" / f"frontend-node-titles-{frontend_version()}.json"
    parser.add_argument("-o", "--output", type=Path, default=default)
    args = parser.parse_args()
    titles = build(frontend_assets())
    args.output.write_text(json.dumps(titles, indent=0, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {len(titles)} titles to {args.output}")


if __name__ == "__main__":
    main()
