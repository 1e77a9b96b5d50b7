"""The run store: every SQL statement in mmupt lives here.

DuckDB allows one read-write process per file, so each operation opens a short-lived connection, retries
with bounded backoff on lock errors, and closes it; readers open `read_only=True`. Stage outputs are written
by `record_stage`, which deletes and re-inserts every row of one (run, round, stage) inside one transaction
together with the stage's status, so a re-run replaces rather than duplicates and a crash leaves either the
old rows or the new ones, never half.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from mmupt_core.store.rows import COLUMNS, STAGE_TABLES, StageRecord, to_arrow

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = (Path(__file__).with_name("schema.sql")).read_text()


class StoreError(RuntimeError):
    """A store operation that cannot proceed (unknown run, bad branch point, lock held too long)."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, duckdb.IOException) and ("lock" in text or "conflicting" in text)


class Store:
    """DuckDB run store at `path`. Open with read_only=True in any process that only reads."""

    def __init__(
        self, path: str | Path, *, read_only: bool = False, retries: int = 8, backoff_s: float = 0.05
    ):
        self.path = Path(path)
        self.read_only = read_only
        self.retries = retries
        self.backoff_s = backoff_s
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"run store not found: {self.path}")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._with_retry(lambda con: con.execute(SCHEMA))

    # -- connection handling -------------------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(str(self.path), read_only=self.read_only)
        try:
            yield con
        finally:
            con.close()

    def _with_retry(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run fn on a fresh connection; on a lock held by another process, back off and retry (bounded)."""
        for attempt in range(self.retries + 1):
            try:
                with self._connect() as con:
                    return fn(con)
            except duckdb.IOException as exc:
                if not _is_lock_error(exc) or attempt == self.retries:
                    if _is_lock_error(exc):
                        raise StoreError(
                            f"run store {self.path} is locked by another process "
                            f"(gave up after {self.retries + 1} tries): {exc}"
                        ) from exc
                    raise
                delay = self.backoff_s * (2**attempt)
                log.debug("store locked, retry %d in %.2fs", attempt + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        def run(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            cur = con.execute(sql, list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        return self._with_retry(run)

    def _write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        if self.read_only:
            raise StoreError(f"store {self.path} was opened read-only")

        def txn(con: duckdb.DuckDBPyConnection) -> T:
            con.execute("begin transaction")
            try:
                out = fn(con)
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
            return out

        return self._with_retry(txn)

    # -- runs ----------------------------------------------------------------------------------------------
    def ensure_run(
        self, run_id: str, config_hash: str, config_json: str, *, supervised: bool = False
    ) -> dict:
        """Create the run if new; return its row. An existing run keeps its creation time and lineage."""

        def fn(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(
                """
                insert into runs (run_id, created_at, config_hash, config_json, supervised)
                values (?, ?, ?, ?, ?)
                on conflict (run_id) do update set config_hash = excluded.config_hash,
                    config_json = excluded.config_json, supervised = excluded.supervised
                """,
                [run_id, _now(), config_hash, config_json, supervised],
            )

        self._write(fn)
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> dict:
        rows = self._query("select * from runs where run_id = ?", [run_id])
        if not rows:
            raise StoreError(f"unknown run {run_id!r} in {self.path}")
        return rows[0]

    def has_run(self, run_id: str) -> bool:
        return bool(self._query("select 1 from runs where run_id = ?", [run_id]))

    def list_runs(self) -> list[dict]:
        return self._query(
            """
            with last_round as (
                select run_id, max(round) filter (where status = 'done') as last_done_round,
                       max(finished_at) as last_finished
                from rounds group by run_id
            )
            select r.run_id, r.created_at, r.parent_run_id, r.parent_round, r.supervised,
                   l.last_done_round, l.last_finished
            from runs r left join last_round l using (run_id)
            order by r.created_at
            """
        )

    # -- stages --------------------------------------------------------------------------------------------
    def start_stage(self, run_id: str, round_: int, stage: str, config_hash: str) -> None:
        """Mark a stage running (its old outputs stay until record_stage replaces them)."""

        def fn(con: duckdb.DuckDBPyConnection) -> None:
            now = _now()
            con.execute(
                """
                insert into stages (run_id, round, stage, status, config_hash, started_at)
                values (?, ?, ?, 'running', ?, ?)
                on conflict (run_id, round, stage) do update set status = 'running',
                    config_hash = excluded.config_hash, started_at = excluded.started_at,
                    finished_at = null, wall_s = null, error = null
                """,
                [run_id, round_, stage, config_hash, now],
            )
            con.execute(
                """
                insert into rounds (run_id, round, status, started_at) values (?, ?, 'running', ?)
                on conflict (run_id, round) do update set status = 'running', finished_at = null
                """,
                [run_id, round_, now],
            )

        self._write(fn)

    def fail_stage(self, run_id: str, round_: int, stage: str, error: str) -> None:
        self._write(
            lambda con: con.execute(
                "update stages set status = 'failed', error = ?, finished_at = ? "
                "where run_id = ? and round = ? and stage = ?",
                [error[:2000], _now(), run_id, round_, stage],
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
            key = [run_id, round_, stage]
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
                    f"insert into {name} (run_id, round, stage, {cols}) "
                    f"select ?, ?, ?, {cols} from incoming_{name}",
                    key,
                )
            if record.checkpoint is not None:
                ck = record.checkpoint
                con.execute(
                    """
                    insert into checkpoints (checkpoint_id, run_id, round, stage, path, parent_id, status, created_at)
                    values (?, ?, ?, ?, ?, ?, 'done', ?)
                    """,
                    [
                        checkpoint_id(run_id, round_),
                        run_id,
                        round_,
                        stage,
                        str(ck["path"]),
                        ck.get("parent_id"),
                        _now(),
                    ],
                )
            now = _now()
            con.execute(
                """
                insert into stages (run_id, round, stage, status, config_hash, started_at, finished_at, wall_s)
                values (?, ?, ?, 'done', ?, ?, ?, ?)
                on conflict (run_id, round, stage) do update set status = 'done',
                    config_hash = excluded.config_hash, finished_at = excluded.finished_at,
                    wall_s = excluded.wall_s, error = null,
                    started_at = coalesce(stages.started_at, excluded.started_at)
                """,
                [run_id, round_, stage, config_hash, now, now, wall_s],
            )
            status = "done" if finishes_round else "running"
            con.execute(
                """
                insert into rounds (run_id, round, status, started_at, finished_at) values (?, ?, ?, ?, ?)
                on conflict (run_id, round) do update set status = excluded.status,
                    finished_at = excluded.finished_at
                """,
                [run_id, round_, status, now, now if finishes_round else None],
            )

        self._write(fn)

    def stages(self, run_id: str) -> list[dict]:
        return self._query(
            "select round, stage, status, config_hash, started_at, finished_at, wall_s, error "
            "from stages where run_id = ? order by round, started_at nulls last",
            [run_id],
        )

    def rounds(self, run_id: str) -> list[dict]:
        return self._query("select * from rounds where run_id = ? order by round", [run_id])

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

    # -- checkpoints and lineage ---------------------------------------------------------------------------
    def record_checkpoint(
        self, run_id: str, round_: int, stage: str, path: str | Path, parent_id: str | None
    ) -> str:
        """Record a checkpoint outside a stage record (bootstrap base, branch point); idempotent per id."""
        cid = checkpoint_id(run_id, round_)

        def fn(con: duckdb.DuckDBPyConnection) -> None:
            con.execute("delete from checkpoints where checkpoint_id = ?", [cid])
            con.execute(
                """
                insert into checkpoints (checkpoint_id, run_id, round, stage, path, parent_id, status, created_at)
                values (?, ?, ?, ?, ?, ?, 'done', ?)
                """,
                [cid, run_id, round_, stage, str(path), parent_id, _now()],
            )

        self._write(fn)
        return cid

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

    def branch(
        self, new_run_id: str, from_run: str, from_round: int, config_hash: str, config_json: str
    ) -> str:
        """Start run `new_run_id` from the checkpoint of (from_run, from_round); return the new checkpoint id."""
        source = self.checkpoint(from_run, from_round)
        if source is None:
            raise StoreError(
                f"cannot branch: run {from_run!r} has no finished checkpoint at round {from_round}"
            )
        if self.has_run(new_run_id):
            raise StoreError(f"cannot branch into {new_run_id!r}: that run already exists")
        supervised = bool(self.get_run(from_run)["supervised"])
        cid = checkpoint_id(new_run_id, from_round)

        def fn(con: duckdb.DuckDBPyConnection) -> None:
            now = _now()
            con.execute(
                """
                insert into runs (run_id, created_at, config_hash, config_json, parent_run_id, parent_round, supervised)
                values (?, ?, ?, ?, ?, ?, ?)
                """,
                [new_run_id, now, config_hash, config_json, from_run, from_round, supervised],
            )
            con.execute(
                """
                insert into checkpoints (checkpoint_id, run_id, round, stage, path, parent_id, status, created_at)
                values (?, ?, ?, 'branch', ?, ?, 'done', ?)
                """,
                [cid, new_run_id, from_round, source["path"], source["checkpoint_id"], now],
            )
            con.execute(
                "insert into rounds (run_id, round, status, started_at, finished_at) values (?, ?, 'done', ?, ?)",
                [new_run_id, from_round, now, now],
            )

        self._write(fn)
        return cid

    # -- reads for reports ---------------------------------------------------------------------------------
    def metrics(self, run_id: str) -> list[dict]:
        return self._query(
            "select round, stage, benchmark, metric, value, n from metrics where run_id = ? "
            "order by round, benchmark, metric",
            [run_id],
        )

    def items(self, run_id: str, round_: int | None = None, stage: str | None = None) -> list[dict]:
        return self._query(
            """
            select * from items where run_id = ? and (? is null or round = ?) and (? is null or stage = ?)
            order by round, stage, item_id
            """,
            [run_id, round_, round_, stage, stage],
        )

    def pseudo_labels(self, run_id: str, round_: int) -> list[dict]:
        return self._query(
            "select * from pseudo_labels where run_id = ? and round = ? order by item_id", [run_id, round_]
        )

    def rejected(self, run_id: str) -> list[dict]:
        return self._query(
            "select round, stage, item_id, reason from rejected_items where run_id = ? order by round, item_id",
            [run_id],
        )

    def sample_files(self, run_id: str, round_: int) -> list[dict]:
        return self._query(
            "select * from samples where run_id = ? and round = ? order by path", [run_id, round_]
        )

    def synthesis(self, run_id: str, round_: int | None = None) -> list[dict]:
        """Every synthesis candidate with its provenance and filter outcome."""
        return self._query(
            "select * from synthesis where run_id = ? and (? is null or round = ?) order by round, candidate_idx",
            [run_id, round_, round_],
        )

    def count_rows(self, table: str, run_id: str | None = None) -> int:
        """Rows of one table for a run (all runs when run_id is None)."""
        if table not in (*STAGE_TABLES, "stages", "rounds", "checkpoints"):
            raise ValueError(f"unknown table {table!r}")
        sql = f"select count(*) as n from {table} where ? is null or run_id = ?"
        return self._query(sql, [run_id, run_id])[0]["n"]


def checkpoint_id(run_id: str, round_: int) -> str:
    return f"{run_id}/r{round_}"
