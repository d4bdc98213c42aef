"""Frontend-JS behaviours applied when a prompt is queued: dynamic prompts (`{a|b}`), search-and-replace
(`%date:FMT%`, `%Node.widget%`), JavaScript's string conversion and object key order, list wrapping.

Each mirrors the frontend function it names ([FE] formatUtil.ts, searchAndReplace.ts, executionUtil.ts).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol

from wizard.convert.load import MAX_VALUE_DEPTH
from wizard.errors import WorkflowFileError


class ChoiceSource(Protocol):
    """What dynamic prompts need from a random generator (`random.Random` fits)."""

    def random(self) -> float: ...


class ContentSeededRandom:
    """`random.Random` seeded from the workflow's content, so a conversion is repeatable; the seed is
    computed on first use, as most workflows have no dynamic prompt."""

    def __init__(self, workflow: dict[str, Any]):
        self._workflow = workflow
        self._random: random.Random | None = None

    def random(self) -> float:
        if self._random is None:
            try:
                text = json.dumps(self._workflow, sort_keys=True, default=str)
            except (TypeError, ValueError, RecursionError):
                text = repr(sorted(map(str, self._workflow)))
            digest = hashlib.sha256(text.encode("utf-8", "replace")).digest()
            self._random = random.Random(int.from_bytes(digest[:8], "big"))
        return self._random.random()


_COMMENTS = re.compile(r"/\*[\s\S]*?\*/|//[^\n\r\u2028\u2029]*")
_ESCAPED = re.compile(r"\\([{}|])")


def process_dynamic_prompt(text: str, rng: ChoiceSource, depth: int = 0) -> str:
    """`processDynamicPrompt` ([FE] formatUtil.ts:125-186): strip comments, replace each `{a|b}` by one
    option (the chosen option is processed again, so blocks nest), then unescape `\\{ \\| \\}`."""
    if depth > MAX_VALUE_DEPTH:
        raise WorkflowFileError(
            f"a dynamic prompt nests {{...}} choices more than {MAX_VALUE_DEPTH} levels deep"
        )
    source = _COMMENTS.sub("", text)
    result: list[str] = []
    position = 0
    while position < len(source):
        char = source[position]
        position += 1
        if char == "\\":  # JavaScript reads past the end as "undefined"
            result.append("\\" + (source[position] if position < len(source) else "undefined"))
            position += 1
        elif char == "{":
            options, position = _choice_block(source, position)
            chosen = options[int(rng.random() * len(options))]
            result.append(process_dynamic_prompt(chosen, rng, depth + 1))
        else:
            result.append(char)
    return _ESCAPED.sub(r"\1", "".join(result))


def _choice_block(text: str, position: int) -> tuple[list[str], int]:
    """`parseChoiceBlock`: the options of the block that starts before `position`, and where it ends."""
    options: list[str] = []
    choice: list[str] = []
    depth = 0
    while position < len(text):
        char = text[position]
        position += 1
        if char == "\\":
            choice.append("\\" + (text[position] if position < len(text) else "undefined"))
            position += 1
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            if not depth:
                break
            depth -= 1
        elif char == "|" and not depth:
            options.append("".join(choice))
            choice = []
            continue
        choice.append(char)
    options.append("".join(choice))
    return options, position


NodeKey = tuple[str, str]  # (graph key, node id) of a definition node


@dataclass(frozen=True)
class NodeNames:
    """The nodes `%Node.widget%` can name ([FE] searchAndReplace.ts, `%Node.widget%`).

    Attributes:
        by_sr_name: `properties["Node name for S&R"]` -> the first node with it.
        by_title: title (or default title) -> the first node with it.
    """

    by_sr_name: Mapping[str, NodeKey]
    by_title: Mapping[str, NodeKey]

    @classmethod
    def of(cls, nodes: Iterable[tuple[NodeKey, Any, str]]) -> NodeNames:
        """From (key, S&R name property, title) of every node, in graph order."""
        by_sr_name: dict[str, NodeKey] = {}
        by_title: dict[str, NodeKey] = {}
        for key, sr_name, title in nodes:
            if isinstance(sr_name, str):
                by_sr_name.setdefault(sr_name, key)
            by_title.setdefault(title, key)
        return cls(by_sr_name, by_title)

    def find(self, name: str) -> NodeKey | None:
        """First by "Node name for S&R", else by title."""
        return self.by_sr_name.get(name) or self.by_title.get(name)


_UNSAFE_FILENAME = re.compile(r'[/?<>\\:*|"\x00-\x1f\x7f]')


def apply_text_replacements(
    value: str, names: NodeNames, values: Mapping[NodeKey, Mapping[str, Any]], where: str
) -> tuple[str, str | None]:
    """`applyTextReplacements` ([FE] searchAndReplace.ts:5-56): `%date:FMT%` and `%Node.widget%`; the
    result, and a warning when anything was substituted."""
    now = datetime.datetime.now()

    def substitute(match: re.Match[str]) -> str:
        parts = match.group(1).split(".")
        if len(parts) != 2:
            return format_date(parts[0][5:], now) if parts[0].startswith("date:") else match.group(0)
        node_key = names.find(parts[0])
        widget_values = values.get(node_key, {}) if node_key else {}
        if parts[1] not in widget_values:
            return match.group(0)
        found = widget_values[parts[1]]
        return _UNSAFE_FILENAME.sub("_", js_string("" if found is None else found))

    result = re.sub(r"%([^%]+)%", substitute, value)
    if result == value:
        return result, None
    return result, (
        f"{where}: {value!r} becomes {result!r}, substituted as the frontend does when queueing "
        "(dates are the conversion time)"
    )


_DATE_TOKENS = re.compile(r"dd?|MM?|hh?|mm?|ss?|yyy?y?")


def format_date(text: str, now: datetime.datetime) -> str:
    """`formatDate` ([FE] formatUtil.ts:257-280), in local time like the browser."""
    parts = {"d": now.day, "M": now.month, "h": now.hour, "m": now.minute, "s": now.second}

    def token(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "yy":
            return str(now.year)[2:]
        if found == "yyyy":
            return str(now.year)
        if found[0] in parts:
            return str(parts[found[0]]).rjust(len(found), "0")
        return found

    return _DATE_TOKENS.sub(token, text)


def js_string(value: Any) -> str:
    """JavaScript's `value + ''` for JSON values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, list):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def wrap_list(value: Any) -> Any:
    """Lists would read as links, so the frontend wraps them ([FE] executionUtil.ts:96-106)."""
    return {"__value__": value} if isinstance(value, list) else value


def js_key_order(output: dict[str, Any]) -> list[str]:
    """JavaScript's object key order: array-index keys ascending, then the others as inserted."""
    indexes = [key for key in output if _is_array_index(key)]
    return sorted(indexes, key=int) + [key for key in output if not _is_array_index(key)]


def _is_array_index(key: str) -> bool:
    return key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1
