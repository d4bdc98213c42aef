"""Read a ComfyUI workflow from whatever file ComfyUI gave the user.

Accepted: workflow JSON (UI format v0.4/v1, or an API prompt), and media files ComfyUI saved with
the workflow in their metadata: PNG (`tEXt`/`iTXt`/`zTXt`), animated PNG (`comf` chunks), WebP
(EXIF), WebM/MKV and MP4/MOV (container tags), FLAC/MP3/Opus/Ogg (tags). The format is detected
from the content (magic bytes); the file name only words the messages.

Files are hostile input. Nothing here decodes pixels or audio: PNG and WebP chunks are parsed by
hand (no decompression bomb can allocate), compressed text is inflated with a cap, containers are
opened by PyAV for their tags only, JSON nesting is bounded before parsing, and every failure is a
one-line `WorkflowFileError`.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any, Callable

from wizard.errors import WorkflowFileError, one_line
from wizard.records import LoadedWorkflow

MAX_FILE_BYTES = 50 * 1024 * 1024
# Real workflows nest about 10 levels; the cap keeps json and every later stage far from Python's
# recursion limit.
MAX_JSON_DEPTH = 100
# A compressed PNG text chunk may not inflate beyond this (zTXt/iTXt bombs).
MAX_METADATA_BYTES = MAX_FILE_BYTES

_NO_WORKFLOW = "this {kind} carries no ComfyUI workflow (saved with metadata disabled, or not from ComfyUI)"
NO_WORKFLOW_IN_IMAGE = _NO_WORKFLOW.format(kind="image")
WORKFLOW_SHAPES = (
    'a UI workflow is an object with a "nodes" list; an API prompt is an object mapping node ids '
    'to {"class_type": ..., "inputs": {...}}'
)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MATROSKA_MAGIC = b"\x1a\x45\xdf\xa3"
_MP4_BOX_TYPES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
_MEDIA_EXTENSIONS = frozenset(
    "png apng webp webm mkv mp4 mov m4v m4a flac mp3 opus ogg oga jpg jpeg gif".split()
)
# Pillow writes these EXIF tags for SaveAnimatedWEBP: 0x0110 = "prompt:...", 0x010F downwards
# = "<extra_pnginfo key>:...". Any ASCII tag of the form "key:{json}" is read the same way.
_EXIF_ASCII, _EXIF_UNDEFINED = 2, 7
_SCAN_CHUNK = 8 * 1024 * 1024  # symbols per numpy pass of the nesting scan (bounds its memory)
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')


def load_path(path: str | Path) -> LoadedWorkflow:
    """Read a workflow file from disk; files over `MAX_FILE_BYTES` are refused before reading."""
    path = Path(path)
    name = _shown(path.name)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise WorkflowFileError(f"{name} is a folder, not a workflow file")
        if size > MAX_FILE_BYTES:
            raise WorkflowFileError(_too_big(name, size))
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise WorkflowFileError(f"{name}: no such file") from None
    except OSError as error:
        raise WorkflowFileError(f"{name} cannot be read: {error.strerror or error}") from None
    return load_workflow(data, path.name)


def load_workflow(data: bytes, filename: str) -> LoadedWorkflow:
    """Read a workflow from a file's bytes; `filename` is only used in messages and as a hint."""
    name = _shown(filename)
    if len(data) > MAX_FILE_BYTES:
        raise WorkflowFileError(_too_big(name, len(data)))
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise WorkflowFileError(f"{name} is empty; drop a workflow .json or a file saved by ComfyUI")
    reader = _reader_for(data)
    if reader is None:
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        looks_like_json = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")
        if extension in _MEDIA_EXTENSIONS and not looks_like_json:
            raise WorkflowFileError(
                f"{name} is not a file ComfyUI saves with a workflow (its content is not PNG, WebP, WebM, "
                "MP4, FLAC, MP3 or Ogg/Opus)"
            )
        return _load_json_file(data, filename, name)
    source, read_metadata = reader
    return _from_metadata(filename, name, source, read_metadata(data, name))


