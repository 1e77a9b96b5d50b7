"""Runs (each with its resolved config and, for a branch, its parent round) and their rounds' status."""

from __future__ import annotations

import duckdb

from mmupt_core.store.checkpoints import Checkpoints, insert_checkpoint
from mmupt_core.store.connection import StoreError, now


class Runs(Checkpoints):
    """Runs, their rounds, and branches (a new run whose first checkpoint is another run's round)."""

    def ensure_run(
        self,
        run_id: str,
        config_hash: str,
        config_json: str,
        *,
        supervised: bool = False,
        config_source: str | None = None,
    ) -> dict:
        """Create the run if new; return its row. An existing run keeps its creation time and lineage.
        config_json is the resolved config; config_source names the file and overrides it came from."""

        def fn(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(
                """
                insert into runs (run_id, created_at, config_hash, config_json, supervised, config_source)
                values (?, ?, ?, ?, ?, ?)
                on conflict (run_id) do update set config_hash = excluded.config_hash,
                    config_json = excluded.config_json, supervised = excluded.supervised,
                    config_source = coalesce(excluded.config_source, runs.config_source)
                """,
                [run_id, now(), config_hash, config_json, supervised, config_source],
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
            -- r.*: a store written before config_source existed is still readable read-only
            select r.* exclude (config_hash, config_json), l.last_done_round, l.last_finished
            from runs r left join last_round l using (run_id)
            order by r.created_at
            """
        )

    def rounds(self, run_id: str) -> list[dict]:
        return self._query("select * from rounds where run_id = ? order by round", [run_id])

    def branch(
        self,
        new_run_id: str,
        from_run: str,
        from_round: int,
        config_hash: str,
        config_json: str,
        config_source: str | None = None,
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

        def fn(con: duckdb.DuckDBPyConnection) -> str:
            t = now()
            con.execute(
                """
                insert into runs (run_id, created_at, config_hash, config_json, parent_run_id, parent_round,
                                  supervised, config_source)
                values (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [new_run_id, t, config_hash, config_json, from_run, from_round, supervised, config_source],
            )
            cid = insert_checkpoint(
                con, new_run_id, from_round, "branch", source["path"], source["checkpoint_id"]
            )
            con.execute(
                "insert into rounds (run_id, round, status, started_at, finished_at) values (?, ?, 'done', ?, ?)",
                [new_run_id, from_round, t, t],
            )
            return cid

        return self._write(fn)
