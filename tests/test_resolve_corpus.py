"""Model and custom-node resolution over the 172 official templates (comfyui-workflow-templates 0.1.95)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from wizard.convert import convert
from wizard.ingest import load_path
from wizard.records import Conversion
from scripts.build_index import build_model_index, manager_sightings, package_dir
from wizard.packs import extension_pack, identify_packs
from wizard.resolve import (
    ModelIndex,
    find_models,
    parse_hub_url,
    resolve_models,
)

# Measured on 0.1.95 with the committed index (see the printed numbers): a drop means a regression.
MIN_FILES_FOUND = 329
MIN_RESOLVED_WITHOUT_URLS = 329  # the index holds these templates' own URLs: all of them
MIN_RESOLVED_BY_MANAGER_LIST = 191  # an index of ComfyUI-Manager's model list alone


@pytest.fixture(scope="module")
def conversions(template_paths, node_defs) -> dict[str, Conversion]:
    assert len(template_paths) == 172
    return {path.name: convert(load_path(path), node_defs) for path in template_paths}


def raw_model_entries(path: Path) -> list[dict]:
    """Every `properties.models` entry of the file itself (nodes, subgraph nodes, top level)."""
    workflow = json.loads(path.read_text(encoding="utf-8"))
    nodes = list(workflow.get("nodes") or [])
    for subgraph in (workflow.get("definitions") or {}).get("subgraphs") or []:
        nodes += subgraph.get("nodes") or []
    entries = list(workflow.get("models") or [])
    for node in nodes:
        entries += (node.get("properties") or {}).get("models") or []
    return entries


def test_every_embedded_url_resolves_to_exactly_that_file(template_paths, conversions, node_defs):
    checked = 0
    for path in template_paths:
        models = {
            (m.folder, m.name): m for m in resolve_models(find_models(conversions[path.name], node_defs))
        }
        for entry in raw_model_entries(path):
            model = models.get((entry["directory"], entry["name"]))
            if model is None:  # declared on a muted or bypassed node: the workflow does not need it
                continue
            hub = parse_hub_url(entry["url"])
            assert model.source == "workflow", (path.name, entry)
            if hub is None:
                assert (model.url, model.repo_id) == (entry["url"], None), (path.name, entry)
            else:
                assert (model.repo_id, model.path, model.revision, model.url) == (
                    hub.repo_id,
                    hub.path,
                    hub.revision,
                    None,
                ), (path.name, entry)
            checked += 1
    print(f"\n{checked} embedded model URLs checked")
    assert checked >= MIN_FILES_FOUND


def test_files_found_and_resolved(conversions, node_defs):
    found = resolved = 0
    for conversion in conversions.values():
        models = resolve_models(find_models(conversion, node_defs))
        found += len(models)
        resolved += sum(model.resolved for model in models)
    print(f"\nmodel files found: {found}, resolved offline: {resolved} ({resolved / found:.1%})")
    assert found >= MIN_FILES_FOUND
    assert resolved == found


def test_the_index_alone_resolves_workflows_without_urls(conversions, node_defs):
    """With `properties.models` stripped, only the model widgets and the offline index remain."""
    manager_index = ModelIndex(build_model_index(manager_sightings(package_dir("comfyui_manager"))))
    found = resolved = same_file = manager_only = 0
    for conversion in conversions.values():
        truth = {(m.folder, m.name): m for m in resolve_models(find_models(conversion, node_defs))}
        stripped = dataclasses.replace(conversion, declared_models=())
        for model in resolve_models(find_models(stripped, node_defs)):
            found += 1
            resolved += model.resolved
            expected = truth[(model.folder, model.name)]
            same_file += (model.repo_id, model.path, model.url) == (
                expected.repo_id,
                expected.path,
                expected.url,
            )
            manager_only += manager_index.candidate(model.name, model.folder) is not None
    print(
        f"\nwithout URLs: {found} files, index resolves {resolved} ({resolved / found:.1%}), "
        f"{same_file} to the very URL the template names; ComfyUI-Manager's list alone: {manager_only}"
    )
    assert found >= MIN_FILES_FOUND
    assert resolved >= MIN_RESOLVED_WITHOUT_URLS
    assert manager_only >= MIN_RESOLVED_BY_MANAGER_LIST


def test_custom_node_packs_of_the_templates(conversions, node_defs):
    packs = {name: identify_packs(conversion).packs for name, conversion in conversions.items()}
    needing = {name: found for name, found in packs.items() if found}
    print(f"\n{len(needing)} templates need custom nodes: {sorted(needing)}")
    assert needing, "some 0.1.95 templates use custom nodes (KJNodes, controlnet_aux, SAM2)"
    for name, found in needing.items():
        for pack in found:
            # every one is named by its nodes' cnr_id and pinned to the version the workflow saved
            assert pack.source == "cnr_id" and pack.pack and pack.version, (name, pack)
            assert pack.repo and pack.repo.startswith("https://github.com/"), (name, pack)
            # ComfyUI-Manager's map agrees on the repo for each class type (used when properties are gone)
            for class_type in pack.class_types:
                assert extension_pack(class_type)[1] == pack.repo, (name, class_type)


def test_api_prompts_get_packs_from_the_extension_map(conversions, node_defs):
    """An API-format prompt has no properties: the same packs come from the extension map."""
    for name, conversion in conversions.items():
        with_properties = identify_packs(conversion).packs
        if not with_properties:
            continue
        bare = dataclasses.replace(
            conversion,
            nodes={
                node_id: dataclasses.replace(node, properties={}, pack=None, pack_version=None)
                for node_id, node in conversion.nodes.items()
            },
        )
        without = identify_packs(bare).packs
        assert {(p.repo, p.class_types) for p in without} == {
            (p.repo, p.class_types) for p in with_properties
        }
        assert all(p.source == "extension-map" and p.version is None for p in without)