# --- detection ---------------------------------------------------------------------------------


def _reader_for(data: bytes) -> tuple[str, Callable[[bytes, str], dict[str, str]]] | None:
    """(source name, metadata reader) for a media file, None for anything else (maybe JSON)."""
    if data.startswith(_PNG_SIGNATURE):
        return ("apng" if b"acTL" in data[:4096] else "png"), _png_metadata
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", _webp_metadata
    if data.startswith(_MATROSKA_MAGIC):
        return ("webm" if b"webm" in data[:64] else "mkv"), _container_metadata
    if data[4:8] in _MP4_BOX_TYPES:
        return ("mov" if data[8:12] == b"qt  " else "mp4"), _container_metadata
    if data.startswith(b"fLaC"):
        return "flac", _container_metadata
    if data.startswith(b"OggS"):
        return ("opus" if b"OpusHead" in data[:512] else "ogg"), _container_metadata
    # ID3 tag, else an MPEG layer III frame header (which a UTF-16 BOM, FF FE, is not)
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE6 == 0xE2):
        return "mp3", _container_metadata
    return None


# --- JSON --------------------------------------------------------------------------------------


def _load_json_file(data: bytes, filename: str, name: str) -> LoadedWorkflow:
    document = _parse_json(data, name)
    workflow, prompt = _classify(document)
    if workflow is None and prompt is None:
        raise WorkflowFileError(f"{name} is JSON but not a ComfyUI workflow: {WORKFLOW_SHAPES}")
    return LoadedWorkflow(
        filename=filename,
        source="json" if workflow is not None else "api-json",
        ui_graph=workflow,
        prompt=prompt,
    )


