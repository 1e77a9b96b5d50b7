"""The self-consistency chain, measured link by link (bench/bootstrap.py reports it per world design).

Majority voting can only teach what the majority knows better than greedy decoding. Each link bounds the next:
1. ideal gap of the world: an ideal route executor answers every route with that route's own true answer;
   maj@k over routes sampled with the SFT route prior (ties give no label) minus the greedy route;
2. perception: the base on a clean control (no noise), per question type;
3. route fidelity: a forced route ("Panel C:") answers with that route's own truth; wrong routes disagree;
4. learned gap: maj@k - greedy of the base on the pool;
5. training signal: the mean GRPO advantage of each route under the online majority reward, from the base's
   own samples (label-free). The route greedy decoding takes must come out negative, or UPT has no reason to
   leave it.
"""

from __future__ import annotations

import random
import re
import statistics
from collections import defaultdict
from collections.abc import Sequence

from mmupt_core.data.items import Item
from mmupt_core.model.sampling import Request, Sampler, SamplingParams
from mmupt_core.voting.advantages import grpo_advantages
from mmupt_core.voting.answers import extract_answer
from mmupt_core.voting.vote import vote

_ROUTE = re.compile(r"^\s*(Panel|View) ([A-H]):")


def route_of(text: str) -> str | None:
    """The route a completion took ("Panel C"), or None when it names none."""
    m = _ROUTE.match(text)
    return f"{m.group(1)} {m.group(2)}" if m else None


def ideal_gap(
    route_answers: Sequence[Sequence[str]],
    truths: Sequence[str],
    weights: Sequence[Sequence[float]],
    k: int,
    tie_break: str = "none",
    repeats: int = 20,
    seed: int = 0,
) -> dict[str, float]:
    """Link 1, from the generator alone: greedy takes the most likely route; maj@k votes over k routes drawn
    with the route prior (a tie gives no label, which counts as wrong), averaged over `repeats` draws. Weights
    are per item (a prior that leans away from an item's framed panel differs by item)."""
    rng = random.Random(seed)
    data = list(zip(route_answers, truths, weights, strict=True))
    greedy = sum(ra[max(range(len(w)), key=lambda v, w=w: w[v])] == t for ra, t, w in data) / len(truths)
    hits = 0
    for _ in range(repeats):
        for ra, t, w in data:
            votes = [ra[v] for v in rng.choices(range(len(w)), weights=w, k=k)]
            hits += vote(votes, tie_break=tie_break).label == t
    maj = hits / (repeats * len(truths))
    return {"greedy": greedy, f"maj@{k}": maj, "gap": maj - greedy}


def route_advantages(
    groups: Sequence[Sequence[tuple[str | None, str | None]]], tie_break: str = "none"
) -> dict[str, dict[str, float]]:
    """Link 5: per route, the mean GRPO advantage (r - group mean) / (group std + 1e-4) under the online
    majority reward, over groups of (route, answer) samples of one question each."""
    total: dict[str, list[float]] = defaultdict(list)
    for group in groups:
        label = vote([a for _, a in group], tie_break=tie_break).label
        rewards = [1.0 if label is not None and a == label else 0.0 for _, a in group]
        for (route, _), adv in zip(group, grpo_advantages(rewards), strict=True):
            total[route or "none"].append(adv)
    return {
        route: {"advantage": statistics.fmean(v), "share": len(v) / sum(len(x) for x in total.values())}
        for route, v in sorted(total.items())
    }


def forced_routes(
    sampler: Sampler,
    items: Sequence[Item],
    requests: Sequence[Request],
    prefixes: Sequence[str],
    route_answers: dict[str, Sequence[str]],
    truths: dict[str, str],
    max_tokens: int,
) -> dict:
    """Link 3: force each route by prefilling its first words; how often it answers with its own route's truth,
    and, where two or more routes are wrong, how often the wrong ones agree."""
    from dataclasses import replace

    got: dict[str, list[str | None]] = {}
    for prefix in prefixes:
        forced = [replace(r, prefill=prefix) for r in requests]
        sets = sampler.sample(forced, SamplingParams(max_tokens=max_tokens))
        got[prefix] = [
            extract_answer(s.completions[0].text, it.choices) for s, it in zip(sets, items, strict=True)
        ]
    fidelity = {
        prefix: sum(a == route_answers[it.item_id][v] for a, it in zip(got[prefix], items, strict=True))
        / len(items)
        for v, prefix in enumerate(prefixes)
    }
    multi = agree = 0
    for i, it in enumerate(items):
        wrong = [got[p][i] for p in prefixes if got[p][i] != truths[it.item_id]]
        if len(wrong) >= 2:
            multi += 1
            agree += len(set(wrong)) == 1
    return {
        "fidelity": fidelity,
        "fidelity_mean": statistics.fmean(fidelity.values()),
        "items_with_2plus_wrong_routes": multi,
        "wrong_routes_agree": agree / multi if multi else None,
    }


def frame_located(sampler, items, metas: dict[str, dict], image_first: bool) -> float:
    """Share of items (framed scenes) where greedy "Which panel is framed?" names the framed panel: whether the
    model can see the cue at all (chance is 1 / panels)."""
    from PIL import Image

    from mmupt_core.model.sampling import Request, SamplingParams
    from mmupt_core.prompts import text_messages
    from mmupt_core.world.panels import FRAME_PROMPT, frame_example

    reqs = [
        Request(it.item_id, Image.open(it.image).convert("RGB"), text_messages(FRAME_PROMPT, image_first))
        for it in items
    ]
    sets = sampler.sample(reqs, SamplingParams(max_tokens=6))
    hits = [
        s.completions[0].text.strip() == frame_example(metas[it.item_id])[1]
        for s, it in zip(sets, items, strict=True)
    ]
    return sum(hits) / len(hits)
