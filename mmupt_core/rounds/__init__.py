"""The rounds: the only part that knows the order of stages.

- context: `Context` (config, run, round; the run's store and folders), what every stage receives
- stages: one plain function per stage, (context) -> StageRecord: bootstrap, load, probe (round 0);
  synthesize, sample, vote, train, evaluate, record (each round)
- runner: `run_stage` (skip if done under the same config hash, else run and record atomically)
- driver: `run_rounds`, the one round driver the Prefect flow and the plain runner share
- pool: the round's items from the store; synthesis: the model's own questions; probe: what voting can
  teach, before round 1; diagnostics: agreement and stopping signals; preflight, runlock: run-level guards
"""

from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import prepare_run, run_rounds
from mmupt_core.rounds.runner import ROUND_STAGES, SETUP_STAGES, run_stage
from mmupt_core.rounds.stages import STAGE_FUNCTIONS

__all__ = [
    "ROUND_STAGES",
    "SETUP_STAGES",
    "STAGE_FUNCTIONS",
    "Context",
    "prepare_run",
    "run_rounds",
    "run_stage",
]
