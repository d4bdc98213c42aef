"""Random-weight checkpoints shaped like SD1.5 or SDXL, built with ComfyUI's own modules (comfyui.md §10).

ComfyUI detects them as SD15 or SDXL (`model_type EPS`) and runs the whole text-to-image chain on them,
so tests and benchmarks exercise real loading and sampling without downloading weights. Layouts:
"tiny" (an SD1.5 checkpoint with a one-level UNet: 232 M parameters, mostly CLIP and VAE, 465 MB; 64×64
runs on a CPU), "full" (SD1.5's real UNet, `SD15` of comfy/model_detection.py: 860 M UNet parameters)
and "sdxl" (SDXL's real UNet, `SDXL` of comfy/model_detection.py: 2.57 B UNet parameters, with CLIP-L
and CLIP-G), the last two for the GPU benchmark.

Call `make_checkpoint` in a process where ComfyUI's modules import (its root on sys.path and `args`
configured), or run this file: `python tests/random_checkpoint.py OUT.safetensors [--layout full]`.
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
    "transformer_depth_output": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],  # SD15 of comfy/model_detection.py
    "transformer_depth_middle": 1,
}
SDXL_LAYOUT = {  # SDXL of comfy/model_detection.py
    "num_res_blocks": [2, 2, 2],
    "channel_mult": [1, 2, 4],
    "transformer_depth": [0, 0, 2, 2, 10, 10],
    "transformer_depth_output": [0, 0, 0, 2, 2, 2, 10, 10, 10],
    "transformer_depth_middle": 10,
    "num_classes": "sequential",
    "num_head_channels": 64,
    "num_heads": -1,
}
LAYOUTS = {"tiny": TINY_LAYOUT, "full": FULL_LAYOUT, "sdxl": SDXL_LAYOUT}
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


def make_checkpoint(path: str | Path, layout: str = "tiny", seed: int = 0) -> Path:
    """Writes a random checkpoint of `layout` (fp16 safetensors) to `path` and returns it."""
    import comfy.ldm.models.autoencoder
    import safetensors.torch
    import torch

    torch.manual_seed(seed)
    model_config = model_config_for(layout)
    state: dict[str, torch.Tensor] = {}
    unet = model_config.get_model({}).diffusion_model
    state.update({f"model.diffusion_model.{key}": value for key, value in unet.state_dict().items()})
    del unet
    state.update(model_config.process_clip_state_dict_for_saving(_clip_model(layout).state_dict()))
    vae = comfy.ldm.models.autoencoder.AutoencoderKL(ddconfig=VAE_CONFIG, embed_dim=4)
    state.update({f"first_stage_model.{key}": value for key, value in vae.state_dict().items()})
    state = {key: _randomized(key, value) for key, value in state.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(state, str(path))
    return path


def model_config_for(layout: str):
    """ComfyUI's model config (`comfy.supported_models.SD15` or `SDXL`) with the layout's UNet."""
    import comfy.supported_models

    config_class = comfy.supported_models.SDXL if layout == "sdxl" else comfy.supported_models.SD15
    unet_config = {
        **config_class.unet_config,
        **getattr(config_class, "unet_extra_config", {}),
        "in_channels": 4,
        "out_channels": 4,
        "use_temporal_resblock": False,
        "image_size": 32,
        "use_checkpoint": False,
        "use_spatial_transformer": True,
        "legacy": False,
        **LAYOUTS[layout],
    }
    return config_class(unet_config)


def _clip_model(layout: str):
    import comfy.sd1_clip
    import comfy.sdxl_clip

    return comfy.sdxl_clip.SDXLClipModel() if layout == "sdxl" else comfy.sd1_clip.SD1ClipModel()


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
    print(make_checkpoint(options.output, options.layout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
