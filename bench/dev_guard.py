"""The labelled dev guard, measured: does a small labelled dev set (evaluation.dev_items, guard.max_dev_drop)
stop the UPT runs that lose greedy accuracy and let the ones that gain go on, and what does its choice of round
leave the user with?

It trains nothing. `score` reads finished bench.upt runs (their stores and checkpoints, under MMUPT_HOME) and
scores every round's checkpoint on one large labelled dev pool of the run's world (the same split builder the
guard uses, greedy and k samples per item). `report` then draws dev sets of each size from that pool (with
replacement, so a draw has the noise of a fresh dev set of that size), one draw per run as the guard holds one
dev set for a whole run, and replays two policies on every draw: the guard (stop after the first round whose dev
greedy accuracy fell more than the line below the base's; the run keeps that round's checkpoint) and the guard
with its best-round pick (the round its message names). What each policy leaves is scored on the held-out eval
split the run stored itself, which no dev draw touches.

    MMUPT_HOME=... .venv/bin/python -m bench.dev_guard score --bench upt-framed-colour-t2 \
        --set bootstrap.threads=2 --runs 0:0:majority_vote 0:0:random --out dev-guard-t2
    .venv/bin/python -m bench.dev_guard report dev-guard-t2 [more ...]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.upt import run_config, run_spec
from mmupt_core.view.devpick import best_round, best_safe_round, fell_at

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SIZES = [50, 100, 200, 400]
DROPS = [0.0, 0.02, 0.05]
DRAWS = 2000
# the do-no-harm line: more than 2 points below base (a hair over, so that 0.02 on 300 items is not harm)
HARM = 0.02 + 1e-9


def _run(spec: tuple, overrides: list[str], bench: str, pool: int):
    return run_config(*spec, [*overrides, f"evaluation.dev_items={pool}"], bench)


def finished(spec: tuple, overrides: list[str], bench: str, pool: int, rounds: int) -> dict:
    """A finished run's checkpoint per round and its eval greedy / sampled / maj@8 per round, from its store."""
    from mmupt_core.rounds.context import Context

    run_id, cfg = _run(spec, overrides, bench, pool)
    store = Context(cfg, run_id, 0).store
    eval_: dict[int, dict[str, float]] = {}
    for m in store.metrics(run_id):
        if m["benchmark"] == "world_eval" and m["metric"] in ("greedy_acc", "sampled_acc", "maj@8"):
            eval_.setdefault(m["round"], {})[m["metric"]] = m["value"]
    by_type = eval_by_type(store, run_id, rounds)
    checkpoints = {r: store.checkpoint(run_id, r) for r in range(rounds + 1)}
    missing = [r for r in range(rounds + 1) if r not in eval_ or checkpoints[r] is None]
    if missing:
        raise SystemExit(f"{run_id}: rounds {missing} have no checkpoint or eval scores; run bench.upt first")
    return {
        "run_id": run_id,
        "bench": bench,
        "overrides": overrides,
        "reward": spec[2],
        "base_seed": spec[0],
        "upt_seed": spec[1],
        "k": cfg.evaluation.k,  # the samples per item behind each "sampled" digit
        "eval": {str(r): eval_[r] for r in range(rounds + 1)},
        "checkpoints": {str(r): c["path"] for r, c in checkpoints.items()},
        **({"eval_types": by_type} if by_type else {}),
    }


def eval_by_type(store, run_id: str, rounds: int) -> dict[str, dict[str, list[float]]]:
    """{"greedy" | "sampled": {question type: eval accuracy by round}} from a run's store; {} with one type."""
    out: dict[str, dict[str, list[float]]] = {}
    for m in store.metrics(run_id):
        name, _, kind = m["metric"].partition("/")
        if (
            m["benchmark"] == "world_eval"
            and kind
            and name in ("greedy_acc", "sampled_acc")
            and m["round"] <= rounds
        ):
            out.setdefault(name.removesuffix("_acc"), {}).setdefault(kind, [0.0] * (rounds + 1))[
                m["round"]
            ] = m["value"]
    return out


def score_checkpoint(job: tuple) -> dict[str, str]:
    """One checkpoint on the dev pool: per item, greedy hit, sampled hits (of k) and majority hit, as digits."""
    import torch

    from mmupt_core.model.backend import open_sampler
    from mmupt_core.model.sampling import SamplingParams, load_images, requests_for
    from mmupt_core.scoring.checkpoint import benchmark_items
    from mmupt_core.scoring.evaluate import evaluate, item_scores

    spec, overrides, bench, pool, path = job
    _, cfg = _run(spec, overrides, bench, pool)
    torch.set_num_threads(cfg.model.threads)
    items, answers, scorer, extract = benchmark_items(cfg, "world_dev")
    items, images, _ = load_images(items)
    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first, images)
    params = SamplingParams.evaluation(cfg, 0)
    with open_sampler(cfg, path) as sampler:
        _, results = evaluate(sampler, items, reqs, answers, params, scorer=scorer, extract=extract)
    rows = [item_scores(it, o, scorer, params.n) for it, o in zip(items, results, strict=True)]
    return {
        "greedy": "".join(str(int(x["greedy_acc"])) for x in rows),
        "sampled": "".join(str(round(x["sampled_acc"] * params.n)) for x in rows),
        "maj": "".join(str(int(x[f"maj@{params.n}"])) for x in rows),
    }


