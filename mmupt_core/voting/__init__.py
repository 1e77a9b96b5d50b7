"""The vote: answers out of completions, one prompt's majority, and the rewards TRL trains with.

- answers: `extract_answer` (the last \\boxed{} or a final "answer is" line), `equivalent`, `normalize`
- vote: `vote` over the answers of ONE prompt (equivalence-aware; unparseable answers do not vote), `Vote`
- rewards: TRL reward functions (`make_majority_vote_reward`, `ground_truth_reward`, `reward_for`)
- advantages: `grpo_advantages`, GRPO's group-relative advantage, for label-free diagnostics
"""

from mmupt_core.voting.advantages import grpo_advantages
from mmupt_core.voting.answers import equivalent, extract_answer, last_boxed, normalize
from mmupt_core.voting.rewards import ground_truth_reward, make_majority_vote_reward, reward_for
from mmupt_core.voting.vote import Vote, vote

__all__ = [
    "Vote",
    "equivalent",
    "extract_answer",
    "grpo_advantages",
    "ground_truth_reward",
    "last_boxed",
    "make_majority_vote_reward",
    "normalize",
    "reward_for",
    "vote",
]
