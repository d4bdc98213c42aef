"""Tier 1: the GPU benchmark's round orders (bench/gpu/bench.py `ROUND_ORDERS`) are balanced, and never
let one executor run the same prompt twice in a row (its cache would skip the sampler)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _bench():
    spec = importlib.util.spec_from_file_location(
        "gpu_bench_rounds", REPO_ROOT / "bench" / "gpu" / "bench.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_kind_runs_in_every_position_after_every_kind_equally_often():
    orders = _bench().ROUND_ORDERS
    kinds = sorted(orders[0])
    assert all(sorted(order) == kinds for order in orders)
    for kind in kinds:
        assert Counter(order.index(kind) for order in orders) == {0: 2, 1: 2, 2: 2}
    flat = [kind for order in orders for kind in order]
    predecessors = Counter((flat[index - 1], kind) for index, kind in enumerate(flat))  # cyclic
    assert predecessors == {(before, kind): 2 for before in kinds for kind in kinds}


def test_no_executor_runs_one_prompt_twice_in_a_row():
    rounds = _bench().ROUND_ORDERS * 3
    # (e) runs round r's prompt, (a) and (b) round r-1's; (a) and (e) share the app's executor.
    app = [
        index - (kind == "app") for index, order in enumerate(rounds) for kind in order if kind != "comfyui"
    ]
    comfyui = [index - 1 for index, order in enumerate(rounds) for kind in order if kind == "comfyui"]
    for prompts in (app, comfyui):
        assert all(first != second for first, second in zip(prompts, prompts[1:]))
