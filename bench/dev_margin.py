"""The dev guard's delivered round with a margin (USES LABELS): should a run leave its base only where the labelled
dev set shows a gain clear of its own sampling noise (guard.dev_margin_z)?

It trains and scores nothing. It reads the per-item dev scores `bench.dev_guard score` wrote for 47 finished
bench.upt runs (every round's checkpoint on a 1000-item labelled dev pool), with each run's eval accuracy per
round, and per question type where the world asks several (`dev-guard-types.json`). It draws dev sets of each size
from that pool (with replacement, one draw per run, as a run holds one dev set) and replays the dev guard on each
draw: it stops after the first round whose overall dev greedy fell more than the line below the base's, then
delivers a round by one of the rules below. What each rule delivers is judged on the run's own 300-item eval
split, which no draw touches:
- 'best': the best round on the dev draw;
- 'per type': the best of the rounds where no question type fell past the line (the guard until 2026-12-07);
- 'margin z': of those, only rounds whose dev gain over the base is at least z standard errors
  (`mmupt_core.view.devpick.clear_gain`); z = 1.64 is the shipped default;
- 'paired z': as 'margin z', with the paired error of the per-item differences (round right, base wrong: +1; the
  reverse: -1), which would need every round's per-item dev hits in the store. It is tighter than the unpaired one,
  so it delivers more trained rounds; the replay measures whether that buys gain without the harm back.

    .venv/bin/python -m bench.dev_margin
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from pathlib import Path

import numpy as np

from bench.dev_guard import draw_greedy, stopped_after
from mmupt_core.view.devpick import best_round, best_safe_round, fallen_types

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SCORES = [
    "dev-guard-scores-framed",
    "dev-guard-scores-framed-more",
    "dev-guard-scores-views",
    "dev-guard-scores-sft1500",
    "dev-guard-scores-t2",
    "dev-guard-scores-t2-b12",
    "dev-guard-scores-w4-b1",
]
SIZES = [100, 200, 400]
LINE = 0.02
ZS = [1.0, 1.64]
PAIRED_ZS = [1.64, 2.33]
POLICIES = ["best", "per type", *(f"margin {z:g}" for z in ZS), *(f"paired {z:g}" for z in PAIRED_ZS)]
DRAWS = 2000
ROUNDS = 3
HARM = 0.02 + 1e-9  # the do-no-harm line, a hair over so that 0.02 on 300 items is not harm
GAINED = 0.05  # a run "gained" where its last round's eval greedy ends this far above its base


def paired_clear(hits: list[np.ndarray], idx: np.ndarray, round_: int, z: float) -> bool:
    """Whether round `round_` beats the base on the dev draw `idx` by at least z paired standard errors: the mean
    per-item difference over the standard error of that mean (no discordant item: no gain)."""
    base, mine = hits[0][idx], hits[round_][idx]
    won, lost = int(np.sum(mine & ~base)), int(np.sum(base & ~mine))
    n = len(idx)
    d = (won - lost) / n
    se = math.sqrt(max(0.0, (won + lost) / n - d * d) / n)
    return d > 0 and d >= z * se - 1e-9


def paired_pick(
    ran: dict[int, float],
    by_type: dict[int, dict[str, float]],
    hits: list[np.ndarray],
    idx: np.ndarray,
    z: float,
) -> int:
    """The best round on the draw among the base and the trained rounds that lost no type past the line and whose
    gain clears `paired_clear`."""
    several = len(by_type.get(0, {})) >= 2
    ok = {
        r: v
        for r, v in ran.items()
        if r == 0 or (not (several and fallen_types(by_type, r, LINE)) and paired_clear(hits, idx, r, z))
    }
    return best_round(ok)


def delivered(
    overall: dict[int, float],
    by_type: dict[int, dict[str, float]],
    n: int,
    hits: list[np.ndarray] | None = None,
    idx: np.ndarray | None = None,
) -> dict[str, int]:
    """The round the dev guard delivers on one dev draw of n items, under each rule of POLICIES (the paired ones
    only given the per-item `hits` by round and the draw's `idx`)."""
    last = stopped_after(overall, by_type, LINE, ROUNDS)
    ran = {r: overall[r] for r in range(last + 1)}
    out = {"best": best_round(ran), "per type": best_safe_round(ran, by_type, LINE)}
    for z in ZS:
        out[f"margin {z:g}"] = best_safe_round(ran, by_type, LINE, n, z)
    if hits is not None and idx is not None:
        for z in PAIRED_ZS:
            out[f"paired {z:g}"] = paired_pick(ran, by_type, hits, idx, z)
    return out


def measure(draws: int) -> list[dict]:
    by_type = {
        r["run_id"]: r["eval_by_type"]
        for r in json.loads((RESULTS / "dev-guard-types.json").read_text())["runs"]
    }
    rng, rows = random.Random(0), []
    for name in SCORES:
        for run in json.loads((RESULTS / f"{name}.json").read_text())["runs"]:
            evals = [run["eval"][str(r)]["greedy_acc"] for r in range(ROUNDS + 1)]
            types = by_type.get(run["run_id"], {})
            if run.get("types") and not types:
                raise SystemExit(f"{run['run_id']}: several question types, but no eval per type on record")
            row = {
                "run_id": run["run_id"],
                "scores": name,
                "reward": run["reward"],
                "eval_greedy": evals,
                "eval_by_type": types,
                "policies": {},
            }
            pool = len(run["dev"]["0"]["greedy"])
            hits = [np.array([c == "1" for c in run["dev"][str(r)]["greedy"]]) for r in range(ROUNDS + 1)]
            for n in SIZES:
                idx = [[rng.randrange(pool) for _ in range(n)] for _ in range(draws)]
                every = [
                    delivered(*draw_greedy(run, i, ROUNDS, run.get("types")), n, hits, np.array(i))
                    for i in idx
                ]
                for policy in POLICIES:
                    picks = [d[policy] for d in every]
                    row["policies"][f"{n}/{policy}"] = {
                        "greedy": statistics.mean(evals[r] - evals[0] for r in picks),
                        "below": sum(evals[r] - evals[0] < -HARM for r in picks) / draws,
                        "type_below": sum(any(v[r] - v[0] < -HARM for v in types.values()) for r in picks)
                        / draws,
                        "base": sum(r == 0 for r in picks) / draws,
                    }
            rows.append(row)
    return rows


def render(rows: list[dict], draws: int) -> str:
    gained = [r for r in rows if r["eval_greedy"][-1] - r["eval_greedy"][0] > GAINED]
    lost = [r for r in rows if r["eval_greedy"][-1] - r["eval_greedy"][0] < -HARM]
    typed = [r for r in rows if r["eval_by_type"]]

    def mean(group: list[dict], key: str, what: str) -> str:
        return f"{statistics.mean(r['policies'][key][what] for r in group):+.3f}"

    def share(group: list[dict], key: str, what: str) -> str:
        return f"{statistics.mean(r['policies'][key][what] for r in group):.3f}"

    lines = [
        "# The dev guard's delivered round, with a margin (USES LABELS)",
        "",
        f"Written by `bench/dev_margin.py` from the per-item dev scores of {len(rows)} finished runs (files "
        f"{', '.join(f'`{s}.json`' for s in SCORES)}); {draws} dev sets drawn per size and run, the guard's line "
        f"{LINE}. Every Δ is on the run's own 300-item eval split, from its base, at the round delivered. 'below': "
        "the share of draws delivering a round more than 2 points below base; 'type below': some question type "
        "more than 2 points below its base (runs with several types); 'on base': the base delivered.",
        "",
        f"Groups: the {len(gained)} runs whose last round gained more than {GAINED} greedy (UPT, the oracle and the "
        f"coin alike); the {len(lost)} that ended more than 2 points below base; the {len(typed)} with several "
        "question types (`framed`, `views`); all runs.",
        "",
        "| dev items | rule | gained: Δ greedy | lost: Δ greedy | lost: below | several types: type below | "
        "all: below | all: on base |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in SIZES:
        for policy in POLICIES:
            key = f"{n}/{policy}"
            lines.append(
                f"| {n} | {policy} | {mean(gained, key, 'greedy')} | {mean(lost, key, 'greedy')} | "
                f"{share(lost, key, 'below')} | {share(typed, key, 'type_below')} | {share(rows, key, 'below')} | "
                f"{share(rows, key, 'base')} |"
            )
    lines += [
        "",
        "## Per run, at 100 dev items",
        "",
        "| run | eval greedy by round | "
        + " | ".join(f"{p}: Δ / below / type below" for p in POLICIES)
        + " |",
        "|---|---|" + "---|" * len(POLICIES),
    ]
    for r in rows:
        cells = [
            f"{r['policies'][f'100/{p}']['greedy']:+.3f} / {r['policies'][f'100/{p}']['below']:.2f} / "
            + (f"{r['policies'][f'100/{p}']['type_below']:.2f}" if r["eval_by_type"] else "-")
            for p in POLICIES
        ]
        arrow = " → ".join(f"{x:.3f}" for x in r["eval_greedy"])
        lines.append(f"| {r['run_id']} | {arrow} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=DRAWS)
    ap.add_argument("--out", default="dev-margin")
    args = ap.parse_args()
    rows = measure(args.draws)
    (RESULTS / f"{args.out}.json").write_text(json.dumps({"draws": args.draws, "runs": rows}) + "\n")
    text = render(rows, args.draws)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
