"""Progress events for whoever watches a run (the terminal view in live.py), carried by `logging`.

Stages and long loops announce what they do on the `mmupt_core.events` logger: a record whose `event` attribute
is a dict with a `kind` ("stage_start", "progress", "stage_end", "round_end", "note") and its data. Nothing is
printed unless a handler is attached; the logger does not propagate, so these records stay out of the run's log
lines and Prefect's.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "mmupt_core.events"
_log = logging.getLogger(LOGGER_NAME)
_log.propagate = False
_log.setLevel(logging.DEBUG)


def emit(kind: str, **data) -> None:
    if _log.handlers:
        _log.debug(kind, extra={"event": {"kind": kind, **data}})


def progress(done: int, total: int, unit: str) -> None:
    """`done` of `total` units (samples, steps) of the stage that is running."""
    emit("progress", done=done, total=total, unit=unit)
