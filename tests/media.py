"""Build small media files carrying ComfyUI metadata the way ComfyUI's savers write it.

Each builder mirrors one saver of ComfyUI 0.3.64 (see ../shared/docs/comfyui.md §7) with Pillow or
PyAV, so ingest tests need no files checked in. `metadata` maps a key ("prompt", "workflow") to the
JSON text ComfyUI would store under it.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from typing import Any

import av
import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

UI_WORKFLOW: dict[str, Any] = {
    "last_node_id": 2,
    "last_link_id": 1,
    "nodes": [
        {"id": 1, "type": "EmptyImage", "mode": 0, "widgets_values": [64, 64, 1, 0]},
        {"id": 2, "type": "SaveImage", "mode": 0, "widgets_values": ["ComfyUI"]},
    ],
    "links": [[1, 1, 0, 2, 0, "IMAGE"]],
    "version": 0.4,
}
API_PROMPT: dict[str, Any] = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "ComfyUI"}},
}


def comfy_metadata(
    workflow: dict[str, Any] | None = UI_WORKFLOW, prompt: dict[str, Any] | None = API_PROMPT
) -> dict[str, str]:
    """The metadata entries a ComfyUI saver writes: `prompt`, then the `extra_pnginfo` keys."""
    entries = {}
    if prompt is not None:
        entries["prompt"] = json.dumps(prompt)
    if workflow is not None:
        entries["workflow"] = json.dumps(workflow)
    return entries


def _image(size: int = 8) -> Image.Image:
    return Image.new("RGB", (size, size), (200, 30, 30))


def png(metadata: dict[str, str]) -> bytes:
    """SaveImage: one `tEXt` chunk per entry (Pillow turns non-Latin-1 text into `iTXt`)."""
    info = PngInfo()
    for key, value in metadata.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    _image().save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def png_compressed(metadata: dict[str, str], *, international: bool) -> bytes:
    """Entries as zlib-compressed `iTXt` (international) or `zTXt` chunks."""
    info = PngInfo()
    for key, value in metadata.items():
        if international:
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value, zip=True)
    buffer = io.BytesIO()
    _image().save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def apng(metadata: dict[str, str]) -> bytes:
    """SaveAnimatedPNG: `comf` chunks after the image data, `key\\0json`."""
    info = PngInfo()
    for key, value in metadata.items():
        info.add(b"comf", key.encode("latin-1") + b"\0" + value.encode("latin-1"), after_idat=True)
    buffer = io.BytesIO()
    frames = [_image(), Image.new("RGB", (8, 8), (30, 200, 30))]
    frames[0].save(buffer, format="PNG", pnginfo=info, save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def webp(metadata: dict[str, str]) -> bytes:
    """SaveAnimatedWEBP: EXIF 0x0110 = "prompt:<json>", then 0x010F, 0x010E... for the others."""
    frames = [_image(), Image.new("RGB", (8, 8), (30, 200, 30))]
    exif = frames[0].getexif()
    tag = 0x010F
    for key, value in metadata.items():
        if key == "prompt":
            exif[0x0110] = f"prompt:{value}"
        else:
            exif[tag] = f"{key}:{value}"
            tag -= 1
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=100, exif=exif)
    return buffer.getvalue()


def video(
    metadata: dict[str, str], container_format: str, codec: str, *, metadata_tags: bool = True
) -> bytes:
    """SaveWEBM / SaveVideo: container tags. MP4/MOV keep custom keys only with
    `movflags=use_metadata_tags`, which ComfyUI sets (`metadata_tags=False` leaves it out)."""
    wants_flag = metadata_tags and container_format in ("mp4", "mov")
    options = {"movflags": "use_metadata_tags"} if wants_flag else {}
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format, options=options) as container:
        for key, value in metadata.items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return buffer.getvalue()


def audio(metadata: dict[str, str], container_format: str, codec: str, rate: int) -> bytes:
    """SaveAudio (FLAC/MP3/Opus): tags set on the container, as ComfyUI's AudioSaveHelper does."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        for key, value in metadata.items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        planar_float = codec == "libopus"
        samples = np.zeros((1, 960), np.float32 if planar_float else np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="flt" if planar_float else "s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    return buffer.getvalue()


def png_chunk(chunk_type: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + chunk_type + body + struct.pack(">I", zlib.crc32(chunk_type + body))


def huge_png(width: int, height: int, text: dict[str, str]) -> bytes:
    """A PNG header claiming `width`x`height` pixels (a decompression bomb) with tiny image data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", header)]
    chunks += [
        png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
        for key, value in text.items()
    ]
    chunks += [png_chunk(b"IDAT", zlib.compress(b"\0" * 65536)), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)