def _parse_json(data: bytes, name: str) -> Any:
    """Decode UTF-8 (BOM allowed) JSON with a nesting bound; every failure is one clear line."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise WorkflowFileError(f"{name} is UTF-16 text; ComfyUI workflows are UTF-8: save it again as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise WorkflowFileError(
            f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "save the workflow from ComfyUI again"
        ) from None
    depth = _nesting_depth(data)
    if depth > MAX_JSON_DEPTH:
        raise WorkflowFileError(f"{name} nests JSON more than {MAX_JSON_DEPTH} levels deep; no workflow does")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        hint = " (the file looks truncated)" if error.pos >= len(text.rstrip()) else ""
        raise WorkflowFileError(
            f"{name} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}{hint}"
        ) from None
    except RecursionError:
        raise WorkflowFileError(f"{name} nests JSON too deeply; no workflow does") from None
    except ValueError as error:  # e.g. an integer literal beyond Python's digit limit
        raise WorkflowFileError(f"{name} is not valid JSON: {one_line(str(error), 200)}") from None


def _nesting_depth(data: bytes) -> int:
    """Deepest `[`/`{` nesting outside JSON strings, without recursion and fast on 50 MB.

    Escapes pair up left to right, so deleting every escaped backslash and then every escaped
    quote leaves exactly the quotes that open and close strings. Of the rest only quotes and brackets matter; numpy
    tracks the in-string parity and the depth over them, chunk by chunk (bounded memory).
    """
    import numpy as np  # heavy; JSON files only

    unescaped = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    symbols = np.frombuffer(unescaped.translate(None, _NOT_STRUCTURE), np.uint8)
    step = np.zeros(256, np.int8)
    step[list(b"[{")], step[list(b"]}")] = 1, -1
    depth = deepest = 0
    in_string = 0
    for start in range(0, len(symbols), _SCAN_CHUNK):
        chunk = symbols[start : start + _SCAN_CHUNK]
        inside = np.bitwise_xor.accumulate(chunk == ord('"'), dtype=np.uint8) ^ in_string
        levels = np.cumsum(step[chunk] * (inside == 0), dtype=np.int32) + depth
        deepest = max(deepest, int(levels.max()))
        depth, in_string = int(levels[-1]), int(inside[-1])
    return deepest


def _classify(document: Any) -> tuple[dict | None, dict | None]:
    """(UI workflow, API prompt) found in a parsed JSON document; None for what is absent."""
    if not isinstance(document, dict):
        return None, None
    if _is_ui_workflow(document):
        return document, None
    if _is_api_prompt(document):
        return None, document
    # The body of POST /prompt, or an API export wrapped by a tool: {"prompt": {...}, "extra_data": ...}
    wrapped = document.get("prompt")
    if isinstance(wrapped, dict) and _is_api_prompt(wrapped):
        extra = document.get("extra_data")
        pnginfo = extra.get("extra_pnginfo") if isinstance(extra, dict) else None
        workflow = pnginfo.get("workflow") if isinstance(pnginfo, dict) else None
        return (workflow if _is_ui_workflow(workflow) else None), wrapped
    return None, None


def _is_ui_workflow(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("nodes"), list)


def _is_api_prompt(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and bool(document)
        and all(
            isinstance(node, dict)
            and isinstance(node.get("class_type"), str)
            and isinstance(node.get("inputs"), dict)
            for node in document.values()
        )
    )


# --- metadata to workflow ----------------------------------------------------------------------


def _from_metadata(filename: str, name: str, source: str, metadata: dict[str, str]) -> LoadedWorkflow:
    """Pick `workflow` and `prompt` out of a media file's text metadata (keys case-insensitive)."""
    by_key = {key.lower(): value for key, value in metadata.items()}
    if "workflow" not in by_key and "prompt" not in by_key:
        kind = "image" if source in ("png", "apng", "webp") else "file"
        raise WorkflowFileError(f"{name}: {_NO_WORKFLOW.format(kind=kind)}")
    warnings: list[str] = []
    workflow = _metadata_json(by_key, "workflow", _is_ui_workflow, name, warnings)
    prompt = _metadata_json(by_key, "prompt", _is_api_prompt, name, warnings)
    if workflow is None and prompt is None:
        raise WorkflowFileError(f"{name} carries broken ComfyUI metadata: {'; '.join(warnings)}")
    return LoadedWorkflow(
        filename=filename, source=source, ui_graph=workflow, prompt=prompt, warnings=tuple(warnings)
    )


def _metadata_json(
    by_key: dict[str, str], key: str, is_valid: Callable[[Any], bool], name: str, warnings: list[str]
) -> dict | None:
    """Parse one metadata entry; a broken entry becomes a warning (the other one may still work)."""
    if key not in by_key:
        return None
    label = f"the {key!r} metadata"
    try:
        document = _parse_json(by_key[key].encode("utf-8"), label)
    except WorkflowFileError as error:
        warnings.append(str(error))
        return None
    if not is_valid(document):
        warnings.append(f"{label} is not a ComfyUI {'UI workflow' if key == 'workflow' else 'API prompt'}")
        return None
    return document


# --- PNG ---------------------------------------------------------------------------------------


def _png_metadata(data: bytes, name: str) -> dict[str, str]:
    """Text chunks of a PNG (`tEXt`, `zTXt`, `iTXt`, ComfyUI's APNG `comf`), pixels untouched."""
    metadata: dict[str, str] = {}
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if len(body) < length:
            break  # truncated: keep what was read before
        position += 12 + length
        if chunk_type == b"IEND":
            break
        entry = _png_text_chunk(chunk_type, body, name)
        if entry is not None:
            metadata.setdefault(entry[0], entry[1])
    return metadata


