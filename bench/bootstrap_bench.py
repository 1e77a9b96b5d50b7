"""Benchmark of the embedded default: world, bootstrap, base accuracy and the self-consistency gap.

For each SFT seed: bootstrap (cached), then on `eval` greedy / sampled T=1 / maj@8 per type, on the `pool` the
same over two sampling streams with pseudo-label accuracy against the hidden answers (a diagnostic), and a
forced-route check: each view's route is forced by prefilling "View X:", and among items where two or more
routes are wrong we report how often the wrong routes agree. Results go to bench/results/bootstrap.{json,md}.

    .venv/bin/python bench/bootstrap_bench.py --seeds 0 1 2 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mmupt_core import world  # noqa: E402
from mmupt_core.answers import extract_answer  # noqa: E402
from mmupt_core.bootstrap import run_bootstrap  # noqa: E402
from mmupt_core.config import load_config  # noqa: E402
from mmupt_core.evaluate import evaluate  # noqa: E402
from mmupt_core.paths import cache_dir  # noqa: E402
from mmupt_core.sampling import requests_for  # noqa: E402
from mmupt_core.scoring import make_sampler  # noqa: E402
from mmupt_core.voting import vote  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def forced_routes(sampler, items, requests, answers, max_tokens):
    routes = {}
    for name in world.VIEW_NAMES:
        forced = [replace(r, prefill=f"View {name}:") for r in requests]
        sets = sampler.sample(forced, 1, 0.0, 1.0, max_tokens, 0)
        routes[name] = [extract_answer(s.completions[0].text) for s in sets]
    n_multi_wrong = agree = 0
    route_acc = {name: 0.0 for name in routes}
    for i, it in enumerate(items):
        truth = answers[it.item_id]
        got = [routes[name][i] for name in routes]
        for name in routes:
            route_acc[name] += (routes[name][i] == truth) / len(items)
        wrong = [g for g in got if g != truth]
        if len(wrong) >= 2:
            n_multi_wrong += 1
            agree += len(set(wrong)) == 1
    return {
        "route_acc": route_acc,
        "items_with_2plus_wrong_routes": n_multi_wrong,
        "wrong_routes_agree": agree / n_multi_wrong if n_multi_wrong else None,
    }


def pseudo_label_accuracy(items, results, answers, min_agreement, k):
    accepted = correct = 0
    for it, r in zip(items, results, strict=True):
        v = vote(r.samples[:k])
        if v.accepted(min_agreement, 1):
            accepted += 1
            correct += v.label == answers[it.item_id]
    return {"accepted": accepted, "accuracy": correct / accepted if accepted else None}


def one_seed(seed: int, overrides: list[str]) -> dict:
    import torch

    cfg = load_config(ROOT / "conf" / "tiny.yaml", [f"bootstrap.seed={seed}", *overrides])
    torch.set_num_threads(cfg.model.threads)  # evaluation; the bootstrap uses bootstrap.threads
    wpath = world.build_world(cfg.world, cache_dir("world"))
    ck, info = run_bootstrap(cfg, wpath, cache_dir("bootstrap"))
    sampler = make_sampler(cfg, str(ck))
    out = {
        "seed": seed,
        "checkpoint": str(ck),
        "bootstrap": {k: v for k, v in info.items() if k != "losses_every_50"},
    }
    k, mt = cfg.evaluation.k, cfg.sampling.max_tokens
    ev = world.load_split(wpath, "eval")
    ev_req = requests_for(ev, cfg.sampling.prompt_suffix, cfg.model.image_first)
    t0 = time.perf_counter()
    out["eval"], _ = evaluate(
        sampler,
        ev,
        ev_req,
        {it.item_id: it.answer for it in ev},
        k=k,
        temperature=1.0,
        max_tokens=mt,
        seed=seed,
    )
    out["eval_seconds"] = time.perf_counter() - t0
    out["eval_samples_per_s"] = len(ev) * (k + 1) / out["eval_seconds"]
    pool = world.load_split(wpath, "pool")
    hidden = world.load_pool_answers(wpath)
    pool_req = requests_for(pool, cfg.sampling.prompt_suffix, cfg.model.image_first)
    out["pool_streams"] = []
    for stream in (0, 1):
        metrics, results = evaluate(
            sampler,
            pool,
            pool_req,
            hidden,
            k=k,
            temperature=1.0,
            max_tokens=mt,
            seed=1000 * (stream + 1) + seed,
        )
        metrics["pseudo_labels"] = pseudo_label_accuracy(pool, results, hidden, cfg.voting.min_agreement, k)
        out["pool_streams"].append(metrics)
    out["forced_routes"] = forced_routes(sampler, pool, pool_req, hidden, mt)
    return out


def _mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def report(runs: list[dict], blind: dict, overrides: list[str]) -> str:
    lines = [
        "# Embedded default: bootstrap and self-consistency gap",
        "",
        f"Overrides: {overrides or 'none'}. Blind (question-only) baseline on eval: "
        f"{blind['all']:.3f} ("
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(blind.items()) if k != "all")
        + ")",
        "",
        "| seed | bootstrap s | params | eval greedy | eval T=1 | eval maj@8 | pool greedy | pool maj@8 | gap | "
        "pseudo-label acc | wrong routes agree |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        for s, p in enumerate(r["pool_streams"]):
            lines.append(
                f"| {r['seed']}.{s} | {r['bootstrap']['wall_s']:.0f} | {r['bootstrap']['params']} | "
                f"{r['eval']['greedy_acc']:.3f} | {r['eval']['sampled_acc']:.3f} | {r['eval']['maj@8']:.3f} | "
                f"{p['greedy_acc']:.3f} | {p['maj@8']:.3f} | {p['gap']:+.3f} | "
                f"{(p['pseudo_labels']['accuracy'] or 0):.3f} ({p['pseudo_labels']['accepted']}) | "
                f"{(r['forced_routes']['wrong_routes_agree'] or 0):.2f} |"
            )
    gaps = [p["gap"] for r in runs for p in r["pool_streams"]]
    m, sd = _mean_sd(gaps)
    lines += ["", f"Pool gap (maj@8 − greedy) over {len(gaps)} seed×stream runs: mean {m:+.3f}, sd {sd:.3f}."]
    types = sorted({k.split("/")[1] for k in runs[0]["eval"] if k.startswith("greedy_acc/")})
    lines += [
        "",
        "Per-type eval greedy accuracy (mean over seeds) against the blind baseline:",
        "",
        "| type | greedy | maj@8 | blind |",
        "|---|---|---|---|",
    ]
    for t in types:
        g, _ = _mean_sd([r["eval"][f"greedy_acc/{t}"] for r in runs])
        mj, _ = _mean_sd([r["eval"][f"maj@8/{t}"] for r in runs])
        lines.append(f"| {t} | {g:.3f} | {mj:.3f} | {blind.get(t, float('nan')):.3f} |")
    lines += [
        "",
        "Sampler throughput (HF, greedy + 8 samples per item): "
        + ", ".join(f"{r['eval_samples_per_s']:.0f}" for r in runs)
        + " samples/s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--name", default="bootstrap")
    args = ap.parse_args()
    cfg = load_config(ROOT / "conf" / "tiny.yaml", args.overrides)
    wpath = world.build_world(cfg.world, cache_dir("world"))
    blind = world.blind_baseline(world.load_split(wpath, "sft"), world.load_split(wpath, "eval"))
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(one_seed, args.seeds, [args.overrides] * len(args.seeds)))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(
        json.dumps({"blind": blind, "runs": runs}, indent=1, default=str)
    )
    text = report(runs, blind, args.overrides)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
