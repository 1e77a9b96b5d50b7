"""Stage status and stage records: a stage's outputs are written by `record_stage`, which deletes and
re-inserts every row of one (run, round, stage) inside one transaction together with the stage's status, so a
re-run replaces rather than duplicates, and a crash leaves either the old rows or the new ones, never half."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from mmupt_core.store.checkpoints import insert_checkpoint
from mmupt_core.store.connection import Connection, now
from mmupt_core.store.rows import COLUMNS, STAGE_TABLES, StageRecord, to_arrow


class Stages(Connection):
    """Which stages ran, under which config hash, and the rows each one produced."""

    def start_stage(self, run_id: str, round_: int, stage: str, config_hash: str) -> None:
        """Mark a stage running (its old outputs stay until record_stage replaces them)."""

        def fn(con: duckdb.DuckDBPyConnection) -> None:
            t = now()
            con.execute(
                """
                insert into stages (run_id, round, stage, status, config_hash, started_at)
                values (?, ?, ?, 'running', ?, ?)
                on conflict (run_id, round, stage) do update set status = 'running',
                    config_hash = excluded.config_hash, started_at = excluded.started_at,
                    finished_at = null, wall_s = null, error = null
                """,
                [run_id, round_, stage, config_hash, t],
            )
            con.execute(
                """
                insert into rounds (run_id, round, status, started_at) values (?, ?, 'running', ?)
                on conflict (run_id, round) do update set status = 'running', finished_at = null
                """,
                [run_id, round_, t],
            )

        self._write(fn)

    def fail_stage(self, run_id: str, round_: int, stage: str, error: str) -> None:
        self._write(
            lambda con: con.execute(
                "update stages set status = 'failed', error = ?, finished_at = ? "
                "where run_id = ? and round = ? and stage = ?",
                [error[:2000], now(), run_id, round_, stage],
            )
        )

    def record_stage(
        self,
        run_id: str,
        round_: int,
        stage: str,
        config_hash: str,
        record: StageRecord,
        *,
        wall_s: float | None = None,
        finishes_round: bool = False,
    ) -> None:
        """Replace every row of (run, round, stage) with `record` and mark the stage done, in one transaction."""
        tables = {name: to_arrow(name, getattr(record, name)) for name in STAGE_TABLES}

        def fn(con: duckdb.DuckDBPyConnection) -> None:
            _replace_rows(con, [run_id, round_, stage], tables)
            if record.checkpoint is not None:
                ck = record.checkpoint
                insert_checkpoint(con, run_id, round_, stage, ck["path"], ck.get("parent_id"))
            _mark_done(con, run_id, round_, stage, config_hash, wall_s, finishes_round)

        self._write(fn)

    def stages(self, run_id: str) -> list[dict]:
        return self._query(
            "select round, stage, status, config_hash, started_at, finished_at, wall_s, error "
            "from stages where run_id = ? order by round, started_at nulls last",
            [run_id],
        )

    def stage_done(self, run_id: str, round_: int, stage: str, config_hash: str) -> bool:
        rows = self._query(
            "select 1 from stages where run_id = ? and round = ? and stage = ? and status = 'done' "
            "and config_hash = ?",
            [run_id, round_, stage, config_hash],
        )
        return bool(rows)

    def next_stage(
        self, run_id: str, stage_order: Sequence[str], rounds: int, config_hash: str, first_round: int = 1
    ) -> tuple[int, str] | None:
        """The first (round, stage) from first_round..rounds not done under config_hash, or None when all are."""
        done = {
            (r["round"], r["stage"])
            for r in self._query(
                "select round, stage from stages where run_id = ? and status = 'done' and config_hash = ?",
                [run_id, config_hash],
            )
        }
        for round_ in range(first_round, rounds + 1):
            for stage in stage_order:
                if (round_, stage) not in done:
                    return round_, stage
        return None


def _replace_rows(con: duckdb.DuckDBPyConnection, key: list, tables: dict[str, pa.Table | None]) -> None:
    """Delete the (run, round, stage) rows of every stage table and the stage's checkpoint; insert the new."""
    for name in STAGE_TABLES:
        con.execute(f"delete from {name} where run_id = ? and round = ? and stage = ?", key)
    con.execute("delete from checkpoints where run_id = ? and round = ? and stage = ?", key)
    for name, table in tables.items():
        if table is None:
            continue
        cols = ", ".join(COLUMNS[name])
        # The connection is closed after the transaction, which drops the registered view.
        con.register(f"incoming_{name}", table)
        # Table and column names come from the fixed COLUMNS map, never from input.
        con.execute(
            f"insert into {name} (run_id, round, stage, {cols}) select ?, ?, ?, {cols} from incoming_{name}",
            key,
        )


def _mark_done(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    round_: int,
    stage: str,
    config_hash: str,
    wall_s: float | None,
    finishes_round: bool,
) -> None:
    t = now()
    con.execute(
        """
        insert into stages (run_id, round, stage, status, config_hash, started_at, finished_at, wall_s)
        values (?, ?, ?, 'done', ?, ?, ?, ?)
        on conflict (run_id, round, stage) do update set status = 'done',
            config_hash = excluded.config_hash, finished_at = excluded.finished_at,
            wall_s = excluded.wall_s, error = null,
            started_at = coalesce(stages.started_at, excluded.started_at)
        """,
        [run_id, round_, stage, config_hash, t, t, wall_s],
    )
    status = "done" if finishes_round else "running"
    con.execute(
        """
        insert into rounds (run_id, round, status, started_at, finished_at) values (?, ?, ?, ?, ?)
        on conflict (run_id, round) do update set status = excluded.status,
            finished_at = excluded.finished_at
        """,
        [run_id, round_, status, t, t if finishes_round else None],
    )
