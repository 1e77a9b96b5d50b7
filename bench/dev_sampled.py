"""Should the labelled dev guard watch sampled accuracy too (guard.dev_watch_sampled)? USES LABELS.

It trains and scores nothing. It reads the per-item dev scores `bench.dev_guard score` wrote (every round's
checkpoint on a 1000-item labelled dev pool: greedy hit, sampled hits of k, per item) and draws dev sets of each
size from them, with replacement, one per run, as a run holds one dev set. On each draw it replays the shipped dev
guard (line 0.02, margin 1.64) two ways (`bench/results/dev-guard-sampled-plan.md`, fixed before this ran):
- 'greedy': as shipped until now: stop after the first round whose dev greedy fell past the line; deliver the best
  round on dev greedy of those with no question type past the line and a gain clear of the margin;
- 'greedy + sampled': also stop after a round whose dev sampled accuracy fell past the line, and deliver no round
  whose dev sampled accuracy, overall or on a question type, did.
What each delivers is judged on the run's own 300-item eval split, which no draw touches: harm is greedy or
sampled accuracy, overall or on a question type, more than 2 points below base (per-type sampled accuracy only
where the scores file records it: the probe's third set).

    .venv/bin/python -m bench.dev_sampled
"""

from __future__ import annotations

import argparse
import json
import random
import statistics

from bench.dev_guard import draw_greedy
from bench.dev_margin import DRAWS, GAINED, HARM, LINE, RESULTS, ROUNDS, SIZES
from bench.dev_margin import SCORES as EARLIER
from mmupt_core.view.devpick import Sampled, best_safe_round, fell_at

# the probe's third set, scored for this question; the runs that prompted it, so reported apart
THIRD = [
    "two-panels-noisy-favourite",
    "four-panels-even-counts",
    "direct-counts-framed",
    "seven-panels-graded",
]
Z = 1.64  # the shipped guard.dev_margin_z
POLICIES = ["greedy", "greedy + sampled"]


def draw_sampled(run: dict, idx: list[int], types: list[str] | None) -> Sampled:
    """Sampled accuracy per round on one dev draw (the mean of each item's k samples), overall and per type."""
    k = run.get("k", 8)
    digits = [run["dev"][str(r)]["sampled"] for r in range(ROUNDS + 1)]
    overall = {r: sum(int(digits[r][i]) for i in idx) / (k * len(idx)) for r in range(ROUNDS + 1)}
    by_type: dict[int, dict[str, float]] = {r: {} for r in range(ROUNDS + 1)}
    for t in sorted({types[i] for i in idx}) if types else []:
        mine = [i for i in idx if types[i] == t]
        for r in range(ROUNDS + 1):
            by_type[r][t] = sum(int(digits[r][i]) for i in mine) / (k * len(mine))
    return Sampled(overall, by_type)


def delivered(run: dict, idx: list[int]) -> dict[str, int]:
    """The round each policy delivers on one dev draw."""
    overall, by_type = draw_greedy(run, idx, ROUNDS, run.get("types"))
    sampled = draw_sampled(run, idx, run.get("types"))
    out = {}
    for policy, watch in (("greedy", None), ("greedy + sampled", sampled)):
        last = next(
            (r for r in range(1, ROUNDS + 1) if fell_at(overall, by_type, r, LINE, False, watch)), ROUNDS
        )
        ran = {r: overall[r] for r in range(last + 1)}
        out[policy] = best_safe_round(ran, by_type, LINE, len(idx), Z, watch)
    return out


def eval_by_type(run: dict) -> dict[str, dict[str, list[float]]]:
    """{"greedy" | "sampled": {type: eval accuracy by round}}: as scored (`bench.dev_guard score` records it from
    the run's store), else from dev-guard-types.json (greedy only, for runs scored before), else {}."""
    if run.get("eval_types"):
        return run["eval_types"]
    for r in json.loads((RESULTS / "dev-guard-types.json").read_text())["runs"]:
        if r["run_id"] == run["run_id"]:
            return {"greedy": r["eval_by_type"]}
    return {}


def harm_at(run: dict, r: int) -> list[str]:
    """What of the run's eval split at round r is more than 2 points below its base."""
    out = [m for m in ("greedy", "sampled") if run["eval"][m][r] - run["eval"][m][0] < -HARM]
    for m, types in run["eval_types"].items():
        out += [f"{m} {t}" for t, v in types.items() if v[r] - v[0] < -HARM]
    return out


def load() -> list[dict]:
    runs = []
    for group, names in (("earlier", [*EARLIER]), ("third set", [f"dev-guard-scores-{w}" for w in THIRD])):
        for name in names:
            path = RESULTS / f"{name}.json"
            if not path.exists():
                continue
            for run in json.loads(path.read_text())["runs"]:
                if any(r["run_id"] == run["run_id"] for r in runs):
                    continue  # scored twice (a later file repeats it): once
                run["group"], run["scores"] = group, name
                run["eval"] = {
                    m: [run["eval"][str(r)][f"{m}_acc"] for r in range(ROUNDS + 1)]
                    for m in ("greedy", "sampled")
                }
                run["eval_types"] = eval_by_type(run)
                if run.get("types") and not run["eval_types"]:
                    raise SystemExit(
                        f"{run['run_id']}: several question types, but no eval per type on record"
                    )
                runs.append(run)
    return runs


