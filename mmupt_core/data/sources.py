"""Real data sets -> the Item schema: Hugging Face hub ids, local dataset folders, Parquet, JSON/JSONL.

    data: {source: hiyouga/geometry3k, split: train, question_key: problem, answer_key: answer, image_key: images}

A data set is read once into a cache folder (cache_dir("data")/<key>): each usable row's image is decoded,
converted to RGB, resized into the model's pixel bounds, and written as PNG; the items go to items.jsonl, their
answers (diagnostics only, never a reward) to answers.jsonl apart, and unusable rows to rejected.jsonl with a
reason. A run-level problem (no such file, a missing column) raises `DataError` before anything is written.

Images may arrive as PIL images, {"bytes", "path"} dicts (Parquet written by `datasets`), raw bytes, or paths
(relative ones resolve against data.image_root, else the data file's folder); a list column (`images`) must
hold exactly one image.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from PIL import Image

from mmupt_core.config import DataConfig, ModelConfig
from mmupt_core.data.items import Item, make_item_id, read_items, write_jsonl

log = logging.getLogger(__name__)

# The paper's training sets and their published hub layouts. `answer` is never a reward.
PAPER_DATASETS = {
    "hiyouga/geometry3k": {"question_key": "problem", "answer_key": "answer", "image_key": "images"},
    "WaltonFuture/GEOQA_R1V_Train_8K": {
        "question_key": "problem",
        "answer_key": "answer",
        "image_key": "images",
    },
    "MMR1/MMR1-Math-RL-Data-v0": {"question_key": "problem", "answer_key": "answer", "image_key": "images"},
    "leonardPKU/GEOQA_R1V_Train_8K": {
        "question_key": "problem",
        "answer_key": "solution",
        "image_key": "image",
    },
}
_PLACEHOLDER = re.compile(r"<image\d*>")
_ANSWER_TAGS = re.compile(r"<answer>(.*?)</answer>", re.S)
MAX_ASPECT = 200  # Qwen2.5-VL's processor refuses more extreme aspect ratios


class DataError(ValueError):
    """A data set that cannot be used at all (missing file, missing column); names the data set."""


class ImageProblem(ValueError):
    """One row's image cannot be used; the message is the rejection reason."""


@dataclass(frozen=True)
class Loaded:
    items: list[Item]
    rejected: list[dict[str, str]]
    answers: dict[str, str]
    folder: Path


