"""What the app is doing, for whoever listens: the stages of its start (fetching ComfyUI, installing
packs, downloading models, starting ComfyUI, loading the models, warming up) and the steps of a run.

In a Space nobody listens (a request's steps reach the page through `gr.Progress`); the wizard's Test run
listens inside the app's process and writes each report as a JSON line that the wizard reads
(`wizard.testrun`), so its page can say "Downloading model x – 1.2 of 6.5 GB at 80 MB/s".
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

_UNITS = ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"))


@dataclass(frozen=True)
class Report:
    """One report of progress.

    Attributes:
        stage: what is happening, e.g. "Downloading model sd_xl_base_1.0.safetensors" or "KSampler".
        done: how far it is, in `unit`s; None when it has no measure.
        total: how far it goes; None when unknown.
        unit: "bytes", "steps" or "" (no measure).
        rate: `unit`s per second since the stage began; None when unknown.
    """

    stage: str
    done: float | None = None
    total: float | None = None
    unit: str = ""
    rate: float | None = None

    def text(self) -> str:
        """One line: "Downloading model x – 1.2 of 6.5 GB at 80 MB/s", "KSampler – step 12 of 20"."""
        if self.done is None:
            return self.stage
        if self.unit == "bytes":
            amount = f"{_size(self.done)} of {_size(self.total)}" if self.total else _size(self.done)
            speed = f" at {_size(self.rate)}/s" if self.rate else ""
            return f"{self.stage} – {amount}{speed}"
        if self.unit == "steps":
            return f"{self.stage} – step {self.done:g} of {self.total:g}" if self.total else self.stage
        return self.stage

    @property
    def fraction(self) -> float | None:
        """`done / total` between 0 and 1, or None when there is no total."""
        if self.done is None or not self.total:
            return None
        return max(0.0, min(self.done / self.total, 1.0))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Report":
        return cls(**{key: data[key] for key in ("stage", "done", "total", "unit", "rate") if key in data})


Listener = Callable[[Report], None]
_listeners: list[Listener] = []  # the app's process: the Test run's worker adds one, a Space none


def listen(listener: Listener) -> None:
    """Call `listener` with every later report of this process."""
    _listeners.append(listener)


def report(
    stage: str, done: float | None = None, total: float | None = None, unit: str = "", rate=None
) -> None:
    """Tell every listener (none in a Space: then this costs nothing)."""
    if not _listeners:
        return
    item = Report(stage, done, total, unit, rate)
    for listener in list(_listeners):
        listener(item)


class ByteCounter:
    """Reports a download's bytes as they arrive, with its speed since the first report."""

    def __init__(self, stage: str) -> None:
        self.stage, self.started = stage, time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        elapsed = time.monotonic() - self.started
        rate = done / elapsed if done and elapsed > 0.05 else None
        report(self.stage, done, total, "bytes", rate)


def _size(count: float | None) -> str:
    count = count or 0
    for scale, unit in _UNITS:
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"
