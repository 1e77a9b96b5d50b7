"""Where the outlined (cued) panel is also the framed one, is the vote right? Read from finished `bench.upt`
runs on the `cued` world (their stores); nothing is sampled or trained here.

On `cued` the first SFT takes the outlined panel's route more often than each other. Where that panel is also
framed (its colours always wrong), the favourite route gives the frame's one wrong colour, and the other routes'
right answers must outvote it. Per run and round, for the pool items where the outlined panel is framed and
for the others: how many items, the vote's mean agreement (label-free), and how often the vote is right (LABELS:
the pool's hidden answers, to judge the vote with). Results go to bench/results/<name>.{json,md}.

    .venv/bin/python -m bench.cued_votes --name upt-cued6-votes --bench upt-cued6 \
        --runs 0:0:majority_vote 0:0:random 0:0:ground_truth --set world.variant=cued --set world.cue_weight=6 ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import fmt
from bench.upt import run_config, run_spec
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.pool import hidden_answers
from mmupt_core.voting.answers import equivalent
from mmupt_core.world import builder as world
from mmupt_core.world.builder import world_path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GROUPS = ("outlined panel framed", "other items")


def group_of(scene: dict) -> str:
    if scene.get("cued") is None:
        raise ValueError(
            "the pool's scenes have no outlined panel: bench.cued_votes needs world.variant=cued"
        )
    return GROUPS[0] if scene["cued"] == scene.get("framed") else GROUPS[1]


def split(labels: dict[int, list[dict]], scenes: dict[str, dict], truth: dict[str, str]) -> dict:
    """Per round, per group: items, mean agreement, share of votes right."""
    out: dict = {}
    for r, rows in sorted(labels.items()):
        acc = {g: [0, 0.0, 0] for g in GROUPS}
        for p in rows:
            a = acc[group_of(scenes[p["item_id"]])]
            a[0] += 1
            a[1] += p["agreement"]
            a[2] += bool(equivalent(p["label"], truth.get(p["item_id"])))
        out[r] = {
            g: {"items": n, "agreement": s / n if n else None, "vote_right": k / n if n else None}
            for g, (n, s, k) in acc.items()
        }
    return out


def measure(bench_name: str, base_seed: int, upt_seed: int, reward: str, overrides: list[str]) -> dict:
    run_id, cfg = run_config(base_seed, upt_seed, reward, overrides, bench_name)
    store = Context(cfg, run_id, 0).store
    rounds = max(c["round"] for c in store.lineage(run_id))
    labels = {r: store.pseudo_labels(run_id, r) for r in range(1, rounds + 1)}
    scenes = {r["item_id"]: r for r in world.pool_scenes(cfg.world, world_path(cfg)).values()}
    truth = hidden_answers(cfg)  # USES LABELS: for judging the vote only
    return {"run_id": run_id, "reward": reward, "rounds": split(labels, scenes, truth)}


def report(rows: list[dict], overrides: list[str]) -> str:
    lines = [
        "# The vote where the outlined panel is framed (`cued` world)",
        "",
        f"Overrides: `{' '.join(overrides)}`. Round r's vote was sampled from round r−1's checkpoint (round 1's "
        "from the base). *agreement* is label-free; *vote right* uses the pool's hidden answers (LABELS).",
        "",
        "| run | round | items (outlined framed / other) | agreement | vote right (LABELS) |",
        "|---|---|---|---|---|",
    ]
    for x in rows:
        for r, g in sorted(x["rounds"].items(), key=lambda kv: int(kv[0])):
            a, b = g[GROUPS[0]], g[GROUPS[1]]
            lines.append(
                f"| {x['run_id']} | {r} | {a['items']} / {b['items']} | {fmt(a['agreement'])} / "
                f"{fmt(b['agreement'])} | {fmt(a['vote_right'])} / {fmt(b['vote_right'])} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="results file name")
    ap.add_argument("--bench", required=True, help="the bench.upt --name the runs were made under")
    ap.add_argument("--runs", nargs="+", required=True, metavar="BASE:UPT:REWARD")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    rows = []
    for spec in args.runs:
        rows.append(measure(args.bench, *run_spec(spec), args.overrides))
    (RESULTS / f"{args.name}.json").write_text(json.dumps(rows, indent=1))
    text = report(rows, args.overrides)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
