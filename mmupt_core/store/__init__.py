"""The run store (DuckDB): every SQL statement in mmupt lives in this package.

- db: `Store`, composed of one class per concern: runs (runs, rounds, branches), stages (status and the
  atomic stage record), checkpoints (lineage), outputs (items, samples and pseudo-labels, metrics)
- connection: the one owner of connections (short-lived, retried on lock errors, read-only for readers)
- rows: `StageRecord`, what one stage produced, and the columns of each stage table
- schema.sql: the tables (runs, rounds, stages, items, samples, pseudo_labels, metrics, checkpoints, ...)
"""

from mmupt_core.store.db import Store, StoreError, checkpoint_id
from mmupt_core.store.rows import STAGE_TABLES, StageRecord

__all__ = ["STAGE_TABLES", "StageRecord", "Store", "StoreError", "checkpoint_id"]
