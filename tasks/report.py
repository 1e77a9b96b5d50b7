"""Tasks that publish what the store holds to the Prefect UI as artifacts."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_image_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from mmupt_core.config import RunConfig
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.runner import announce_round
from mmupt_core.view.report import artifact_key, data_uri, round_rows, rounds_png, summary_markdown


@task(name="round-artifact", cache_policy=NO_CACHE)
def round_artifact(config: RunConfig, run_id: str, round_: int) -> None:
    """A table artifact for one round beside the base: accuracy and its change, agreement, pseudo-labels."""
    rows = [
        r
        for r in round_rows(Context(config, run_id, round_).store, run_id)
        if r["round"] in ("0", str(round_))
    ]
    create_table_artifact(
        table=rows, key=artifact_key(run_id, f"round-{round_}"), description=f"{run_id}: round {round_}"
    )


@task(name="summary-artifact", cache_policy=NO_CACHE)
def summary_artifact(config: RunConfig, run_id: str) -> str:
    """The verdict and the compact table of every round (round 0 = the base), for the parent flow run."""
    ctx = Context(config, run_id, 0)
    text = summary_markdown(ctx.store, run_id)
    create_markdown_artifact(
        markdown=text, key=artifact_key(run_id, "summary"), description=f"{run_id}: summary"
    )
    png = rounds_png(ctx.store, run_id, ctx.dir / "report")
    create_image_artifact(
        image_url=data_uri(png),
        key=artifact_key(run_id, "curves"),
        description=f"{run_id}: accuracy and agreement",
    )
    return text


@task(name="announce", cache_policy=NO_CACHE)
def announce(config: RunConfig, run_id: str, round_: int) -> None:
    """The finished round's line (round 0: the probe's verdict too) for the terminal view."""
    announce_round(Context(config, run_id, round_))
