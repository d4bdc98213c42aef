"""Does the `spaces` AoT path load and run here? A small CUDA module through `torch.export`,
`spaces.aoti_compile` and `spaces.aoti_apply`, in inference mode as the runtime does it.

    python bench/gpu/aot_probe.py            # the real spaces functions
    python bench/gpu/aot_probe.py --keep-execstack   # without spaces' ELF execstack edit of the .so

Prints one line: ok with the max difference to eager, or the exception. A crash (segfault) shows as
the process's exit code to whoever runs it.
"""

from __future__ import annotations

import argparse
import sys

import torch


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep-execstack", action="store_true")
    options = parser.parse_args()
    import spaces
    import spaces.zero.torch.aoti as aoti

    if options.keep_execstack:
        aoti.clear_elf_execstack = lambda path: None
    with torch.inference_mode():
        model = torch.nn.Sequential(torch.nn.Conv2d(4, 32, 3, padding=1), torch.nn.SiLU()).cuda().half()
        x = torch.randn(2, 4, 64, 64, device="cuda", dtype=torch.half)
        exported = torch.export.export(model, (x,))
        compiled = spaces.aoti_compile(exported)
        print("compiled", flush=True)
        holder = torch.nn.Module()
        spaces.aoti_apply(compiled, holder)
        difference = (holder(x) - model(x)).abs().max().item()
    print(f"ok keep_execstack={options.keep_execstack} max difference {difference}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
