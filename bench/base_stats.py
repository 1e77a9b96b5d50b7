"""Does a base have a real model's statistics, beyond the noise of 300 questions?

For each first-SFT seed of a design, the base is evaluated as a round's evaluate stage does (greedy, and
evaluation.k draws at the evaluation temperature, on the held-out eval split), and the two gaps the issue sets
targets for get a 95% interval from a paired bootstrap over questions: greedy − sampled (target within ±0.02) and
maj@k − greedy (target ≥ +0.10). Results go to bench/results/<name>.{json,md}.

    PYTHONPATH=. .venv/bin/python -m bench.base_stats --seeds 0 1 2 --name base-stats-framed-colour
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

from mmupt_core.config import load_config
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.bootstrap import run_bootstrap
from mmupt_core.model.sampling import SamplingParams, load_images, requests_for
from mmupt_core.paths import cache_dir
from mmupt_core.scoring.checkpoint import benchmark_items
from mmupt_core.scoring.evaluate import evaluate, item_scores
from mmupt_core.world import builder as world

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RESAMPLES = 10_000


def per_item(seed: int, overrides: list[str]) -> tuple[dict, list[dict]]:
    """The base of one SFT seed, evaluated: its config's k and temperature, and each question's scores."""
    import torch

    cfg = load_config(ROOT / "conf" / "tiny.yaml", [f"bootstrap.seed={seed}", *overrides])
    torch.set_num_threads(cfg.model.threads)
    wpath = world.build_world(cfg.world, cache_dir("world"))
    ck, _ = run_bootstrap(cfg, wpath, cache_dir("bootstrap"))
    items, answers, scorer, extract = benchmark_items(cfg, "world_eval")
    items, images, _ = load_images([it for it in items if it.item_id in answers])
    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first, images)
    params = SamplingParams.evaluation(cfg, 0)
    with open_sampler(cfg, str(ck)) as sampler:
        metrics, results = evaluate(sampler, items, reqs, answers, params, scorer=scorer, extract=extract)
    rows = []
    for it, r in zip(items, results, strict=True):  # per question, as the evaluate stage averages them
        row = item_scores(it, r, scorer, params.n)
        rows.append(
            {"greedy": row["greedy_acc"], "sampled": row["sampled_acc"], "maj": row[f"maj@{params.n}"]}
        )
    setting = {"stage_metrics": {m: metrics[m] for m in ("greedy_acc", "sampled_acc", f"maj@{params.n}")}}
    setting |= {"seed": seed, "checkpoint": str(ck), "k": params.n, "temperature": params.temperature}
    return setting, rows


def interval(values: list[float], seed: int = 0) -> tuple[float, float, float]:
    """Mean and a 95% percentile interval of the mean, resampling questions with replacement."""
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(RESAMPLES))
    return statistics.fmean(values), means[int(0.025 * RESAMPLES)], means[int(0.975 * RESAMPLES) - 1]


def summarize(setting: dict, rows: list[dict]) -> dict:
    out = dict(setting, n=len(rows))
    for key in ("greedy", "sampled", "maj"):
        out[key] = statistics.fmean(r[key] for r in rows)
    out["greedy_minus_sampled"] = interval([r["greedy"] - r["sampled"] for r in rows])
    out["maj_minus_greedy"] = interval([r["maj"] - r["greedy"] for r in rows])
    return out


def render(name: str, overrides: list[str], out: list[dict]) -> str:
    def ci(t) -> str:
        return f"{t[0]:+.3f} [{t[1]:+.3f}, {t[2]:+.3f}]"

    lines = [
        f"# Base statistics with their noise (`{name}`)",
        "",
        f"conf/tiny.yaml with `{' '.join(overrides) or '(nothing)'}`; each first-SFT seed's base on the held-out "
        f"eval split, greedy and k draws at the evaluation temperature; 95% intervals from a paired bootstrap over "
        f"questions ({RESAMPLES} resamples). Targets: greedy − sampled within ±0.02, maj@k − greedy ≥ +0.10. "
        "Written by `bench/base_stats.py`.",
        "",
        "| SFT seed | questions | greedy | sampled | maj@k | greedy − sampled [95%] | maj@k − greedy [95%] |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in out:
        lines.append(
            f"| {r['seed']} | {r['n']} | {r['greedy']:.3f} | {r['sampled']:.3f} (T={r['temperature']:g}) | "
            f"{r['maj']:.3f} (k={r['k']}) | {ci(r['greedy_minus_sampled'])} | {ci(r['maj_minus_greedy'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--name", default="base-stats")
    args = ap.parse_args()
    out = [summarize(*per_item(s, args.overrides)) for s in args.seeds]
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1))
    text = render(args.name, args.overrides, out)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
