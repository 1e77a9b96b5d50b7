"""Does a UPT run absorb its base's majority, or sharpen onto its base's greedy answer? Read from finished
`bench.upt` runs (their stores and checkpoints); nothing is trained here.

UPT can only teach where the base's greedy answer and its majority differ. On the pool items where they do
(D: the base's greedy answer against round 1's vote, which the base sampled), per round:
- absorbed: the share of D where that round's checkpoint, decoding greedily, gives the base's majority;
- entrenched: the share of D where that round's vote (sampled from the checkpoint before it) gives back the base's
  greedy answer, i.e. the samples have drifted onto what greedy decoding already said.
Both are label-free (a run could log them); the truth of the pool's hidden answers is shown beside them, marked,
to judge them with. Results go to bench/results/<name>.{json,md}.

    .venv/bin/python -m bench.entrench --name upt-sft1800-entrench --bench upt-sft1800-more \
        --runs 0:1:majority_vote --set world.variant=framed ...
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import fmt
from bench.upt import run_config, run_spec
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.sampling import SamplingParams, load_images, requests_for
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.pool import hidden_answers, stored_pool
from mmupt_core.voting.answers import equivalent, extract_answer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _share(ids: list[str], hit) -> float | None:
    return sum(1 for i in ids if hit(i)) / len(ids) if ids else None


def greedy_answers(cfg, checkpoint: str, items, requests) -> dict[str, str | None]:
    with open_sampler(cfg, checkpoint) as sampler:
        sets = sampler.sample(requests, SamplingParams(max_tokens=cfg.sampling.max_tokens))
    return {
        it.item_id: extract_answer(s.completions[0].text, it.choices)
        for it, s in zip(items, sets, strict=True)
    }


def measure(bench_name: str, base_seed: int, upt_seed: int, reward: str, overrides: list[str]) -> dict:
    run_id, cfg = run_config(base_seed, upt_seed, reward, overrides, bench_name)
    ctx = Context(cfg, run_id, 0)
    store = ctx.store
    rounds = max(c["round"] for c in store.lineage(run_id))
    items, images, _ = load_images(sorted(stored_pool(ctx), key=lambda it: it.item_id))
    requests = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first, images)
    ids = [it.item_id for it in items]
    greedy = {
        r: greedy_answers(cfg, store.checkpoint(run_id, r)["path"], items, requests)
        for r in range(rounds + 1)
    }
    votes = {
        r: {p["item_id"]: p["label"] for p in store.pseudo_labels(run_id, r)} for r in range(1, rounds + 1)
    }
    truth = hidden_answers(cfg)  # USES LABELS: for judging the label-free shares only
    return {
        "run_id": run_id,
        "base_seed": base_seed,
        "upt_seed": upt_seed,
        "reward": reward,
        **shares(ids, greedy, votes, truth),
    }


def shares(
    ids: list[str],
    greedy: dict[int, dict[str, str | None]],
    votes: dict[int, dict[str, str | None]],
    truth: dict[str, str],
) -> dict:
    """The shares of the module docstring, from each round's greedy answers (round 0 = the base) and votes
    (round r's vote was sampled from round r-1's checkpoint)."""
    g0, m1 = greedy[0], votes[1]
    differ = [i for i in ids if m1.get(i) is not None and not equivalent(g0[i], m1[i])]
    out = {
        "items": len(ids),
        "differ": len(differ),
        "differ_majority_right": _share(differ, lambda i: equivalent(m1[i], truth.get(i))),
        "differ_greedy_right": _share(differ, lambda i: equivalent(g0[i], truth.get(i))),
        "rounds": {},
    }
    for r in sorted(greedy):
        row = {
            "absorbed": _share(differ, lambda i, r=r: equivalent(greedy[r][i], m1[i])),
            "pool_greedy_right": _share(ids, lambda i, r=r: equivalent(greedy[r][i], truth.get(i))),
        }
        if r in votes:
            row["entrenched"] = _share(differ, lambda i, r=r: equivalent(votes[r].get(i), g0[i]))
            row["vote_right"] = _share(ids, lambda i, r=r: equivalent(votes[r].get(i), truth.get(i)))
        out["rounds"][r] = row
    return out


def report(rows: list[dict], overrides: list[str]) -> str:
    lines = [
        "# Absorbing the majority, or sharpening onto greedy's answer (label-free, per UPT run)",
        "",
        f"Overrides: `{' '.join(overrides)}`. D = the pool items whose base greedy answer differs from round 1's "
        "vote (the base's own majority). *absorbed*: share of D where round r's checkpoint, greedy, gives the "
        "base's majority. *entrenched*: share of D where round r's vote (sampled from round r−1's checkpoint) gives "
        "the base's greedy answer. Columns marked LABELS use the pool's hidden answers, to judge the others.",
        "",
        "| run | D share | D: majority right (LABELS) | round | absorbed | entrenched | pool greedy right (LABELS) "
        "| vote right (LABELS) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for x in rows:
        for r, row in sorted(x["rounds"].items(), key=lambda kv: int(kv[0])):
            head = (
                f"{x['run_id']} | {x['differ'] / x['items']:.3f} | {fmt(x['differ_majority_right'])}"
                if int(r) == 0
                else " | |"
            )
            lines.append(
                f"| {head} | {r} | {fmt(row['absorbed'])} | {fmt(row.get('entrenched'))} | "
                f"{fmt(row['pool_greedy_right'])} | {fmt(row.get('vote_right'))} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="results file name")
    ap.add_argument("--bench", required=True, help="the bench.upt --name the runs were made under")
    ap.add_argument("--runs", nargs="+", required=True, metavar="BASE:UPT:REWARD")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--append", action="store_true", help="add to the results file instead of replacing it")
    args = ap.parse_args()
    path = RESULTS / f"{args.name}.json"
    rows = json.loads(path.read_text()) if args.append and path.exists() else []
    for spec in args.runs:
        rows.append(measure(args.bench, *run_spec(spec), args.overrides))
        path.write_text(json.dumps(rows, indent=1))
    text = report(rows, args.overrides)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
