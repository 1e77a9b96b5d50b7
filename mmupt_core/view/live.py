"""The terminal view of a run: one live progress view on a terminal, plain lines elsewhere (CI, a pipe).

`watch_run` puts everything the libraries print (TRL's step dicts, loading bars, Prefect's task lines, warnings)
into the run's log file by pointing the process's stdout and stderr there, and draws the view on the real
terminal from the progress events of events.py: run, round k of N, the stage running, a bar with what is done
and the rate, and a line per finished round. `verbose=True` leaves the output alone.

    with watch_run(run_id, rounds, log_path) as view:
        ...            # run the rounds
        view.finish(rows, verdict)
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from mmupt_core.events import LOGGER_NAME

STAGE_WORDS = {
    "bootstrap": "first SFT of the base",
    "load": "registering the pool",
    "probe": "label-free probe",
    "synthesize": "writing questions",
    "sample": "sampling answers",
    "vote": "voting",
    "train": "GRPO update",
    "evaluate": "evaluating",
    "record": "recording",
}


def round_line(s) -> str:
    """One line per finished round (a summary.RoundSummary)."""
    if s.round == 0:
        head = "round 0 (base)"
    else:
        head = f"round {s.round}"
    parts = [head + ":"]
    if s.greedy is not None:
        delta = f" ({s.delta:+.3f})" if s.delta is not None and s.round > 0 else ""
        parts.append(f"greedy {s.greedy:.3f}{delta}")
    if s.maj is not None:
        parts.append(f"maj@{s.k} {s.maj:.3f}")
    if s.agreement is not None:
        parts.append(f"agreement {s.agreement:.2f}")
    if s.accepted is not None and s.pool:
        parts.append(f"pseudo-labelled {s.accepted}/{s.pool}")
    if s.pseudo_label_acc is not None:
        parts.append(f"({100 * s.pseudo_label_acc:.0f}% right)")
    if s.wall_s is not None:
        parts.append(f"{s.wall_s:.0f} s")
    return " ".join(parts)


def final_table(rows: list[dict[str, str]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1), collapse_padding=True)
    for col in rows[0] if rows else []:
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(*r.values())
    return table


def progress_bar(console: Console) -> Progress:
    """The live bar: where the run is, the bar, done/total, the rate and the time. When the terminal is narrow
    the description gives way first (cut with an ellipsis); the counts and the rate are never cut."""
    return Progress(
        TextColumn("{task.description}", table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
        BarColumn(bar_width=12),
        MofNCompleteColumn(table_column=Column(no_wrap=True, min_width=9)),
        TextColumn("{task.fields[rate]}", table_column=Column(no_wrap=True, min_width=14)),
        TimeElapsedColumn(table_column=Column(no_wrap=True, min_width=7)),
        console=console,
        transient=True,
        redirect_stdout=False,  # what libraries print goes to the log file, not above the bar
        redirect_stderr=False,
    )


class RunView(logging.Handler):
    """Draws the events of one run; `plain` prints one line per stage instead of a live bar."""

    def __init__(self, console: Console, run_id: str, rounds: int, plain: bool):
        super().__init__(level=logging.DEBUG)
        self.console, self.run_id, self.rounds, self.plain = console, run_id, rounds, plain
        self.progress = None
        self.task = None
        self.first: tuple[float, int] | None = None  # (time, done) of the stage's first progress event
        if not plain:
            self.progress = progress_bar(console)

    def start(self) -> None:
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task("starting", total=None, rate="")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()

    def print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "event", None)
        if not event:
            return
        kind = event["kind"]
        if kind == "stage_start":
            self.first = None
            if self.progress is not None:
                # The run's name heads the view already; the bar says where in the run it is.
                where = "setup" if event["round"] == 0 else f"round {event['round']}/{self.rounds}"
                words = STAGE_WORDS.get(event["stage"], event["stage"])
                self.progress.reset(self.task, total=None, description=f"{where} · {words}", rate="")
        elif kind == "progress" and self.progress is not None:
            # The rate counts from the first progress event: a stage's set-up (loading a model, encoding the
            # first SFT's examples) is not part of it.
            now = time.perf_counter()
            if self.first is None:
                self.first = (now, event["done"])
            done = event["done"] - self.first[1]
            rate = f"{done / (now - self.first[0]):.1f} {event['unit']}/s" if done > 0 else ""
            self.progress.update(self.task, completed=event["done"], total=event["total"], rate=rate)
        elif kind == "stage_end" and self.plain:
            how = f"{event['wall_s']:.1f} s" if event["ran"] else "already done"
            self.print(f"{event['run_id']} round {event['round']} {event['stage']}: {how}")
        elif kind == "round_end":
            self.print(round_line(event["summary"]))
        elif kind == "note":
            for line in event["lines"]:
                self.print(line)

    def finish(self, rows: list[dict[str, str]], verdict: str, log_path: Path | None) -> None:
        self.stop()
        if rows:
            self.console.print(final_table(rows))
        self.print(verdict)
        if log_path is not None:
            self.print(f"log: {log_path}")


@contextlib.contextmanager
def watch_run(run_id: str, rounds: int, log_path: Path | None, verbose: bool = False) -> Iterator[RunView]:
    """The view of a run on this process's terminal; the rest of the output goes to `log_path`."""
    events = logging.getLogger(LOGGER_NAME)
    if verbose or log_path is None:
        view = RunView(Console(), run_id, rounds, plain=True)
        events.addHandler(view)
        try:
            yield view
        finally:
            events.removeHandler(view)
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    tty = terminal.isatty()
    console = Console(file=terminal, width=None if tty else 120)  # a pipe gets the whole table, unwrapped
    view = RunView(console, run_id, rounds, plain=not tty)
    with open(log_path, "a", buffering=1) as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        events.addHandler(view)
        view.print(f"{run_id}: {rounds} round(s); details in {log_path}")
        view.start()
        failed = True
        try:
            yield view
            failed = False
        finally:
            view.stop()
            events.removeHandler(view)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            # On success stderr stays with the log: Prefect's ephemeral server logs its shutdown at exit.
            # On a failure the traceback must reach the terminal.
            if failed:
                os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
    terminal.flush()


def run_watched(config, args, run: Callable[[], object]) -> None:
    """Run the rounds under the view (args: run, rounds, verbose), then the final table and the verdict."""
    from mmupt_core.paths import run_dir, store_path
    from mmupt_core.store.db import Store
    from mmupt_core.view.summary import compact_rows, round_summaries, verdict

    try:
        log_path = run_dir(config, args.run) / "run.log"
    except ValueError:  # a bad run id: the run itself refuses it, with the reason, before any work
        log_path = None
    with watch_run(args.run, args.rounds, log_path, args.verbose) as view:
        run()
    store = Store(
        store_path(config), retries=config.store.lock_retries, backoff_s=config.store.lock_backoff_s
    )
    summaries = round_summaries(store, args.run)
    supervised = bool(store.get_run(args.run)["supervised"])
    view.finish(compact_rows(summaries), verdict(summaries, supervised), log_path)
