"""The run store: one `Store` over one DuckDB file, its methods grouped by concern in this package's modules
(runs and branches, stages and their records, checkpoints, the pool's items, samples and pseudo-labels,
metrics), all through the one connection owner in connection.py."""

from __future__ import annotations

from mmupt_core.store.checkpoints import checkpoint_id
from mmupt_core.store.connection import StoreError
from mmupt_core.store.outputs import Items, Metrics, Samples
from mmupt_core.store.rows import STAGE_TABLES
from mmupt_core.store.runs import Runs
from mmupt_core.store.stages import Stages

__all__ = ["Store", "StoreError", "checkpoint_id"]


class Store(Runs, Stages, Items, Samples, Metrics):
    """DuckDB run store at `path`. Open with read_only=True in any process that only reads."""

    def count_rows(self, table: str, run_id: str | None = None) -> int:
        """Rows of one table for a run (all runs when run_id is None)."""
        if table not in (*STAGE_TABLES, "stages", "rounds", "checkpoints"):
            raise ValueError(f"unknown table {table!r}")
        # The table name was checked against the fixed list above; values are bound.
        sql = f"select count(*) as n from {table} where ? is null or run_id = ?"
        return self._query(sql, [run_id, run_id])[0]["n"]
