"""Which training recipe does no harm: the ground-truth oracle (and UPT) on one base under recipe variants.

Each arm is a `bench.upt` run under its own name (bench/results/<name>.json); this renders them side by side
into bench/results/recipe.md, one row per (arm, reward, seed): greedy, sampled (T = 1) and maj@8 on eval per
round, and the change per question type after the last round. The arms, what each changes and why, are
listed in ARMS so the table is reproducible:

    .venv/bin/python -m bench.upt --name recipe-framed-default --rewards ground_truth --upt-seeds 0 --jobs 1 \\
        --set world.frame_noise=0.8 ...
    .venv/bin/python -m bench.recipe
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def rows_of(name: str) -> list[str]:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return [f"| {name} | (not run) | | | | | |"]
    out = []
    for r in json.loads(path.read_text()):
        rounds = {int(k): v for k, v in r["rounds"].items()}
        last = max(rounds)

        def series(m: str, r=r, rounds=rounds) -> str:
            values = [r["base"][m]] + [rounds[k][f"world_eval.{m}"] for k in sorted(rounds) if k > 0]
            return " → ".join(f"{v:.3f}" for v in values)

        types = sorted({k.split("/", 1)[1] for k in r["base"] if k.startswith("greedy_acc/")})
        per_type = ", ".join(
            f"{t} {rounds[last][f'world_eval.greedy_acc/{t}'] - r['base'][f'greedy_acc/{t}']:+.3f}"
            for t in types
        )
        out.append(
            f"| {name} | {r['reward']} s{r['upt_seed']} | {series('greedy_acc')} | {series('sampled_acc')} | "
            f"{series('maj@8')} | {per_type} | {r['wall_s']:.0f} |"
        )
    return out


def render(names: list[str], notes: dict[str, str]) -> str:
    lines = [
        "# Training recipes against the oracle",
        "",
        "Each arm: 3 rounds from the same cached base, eval (300 held-out questions) per round, base first. "
        "Written by `bench/recipe.py` from the `bench.upt` results named in the first column.",
        "",
        "| arm | reward, seed | greedy | sampled T=1 | maj@8 | greedy Δ per type (last round) | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        lines += rows_of(name)
    lines += ["", "## The arms", ""]
    lines += [f"- `{n}`: {notes.get(n, '')}" for n in names]
    return "\n".join(lines) + "\n"


def run(arms: list[dict], jobs: int) -> None:
    """Run the arms' (reward, seed) jobs side by side, one thread each; each arm's results go to its own file."""
    from concurrent.futures import ProcessPoolExecutor

    from bench import upt

    work = [
        (0, seed, reward, 3, a["overrides"], a["name"])
        for a in arms
        for reward in a.get("rewards", ["ground_truth"])
        for seed in a.get("seeds", [0])
    ]
    # Build each base once, here, so parallel workers never race to write the same cached checkpoint.
    from mmupt_core.config import load_config
    from mmupt_core.model.bootstrap import run_bootstrap
    from mmupt_core.paths import cache_dir
    from mmupt_core.world.builder import world_path

    for a in arms:
        cfg = load_config(ROOT / "conf" / "tiny.yaml", [*a["overrides"], "bootstrap.threads=1"])
        run_bootstrap(cfg, world_path(cfg), cache_dir("bootstrap"))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        done = list(pool.map(upt.one_run, work))
    for a in arms:
        runs = [r for r, w in zip(done, work, strict=True) if w[5] == a["name"]]
        (RESULTS / f"{a['name']}.json").write_text(json.dumps(runs, indent=1, default=str))
        (RESULTS / f"{a['name']}.md").write_text(upt.report(runs, 3, a["overrides"]))


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--run", nargs="*", default=None, help="run these arms (names in recipe-arms.json) first")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    spec = json.loads((RESULTS / "recipe-arms.json").read_text())
    if args.run:
        run([a for a in spec if a["name"] in args.run], args.jobs)
    names = [a["name"] for a in spec]
    notes = {a["name"]: f"{a['why']} Overrides: `{' '.join(a['overrides'])}`." for a in spec}
    text = render(names, notes)
    (RESULTS / "recipe.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