def score(args) -> None:
    from mmupt_core.paths import cache_dir
    from mmupt_core.world.builder import build_dev_split

    specs = [run_spec(s) for s in args.runs]
    runs = [finished(s, args.overrides, args.bench, args.pool, args.rounds) for s in specs]
    # built here once: two workers building the same split at once would race on its files
    build_dev_split(
        _run(specs[0], args.overrides, args.bench, args.pool)[1].world, cache_dir("world"), args.pool
    )
    # a base shared by several runs is scored once
    paths = sorted({p for run in runs for p in run["checkpoints"].values()})
    spec_of = {p: s for s, run in zip(specs, runs, strict=True) for p in run["checkpoints"].values()}
    with ProcessPoolExecutor(args.jobs) as ex:
        jobs = [(spec_of[p], args.overrides, args.bench, args.pool, p) for p in paths]
        scored = dict(zip(paths, ex.map(score_checkpoint, jobs), strict=True))
    for run in runs:
        run["dev"] = {r: scored[p] for r, p in run["checkpoints"].items()}
        run["types"] = dev_types(run, args.pool)
    out = RESULTS / f"{args.out}.json"
    out.write_text(json.dumps({"pool": args.pool, "runs": runs}) + "\n")
    print(f"wrote {out}")


def draw_greedy(
    run: dict, idx: list[int], rounds: int, types: list[str] | None
) -> tuple[dict[int, float], dict[int, dict[str, float]]]:
    """Greedy accuracy per round on one dev draw, overall and per question type (none without `types`)."""
    digits = [run["dev"][str(r)]["greedy"] for r in range(rounds + 1)]
    overall = {r: sum(digits[r][i] == "1" for i in idx) / len(idx) for r in range(rounds + 1)}
    by_type: dict[int, dict[str, float]] = {r: {} for r in range(rounds + 1)}
    for t in sorted({types[i] for i in idx}) if types else []:
        mine = [i for i in idx if types[i] == t]
        for r in range(rounds + 1):
            by_type[r][t] = sum(digits[r][i] == "1" for i in mine) / len(mine)
    return overall, by_type


def stopped_after(
    overall: dict[int, float],
    by_type: dict[int, dict[str, float]],
    line: float,
    rounds: int,
    per_type: bool = False,
) -> int:
    """The last round a run trains on one dev draw: the first whose dev greedy fell past the line (with
    `per_type`, also a type's), as the guard stops after it, else the last of `rounds`."""
    return next((r for r in range(1, rounds + 1) if fell_at(overall, by_type, r, line, per_type)), rounds)


def replay(run: dict, idx: list[int], drop: float, rounds: int) -> tuple[int, int]:
    """(round the guard leaves the run on, round its message names as best) on one dev draw, by the guard's
    own rules: the best round is the best of those where no question type fell past the line (`types`)."""
    g, by_type = draw_greedy(run, idx, rounds, run.get("types"))
    last = stopped_after(g, by_type, drop, rounds)
    return last, best_safe_round({r: g[r] for r in range(last + 1)}, by_type, drop)


def dev_types(run: dict, pool: int) -> list[str]:
    """The question type of each dev-pool item, in the order the scores hold them (no model: the guard's own
    split builder, under MMUPT_HOME's cache)."""
    from mmupt_core.model.sampling import load_images
    from mmupt_core.scoring.checkpoint import benchmark_items

    spec = (run["base_seed"], run["upt_seed"], run["reward"])
    _, cfg = _run(spec, run["overrides"], run["bench"], pool)
    items, _, _, _ = benchmark_items(cfg, "world_dev")
    items, _, _ = load_images(items)  # as scoring did: an item it dropped has no digit
    types = [(it.meta or {}).get("type", "all") for it in items]
    if len(types) != len(run["dev"]["0"]["greedy"]):
        raise SystemExit(f"{run['run_id']}: {len(types)} dev items, but the scores hold another count")
    return types


