"""Converting a workflow that needs 5 custom-node packs: cold (nothing cached) and warm (clones and
definitions cached). Target (issue 15): warm < 1 s on the 2-core reference machine.

Run: `python bench/bench_packs.py [--mirrors DIR]`. The workflow is the blog's Flux Redux + Depth prompt
(tests/data, API format: KJNodes, Comfyroll, essentials, DepthAnythingV2) plus one rgthree node. What
one run times is what `python -m wizard convert` does in its process: identify the packs, pin each to a
commit (git), read their definitions, convert with them.

- Default: each pack is a local git repository made here (one commit whose pyproject.toml is a
  registry version), cloned by the product from `https://github.com/...` through `url.insteadOf`, and
  the definitions come from the local fake Comfy Registry (tests/fakeregistry.py, over HTTP on
  127.0.0.1), serving node metadata made from the shared corpus' /object_info dump of the packs.
- `--mirrors DIR` (e.g. /work/.mirror): the packs' real histories are cloned from the local mirrors
  `DIR/<owner>+<name>/repo` instead and pinned by the date rule; their definitions then need the
  sandboxed import (`wizard.sandbox`), which is timed too when present.

Cold: an empty cache (`COMFYUI_HOME` in a new temporary folder), so clones and registry requests are
timed. Warm: the same cache, best of 5. Nothing asserts; the numbers and the ratio are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from runtime.locate import find_comfyui  # noqa: E402
from tests.fakeregistry import FakeRegistry, comfy_nodes_from_object_info  # noqa: E402
from tests.packgit import GitHubStandIn, pyproject  # noqa: E402

CORPUS = REPO_ROOT.parent / "shared" / "data" / "customnodes"
BLOG_WORKFLOW = REPO_ROOT / "tests" / "data" / "blog_flux_redux_depth_api.json"
WARM_TARGET_S = 1.0
REPEATS = 5
PACKS = (  # (GitHub repo, registry id, version)
    ("kijai/ComfyUI-KJNodes", "comfyui-kjnodes", "1.1.7"),
    ("Suzie1/ComfyUI_Comfyroll_CustomNodes", "comfyroll", "1.76.0"),
    ("cubiq/ComfyUI_essentials", "comfyui_essentials", "1.1.0"),
    ("kijai/ComfyUI-DepthAnythingV2", "comfyui-depthanythingv2", "1.0.1"),
    ("rgthree/rgthree-comfy", "rgthree-comfy", "1.0.0"),
)


def five_pack_workflow(folder: Path) -> Path:
    prompt = json.loads(BLOG_WORKFLOW.read_text(encoding="utf-8"))
    prompt["21"] = {
        "class_type": "Seed (rgthree)",
        "inputs": {"seed": 7},
        "_meta": {"title": "Seed (rgthree)"},
    }
    path = folder / "five_packs_api.json"
    path.write_text(json.dumps(prompt), encoding="utf-8")
    return path


def convert_once(path: Path, report: bool = False) -> float:
    """One in-process `python -m wizard convert`: packs identified, pinned, defined; then converted."""
    from wizard.ingest import load_path
    from wizard.nodedefs import NodeDefs
    from wizard.packs import convert_with_packs

    started = time.perf_counter()
    packed = convert_with_packs(load_path(path), NodeDefs.snapshot())
    elapsed = time.perf_counter() - started
    setup, conversion = packed.setup, packed.conversion
    assert all(pack.commit for pack in setup.packs), setup.lacking
    if setup.lacking and report:
        print(f"  (lacking: {'; '.join(setup.lacking)})")
    assert len(setup.packs) == 5 and conversion.prompt
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, help="clone the real packs from DIR/<owner>+<name>/repo")
    args = parser.parse_args(argv)
    object_info = json.loads((CORPUS / "object_info-comfyui-0.3.64-with-10-packs.json").read_text())
    classes = {pack["repo"]: pack["classes"] for pack in json.loads((CORPUS / "packs.json").read_text())}
    with tempfile.TemporaryDirectory() as temp, FakeRegistry() as registry:
        folder = Path(temp)
        github = GitHubStandIn(folder / "github")
        for repo, pack_id, version in PACKS:
            if args.mirrors:
                github.mirror(repo, args.mirrors / repo.replace("/", "+") / "repo")
            else:
                github.commit(
                    repo, "2025-06-01T00:00:00+00:00", {"pyproject.toml": pyproject(pack_id, version)}
                )
            nodes = comfy_nodes_from_object_info(object_info, classes[repo])
            registry.add_version(pack_id, f"https://github.com/{repo}", version, comfy_nodes=nodes)
        found = (
            find_comfyui()
        )  # before the cache moves the default install dir: the sandbox imports packs there
        if found is not None:
            os.environ["COMFYUI_PATH"] = str(found)
        os.environ.update(github.environment(folder / "cache"))
        os.environ["COMFY_REGISTRY_URL"] = registry.url
        path = five_pack_workflow(folder)
        source = f"mirrors in {args.mirrors}" if args.mirrors else "local one-commit repositories"
        print(f"5 packs ({source}), registry: local fake at {registry.url}")
        cold = convert_once(path, report=True)
        requests_cold = len(registry.requests)
        warm = min(convert_once(path) for _ in range(REPEATS))
        requests_warm = (len(registry.requests) - requests_cold) / REPEATS
    print(f"cold (nothing cached): {cold:.2f} s, {requests_cold} registry requests")
    print(f"warm (best of {REPEATS}): {warm:.3f} s, {requests_warm:.0f} registry requests per run")
    print(f"warm / target ({WARM_TARGET_S:.0f} s): {warm / WARM_TARGET_S:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
