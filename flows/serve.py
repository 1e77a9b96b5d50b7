"""Serve the `improve` flow as the local deployment 'improve/local' (one run at a time).

make server   # prefect server on 127.0.0.1:4200, with the `gpu` concurrency limit
make serve    # this process: polls the server and runs deployment runs
make run N=3  # prefect deployment run 'improve/local' -p rounds=3
"""

from __future__ import annotations

from flows.improve import DEFAULT_CONFIG, improve

if __name__ == "__main__":
    # limit=1: rounds of one run share a model on one machine; concurrent runs would fight for it.
    # Any config file and overrides can be passed per run: -p config=... -p overrides='["sampling.n=16"]'.
    improve.serve(
        name="local",
        limit=1,
        parameters={"config": DEFAULT_CONFIG, "overrides": [], "rounds": 3, "run_id": "default"},
    )
