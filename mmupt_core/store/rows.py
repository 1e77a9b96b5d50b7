"""What one stage produces, as rows: `StageRecord`, the columns of each stage table, and their Arrow form for
the store's bulk inserts (`Store.record_stage` writes a record as one unit)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

# Tables whose rows belong to one (run, round, stage) and are replaced as a unit by record_stage.
STAGE_TABLES = ("items", "pseudo_labels", "metrics", "rejected_items", "samples", "synthesis")
COLUMNS = {
    "items": (
        "item_id",
        "split",
        "source",
        "image_path",
        "question",
        "choices",
        "answer",
        "parent_item_id",
        "meta",
    ),
    "pseudo_labels": ("item_id", "label", "votes", "n_valid", "agreement", "accepted"),
    "metrics": ("benchmark", "metric", "value", "n"),
    "rejected_items": ("item_id", "reason"),
    "samples": ("path", "n_rows"),
    "synthesis": (
        "candidate_idx",
        "parent_item_id",
        "strategy",
        "generator_checkpoint",
        "text",
        "question",
        "item_id",
        "outcome",
        "label",
        "agreement",
    ),
}
ARROW_TYPES = {
    "votes": pa.int32(),
    "n_valid": pa.int32(),
    "n": pa.int32(),
    "n_rows": pa.int32(),
    "candidate_idx": pa.int32(),
    "agreement": pa.float64(),
    "value": pa.float64(),
    "accepted": pa.bool_(),
}


@dataclass
class StageRecord:
    """Everything one stage produced, written as one unit by `Store.record_stage`."""

    items: list[dict[str, Any]] = field(default_factory=list)
    pseudo_labels: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    rejected_items: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    synthesis: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None


def to_arrow(name: str, rows: list[dict[str, Any]]) -> pa.Table | None:
    if not rows:
        return None
    cols = COLUMNS[name]
    unknown = set().union(*(r.keys() for r in rows)) - set(cols)
    if unknown:
        raise ValueError(f"{name}: unknown columns {sorted(unknown)}; expected {list(cols)}")
    arrays = {}
    for c in cols:
        values = [r.get(c) for r in rows]
        if c in ("choices", "meta"):
            values = [v if v is None or isinstance(v, str) else json.dumps(v) for v in values]
        arrays[c] = pa.array(values, type=ARROW_TYPES.get(c, pa.string()))
    return pa.table(arrays)


def metric_rows(benchmark: str, values: dict[str, float], n: int | None) -> list[dict[str, Any]]:
    """Rows of the metrics table: one per (metric, value) of one benchmark or stage, all with the same n."""
    return [
        {"benchmark": benchmark, "metric": k, "value": None if v is None else float(v), "n": n}
        for k, v in values.items()
    ]
