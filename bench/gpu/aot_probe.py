"""Does the `spaces` AoT path load and run here? A small CUDA module through `torch.export` and one of
several ways of compiling and loading it, in inference mode as the runtime does it.

    python bench/gpu/aot_probe.py --variant spaces       # spaces.aoti_compile + aoti_apply, as the runtime
    python bench/gpu/aot_probe.py --variant execstack    # the same without spaces' ELF execstack edit
    python bench/gpu/aot_probe.py --variant spaces-file  # spaces' inductor configs, package on disk
    python bench/gpu/aot_probe.py --variant torch        # plain torch: aoti_compile_and_package, load_package
    python bench/gpu/aot_probe.py --variant torch-no-inference   # plain torch, export outside inference mode
    python bench/gpu/aot_probe.py --all --timeout 240     # every variant, each in its own process, at once
    python bench/gpu/aot_probe.py --all --device cpu      # the same on a CPU (AOTInductor's C++ path)

Prints one line: ok with the max difference to eager, or the exception. A crash (segfault) shows as the
process's exit code to whoever runs it; `PYTHONFAULTHANDLER=1` prints the Python stack of the crash.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

VARIANTS = ("spaces", "execstack", "spaces-file", "torch", "torch-no-inference")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=VARIANTS, default="spaces")
    parser.add_argument("--all", action="store_true", help="run every variant in its own process")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per variant (--all)")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    options = parser.parse_args()
    if options.all:
        return _run_all(options.timeout, options.device)
    print(f"torch {torch.__version__}, variant {options.variant}, {options.device}", flush=True)
    mode = contextlib.nullcontext() if options.variant == "torch-no-inference" else torch.inference_mode()
    dtype = torch.half if options.device == "cuda" else torch.float32
    with mode:
        model = torch.nn.Sequential(torch.nn.Conv2d(4, 32, 3, padding=1), torch.nn.SiLU())
        model = model.to(options.device, dtype)
        x = torch.randn(2, 4, 64, 64, device=options.device, dtype=dtype)
        exported = torch.export.export(model, (x,))
        run = _compiled(options.variant, exported)
        print("compiled", flush=True)
        difference = (run(x) - model(x)).abs().max().item()
    print(f"ok variant={options.variant} max difference {difference}")
    return 0


def _run_all(timeout: float, device: str) -> int:
    """Every variant at once, each in a process of its own (a segfault ends only that one); prints each
    one's exit code and the end of its output."""
    env = dict(os.environ, PYTHONFAULTHANDLER="1", PYTHONUNBUFFERED="1")
    processes = {
        variant: subprocess.Popen(
            [sys.executable, __file__, "--variant", variant, "--device", device],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for variant in VARIANTS
    }
    deadline = time.monotonic() + timeout
    for variant, process in processes.items():
        try:
            output, _ = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            output += f"\n(killed after {timeout:.0f} s)"
        lines = output.strip().splitlines()
        print(f"=== {variant}: exit {process.returncode}", *lines[-25:], sep="\n", flush=True)
    return 0


def _compiled(variant: str, exported):
    if variant in ("spaces", "execstack"):
        import spaces
        import spaces.zero.torch.aoti as aoti

        if variant == "execstack":
            aoti.clear_elf_execstack = lambda path: None
        holder = torch.nn.Module()
        spaces.aoti_apply(spaces.aoti_compile(exported), holder)
        return holder
    folder = Path(tempfile.mkdtemp(prefix="aot-probe-"))
    if variant == "spaces-file":
        import spaces.zero.torch.aoti as aoti

        package = torch._inductor.aoti_compile_and_package(
            exported,
            package_path=str(folder / "model.pt2"),
            inductor_configs={
                key: value
                for key, value in aoti.INDUCTOR_CONFIGS_OVERRIDES.items()
                if not key.startswith("aot_inductor.package_constants")
            },
        )
    else:
        package = torch._inductor.aoti_compile_and_package(exported, package_path=str(folder / "model.pt2"))
    print(f"package {package}", flush=True)
    return torch._inductor.aoti_load_package(package)


if __name__ == "__main__":
    sys.exit(main())
