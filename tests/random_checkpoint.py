"""A random-weight checkpoint shaped like SD1.5, built with ComfyUI's own modules (comfyui.md §10).

ComfyUI detects it as SD15 (`model_type EPS`) and runs the whole text-to-image chain on it, so tests
and benchmarks exercise real loading and sampling without downloading weights. Layouts:
"tiny" (a one-level UNet: 232 M parameters, mostly CLIP and VAE, 465 MB; 64×64 runs on a CPU) and "full"
(the real SD1.5 UNet shape, ~1.07 B parameters, for the GPU benchmark).

Call `make_sd15_checkpoint` in a process where ComfyUI's modules import (its root on sys.path and
`args` configured), or run this file: `python tests/random_checkpoint.py OUT.safetensors [--layout full]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TINY_LAYOUT = {
    "num_res_blocks": [1],
    "channel_mult": [1],
    "transformer_depth": [1],
    "transformer_depth_output": [1, 1],
    "transformer_depth_middle": 1,
}
FULL_LAYOUT = {
    "num_res_blocks": [2, 2, 2, 2],
    "channel_mult": [1, 2, 4, 4],
    "transformer_depth": [1, 1, 1, 1, 1, 1, 0, 0],
    "transformer_depth_output": [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "transformer_depth_middle": 1,
}
LAYOUTS = {"tiny": TINY_LAYOUT, "full": FULL_LAYOUT}
VAE_CONFIG = {
    "double_z": True,
    "z_channels": 4,
    "resolution": 256,
    "in_channels": 3,
    "out_ch": 3,
    "ch": 128,
    "ch_mult": [1, 2, 4, 4],
    "num_res_blocks": 2,
    "attn_resolutions": [],
    "dropout": 0.0,
}


def make_sd15_checkpoint(path: str | Path, layout: str = "tiny", seed: int = 0) -> Path:
    """Writes a random SD1.5-shaped checkpoint (fp16 safetensors) to `path` and returns it."""
    import comfy.ldm.models.autoencoder
    import comfy.sd1_clip
    import comfy.supported_models
    import safetensors.torch
    import torch

    torch.manual_seed(seed)
    unet_config = {
        **comfy.supported_models.SD15.unet_config,
        "in_channels": 4,
        "out_channels": 4,
        "use_temporal_resblock": False,
        "image_size": 32,
        "use_checkpoint": False,
        "use_spatial_transformer": True,
        "legacy": False,
        **LAYOUTS[layout],
    }
    model_config = comfy.supported_models.SD15(unet_config)
    state: dict[str, torch.Tensor] = {}
    unet = model_config.get_model({}).diffusion_model
    state.update({f"model.diffusion_model.{key}": value for key, value in unet.state_dict().items()})
    clip = comfy.sd1_clip.SD1ClipModel().state_dict()
    state.update(model_config.process_clip_state_dict_for_saving(clip))
    vae = comfy.ldm.models.autoencoder.AutoencoderKL(ddconfig=VAE_CONFIG, embed_dim=4)
    state.update({f"first_stage_model.{key}": value for key, value in vae.state_dict().items()})
    state = {key: _randomized(key, value) for key, value in state.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(state, str(path))
    return path


def _randomized(key: str, value):
    """Small random weights; norms at 1 and biases at 0 keep activations finite through every block."""
    import torch

    if key.endswith("position_ids"):
        return torch.arange(value.shape[-1], dtype=torch.long).expand(value.shape).contiguous()
    if not value.is_floating_point():
        return value.contiguous()
    name = key.lower()
    if key.endswith(".bias"):
        filled = torch.zeros(value.shape)
    elif "norm" in name and key.endswith(".weight"):
        filled = torch.ones(value.shape)
    else:
        filled = torch.randn(value.shape) * 0.02
    return filled.to(torch.float16).contiguous()


def _prepare_comfy_imports(comfyui_path: Path, device: str) -> None:
    """ComfyUI's root on sys.path and its arguments set before `comfy.model_management` loads."""
    sys.path.insert(0, str(comfyui_path))
    import comfy.options  # noqa: F401  (side effect: args keep their defaults, argv unparsed)
    from comfy.cli_args import args

    args.cpu = device == "cpu"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from runtime.locate import find_comfyui

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--layout", choices=sorted(LAYOUTS), default="tiny")
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu", help="where ComfyUI would run")
    options = parser.parse_args(argv)
    comfyui_path = find_comfyui()
    if comfyui_path is None:
        print("error: no ComfyUI checkout (set COMFYUI_PATH)", file=sys.stderr)
        return 2
    _prepare_comfy_imports(comfyui_path, options.device)
    print(make_sd15_checkpoint(options.output, options.layout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
