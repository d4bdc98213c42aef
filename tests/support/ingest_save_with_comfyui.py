"""Save real files with ComfyUI 0.3.64's own saver nodes, headless on the CPU (comfyui.md §9).

Usage: python ingest_save_with_comfyui.py OUT_DIR   (ComfyUI found via COMFYUI_PATH)
Runs one prompt through `execution.PromptExecutor` with `extra_pnginfo={"workflow": ...}`: SaveImage,
SaveAnimatedPNG, SaveAnimatedWEBP, SaveWEBM, SaveVideo (MP4) and, when torchaudio loads, SaveAudio
(FLAC), SaveAudioMP3 and SaveAudioOpus. Prints one JSON line: {"workflow", "prompt", "files", "audio"}, where
`prompt` is the prompt as queued (the saved metadata must equal it).
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
import struct
import sys
import wave
from pathlib import Path

from comfy_headless import start_comfyui

OUT = Path(sys.argv[1]).resolve()


def _write_tone(path: Path) -> None:
    with wave.open(str(path), "wb") as tone:
        tone.setnchannels(1)
        tone.setsampwidth(2)
        tone.setframerate(16000)
        samples = (int(8000 * math.sin(2 * math.pi * 440 * i / 16000)) for i in range(8000))
        tone.writeframes(b"".join(struct.pack("<h", s) for s in samples))


def _prompt(with_audio: bool) -> dict:
    images = ["1", 0]
    prompt = {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 32, "height": 32, "batch_size": 2, "color": 0xFF8800},
        },
        "2": {"class_type": "SaveImage", "inputs": {"images": images, "filename_prefix": "still"}},
        "3": {
            "class_type": "SaveAnimatedPNG",
            "inputs": {"images": images, "filename_prefix": "apng", "fps": 6.0, "compress_level": 4},
        },
        "4": {
            "class_type": "SaveAnimatedWEBP",
            "inputs": {
                "images": images,
                "filename_prefix": "anim",
                "fps": 6.0,
                "lossless": True,
                "quality": 80,
                "method": "default",
            },
        },
        "5": {
            "class_type": "SaveWEBM",
            "inputs": {"images": images, "filename_prefix": "clip", "codec": "vp9", "fps": 6.0, "crf": 32.0},
        },
        "6": {"class_type": "CreateVideo", "inputs": {"images": images, "fps": 6.0}},
        "7": {
            "class_type": "SaveVideo",
            "inputs": {"video": ["6", 0], "filename_prefix": "movie", "format": "mp4", "codec": "h264"},
        },
    }
    if with_audio:
        prompt["8"] = {"class_type": "LoadAudio", "inputs": {"audio": "tone.wav"}}
        prompt["9"] = {"class_type": "SaveAudio", "inputs": {"audio": ["8", 0], "filename_prefix": "sound"}}
        prompt["10"] = {
            "class_type": "SaveAudioMP3",
            "inputs": {"audio": ["8", 0], "filename_prefix": "sound", "quality": "V0"},
        }
        prompt["11"] = {
            "class_type": "SaveAudioOpus",
            "inputs": {"audio": ["8", 0], "filename_prefix": "sound", "quality": "64k"},
        }
    for node_id, node in prompt.items():
        node["_meta"] = {"title": f"{node['class_type']} #{node_id}"}
    return prompt


def _ui_workflow(prompt: dict) -> dict:
    """A small UI-format workflow standing for the one the frontend would send along."""
    return {
        "last_node_id": len(prompt),
        "last_link_id": 0,
        "nodes": [
            {"id": int(i), "type": n["class_type"], "mode": 0, "title": "Ünïcode ✓ " + i}
            for i, n in prompt.items()
        ],
        "links": [],
        "version": 0.4,
    }


def main() -> None:
    comfy = start_comfyui(os.environ["COMFYUI_PATH"], OUT)
    nodes, execution = comfy.nodes, comfy.execution
    with_audio = "SaveAudioOpus" in nodes.NODE_CLASS_MAPPINGS
    if with_audio:
        _write_tone(OUT / "input" / "tone.wav")
    prompt = _prompt(with_audio)
    workflow = _ui_workflow(prompt)
    queued = copy.deepcopy(prompt)
    valid, error, outputs, node_errors = asyncio.run(execution.validate_prompt("ingest", queued, None))
    if not valid:
        raise SystemExit(f"prompt rejected: {error} {node_errors}")
    executor = execution.PromptExecutor(comfy.stub, cache_type=execution.CacheType.CLASSIC)
    executor.execute(queued, "ingest", {"extra_pnginfo": {"workflow": workflow}}, outputs)
    if not executor.success:
        raise SystemExit(f"execution failed: {executor.status_messages[-1]}")
    files = sorted(str(p) for p in (OUT / "output").rglob("*") if p.is_file())
    print(json.dumps({"workflow": workflow, "prompt": queued, "files": files, "audio": with_audio}))


main()
