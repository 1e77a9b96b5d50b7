"""One round as a Prefect subflow: synthesize -> sample -> vote -> train -> evaluate -> record, then the round's
artifact (synthesize does nothing while synthesis.strategy is off)."""

from prefect import flow

from mmupt_core.config import RunConfig
from tasks import report, stages


@flow(name="round", log_prints=False)
def round_flow(config: RunConfig, run_id: str, round_: int) -> None:
    """One MM-UPT round; each stage skips itself when the store already marks it done."""
    stages.synthesize(config, run_id, round_)
    stages.sample(config, run_id, round_)
    stages.vote(config, run_id, round_)
    if stages.consolidation_stop(config, run_id, round_):
        return  # the parent flow's should_stop says why and stops the run
    stages.train(config, run_id, round_)
    stages.evaluate(config, run_id, round_)
    stages.record(config, run_id, round_)
    report.round_artifact(config, run_id, round_)
