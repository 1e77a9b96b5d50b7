"""The labelled dev guard, per question type (USES LABELS): where a world asks several kinds of question, one
kind can collapse while the overall mean holds (on `framed`, UPT's count questions fell 0.184 while colour rose).
Does the round the dev guard delivers keep every type within the line, and would a per-type rule do better?

It trains and scores nothing new. It reads the scores `bench.dev_guard score` wrote (each round's checkpoint on
the dev pool, per item), the dev pool's question types (rebuilt by the guard's own split builder, no model) and
each run's per-type eval greedy accuracy from its store, then replays on dev draws, as bench.dev_guard does:
- 'overall': the delivered round today, the best round by overall dev greedy accuracy;
- 'per type': the best round by overall dev greedy among those where no type's dev greedy fell more than the
  line below its base (the base always qualifies): `best_safe_round`, which the guard now uses.
Each pick is judged per type on the run's 300-item eval split.

    MMUPT_HOME=... .venv/bin/python -m bench.dev_guard_types dev-guard-scores-framed dev-guard-scores-views
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter

from bench.dev_guard import RESULTS, _run, dev_types, draw_greedy, stopped_after
from mmupt_core.view.devpick import best_round, best_safe_round

SIZES = [100, 200, 400]
LINES = [0.02, 0.05]
DRAWS = 2000
HARM = 0.02 + 1e-9


def eval_by_type(run: dict, pool: int, rounds: int) -> dict[str, list[float]]:
    """Eval greedy accuracy per question type, per round, from the run's own store."""
    from mmupt_core.rounds.context import Context

    spec = (run["base_seed"], run["upt_seed"], run["reward"])
    run_id, cfg = _run(spec, run["overrides"], run["bench"], pool)
    out: dict[str, dict[int, float]] = {}
    for m in Context(cfg, run_id, 0).store.metrics(run_id):
        if m["benchmark"] == "world_eval" and m["metric"].startswith("greedy_acc/"):
            out.setdefault(m["metric"].split("/", 1)[1], {})[m["round"]] = m["value"]
    return {t: [v[r] for r in range(rounds + 1)] for t, v in sorted(out.items())}


POLICIES = ("overall", "per type", "shipped", "per-type stop")


def picks(run: dict, types: list[str], idx: list[int], line: float, rounds: int) -> list[tuple[int, int]]:
    """(round delivered, rounds trained) on one dev draw, per policy of POLICIES:
    - 'overall', 'per type': the pick over every round, no stop;
    - 'shipped': the guard today: it stops after the first round whose overall dev greedy fell past the line and
      delivers the per-type pick among the rounds that ran;
    - 'per-type stop': it stops also after a round where some type fell past the line."""
    overall, by_type = draw_greedy(run, idx, rounds, types)
    out = [(best_round(overall), rounds), (best_safe_round(overall, by_type, line), rounds)]
    for per_type in (False, True):
        last = stopped_after(overall, by_type, line, rounds, per_type)
        out.append((best_safe_round({r: overall[r] for r in range(last + 1)}, by_type, line), last))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="+")
    ap.add_argument("--out", default="dev-guard-types")
    ap.add_argument("--draws", type=int, default=DRAWS)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rounds, rng = args.rounds, random.Random(0)
    rows = []
    for name in args.names:
        data = json.loads((RESULTS / f"{name}.json").read_text())
        for run in data["runs"]:
            types = run.get("types") or dev_types(run, data["pool"])
            evals = eval_by_type(run, data["pool"], rounds)
            row = {
                "run_id": run["run_id"],
                "reward": run["reward"],
                "dev_types": dict(Counter(types)),
                "eval_by_type": evals,
                "eval_greedy": [run["eval"][str(r)]["greedy_acc"] for r in range(rounds + 1)],
                "policies": {},
            }
            pool = len(types)
            for n in SIZES:
                draws = [[rng.randrange(pool) for _ in range(n)] for _ in range(args.draws)]
                for line in LINES:
                    outcomes = [picks(run, types, idx, line, rounds) for idx in draws]
                    row["policies"][f"{n}/{line}"] = {
                        policy: {
                            "rounds": dict(Counter(str(o[k][0]) for o in outcomes)),
                            "trained": statistics.mean(o[k][1] for o in outcomes),
                            "greedy": statistics.mean(
                                row["eval_greedy"][o[k][0]] - row["eval_greedy"][0] for o in outcomes
                            ),
                            "by_type": {
                                t: statistics.mean(v[o[k][0]] - v[0] for o in outcomes)
                                for t, v in evals.items()
                            },
                            # a draw whose pick leaves some type more than 2 points below its base on eval
                            "type_below": sum(
                                any(v[o[k][0]] - v[0] < -HARM for v in evals.values()) for o in outcomes
                            )
                            / len(outcomes),
                        }
                        for k, policy in enumerate(POLICIES)
                    }
            rows.append(row)
            print(run["run_id"], "done", flush=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps({"draws": args.draws, "runs": rows}) + "\n")
    text = render(rows, rounds, args.draws)
    (RESULTS / f"{args.out}.md").write_text(text)
    print(text)


