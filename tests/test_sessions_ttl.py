"""Per-session state cleans itself: 200 sessions opened through the API (gradio_client, one session hash
each) and abandoned without closing anything leave no work folder, and no file in Gradio's cache, once
their time to live has passed (`wizard/access.py`: `gr.State(time_to_live=…)` and `delete_cache`).
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.fakehub import FakeHub
from tests.wizard_server import wizard_app

TOKEN = "hf_sessionstesttoken"
SESSIONS = 200
TTL_S = 20
EXAMPLE = Path(__file__).resolve().parent.parent / "wizard" / "examples" / "blur_and_invert.json"


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_200_abandoned_sessions_leave_no_work_folder_after_their_time_to_live(tmp_path):
    from gradio_client import Client

    work = tmp_path / "w" / "work"  # inside the wizard's temp dir, where Gradio may serve files from
    env = {"WIZARD_SESSION_TTL_S": str(TTL_S), "WIZARD_WORK_DIR": str(work)}
    with FakeHub(users={TOKEN: "ada"}) as hub, wizard_app(hub.url, TOKEN, tmp_path / "w", env) as url:
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        folders: set[Path] = set()
        workflow = EXAMPLE.read_text()
        try:
            for _ in range(SESSIONS):
                client.reset_session()  # a new visitor that never comes back
                client.predict(workflow, api_name="/open_json")
                exported = Path(client.predict(api_name="/export_spec"))
                folders.update(folder for folder in work.iterdir())
            last_created = time.monotonic()
        finally:
            client.close()
        assert len(folders) == SESSIONS  # one work folder per session, each seen while it lived
        gradio_cache = tmp_path / "w" / "gradio"
        assert files_under(gradio_cache), "Gradio cached the exported files"
        # the state expires TTL_S after its last change; Gradio sweeps every second, its cache every TTL_S
        deadline = last_created + 2 * TTL_S + 10
        while time.monotonic() < deadline and (any(work.iterdir()) or files_under(gradio_cache)):
            time.sleep(1)
        assert sorted(work.iterdir()) == []
        assert files_under(gradio_cache) == []
        assert exported.name == "appspec.json"
