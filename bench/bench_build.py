"""Build time per template: analysis, AppSpec, rendering, black and writing the folder.

`python bench/bench_build.py` builds `--auto` for each of the 172 templates (conversion is timed
apart: it is the converter's benchmark) and prints p50/p95/max against the target p95 < 300 ms.
A benchmark, not a test: it prints numbers and asserts nothing.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wizard.analyze import analyze  # noqa: E402
from wizard.appspec import auto_spec  # noqa: E402
from wizard.codegen import build_space, render_app  # noqa: E402
from wizard.convert import convert  # noqa: E402
from wizard.ingest import load_path  # noqa: E402
from wizard.nodedefs import NodeDefs  # noqa: E402

TARGET_P95_MS = 300.0


def template_paths() -> list[Path]:
    """The templates of comfyui-workflow-templates, or of the folder `TEMPLATES_DIR` names."""
    if os.environ.get("TEMPLATES_DIR"):
        folder = Path(os.environ["TEMPLATES_DIR"])
    else:
        spec = importlib.util.find_spec("comfyui_workflow_templates")
        folder = Path(list(spec.submodule_search_locations)[0]) / "templates"
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith("index"))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    node_defs = NodeDefs.snapshot()
    paths = template_paths()
    conversions = [convert(load_path(path), node_defs) for path in paths]
    # Warm-up: the first build pays for imports, template compilation and the model index.
    with tempfile.TemporaryDirectory() as warm:
        build_space(
            conversions[0], auto_spec(conversions[0], analyze(conversions[0], node_defs)), Path(warm) / "x"
        )
    totals, cpu_totals, blacks = [], [], []
    with tempfile.TemporaryDirectory() as root:
        for path, conversion in zip(paths, conversions):
            started, cpu_started = time.perf_counter(), time.process_time()
            spec = auto_spec(conversion, analyze(conversion, node_defs))
            build_space(conversion, spec, Path(root) / path.stem)
            totals.append((time.perf_counter() - started) * 1000)
            cpu_totals.append((time.process_time() - cpu_started) * 1000)
            started = time.perf_counter()
            render_app(conversion, spec)  # app.py alone (template + black), to show black's share
            blacks.append((time.perf_counter() - started) * 1000)
    p95 = percentile(totals, 0.95)
    print(f"templates: {len(totals)}")
    print(
        f"build --auto per template (analyze + spec + render + black + write): p50 {percentile(totals, 0.5):.1f} ms, "
        f"p95 {p95:.1f} ms, max {max(totals):.1f} ms, mean {statistics.mean(totals):.1f} ms"
    )
    # CPU time is what the build itself costs; wall time also counts waiting for a busy machine.
    print(
        f"same, CPU time of this process: p50 {percentile(cpu_totals, 0.5):.1f} ms, "
        f"p95 {percentile(cpu_totals, 0.95):.1f} ms, max {max(cpu_totals):.1f} ms"
    )
    print(
        f"app.py alone (render + black): p50 {percentile(blacks, 0.5):.1f} ms, p95 {percentile(blacks, 0.95):.1f} ms"
    )
    print(
        f"target p95 < {TARGET_P95_MS:.0f} ms: wall p95/target = {p95 / TARGET_P95_MS:.2f}, "
        f"CPU p95/target = {percentile(cpu_totals, 0.95) / TARGET_P95_MS:.2f}"
    )
    print(
        f"load average while measuring: {' '.join(f'{load:.1f}' for load in os.getloadavg())} ({os.cpu_count()} CPUs)"
    )
    slowest = sorted(zip(totals, paths), reverse=True)[:3]
    print("slowest: " + ", ".join(f"{path.name} {ms:.0f} ms" for ms, path in slowest))


if __name__ == "__main__":
    main()
