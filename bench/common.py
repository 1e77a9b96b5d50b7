"""What the UPT benches share: run some rounds of a config and collect its metrics per round; format a share."""

from __future__ import annotations

import time

from mmupt_core.config import RunConfig
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import run_rounds


def run_and_collect(cfg: RunConfig, rounds: int, run_id: str, benchmarks: tuple[str, ...]):
    """(wall seconds, {round: {"benchmark.metric": value}}, store) after running `rounds` rounds."""
    import torch

    torch.set_num_threads(cfg.model.threads)
    start = time.perf_counter()
    run_rounds(cfg, rounds, run_id)
    wall = time.perf_counter() - start
    store = Context(cfg, run_id, 0).store
    per_round: dict[int, dict[str, float]] = {}
    for m in store.metrics(run_id):
        if m["benchmark"] in benchmarks:
            per_round.setdefault(m["round"], {})[f"{m['benchmark']}.{m['metric']}"] = m["value"]
    return wall, per_round, store


def fmt(v: float | None) -> str:
    """A share to 3 places, or '-' where there was nothing to measure."""
    return "-" if v is None else f"{v:.3f}"
