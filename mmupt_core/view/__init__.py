"""What a person sees of a run, read from the store.

- summary: one `RoundSummary` a round (round 0 = the base), the compact table and the verdict in words
- choice: which checkpoint a run delivers (`mmupt checkpoint RUN`): its last, or the dev set's best round where
  the labelled dev guard stopped it
- live: the terminal view of a running job (rich on a terminal, plain lines on a pipe)
- report: the HTML report with its plots, and the Prefect artifacts' text
"""

from mmupt_core.view.live import run_watched
from mmupt_core.view.report import write_report
from mmupt_core.view.summary import RoundSummary, round_summaries, verdict

__all__ = ["RoundSummary", "round_summaries", "run_watched", "verdict", "write_report"]