def add_types(names: list[str], rounds: int = 3) -> None:
    """Record each scored run's dev-pool question types in its scores file, and its eval accuracy per type where
    its store is on disk (files scored before either was)."""
    from mmupt_core.paths import store_path
    from mmupt_core.rounds.context import Context

    for name in names:
        path = RESULTS / f"{name}.json"
        data = json.loads(path.read_text())
        for run in data["runs"]:
            run["types"] = dev_types(run, data["pool"])
            spec = (run["base_seed"], run["upt_seed"], run["reward"])
            run_id, cfg = _run(spec, run["overrides"], run["bench"], data["pool"])
            if store_path(cfg).exists():  # opening a store that is gone would make an empty one
                by_type = eval_by_type(Context(cfg, run_id, 0).store, run_id, rounds)
                if by_type:
                    run["eval_types"] = by_type
        path.write_text(json.dumps(data) + "\n")
        print(f"wrote {path}")


def best_sampled(run: dict, idx: list[int], rounds: int) -> int:
    """The round whose sampled accuracy (T = 1) is best on one dev draw: the pick of a user who samples."""
    return best_round({r: sum(int(run["dev"][str(r)]["sampled"][i]) for i in idx) for r in range(rounds + 1)})


def delta(run: dict, r: int, metric: str) -> float:
    return run["eval"][str(r)][metric] - run["eval"]["0"][metric]


def report(names: list[str], out: str, draws: int, rounds: int) -> None:
    runs, pools = [], set()
    for name in names:
        data = json.loads((RESULTS / f"{name}.json").read_text())
        pools.add(data["pool"])
        runs += data["runs"]
    rng = random.Random(0)
    rows = []
    for run in runs:
        pool = len(run["dev"]["0"]["greedy"])
        dev = {r: sum(c == "1" for c in run["dev"][str(r)]["greedy"]) / pool for r in range(rounds + 1)}
        k = run.get("k", 8)  # files scored before k was recorded ran the default, 8
        dev_s = {r: sum(map(int, run["dev"][str(r)]["sampled"])) / (pool * k) for r in range(rounds + 1)}
        harm = delta(run, rounds, "greedy_acc") < -HARM
        row = {
            "run_id": run["run_id"],
            "reward": run["reward"],
            "eval_greedy": [run["eval"][str(r)]["greedy_acc"] for r in range(rounds + 1)],
            "eval_sampled": [run["eval"][str(r)]["sampled_acc"] for r in range(rounds + 1)],
            "dev_pool_greedy": [dev[r] for r in range(rounds + 1)],
            "dev_pool_sampled": [dev_s[r] for r in range(rounds + 1)],
            "harms": harm,
            "policies": {},
            "sampled_pick": {},
        }
        for n in SIZES:
            draws_idx = [[rng.randrange(pool) for _ in range(n)] for _ in range(draws)]
            row["sampled_pick"][str(n)] = statistics.mean(
                delta(run, best_sampled(run, idx, rounds), "sampled_acc") for idx in draws_idx
            )
            for drop in DROPS:
                outcomes = [replay(run, idx, drop, rounds) for idx in draws_idx]
                row["policies"][f"{n}/{drop}"] = {
                    "stops": sum(last < rounds for last, _ in outcomes) / draws,
                    "guard_greedy": statistics.mean(delta(run, last, "greedy_acc") for last, _ in outcomes),
                    "pick_greedy": statistics.mean(delta(run, best, "greedy_acc") for _, best in outcomes),
                    "pick_sampled": statistics.mean(delta(run, best, "sampled_acc") for _, best in outcomes),
                    "pick_below": sum(delta(run, best, "greedy_acc") < -HARM for _, best in outcomes) / draws,
                }
        rows.append(row)
    (RESULTS / f"{out}.json").write_text(
        json.dumps({"pools": sorted(pools), "draws": draws, "runs": rows}) + "\n"
    )
    table = render(rows, rounds, draws, sorted(pools))
    (RESULTS / f"{out}.md").write_text(table)
    print(table)


