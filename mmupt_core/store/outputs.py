"""Reads of what the stages produced: the pool's items, rejected rows, synthesis candidates, sample files,
pseudo-labels and metrics."""

from __future__ import annotations

from mmupt_core.store.connection import Connection


class Items(Connection):
    """The pool: registered and synthetic items, the rows rejected with a reason, synthesis candidates."""

    def items(self, run_id: str, round_: int | None = None, stage: str | None = None) -> list[dict]:
        return self._query(
            """
            select * from items where run_id = ? and (? is null or round = ?) and (? is null or stage = ?)
            order by round, stage, item_id
            """,
            [run_id, round_, round_, stage, stage],
        )

    def rejected(self, run_id: str) -> list[dict]:
        return self._query(
            "select round, stage, item_id, reason from rejected_items where run_id = ? order by round, item_id",
            [run_id],
        )

    def synthesis(self, run_id: str, round_: int | None = None) -> list[dict]:
        """Every synthesis candidate with its provenance and filter outcome."""
        return self._query(
            "select * from synthesis where run_id = ? and (? is null or round = ?) order by round, candidate_idx",
            [run_id, round_, round_],
        )


class Samples(Connection):
    """A round's samples (Parquet files, by path) and the pseudo-labels voted from them."""

    def sample_files(self, run_id: str, round_: int) -> list[dict]:
        return self._query(
            "select * from samples where run_id = ? and round = ? order by path", [run_id, round_]
        )

    def pseudo_labels(self, run_id: str, round_: int) -> list[dict]:
        return self._query(
            "select * from pseudo_labels where run_id = ? and round = ? order by item_id", [run_id, round_]
        )


class Metrics(Connection):
    """(run, round, benchmark, metric) -> value, n."""

    def metrics(self, run_id: str) -> list[dict]:
        return self._query(
            "select round, stage, benchmark, metric, value, n from metrics where run_id = ? "
            "order by round, benchmark, metric",
            [run_id],
        )
