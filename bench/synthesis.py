"""Question synthesis on the embedded default: does training on the model's own questions help?

Arms (same base, same GRPO budget per round: training.steps x training.prompts_per_step prompts), 3 rounds each:
    a  original pool only                 synthesis off
    b  + in-context synthesis             strategy in_context, mix 0.5 (at most as many synthetic as originals)
    c  + direct synthesis                 strategy direct, mix 0.5
    d  synthetic questions only           strategy both, mix 1.0
Reported: outcome rates per filter, distinct-question ratios, the world's own check of the accepted questions
(answerable by its grammar; vote label right), and greedy accuracy on the 300 eval questions after each round.
Results go to bench/results/synthesis.{json,md}.

    .venv/bin/python -m bench.synthesis --seeds 0 1 2 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.common import run_and_collect
from mmupt_core.config import load_config
from mmupt_core.rounds.synthesis import OUTCOMES
from mmupt_core.scoring.checkpoint import evaluate_checkpoint
from mmupt_core.world.builder import world_path

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"
ARMS = {
    "a": ("original pool only", ["synthesis.strategy=off"]),
    "b": ("+ in-context synthesis", ["synthesis.strategy=in_context", "synthesis.mix=0.5"]),
    "c": ("+ direct synthesis", ["synthesis.strategy=direct", "synthesis.mix=0.5"]),
    "d": ("synthetic questions only", ["synthesis.strategy=both", "synthesis.mix=1.0"]),
}


def one_run(job: tuple[str, int, int, list[str]]) -> dict:

    arm, seed, rounds, overrides = job
    run_id = f"synth-{arm}-s{seed}"
    cfg = load_config(
        ROOT / "conf" / "tiny.yaml",
        [
            f"sampling.seed={seed}",
            f"training.seed={seed}",
            f"store.db=bench-{run_id}.duckdb",
            *ARMS[arm][1],
            *overrides,
        ],
    )
    wall, per_round, _ = run_and_collect(cfg, rounds, run_id, ("world_eval", "pool", "train", "synthesis"))
    return {"arm": arm, "seed": seed, "run_id": run_id, "wall_s": wall, "rounds": per_round}


def _ms(values, signed: bool = False, digits: int = 3):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):{'+' if signed else ''}.{digits}f} ± {sd:.{digits}f}"


def report(runs: list[dict], base: dict, rounds: int) -> str:
    lines = [
        "# Question synthesis on the embedded default",
        "",
        f"Base (seed-0 bootstrap) greedy {base['greedy_acc']:.3f}, sampled T=1 {base['sampled_acc']:.3f}, "
        f"maj@8 {base['maj@8']:.3f} on the 300 eval questions. Mean ± sd over UPT seeds "
        f"({len({r['seed'] for r in runs})}); every arm trains on "
        "training.steps x prompts_per_step prompts per round (the same budget); synthesis and the larger pool "
        "cost extra sampling.",
        "",
        "## Accuracy",
        "",
        "| arm | " + " | ".join(f"greedy Δ r{k}" for k in range(1, rounds + 1)) + " | pseudo-label acc r1 | "
        "runs below base after r" + str(rounds) + " | wall per run (s) |",
        "|---|" + "---|" * rounds + "---|---|---|",
    ]
    for arm, (label, _) in ARMS.items():
        rs = [r for r in runs if r["arm"] == arm]
        if not rs:
            continue
        deltas = [
            _ms([r["rounds"][k]["world_eval.greedy_acc"] - base["greedy_acc"] for r in rs], True)
            for k in range(1, rounds + 1)
        ]
        final = [r["rounds"][rounds]["world_eval.greedy_acc"] - base["greedy_acc"] for r in rs]
        pla = [r["rounds"][1].get("pool.pseudo_label_acc") for r in rs]
        lines.append(
            f"| {arm}: {label} | "
            + " | ".join(deltas)
            + f" | {_ms(pla)} | {sum(x < 0 for x in final)}/{len(rs)} | "
            f"{_ms([r['wall_s'] for r in rs], digits=0)} |"
        )
    lines += [
        "",
        "## Filters (share of all candidates, mean over rounds and seeds)",
        "",
        "| arm | candidates/round | " + " | ".join(OUTCOMES) + " | distinct texts (parsed) | "
        "world-answerable (accepted) | vote label right (accepted) |",
        "|---|---|" + "---|" * len(OUTCOMES) + "---|---|---|",
    ]
    for arm, (label, _) in ARMS.items():
        rows = [r["rounds"][k] for r in runs if r["arm"] == arm for k in range(1, rounds + 1)]
        rows = [x for x in rows if x.get("synthesis.n_candidates")]
        if not rows:
            continue
        rates = [_ms([x[f"synthesis.n_{o}"] / x["synthesis.n_candidates"] for x in rows]) for o in OUTCOMES]
        lines.append(
            f"| {arm}: {label} | {statistics.mean(x['synthesis.n_candidates'] for x in rows):.0f} | "
            + " | ".join(rates)
            + f" | {_ms([x['synthesis.distinct_ratio_parsed'] for x in rows])} | "
            f"{_ms([x.get('synthesis.world_answerable_rate') for x in rows])} | "
            f"{_ms([x.get('synthesis.label_acc') for x in rows])} |"
        )
    lines += [
        "",
        "Distinct texts are counted over the whole round (the panel world's grammar has 7 question texts, a colour "
        "question per shape and a count question per colour, so most repeats are the same question about different "
        "images, which is allowed); the near-duplicate filter works per image.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--arms", nargs="+", default=list(ARMS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--from-json", action="store_true", help="re-render the report from the last results")
    args = ap.parse_args()
    if args.from_json:
        saved = json.loads((RESULTS / "synthesis.json").read_text())
        runs = saved["runs"]
        for r in runs:
            r["rounds"] = {int(k): v for k, v in r["rounds"].items()}
        base = saved["base"]
    else:
        from mmupt_core.model.bootstrap import run_bootstrap
        from mmupt_core.paths import cache_dir

        cfg = load_config(ROOT / "conf" / "tiny.yaml", args.overrides)
        base_ck, _ = run_bootstrap(cfg, world_path(cfg), cache_dir("bootstrap"))
        base = evaluate_checkpoint(cfg, str(base_ck))
        jobs = [(a, s, args.rounds, args.overrides) for s in args.seeds for a in args.arms]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(one_run, jobs))
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "synthesis.json").write_text(json.dumps({"base": base, "runs": runs}, indent=1))
    text = report(runs, base, args.rounds)
    (RESULTS / "synthesis.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
