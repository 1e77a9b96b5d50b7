"""Thin Prefect tasks, one per core stage. Each passes references (run id, round) and returns the stage name
and whether it ran; the work and its records live in mmupt_core.rounds.stages. Resume state comes from our store, so
Prefect's own result caching is off (its default key contains the flow-run id)."""

from __future__ import annotations

import os

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from mmupt_core.config import RunConfig
from mmupt_core.rounds import STAGE_FUNCTIONS, Context, driver, run_stage


def _gpu_tags() -> list[str]:
    """The heavy stages take a slot of the `gpu` concurrency limit where there is something to share: a Prefect
    server (PREFECT_API_URL: `make run`, work pools) or a CUDA device. A local CPU run skips the tag, whose slot
    calls cost about 0.15 s a task with nothing to coordinate (bench/results/orchestration.md)."""
    import torch

    return ["gpu"] if os.environ.get("PREFECT_API_URL") or torch.cuda.is_available() else []


GPU = _gpu_tags()


def _run(config: RunConfig, run_id: str, round_: int, stage: str) -> dict:
    ran = run_stage(Context(config, run_id, round_), stage, STAGE_FUNCTIONS[stage])
    get_run_logger().info(
        "%s round %d %s: %s", run_id, round_, stage, "done" if ran else "already done, skipped"
    )
    return {"stage": stage, "round": round_, "ran": ran}


@task(name="prepare", cache_policy=NO_CACHE)
def prepare(
    config: RunConfig, run_id: str, from_run: str | None, from_round: int | None, source: str | None
) -> int:
    """Create, reopen or branch the run; returns the first UPT round to run."""
    return driver.prepare_run(config, run_id, from_run, from_round, source)


@task(name="bootstrap", cache_policy=NO_CACHE, tags=GPU)
def bootstrap(config: RunConfig, run_id: str) -> dict:
    """Round 0: the base checkpoint (first SFT of the tiny model, cached)."""
    return _run(config, run_id, 0, "bootstrap")


@task(name="load", cache_policy=NO_CACHE, retries=1)
def load(config: RunConfig, run_id: str) -> dict:
    """Round 0: register the unlabeled pool, rejecting unusable items with a reason."""
    return _run(config, run_id, 0, "load")


@task(name="probe", cache_policy=NO_CACHE, tags=GPU)
def probe(config: RunConfig, run_id: str) -> dict:
    """Round 0: the label-free probe of the base on the unlabeled pool."""
    return _run(config, run_id, 0, "probe")


@task(name="synthesize", cache_policy=NO_CACHE, tags=GPU)
def synthesize(config: RunConfig, run_id: str, round_: int) -> dict:
    """The model writes new questions about the pool's images; filtered, with provenance (off: no-op)."""
    return _run(config, run_id, round_, "synthesize")


@task(name="sample", cache_policy=NO_CACHE, tags=GPU)
def sample(config: RunConfig, run_id: str, round_: int) -> dict:
    """Draw n answers per pool item; writes the round's samples Parquet."""
    return _run(config, run_id, round_, "sample")


@task(name="vote", cache_policy=NO_CACHE, retries=1)
def vote(config: RunConfig, run_id: str, round_: int) -> dict:
    """Majority vote per item into pseudo-labels, with the agreement filters."""
    return _run(config, run_id, round_, "vote")


@task(name="train", cache_policy=NO_CACHE, tags=GPU)
def train(config: RunConfig, run_id: str, round_: int) -> dict:
    """GRPO update through TRL on the accepted items; records the new checkpoint."""
    return _run(config, run_id, round_, "train")


@task(name="evaluate", cache_policy=NO_CACHE, tags=GPU)
def evaluate(config: RunConfig, run_id: str, round_: int) -> dict:
    """Score the round's checkpoint (round 0: the base) on the held-out benchmarks."""
    return _run(config, run_id, round_, "evaluate")


@task(name="record", cache_policy=NO_CACHE, retries=1)
def record(config: RunConfig, run_id: str, round_: int) -> dict:
    """Close the round with label-free stopping signals."""
    return _run(config, run_id, round_, "record")


@task(name="should-stop", cache_policy=NO_CACHE)
def should_stop(config: RunConfig, run_id: str, round_: int) -> bool:
    """True when early_stop is on and the round's label-free stopping signal fired."""
    return driver.should_stop(config, run_id, round_)


@task(name="consolidation-guard", cache_policy=NO_CACHE)
def consolidation_stop(config: RunConfig, run_id: str, round_: int) -> str | None:
    """Label-free: why this round must not train (its votes show the last update lowered agreement), or None."""
    from mmupt_core.rounds.guard import consolidation_stop as check

    reason = check(config, run_id, round_)
    if reason:
        get_run_logger().warning("%s: %s", run_id, reason)
    return reason
