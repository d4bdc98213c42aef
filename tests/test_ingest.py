"""wizard.ingest: every format ComfyUI saves a workflow in, and every bad input, each answered
within two seconds by a result or one clear line."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from tests import media
from wizard.errors import WorkflowFileError
from wizard.ingest import MAX_FILE_BYTES, MAX_JSON_DEPTH, NO_WORKFLOW_IN_IMAGE, load_path, load_workflow

SUPPORT = Path(__file__).parent / "support"
METADATA = media.comfy_metadata()


def refused(data: bytes, filename: str) -> str:
    """The one-line message `load_workflow` refuses `data` with, checked to come within 2 s."""
    started = time.perf_counter()
    with pytest.raises(WorkflowFileError) as caught:
        load_workflow(data, filename)
    elapsed = time.perf_counter() - started
    message = str(caught.value)
    assert elapsed < 2.0, f"{filename}: refused after {elapsed:.2f} s"
    assert message and "\n" not in message and "Traceback" not in message
    return message


# --- JSON --------------------------------------------------------------------------------------


def test_ui_workflow_json_is_loaded_as_workflow():
    loaded = load_workflow(json.dumps(media.UI_WORKFLOW).encode(), "flow.json")
    assert (loaded.source, loaded.ui_graph, loaded.prompt) == ("json", media.UI_WORKFLOW, None)


def test_ui_workflow_v1_with_object_links_is_loaded():
    workflow = {
        "version": 1,
        "state": {"lastNodeId": 2, "lastLinkId": 1},
        "nodes": media.UI_WORKFLOW["nodes"],
        "links": [
            {"id": 1, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "IMAGE"}
        ],
    }
    assert load_workflow(json.dumps(workflow).encode(), "v1.json").ui_graph == workflow


def test_json_with_utf8_bom_and_non_ascii_titles_is_loaded():
    workflow = json.loads(json.dumps(media.UI_WORKFLOW))
    workflow["nodes"][0]["title"] = "Bild – größe 画像"
    data = codecs.BOM_UTF8 + json.dumps(workflow, ensure_ascii=False).encode("utf-8")
    assert load_workflow(data, "bom.json").ui_graph["nodes"][0]["title"] == "Bild – größe 画像"


def test_api_prompt_json_is_loaded_as_prompt():
    loaded = load_workflow(json.dumps(media.API_PROMPT).encode(), "workflow_api.json")
    assert (loaded.source, loaded.ui_graph, loaded.prompt) == ("api-json", None, media.API_PROMPT)


def test_post_prompt_body_gives_prompt_and_its_workflow():
    body = {"prompt": media.API_PROMPT, "extra_data": {"extra_pnginfo": {"workflow": media.UI_WORKFLOW}}}
    loaded = load_workflow(json.dumps(body).encode(), "body.json")
    assert (loaded.ui_graph, loaded.prompt) == (media.UI_WORKFLOW, media.API_PROMPT)


def test_content_wins_over_extension():
    assert load_workflow(json.dumps(media.UI_WORKFLOW).encode(), "looks.png").source == "json"
    assert load_workflow(media.png(METADATA), "looks.json").source == "png"


# --- media formats -----------------------------------------------------------------------------

MEDIA_CASES = {
    "png": lambda: media.png(METADATA),
    "png-itxt-compressed": lambda: media.png_compressed(METADATA, international=True),
    "png-ztxt": lambda: media.png_compressed(METADATA, international=False),
    "apng": lambda: media.apng(METADATA),
    "webp": lambda: media.webp(METADATA),
    "webm": lambda: media.video(METADATA, "webm", "libvpx-vp9"),
    "mkv": lambda: media.video(METADATA, "matroska", "mpeg4"),
    "mp4": lambda: media.video(METADATA, "mp4", "mpeg4"),
    "mov": lambda: media.video(METADATA, "mov", "mpeg4"),
    "flac": lambda: media.audio(METADATA, "flac", "flac", 8000),
    "mp3": lambda: media.audio(METADATA, "mp3", "libmp3lame", 16000),
    "opus": lambda: media.audio(METADATA, "opus", "libopus", 48000),
}
EXPECTED_SOURCE = {"png-itxt-compressed": "png", "png-ztxt": "png"}


@pytest.mark.parametrize("kind", sorted(MEDIA_CASES))
def test_media_file_gives_workflow_and_prompt(kind):
    loaded = load_workflow(MEDIA_CASES[kind](), f"saved.{kind}")
    assert loaded.source == EXPECTED_SOURCE.get(kind, kind)
    assert loaded.ui_graph == media.UI_WORKFLOW
    assert loaded.prompt == media.API_PROMPT
    assert loaded.warnings == ()


def test_matroska_upper_cased_tags_are_found():
    import av
    import io

    with av.open(io.BytesIO(MEDIA_CASES["webm"]())) as container:
        assert {"PROMPT", "WORKFLOW"} <= set(container.metadata)  # what the loader has to match


def test_png_with_only_a_prompt_gives_the_prompt():
    loaded = load_workflow(media.png(media.comfy_metadata(workflow=None)), "api.png")
    assert (loaded.ui_graph, loaded.prompt) == (None, media.API_PROMPT)


def test_non_latin1_workflow_text_round_trips_through_itxt():
    workflow = json.loads(json.dumps(media.UI_WORKFLOW))
    workflow["nodes"][1]["title"] = "保存 💾"
    data = media.png({"workflow": json.dumps(workflow, ensure_ascii=False)})
    assert load_workflow(data, "u.png").ui_graph["nodes"][1]["title"] == "保存 💾"


def test_load_path_reads_a_file(tmp_path):
    path = tmp_path / "saved.webp"
    path.write_bytes(MEDIA_CASES["webp"]())
    loaded = load_path(path)
    assert (loaded.filename, loaded.source, loaded.ui_graph) == ("saved.webp", "webp", media.UI_WORKFLOW)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"  \n\t ", codecs.BOM_UTF8 + b"\n"], ids=["empty", "blank", "bom-only"]
)
def test_empty_file_is_refused(data):
    assert "empty" in refused(data, "w.json")


def test_truncated_json_names_line_and_column():
    text = json.dumps(media.UI_WORKFLOW, indent=1)
    message = refused(text[: len(text) // 2].encode(), "cut.json")
    assert "not valid JSON" in message and "line " in message and "column " in message
    assert "truncated" in message


def test_non_utf8_json_is_refused():
    message = refused(b'{"nodes": [], "title": "caf\xe9"}', "latin1.json")
    assert "not UTF-8" in message and "0xe9" in message


def test_utf16_json_is_refused_with_the_fix():
    message = refused(json.dumps(media.UI_WORKFLOW).encode("utf-16"), "w.json")
    assert "UTF-16" in message and "UTF-8" in message


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 200_000 + b"]" * 200_000,
        b'{"nodes": [' + b'{"a": ' * (MAX_JSON_DEPTH + 5) + b"1" + b"}" * (MAX_JSON_DEPTH + 5) + b"]}",
        b"[" * 5_000_000,
        b'{"a": "' + b"[" * 1000 + b'", "b": ' + b"[" * 50_000,
    ],
    ids=["balanced", "just-over-limit", "unclosed", "unclosed-after-string"],
)
def test_deeply_nested_json_is_refused(data):
    assert "nests JSON" in refused(data, "deep.json")


def test_brackets_inside_strings_do_not_count_as_nesting():
    workflow = json.loads(json.dumps(media.UI_WORKFLOW))
    workflow["nodes"][0]["title"] = "[" * 5000 + '\\"{' * 100
    assert load_workflow(json.dumps(workflow).encode(), "w.json").ui_graph == workflow


@pytest.mark.parametrize(
    "document",
    [[1, 2], {"a": 1}, "text", 42, {}, {"nodes": 3}, {"1": {"class_type": "X"}}, {"prompt": [1]}],
    ids=[
        "list",
        "object",
        "string",
        "number",
        "empty-object",
        "nodes-not-list",
        "api-without-inputs",
        "bad-wrapper",
    ],
)
def test_json_that_is_not_a_workflow_says_what_a_workflow_looks_like(document):
    message = refused(json.dumps(document).encode(), "other.json")
    assert "not a ComfyUI workflow" in message and '"nodes"' in message and '"class_type"' in message


def test_huge_integer_literal_is_refused():
    assert "not valid JSON" in refused(b'{"nodes": [' + b"9" * 10_000 + b"]}", "big.json")


def test_png_without_metadata_is_refused_with_the_reason():
    assert NO_WORKFLOW_IN_IMAGE in refused(media.png({}), "plain.png")
    assert NO_WORKFLOW_IN_IMAGE in refused(media.png({"Software": "GIMP"}), "gimp.png")


def test_webp_and_video_without_metadata_are_refused():
    assert "carries no ComfyUI workflow" in refused(media.webp({}), "plain.webp")
    assert "carries no ComfyUI workflow" in refused(media.video({}, "webm", "libvpx-vp9"), "plain.webm")


def test_mp4_tags_without_use_metadata_tags_are_lost_and_reported():
    data = media.video(METADATA, "mp4", "mpeg4", metadata_tags=False)  # FFmpeg drops custom keys
    assert "carries no ComfyUI workflow" in refused(data, "plain.mp4")


def test_png_with_garbage_metadata_is_refused():
    message = refused(media.png({"workflow": "{not json", "prompt": "\x00\x01garbage"}), "bad.png")
    assert "broken ComfyUI metadata" in message and "'workflow'" in message and "'prompt'" in message


def test_png_with_metadata_of_the_wrong_shape_is_refused():
    message = refused(media.png({"workflow": "[1, 2]"}), "odd.png")
    assert "broken ComfyUI metadata" in message and "not a ComfyUI UI workflow" in message


def test_garbage_workflow_next_to_a_good_prompt_keeps_the_prompt_with_a_warning():
    loaded = load_workflow(media.png({"prompt": METADATA["prompt"], "workflow": "{oops"}), "half.png")
    assert (loaded.ui_graph, loaded.prompt) == (None, media.API_PROMPT)
    assert len(loaded.warnings) == 1 and "'workflow' metadata is not valid JSON" in loaded.warnings[0]


def test_decompression_bomb_png_is_handled_without_decoding():
    started = time.perf_counter()
    loaded = load_workflow(media.huge_png(2**31 - 1, 2**31 - 1, METADATA), "bomb.png")
    assert time.perf_counter() - started < 2.0
    assert loaded.ui_graph == media.UI_WORKFLOW
    assert NO_WORKFLOW_IN_IMAGE in refused(media.huge_png(100_000, 100_000, {}), "bomb.png")


def test_compressed_text_bomb_is_refused():
    bomb = zlib.compress(b" " * (MAX_FILE_BYTES + 1024), 9)  # ~50 KB inflating past the cap
    data = media.huge_png(8, 8, {})
    chunk = media.png_chunk(b"zTXt", b"workflow\0\0" + bomb)
    message = refused(data[:33] + chunk + data[33:], "ztxt-bomb.png")
    assert "compressed text chunk larger than" in message


def test_corrupt_compressed_text_is_refused():
    data = media.huge_png(8, 8, {})
    chunk = media.png_chunk(b"zTXt", b"workflow\0\0" + b"not zlib at all")
    assert "corrupt compressed text" in refused(data[:33] + chunk + data[33:], "corrupt.png")


def test_truncated_png_is_refused_or_read_up_to_the_cut():
    data = media.png(METADATA)
    assert NO_WORKFLOW_IN_IMAGE in refused(data[:40], "cut.png")


def test_damaged_video_is_refused():
    data = media.video(METADATA, "webm", "libvpx-vp9")
    message = refused(data[:4] + b"\x00" * 200, "broken.webm")
    assert "damaged media file" in message or "carries no ComfyUI workflow" in message


def test_other_image_formats_are_refused():
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
    assert "not a file ComfyUI saves with a workflow" in refused(jpeg, "photo.jpg")
    assert "not UTF-8" in refused(b"\x00\x9f\x92\x96binary", "blob.bin")


def test_oversized_bytes_are_refused_at_once():
    message = refused(b" " * (MAX_FILE_BYTES + 1), "big.json")
    assert "50 MB" in message and "refused" in message


def test_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.png"
    with path.open("wb") as handle:  # sparse: 60 MB on paper, nothing to read
        handle.truncate(60 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(WorkflowFileError, match="60.0 MB; files over 50 MB are refused"):
        load_path(path)
    assert time.perf_counter() - started < 0.5


def test_a_50_mb_json_file_answers_within_two_seconds():
    padding = "x" * (MAX_FILE_BYTES - 1000)
    data = json.dumps({"nodes": [], "extra": {"note": padding}}).encode()
    assert len(data) <= MAX_FILE_BYTES
    started = time.perf_counter()
    assert load_workflow(data, "padded.json").ui_graph["nodes"] == []
    assert time.perf_counter() - started < 2.0


def test_missing_path_and_folder_are_refused(tmp_path):
    with pytest.raises(WorkflowFileError, match="no such file"):
        load_path(tmp_path / "nope.json")
    with pytest.raises(WorkflowFileError, match="is a folder"):
        load_path(tmp_path)


def test_hostile_file_name_stays_on_one_line():
    message = refused(b"[1]", "evil\nname\r\x1b[31m.json")
    assert "\n" not in message and "\r" not in message and "\x1b" not in message


# --- real files saved by ComfyUI ---------------------------------------------------------------


@pytest.mark.tier2
def test_files_saved_by_real_comfyui_give_back_workflow_and_prompt(comfyui_path, tmp_path):
    """ComfyUI 0.3.64 itself saves PNG, APNG, WebP, WebM, MP4 and (with torchaudio) FLAC/MP3/Opus files
    with `extra_pnginfo={"workflow": ...}`; each must read back both the workflow and the prompt."""
    env = dict(
        os.environ, COMFYUI_PATH=str(comfyui_path), PYTHONDONTWRITEBYTECODE="1"
    )  # checkout stays clean
    completed = subprocess.run(
        [sys.executable, str(SUPPORT / "ingest_save_with_comfyui.py"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    saved = json.loads(completed.stdout.strip().splitlines()[-1])
    workflow, prompt, files = saved["workflow"], saved["prompt"], saved["files"]
    kinds = {Path(path).suffix for path in files}
    expected = {".png", ".webp", ".webm", ".mp4"} | ({".flac", ".mp3", ".opus"} if saved["audio"] else set())
    assert kinds == expected, files
    assert sum(path.endswith(".png") for path in files) >= 2, "SaveImage and SaveAnimatedPNG each save a PNG"
    for path in files:
        loaded = load_path(path)
        assert loaded.ui_graph == workflow, path
        assert loaded.prompt == prompt, path
    print(f"read back {len(files)} files saved by ComfyUI: {sorted(Path(p).name for p in files)}")