# -- images ---------------------------------------------------------------------------------------------------
def fit_pixels(width: int, height: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """The size with the same aspect ratio whose area lies within [min_pixels, max_pixels]."""
    area = width * height
    if area > max_pixels:
        scale = math.sqrt(max_pixels / area)
        return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    if area < min_pixels:
        scale = math.sqrt(min_pixels / area)
        return math.ceil(width * scale), math.ceil(height * scale)
    return width, height


def to_rgb(im: Image.Image) -> Image.Image:
    """RGB for any mode: transparency composited on white, 16-bit and float greys scaled to 8 bits."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        im = Image.fromarray(np.clip(arr / top * 255.0, 0, 255).astype("uint8"), "L")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im.convert("RGB")


def open_image(value: Any, root: Path | None, max_source_pixels: int) -> Image.Image:
    """Decode one image value (PIL, bytes, {"bytes","path"}, or path); raises ImageProblem with the reason."""
    if isinstance(value, list | tuple):
        if len(value) != 1:
            raise ImageProblem(f"expected one image, got {len(value)}")
        value = value[0]
    if value is None:
        raise ImageProblem("no image")
    if isinstance(value, dict):
        value = value.get("bytes") or value.get("path")
        if not value:
            raise ImageProblem("no image")
    if isinstance(value, Image.Image):
        im = value
    elif isinstance(value, bytes | bytearray):
        im = _decode(io.BytesIO(value), "image bytes")
    elif isinstance(value, str | Path):
        path = Path(value)
        if not path.is_absolute() and root is not None:
            path = root / path
        if not path.is_file():
            raise ImageProblem(f"image not found: {path}")
        im = _decode(path, str(path))
    else:
        raise ImageProblem(f"unsupported image value of type {type(value).__name__}")
    w, h = im.size
    if w == 0 or h == 0:
        raise ImageProblem(f"image of zero size ({w}x{h})")
    if w * h > max_source_pixels:
        raise ImageProblem(f"image too large ({w}x{h} > {max_source_pixels} pixels)")
    if max(w, h) / min(w, h) > MAX_ASPECT:
        raise ImageProblem(f"aspect ratio over {MAX_ASPECT} ({w}x{h})")
    try:
        im.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageProblem(f"corrupt image: {exc}") from None
    return im


def _decode(src, name: str) -> Image.Image:
    try:
        # Only the header is read here; the size checks run before the pixels are decoded.
        return Image.open(src)
    except Image.DecompressionBombError as exc:
        raise ImageProblem(f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageProblem(f"corrupt image ({name}): {exc}") from None


def prepare_image(value: Any, root: Path | None, model: ModelConfig, max_source_pixels: int) -> Image.Image:
    im = to_rgb(open_image(value, root, max_source_pixels))
    size = fit_pixels(*im.size, model.min_pixels, model.max_pixels)
    return im if size == im.size else im.resize(size, Image.Resampling.BICUBIC)


# -- rows -----------------------------------------------------------------------------------------------------
def clean_question(text: str) -> str:
    """The question without image placeholders ("<image>", "<image1>"): our prompt builder places the image."""
    return _PLACEHOLDER.sub("", text).strip()


def clean_answer(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    tagged = _ANSWER_TAGS.findall(text)
    return (tagged[-1] if tagged else text).strip() or None


def read_rows(source: str, split: str, name: str | None = None):
    """A `datasets.Dataset` for a hub id, a local dataset folder (save_to_disk or hub layout), or a file;
    `name` is the hub config (MathVerse's "testmini")."""
    import datasets

    path = Path(source).expanduser()
    kind = {".parquet": "parquet", ".jsonl": "json", ".json": "json", ".csv": "csv"}.get(path.suffix.lower())
    try:
        if path.is_file() and kind:
            return datasets.load_dataset(kind, data_files={split: str(path)}, split=split)
        if path.is_dir() and (path / "dataset_info.json").is_file() and (path / "state.json").is_file():
            return datasets.load_from_disk(str(path))
        if path.is_dir() and (path / "dataset_dict.json").is_file():
            return datasets.load_from_disk(str(path))[split]
        if path.exists() or source.startswith((".", "/", "~")):
            if not path.exists():
                raise DataError(f"data source {source!r}: no such file or folder")
            return datasets.load_dataset(str(path), name, split=split)
        # A hub id (owner/name): the same call reads the local HF cache when HF_HUB_OFFLINE is set.
        return datasets.load_dataset(source, name, split=split)
    except DataError:
        raise
    except (FileNotFoundError, ValueError, ConnectionError, OSError) as exc:
        raise DataError(f"data source {source!r} split {split!r} could not be read: {exc}") from exc
    except Exception as exc:  # datasets raises its own DatasetNotFoundError and friends
        raise DataError(f"data source {source!r} split {split!r} could not be read: {exc}") from exc


def check_columns(columns: Iterable[str], cfg: DataConfig) -> None:
    columns = list(columns)
    wanted = {"data.question_key": cfg.question_key, "data.image_key": cfg.image_key}
    for field, key in (
        ("data.answer_key", cfg.answer_key),
        ("data.choices_key", cfg.choices_key),
        ("data.id_key", cfg.id_key),
    ):
        if key is not None:
            wanted[field] = key
    for field, key in wanted.items():
        if key not in columns:
            raise DataError(
                f"data set {cfg.source!r} (split {cfg.split!r}) has no column {key!r} ({field}); "
                f"its columns are {columns}"
            )


def data_key(payload: dict, model: ModelConfig) -> str:
    payload = {**payload, "pixels": [model.min_pixels, model.max_pixels], "v": 1}
    return sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RowSpec:
    """One source row, mapped: what the Item needs, before its image is decoded."""

    row_id: str
    question: str
    image: Any
    answer: str | None = None
    choices: list[str] | None = None
    meta: dict[str, Any] | None = None


def items_folder(cfg: DataConfig, model: ModelConfig, cache: Path) -> Path:
    """The cache folder of the configured data set (complete once it holds manifest.json)."""
    return cache / f"{_slug(cfg.source)}-{cfg.split}-{data_key(cfg.model_dump(mode='json'), model)}"


def load_items(cfg: DataConfig, model: ModelConfig, cache: Path) -> Loaded:
    """The configured training data set as items (cached; see the module docstring)."""
    folder = items_folder(cfg, model, cache)
    if (cached := read_folder(folder)) is not None:
        return cached
    rows = read_rows(cfg.source, cfg.split)
    check_columns(rows.column_names, cfg)
    if cfg.limit is not None:
        rows = rows.select(range(min(cfg.limit, len(rows))))

    def spec(idx: int, row: dict) -> RowSpec:
        choices = row.get(cfg.choices_key) if cfg.choices_key else None
        return RowSpec(
            row_id=str(row[cfg.id_key]) if cfg.id_key else str(idx),
            question=clean_question(str(row[cfg.question_key] or "")),
            image=row[cfg.image_key],
            answer=clean_answer(row[cfg.answer_key]) if cfg.answer_key else None,
            choices=[str(c) for c in choices] if choices else None,
        )

    specs = (spec(i, r) for i, r in enumerate(rows))
    return materialize(
        specs,
        folder,
        cfg.source,
        cfg.split,
        image_root(cfg.source, cfg.image_root),
        model,
        cfg.max_source_pixels,
    )


def image_root(source: str, configured: str | None) -> Path:
    if configured:
        return Path(configured).expanduser()
    path = Path(source).expanduser()
    return path if path.is_dir() else path.parent


def materialize(
    specs: Iterable[RowSpec],
    folder: Path,
    source: str,
    split: str,
    root: Path | None,
    model: ModelConfig,
    max_source_pixels: int,
    dedupe: bool = True,
) -> Loaded:
    """Decode, convert and write each row's image; rows that cannot be used are rejected with a reason.

    Training data drops a repeated (image, question): it would be voted and trained on twice. A benchmark
    keeps every row (`dedupe=False`): its published size is what scores are reported against, and MathVerse's
    versions repeat the same image and question with their own row; a repeat gets an id salted with its row."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    items, rejected, answers, seen, n_rows = [], [], {}, set(), 0
    for s in specs:
        n_rows += 1
        if not s.question.strip():
            rejected.append({"item_id": f"row-{s.row_id}", "reason": "empty question"})
            continue
        try:
            im = prepare_image(s.image, root, model, max_source_pixels)
        except ImageProblem as exc:
            rejected.append({"item_id": f"row-{s.row_id}", "reason": str(exc)})
            continue
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        data = buf.getvalue()
        item_id = make_item_id(data, s.question)
        if item_id in seen and dedupe:
            rejected.append({"item_id": item_id, "reason": f"duplicate item (row {s.row_id})"})
            continue
        if item_id in seen:
            item_id = make_item_id(data, f"{s.question}\n#row {s.row_id}")
        seen.add(item_id)
        _write_atomic(folder / "images" / f"{item_id}.png", data)
        items.append(
            Item(
                item_id=item_id,
                source=source,
                image=f"images/{item_id}.png",
                question=s.question,
                choices=s.choices,
                split=split,
                meta={"row": s.row_id, **(s.meta or {})},
            )
        )
        if s.answer is not None:
            answers[item_id] = s.answer
    write_jsonl(folder / "items.jsonl", [it.to_row() for it in items])
    write_jsonl(folder / "answers.jsonl", [{"item_id": k, "answer": v} for k, v in answers.items()])
    write_jsonl(folder / "rejected.jsonl", rejected)
    # Written last: its presence marks a complete folder.
    (folder / "manifest.json").write_text(
        json.dumps({"source": source, "split": split, "rows": n_rows, "items": len(items)})
    )
    log.info("%s[%s]: %d items, %d rejected -> %s", source, split, len(items), len(rejected), folder)
    return read_folder(folder)


def read_folder(folder: Path) -> Loaded | None:
    """A prepared folder's items, answers and rejections; None until its manifest marks it complete."""
    if not (folder / "manifest.json").is_file():
        return None
    answers = {
        r["item_id"]: r["answer"]
        for r in (json.loads(line) for line in (folder / "answers.jsonl").read_text().splitlines() if line)
    }
    rejected = [json.loads(line) for line in (folder / "rejected.jsonl").read_text().splitlines() if line]
    return Loaded(read_items(folder / "items.jsonl"), rejected, answers, folder)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _slug(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", source.strip("/"))[-60:]
