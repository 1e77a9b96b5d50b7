"""The chain's link 1 over a grid of world settings, from the generator alone: no first SFT, no model.

For each setting, an ideal route executor on the pool scenes (every route answers with its own panel's truth,
routes weighted as the first SFT would take them): greedy (the likeliest route), sampled (the expected accuracy
of one sampled route) and maj@k (bench/chain.py). A base built on the world samples below its ideal executor
(answer-token noise at T = 1), so this ranks designs before the 7-minute first SFT; it does not replace it.
Results go to bench/results/<name>.{json,md}.

    .venv/bin/python -m bench.ideal_scan --name ideal-scan-cued --set world.variant=cued \
        --grid world.cue_weight=3,4,6 world.sft_frame_weight=0.75,0.5,0.25
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

from bench import chain
from mmupt_core.config import load_config
from mmupt_core.world import builder as world

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def sampled_accuracy(route_answers, truths, weights) -> float:
    """Expected accuracy of one route drawn with each item's weights."""
    per_item = [
        sum(w for w, a in zip(ws, ra, strict=True) if a == t) / sum(ws)
        for ra, t, ws in zip(route_answers, truths, weights, strict=True)
    ]
    return sum(per_item) / len(per_item)


def measure(overrides: list[str], k: int) -> dict:
    cfg = load_config(ROOT / "conf" / "tiny.yaml", [*overrides, "world.n_sft=10", "world.n_eval=10"]).world
    with tempfile.TemporaryDirectory() as tmp:
        path = world.build_world(cfg, Path(tmp) / "world")
        hidden = world.load_pool_answers(path)
        scenes = list(world.pool_scenes(cfg, path).values())
    route_answers = [s["route_answers"] for s in scenes]
    truths = [hidden[s["item_id"]] for s in scenes]
    weights = [world.route_weights(cfg, s) for s in scenes]
    gap = chain.ideal_gap(route_answers, truths, weights, k)
    return {
        "overrides": overrides,
        "items": len(truths),
        "greedy": gap["greedy"],
        "sampled": sampled_accuracy(route_answers, truths, weights),
        f"maj@{k}": gap[f"maj@{k}"],
    }


def grid(specs: list[str]) -> list[list[str]]:
    """'key=a,b' specs -> every combination as override lists."""
    axes = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        if not sep or not values:
            raise SystemExit(f"--grid wants key=v1,v2,...; got {spec!r}")
        axes.append([f"{key}={v}" for v in values.split(",")])
    return [list(combo) for combo in itertools.product(*axes)]


def report(rows: list[dict], base: list[str], k: int) -> str:
    lines = [
        "# The ideal executor over world settings (link 1, no model)",
        "",
        f"Base overrides: `{' '.join(base)}`; {rows[0]['items'] if rows else 0} pool scenes; k = {k}. "
        "Real bases sample below their ideal executor, so read the columns as a ranking of designs.",
        "",
        f"| setting | greedy | sampled | maj@{k} | greedy − sampled | maj@{k} − greedy |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        g, s, m = r["greedy"], r["sampled"], r[f"maj@{k}"]
        setting = " ".join(o for o in r["overrides"] if o not in base)
        lines.append(f"| `{setting}` | {g:.3f} | {s:.3f} | {m:.3f} | {g - s:+.3f} | {m - g:+.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="results file name")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--grid", nargs="+", required=True, metavar="KEY=V1,V2")
    ap.add_argument("--k", type=int, default=8, help="votes per item")
    args = ap.parse_args()
    rows = [measure([*args.overrides, *combo], args.k) for combo in grid(args.grid)]
    (RESULTS / f"{args.name}.json").write_text(json.dumps(rows, indent=1))
    text = report(rows, args.overrides, args.k)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
