"""The one owner of the run store's DuckDB connections.

DuckDB allows one read-write process per file, so each operation opens a short-lived connection, retries
with bounded backoff on lock errors, and closes it: that is what lets `mmupt show` read while a run writes.
Readers open `read_only=True`. Writes run inside one transaction each, rolled back on any error.
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

log = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = (Path(__file__).with_name("schema.sql")).read_text()


class StoreError(RuntimeError):
    """A store operation that cannot proceed (unknown run, bad branch point, lock held too long)."""


def now() -> datetime:
    """The store's timestamps: UTC, without a zone (DuckDB `timestamp`)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, duckdb.IOException) and ("lock" in text or "conflicting" in text)


class Connection:
    """Short-lived, retried connections to the DuckDB file at `path`; creates the schema when writable."""

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
