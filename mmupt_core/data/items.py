"""The Item schema that every data source (the embedded world, hub datasets, local files) maps to.

An item is one image + one question. `answer` is for evaluation and diagnostics only; it never reaches a
UPT reward. Items are stored as JSONL rows whose `image` is a path relative to the JSONL file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Item:
    item_id: str
    source: str
    image: str
    question: str
    answer: str | None = None
    choices: list[str] | None = None
    split: str | None = None
    parent_item_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        return asdict(self)


def make_item_id(image_bytes: bytes, question: str) -> str:
    """A stable id: the same image bytes and question always give the same id."""
    h = hashlib.sha256()
    h.update(hashlib.sha256(image_bytes).digest())
    h.update(question.strip().encode())
    return h.hexdigest()[:16]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write rows atomically (temp name, then rename) so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # per process: two writers never share a temp file
    with tmp.open("w") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True) + "\n")
    tmp.replace(path)


def read_items(path: Path) -> list[Item]:
    """Read items from JSONL; image paths are resolved against the file's folder."""
    if not path.is_file():
        raise FileNotFoundError(f"items file not found: {path}")
    items = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
        missing = {"item_id", "source", "image", "question"} - row.keys()
        if missing:
            raise ValueError(f"{path}:{lineno}: missing field(s) {sorted(missing)}")
        image = Path(row["image"])
        row["image"] = str(image if image.is_absolute() else path.parent / image)
        items.append(Item(**row))
    return items
