"""Checkpoints and their lineage: each round's checkpoint points at its parent, so a run can continue, or
branch, from any earlier round."""

from __future__ import annotations

from pathlib import Path

import duckdb

from mmupt_core.store.connection import Connection, now


def checkpoint_id(run_id: str, round_: int) -> str:
    return f"{run_id}/r{round_}"


def insert_checkpoint(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    round_: int,
    stage: str,
    path: str | Path,
    parent_id: str | None,
) -> str:
    """The one INSERT of a checkpoint row (inside the caller's transaction); returns its id."""
    cid = checkpoint_id(run_id, round_)
    con.execute(
        """
        insert into checkpoints (checkpoint_id, run_id, round, stage, path, parent_id, status, created_at)
        values (?, ?, ?, ?, ?, ?, 'done', ?)
        """,
        [cid, run_id, round_, stage, str(path), parent_id, now()],
    )
    return cid


class Checkpoints(Connection):
    """Checkpoint rows and the lineage through their parent links."""

    def record_checkpoint(
        self, run_id: str, round_: int, stage: str, path: str | Path, parent_id: str | None
    ) -> str:
        """Record a checkpoint outside a stage record (bootstrap base, branch point); idempotent per id."""

        def fn(con: duckdb.DuckDBPyConnection) -> str:
            con.execute("delete from checkpoints where checkpoint_id = ?", [checkpoint_id(run_id, round_)])
            return insert_checkpoint(con, run_id, round_, stage, path, parent_id)

        return self._write(fn)

    def last_checkpoint(self, run_id: str) -> dict | None:
        """The latest finished checkpoint of the run (highest round), or None."""
        rows = self._query(
            "select * from checkpoints where run_id = ? and status = 'done' order by round desc limit 1",
            [run_id],
        )
        return rows[0] if rows else None

    def checkpoint(self, run_id: str, round_: int) -> dict | None:
        rows = self._query(
            "select * from checkpoints where checkpoint_id = ?", [checkpoint_id(run_id, round_)]
        )
        return rows[0] if rows else None

    def lineage(self, run_id: str) -> list[dict]:
        """Checkpoints reachable from the run's latest one through parent links, newest first."""
        return self._query(
            """
            with recursive chain as (
                select * from (select * from checkpoints where run_id = ? order by round desc limit 1)
                union all
                select c.* from checkpoints c join chain on c.checkpoint_id = chain.parent_id
            )
            select checkpoint_id, run_id, round, stage, path, parent_id from chain
            """,
            [run_id],
        )