def render(rows: list[dict], rounds: int, draws: int) -> str:
    arrow = lambda xs: " → ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    lines = [
        "# The labelled dev guard per question type, measured (USES LABELS)",
        "",
        f"Runs of worlds with several question types; {draws} dev sets drawn per size from the 1000-item dev pool "
        "that bench.dev_guard scored. 'overall' is the round a run with the dev guard on delivers today (the best "
        "by overall dev greedy accuracy); 'per type' the best among rounds where no type's dev greedy fell more "
        "than the line below its base. Every Δ is on the run's own 300-item eval split, per type, from its base. "
        "'type below' is the share of draws whose pick leaves some type more than 2 points below its base; "
        "'trained' the mean number of rounds that ran under the policy.",
        "",
        "## Per run: eval greedy by type and round",
        "",
        "| run | dev items per type | overall | " + " | ".join(["by type"]) + " |",
        "|---|---|---|---|",
    ]
    for r in rows:
        types = ", ".join(f"{t} {arrow(v)}" for t, v in r["eval_by_type"].items())
        counts = ", ".join(f"{t} {n}" for t, n in sorted(r["dev_types"].items()))
        lines.append(f"| {r['run_id']} | {counts} | {arrow(r['eval_greedy'])} | {types} |")
    lines += [
        "",
        "## Stopping per type, at 100 dev items and line 0.02",
        "",
        "'shipped' is the guard as it ships: it stops after a round whose overall dev greedy fell past the line and "
        "delivers the per-type pick among the rounds that ran. 'per-type stop' stops also after a round where some "
        "type fell past it. 'trained' is the mean number of rounds that ran (of "
        f"{rounds}).",
        "",
        "| run | policy | trained | Δ greedy | Δ by type | type below |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        for name in POLICIES[2:]:
            p = r["policies"]["100/0.02"][name]
            by_type = ", ".join(f"{t} {d:+.3f}" for t, d in p["by_type"].items())
            lines.append(
                f"| {r['run_id']} | {name} | {p['trained']:.2f} | {p['greedy']:+.3f} | {by_type} | "
                f"{p['type_below']:.2f} |"
            )
    lines += [
        "",
        "## The picks",
        "",
        "| run | dev items | line | pick | rounds picked (share) | trained | Δ greedy | Δ by type | type below |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for key, pols in r["policies"].items():
            n, line = key.split("/")
            for name, p in pols.items():
                picked = ", ".join(f"{k}: {v / draws:.2f}" for k, v in sorted(p["rounds"].items()))
                by_type = ", ".join(f"{t} {d:+.3f}" for t, d in p["by_type"].items())
                lines.append(
                    f"| {r['run_id']} | {n} | {float(line):.2f} | {name} | {picked} | {p['trained']:.2f} | "
                    f"{p['greedy']:+.3f} | {by_type} | {p['type_below']:.2f} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