def _png_text_chunk(chunk_type: bytes, body: bytes, name: str) -> tuple[str, str] | None:
    if chunk_type not in (b"tEXt", b"zTXt", b"iTXt", b"comf") or b"\0" not in body:
        return None
    keyword, rest = body.split(b"\0", 1)
    key = keyword.decode("latin-1")
    if chunk_type in (b"tEXt", b"comf"):
        return key, rest.decode("latin-1" if chunk_type == b"tEXt" else "utf-8", "replace")
    if chunk_type == b"zTXt":
        return key, _inflate(rest[1:], name).decode("latin-1")
    # iTXt: compression flag, method, language\0, translated keyword\0, UTF-8 text
    if len(rest) < 2:
        return None
    compressed, text = rest[0], rest[2:]
    parts = text.split(b"\0", 2)
    if len(parts) < 3:
        return None
    payload = _inflate(parts[2], name) if compressed else parts[2]
    return key, payload.decode("utf-8", "replace")


def _inflate(compressed: bytes, name: str) -> bytes:
    """zlib-inflate at most `MAX_METADATA_BYTES`: a tiny chunk cannot expand into gigabytes."""
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(compressed, MAX_METADATA_BYTES)
    except zlib.error:
        raise WorkflowFileError(f"{name} has a corrupt compressed text chunk") from None
    if inflater.unconsumed_tail:
        raise WorkflowFileError(
            f"{name} has a compressed text chunk larger than {MAX_METADATA_BYTES // 2**20} MB; refused"
        )
    return payload


# --- WebP --------------------------------------------------------------------------------------


def _webp_metadata(data: bytes, name: str) -> dict[str, str]:
    """`key:json` strings from the EXIF chunk of a WebP (SaveAnimatedWEBP), pixels untouched."""
    position = 12
    while position + 8 <= len(data):
        fourcc, size = struct.unpack("<4sI", data[position : position + 8])
        if fourcc == b"EXIF":
            return _exif_key_values(data[position + 8 : position + 8 + size])
        position += 8 + size + (size & 1)
    return {}


def _exif_key_values(exif: bytes) -> dict[str, str]:
    if exif.startswith(b"Exif\0\0"):
        exif = exif[6:]
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return {}
    order = "<" if exif[:2] == b"II" else ">"
    (ifd_offset,) = struct.unpack(order + "I", exif[4:8])
    if ifd_offset + 2 > len(exif):
        return {}
    (count,) = struct.unpack(order + "H", exif[ifd_offset : ifd_offset + 2])
    metadata: dict[str, str] = {}
    for index in range(count):
        entry = exif[ifd_offset + 2 + 12 * index : ifd_offset + 14 + 12 * index]
        if len(entry) < 12:
            break
        _tag, value_type, length, value_offset = struct.unpack(order + "HHII", entry)
        if value_type not in (_EXIF_ASCII, _EXIF_UNDEFINED):
            continue
        raw = entry[8 : 8 + length] if length <= 4 else exif[value_offset : value_offset + length]
        text = raw.rstrip(b"\0").decode("utf-8", "replace")
        key, separator, value = text.partition(":")
        if separator and key.isidentifier():
            metadata.setdefault(key, value)
    return metadata


# --- video and audio containers ----------------------------------------------------------------


def _container_metadata(data: bytes, name: str) -> dict[str, str]:
    """Container and stream tags read by PyAV (FFmpeg); nothing is decoded."""
    import av  # heavy; only media files need it

    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="replace") as container:
            metadata = dict(container.metadata)
            for stream in container.streams:
                for key, value in stream.metadata.items():
                    metadata.setdefault(key, value)
    except (av.FFmpegError, ValueError, OSError) as error:
        raise WorkflowFileError(f"{name} is a damaged media file: {one_line(str(error), 200)}") from None
    return metadata


# --- messages ----------------------------------------------------------------------------------


def _shown(filename: str) -> str:
    """A file name safe to put in a one-line message (no control characters, bounded length)."""
    clean = "".join(char if char.isprintable() else "?" for char in filename) or "the file"
    return clean if len(clean) <= 80 else clean[:77] + "..."


def _too_big(name: str, size: int) -> str:
    return f"{name} is {size / 2**20:.1f} MB; files over {MAX_FILE_BYTES // 2**20} MB are refused"