def render(rows: list[dict], rounds: int, draws: int, pools: list[int]) -> str:
    lines = [
        "# The labelled dev guard, measured (USES LABELS)",
        "",
        f"Finished bench.upt runs, their checkpoints scored on a labelled dev pool of {', '.join(map(str, pools))} "
        f"items; {draws} dev sets drawn per size (with replacement), one per run. 'stop' is the share of draws on "
        "which the guard (`guard.max_dev_drop`) stopped the run before its last round; the run keeps the round it "
        "stopped after. 'pick' takes the round the guard's message names as best on the dev set (the base "
        "included; on worlds with several question types, of the rounds where no type fell past the line: "
        "dev-guard-types.md), the checkpoint a run with the dev guard on delivers (`mmupt checkpoint RUN`), stopped or "
        f"not. Every Δ is on the run's own 300-item eval split, from its base, after round {rounds} for "
        "'none'. 'harms' marks runs whose eval greedy ends more than 2 points below base (the judge in every "
        "group below); 'harms on the pool' the same on the dev pool, where the two disagree.",
        "",
        "## Per run",
        "",
        "Greedy, then sampled (T = 1), by round. The guard columns are at 100 dev items and the 0.02 line; "
        "'sampled pick' takes the round whose dev sampled accuracy is best (100 items), a user who samples.",
        "",
        "| run | eval greedy | dev pool greedy | eval sampled | dev pool sampled | none Δ greedy / sampled | "
        "stops | guard Δ | pick Δ greedy / sampled | sampled pick Δ sampled |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    arrow = lambda xs: " → ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    for r in rows:
        p = r["policies"]["100/0.02"]
        g, s_ = r["eval_greedy"], r["eval_sampled"]
        lines.append(
            f"| {r['run_id']}{_marks(r)} | {arrow(g)} | {arrow(r['dev_pool_greedy'])} | "
            f"{arrow(s_)} | {arrow(r['dev_pool_sampled'])} | {g[-1] - g[0]:+.3f} / {s_[-1] - s_[0]:+.3f} | "
            f"{p['stops']:.2f} | {p['guard_greedy']:+.3f} | {p['pick_greedy']:+.3f} / {p['pick_sampled']:+.3f} | "
            f"{r['sampled_pick']['100']:+.3f} |"
        )
    lines += [
        "",
        "## By dev-set size and line, over runs",
        "",
        "Mean over runs of each policy's eval greedy Δ (and sampled Δ for the picks); 'stops' is the mean stop "
        "share. UPT runs without harm, UPT runs that harm, and the runs of any reward that harm, apart.",
        "",
        "| dev items | line | group | runs | stops | none Δ greedy | guard Δ greedy | pick Δ greedy | "
        "pick Δ sampled | pick below −0.02 | none Δ sampled | sampled pick Δ sampled |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups = {
        "UPT, no harm": [r for r in rows if r["reward"] == "majority_vote" and not r["harms"]],
        "UPT, harms": [r for r in rows if r["reward"] == "majority_vote" and r["harms"]],
        "any reward, harms": [r for r in rows if r["harms"]],
    }
    for n in SIZES:
        for drop in DROPS:
            for name, rs in groups.items():
                if rs:
                    lines.append(
                        f"| {n} | {drop:.2f} | {name} | {len(rs)} | " + _group_row(rs, f"{n}/{drop}")
                    )
    return "\n".join(lines) + "\n"


def _marks(r: dict) -> str:
    """Whether the run harms greedy by the eval split (the judge here) and by the larger dev pool."""
    pool = r["dev_pool_greedy"][-1] - r["dev_pool_greedy"][0] < -HARM
    return (" (harms)" if r["harms"] else "") + (" (harms on the pool)" if pool else "")


def _group_row(rs: list[dict], key: str) -> str:
    def mean(metric: str) -> float:
        return statistics.mean(r["policies"][key][metric] for r in rs)

    none = statistics.mean(r["eval_greedy"][-1] - r["eval_greedy"][0] for r in rs)
    none_s = statistics.mean(r["eval_sampled"][-1] - r["eval_sampled"][0] for r in rs)
    sampled_pick = statistics.mean(r["sampled_pick"][key.split("/")[0]] for r in rs)
    return (
        f"{mean('stops'):.2f} | {none:+.3f} | {mean('guard_greedy'):+.3f} | {mean('pick_greedy'):+.3f} | "
        f"{mean('pick_sampled'):+.3f} | {mean('pick_below'):.2f} | {none_s:+.3f} | {sampled_pick:+.3f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("score", help="score finished bench.upt runs' checkpoints on a labelled dev pool")
    s.add_argument("--bench", required=True, help="the bench.upt --name the runs were made under")
    s.add_argument("--set", dest="overrides", action="append", default=[])
    s.add_argument("--runs", nargs="+", required=True, metavar="BASE:UPT:REWARD")
    s.add_argument("--pool", type=int, default=1000)
    s.add_argument("--rounds", type=int, default=3)
    s.add_argument("--jobs", type=int, default=2)
    s.add_argument("--out", required=True)
    t = sub.add_parser("types", help="add the dev pool's question types to scores files written without them")
    t.add_argument("names", nargs="+")
    t.add_argument("--rounds", type=int, default=3)
    r = sub.add_parser("report", help="replay the guard on dev draws from scored runs")
    r.add_argument("names", nargs="+")
    r.add_argument("--out", default="dev-guard")
    r.add_argument("--draws", type=int, default=DRAWS)
    r.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.cmd == "score":
        score(args)
    elif args.cmd == "types":
        add_types(args.names, args.rounds)
    else:
        report(args.names, args.out, args.draws, args.rounds)


if __name__ == "__main__":
    main()