def measure(runs: list[dict], draws: int) -> list[dict]:
    rng, rows = random.Random(0), []
    for run in runs:
        pool = len(run["dev"]["0"]["greedy"])
        row = {
            "run_id": run["run_id"],
            "group": run["group"],
            "scores": run["scores"],
            "reward": run["reward"],
            "eval": run["eval"],
            "eval_types": run["eval_types"],
            "harm_last": harm_at(run, ROUNDS),
            "policies": {},
        }
        for n in SIZES:
            picks = [delivered(run, [rng.randrange(pool) for _ in range(n)]) for _ in range(draws)]
            for policy in POLICIES:
                mine = [p[policy] for p in picks]
                row["policies"][f"{n}/{policy}"] = {
                    "greedy": statistics.mean(
                        run["eval"]["greedy"][r] - run["eval"]["greedy"][0] for r in mine
                    ),
                    "sampled": statistics.mean(
                        run["eval"]["sampled"][r] - run["eval"]["sampled"][0] for r in mine
                    ),
                    "harm": sum(bool(harm_at(run, r)) for r in mine) / draws,
                    "base": sum(r == 0 for r in mine) / draws,
                }
        rows.append(row)
    return rows


def _mean(group: list[dict], key: str, what: str, signed: bool = True) -> str:
    if not group:
        return "-"
    v = statistics.mean(r["policies"][key][what] for r in group)
    return f"{v:+.3f}" if signed else f"{v:.3f}"


def render(rows: list[dict], draws: int) -> str:
    files = sorted({r["scores"] for r in rows})
    lines = [
        "# Should the labelled dev guard watch sampled accuracy too? (USES LABELS)",
        "",
        f"Written by `bench/dev_sampled.py`, to the plan fixed before it ran (`dev-guard-sampled-plan.md`), from "
        f"the per-item dev scores of {len(rows)} finished runs ({', '.join(f'`{f}.json`' for f in files)}); "
        f"{draws} dev sets drawn per size and run, the guard's line {LINE}, the delivered round's margin {Z} "
        "standard errors. Every Δ is on the run's own 300-item eval split, from its base, at the round delivered. "
        "'harm': the share of draws delivering a round with greedy or sampled accuracy, overall or on a question "
        "type, more than 2 points below base (per-type sampled only for the third set, whose scores record it); "
        "'on base': the base delivered. 'gained': runs whose last round gained more than "
        f"{GAINED} greedy; 'harmed': runs whose last round harmed as above, unguarded.",
        "",
    ]
    for group in ("earlier", "third set"):
        mine = [r for r in rows if r["group"] == group]
        if not mine:
            continue
        gained = [r for r in mine if r["eval"]["greedy"][-1] - r["eval"]["greedy"][0] > GAINED]
        harmed = [r for r in mine if r["harm_last"]]
        lines += [
            f"## {'The runs on record before this question' if group == 'earlier' else 'The probe' + chr(39) + 's third set'}"
            f" ({len(mine)} runs: {len(gained)} gained, {len(harmed)} harmed unguarded)",
            "",
            "| dev items | policy | harmed: harm | all: harm | gained: Δ greedy / Δ sampled | all: on base |",
            "|---|---|---|---|---|---|",
        ]
        for n in SIZES:
            for p in POLICIES:
                key = f"{n}/{p}"
                lines.append(
                    f"| {n} | {p} | {_mean(harmed, key, 'harm', False)} | {_mean(mine, key, 'harm', False)} | "
                    f"{_mean(gained, key, 'greedy')} / {_mean(gained, key, 'sampled')} | "
                    f"{_mean(mine, key, 'base', False)} |"
                )
        lines.append("")
    lines += [
        "## Per run, at 100 dev items",
        "",
        "| run | group | eval greedy by round | eval sampled by round | unguarded harm at round 3 | "
        + " | ".join(f"{p}: Δ greedy / Δ sampled / harm" for p in POLICIES)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(POLICIES),
    ]
    for r in rows:
        cells = [
            f"{r['policies'][f'100/{p}']['greedy']:+.3f} / {r['policies'][f'100/{p}']['sampled']:+.3f} / "
            f"{r['policies'][f'100/{p}']['harm']:.2f}"
            for p in POLICIES
        ]
        arrows = [" → ".join(f"{x:.3f}" for x in r["eval"][m]) for m in ("greedy", "sampled")]
        lines.append(
            f"| {r['run_id']} | {r['group']} | {arrows[0]} | {arrows[1]} | {', '.join(r['harm_last']) or '-'} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=DRAWS)
    ap.add_argument("--out", default="dev-guard-sampled")
    args = ap.parse_args()
    rows = measure(load(), args.draws)
    (RESULTS / f"{args.out}.json").write_text(json.dumps({"draws": args.draws, "runs": rows}) + "\n")
    text = render(rows, args.draws)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
