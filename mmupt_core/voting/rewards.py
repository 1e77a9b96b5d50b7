"""TRL reward functions: `fn(completions, **dataset_columns, **kwargs) -> list[float | None]`.

Each function's __name__ is the metric name TRL logs. Parameterised rewards are small factories; `REWARDS` is an
explicit registry. None of these raise on an unparseable completion: it simply earns 0.

- majority_vote_reward: the paper's online reward. Completions are grouped by `item_id` (never by position in
  the batch); within each group the majority answer is the pseudo-label, and a completion earns 1 if its answer
  is equivalent to it. A group with no label (all unparseable, or a tie under tie_break="none"), or whose
  agreement is below min_agreement, earns 0 everywhere: no pseudo-label, no gradient.
  Under several processes TRL computes rewards per process, and a group can straddle ranks (whenever the
  micro-batch is not a multiple of num_generations, as in the 7B configs: 8 and 10), so every rank's
  (item_id, answer) pairs are gathered first and each group is voted whole (`_all_ranks`).
- pseudo_label_reward: agreement with the round's `pseudo_label` column, voted offline in the vote stage.
- ground_truth_reward: agreement with `answer`; an oracle for comparison runs only (config reward: ground_truth,
  and the store marks such runs supervised).
- random_reward: a fair coin per completion, whatever it says: the control that tells a gain from majority
  voting apart from a gain any perturbation of GRPO would give ("Spurious Rewards", arXiv 2506.10947).
"""

from __future__ import annotations

import logging
import os
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from mmupt_core.voting.answers import equivalent, extract_answer
from mmupt_core.voting.vote import vote

log = logging.getLogger(__name__)
RewardFn = Callable[..., list[float | None]]


def completion_text(completion: Any) -> str:
    """TRL passes conversational completions as [{'role': 'assistant', 'content': ...}], plain ones as str."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        content = completion[-1].get("content", "")
        if isinstance(content, list):
            return "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return str(content)
    return ""


def _answers(completions: list[Any]) -> list[str | None]:
    return [extract_answer(completion_text(c)) for c in completions]


def _agreement_reward(answers: list[str | None], targets: list[str | None]) -> list[float | None]:
    return [1.0 if t is not None and equivalent(a, t) else 0.0 for a, t in zip(answers, targets, strict=True)]


def _all_ranks(pairs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Every process's (item_id, answer) pairs, where a process group is running; else this process's own.
    TRL calls the reward functions on every rank at the same point of each generation batch, so the collective
    call lines up."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return pairs
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, pairs)
    return [pair for part in gathered for pair in part]


def make_majority_vote_reward(tie_break: str = "none", min_agreement: float = 0.0) -> RewardFn:
    def majority_vote_reward(completions: list[Any], item_id: list[str], **kwargs: Any) -> list[float | None]:
        answers = _answers(completions)
        groups: dict[str, list[str | None]] = defaultdict(list)
        for key, answer in _all_ranks(list(zip(item_id, answers, strict=True))):
            groups[key].append(answer)
        labels: dict[str, str | None] = {}
        for key, members in groups.items():
            v = vote(members, tie_break=tie_break)  # type: ignore[arg-type]
            labels[key] = v.label if v.label is not None and v.agreement >= min_agreement else None
        return _agreement_reward(answers, [labels[key] for key in item_id])

    return majority_vote_reward


def pseudo_label_reward(
    completions: list[Any], pseudo_label: list[str | None], **kwargs: Any
) -> list[float | None]:
    return _agreement_reward(_answers(completions), list(pseudo_label))


def ground_truth_reward(
    completions: list[Any], answer: list[str | None], **kwargs: Any
) -> list[float | None]:
    from mmupt_core.voting.answers import normalize

    return _agreement_reward(_answers(completions), [normalize(a) if a is not None else None for a in answer])


def make_random_reward(seed: int = 0) -> RewardFn:
    """A fair coin per completion from its own seeded stream (the same seed gives the same coins). Each
    process of a multi-process run draws from its own stream, or all ranks would flip the same coins."""
    rng = random.Random(seed * 1000 + int(os.environ.get("RANK", "0")))

    def random_reward(completions: list[Any], **kwargs: Any) -> list[float | None]:
        return [float(rng.random() < 0.5) for _ in completions]

    return random_reward


REWARDS: dict[str, Callable[..., RewardFn]] = {
    "majority_vote": lambda tie_break, min_agreement, **_: make_majority_vote_reward(
        tie_break, min_agreement
    ),
    "pseudo_label": lambda **_: pseudo_label_reward,
    "ground_truth": lambda **_: ground_truth_reward,
    "random": lambda seed, **_: make_random_reward(seed),
}


def reward_for(name: str, *, tie_break: str = "none", min_agreement: float = 0.0, seed: int = 0) -> RewardFn:
    """The reward function for the config's `training.reward` (seed: the random control's coins)."""
    if name not in REWARDS:
        raise ValueError(f"unknown reward {name!r}; expected one of {sorted(REWARDS)}")
    return REWARDS[name](tie_break=tie_break, min_agreement=min_agreement, seed=seed)
