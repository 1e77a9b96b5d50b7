"""Is a checkpoint's greedy decoding on a knife's edge? Label-free, from one greedy pass and one forced one.

A greedy gain means little when a nudge of any kind (a fair-coin reward did it, bench/results/upt-sft1800-*.md)
can flip greedy's answers: greedy then amplifies whichever of two near-equal tokens is ahead. For each eval item:
decode greedily, keeping every step's distribution; find the closest call (the step where the top token's
probability exceeds the runner-up's by least); force the runner-up there and decode greedily on. Then:
- margin: that smallest top-1 minus top-2 probability;
- flippable: the share of items whose closest call is under `--delta` and whose forced answer differs from
  greedy's: the answers a small nudge of the model could move (label-free; a run could log it);
- nudge up / down (LABELS): the share of items a nudge could turn right / wrong: the size of greedy gain (or
  loss) that needs no learning at all. Compare a UPT run's greedy gain with nudge-up before reading it as evidence.
Results go to bench/results/<name>.{json,md}.

    PYTHONPATH=. .venv/bin/python -m bench.knife --name knife-sft1800 --bases 0 1 2 --set world.variant=framed ...
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from mmupt_core.config import load_config
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.bootstrap import bootstrap_key
from mmupt_core.model.sampling import HFSampler, SamplingParams, load_images, render_prompt, requests_for
from mmupt_core.paths import cache_dir
from mmupt_core.scoring.checkpoint import benchmark_items
from mmupt_core.voting.answers import equivalent

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DELTAS = (0.1, 0.2, 0.3)


@dataclass(frozen=True)
class Call:
    """One item's greedy decode and its closest call."""

    text: str  # greedy's completion
    margin: float  # smallest top-1 minus top-2 probability over the completion's steps
    step: int  # where it was (0 = the first generated token)
    forced_prefix: str  # the completion up to that step with the runner-up in place of greedy's token
    forced_ends: bool  # the runner-up was the end of the turn: the forced completion is the prefix itself
    fork: str  # greedy's token and the runner-up there ("A>B"): one fork on every item is one bias to flip


@torch.inference_mode()
def closest_calls(sampler: HFSampler, requests, max_tokens: int) -> list[Call]:
    """Greedy decoding with every step's distribution, batched like HFSampler.sample (left padding)."""
    model, processor = sampler.model, sampler.processor
    tok = processor.tokenizer
    eos = tok.eos_token_id
    model.eval()
    out: list[Call] = []
    for start in range(0, len(requests), sampler.batch_size):
        chunk = requests[start : start + sampler.batch_size]
        batch = processor(
            text=[render_prompt(processor, r) for r in chunk],
            images=[r.image for r in chunk],
            return_tensors="pt",
            padding=True,
        ).to(model.device)
        gen = model.generate(
            **batch,
            do_sample=False,
            max_new_tokens=max_tokens,
            suppress_tokens=sampler.suppress or None,
            pad_token_id=tok.pad_token_id,
            eos_token_id=eos,
            output_scores=True,
            return_dict_in_generate=True,
        )
        new = gen.sequences[:, batch["input_ids"].shape[1] :]
        probs = torch.stack(gen.scores, dim=1).float().softmax(-1)  # [batch, steps, vocab]
        top = probs.topk(2, dim=-1)
        for i in range(len(chunk)):
            ids = new[i].tolist()
            n = ids.index(eos) + 1 if eos in ids else len(ids)  # the end of turn is a decision too
            gaps = (top.values[i, :n, 0] - top.values[i, :n, 1]).tolist()
            step = min(range(n), key=gaps.__getitem__)
            runner = int(top.indices[i, step, 1])
            kept = [t for t in ids[: min(n, ids.index(eos) if eos in ids else n)] if t != tok.pad_token_id]
            out.append(
                Call(
                    text=tok.decode(kept, skip_special_tokens=True),
                    margin=gaps[step],
                    step=step,
                    forced_prefix=tok.decode(
                        ids[:step] + ([] if runner == eos else [runner]), skip_special_tokens=True
                    ),
                    forced_ends=runner == eos,
                    fork=f"{tok.decode([ids[step]])}>{tok.decode([runner])}".replace(" ", ""),
                )
            )
    return out


def summarize(
    greedy: list[str | None],
    forced: list[str | None],
    margins: list[float],
    truth: list[str | None] | None = None,
    forks: list[str] | None = None,
    deltas=DELTAS,
) -> dict:
    """The shares of the module docstring from per-item greedy answers, forced answers and closest-call
    margins; `truth` (labels) adds greedy accuracy and the nudge-up / nudge-down shares; `forks` adds the most
    common fork among the flippable items and its share of them (near 1: one bias flips them all at once)."""
    n = len(greedy)
    if not n:
        raise ValueError("no items to measure")
    moved = [not equivalent(g, f) for g, f in zip(greedy, forced, strict=True)]
    out: dict = {"items": n, "margin_median": sorted(margins)[n // 2], "by_delta": {}}
    if truth is not None:
        right = [equivalent(g, t) for g, t in zip(greedy, truth, strict=True)]
        forced_right = [equivalent(f, t) for f, t in zip(forced, truth, strict=True)]
        out["greedy_acc"] = sum(right) / n
    for d in deltas:
        near = [m < d for m in margins]
        row = {
            "near_tie": sum(near) / n,
            "flippable": sum(a and b for a, b in zip(near, moved, strict=True)) / n,
        }
        flip = [a and b for a, b in zip(near, moved, strict=True)]
        if forks is not None and any(flip):
            counts = Counter(f for f, x in zip(forks, flip, strict=True) if x)
            top, k = counts.most_common(1)[0]
            row["top_fork"], row["top_fork_share"] = top, k / sum(flip)
        if truth is not None:
            row["nudge_up"] = (
                sum(f and fr and not r for f, fr, r in zip(flip, forced_right, right, strict=True)) / n
            )
            row["nudge_down"] = (
                sum(f and r and not fr for f, fr, r in zip(flip, forced_right, right, strict=True)) / n
            )
        out["by_delta"][str(d)] = row
    return out


def measure(cfg, checkpoint: str, benchmark: str = "world_eval") -> dict:
    items, answers, _, extract = benchmark_items(cfg, benchmark)
    items, images, _ = load_images([it for it in items if it.item_id in answers])
    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first, images)
    max_tokens = cfg.sampling.max_tokens
    with open_sampler(cfg, checkpoint) as sampler:
        if not isinstance(sampler, HFSampler):
            raise ValueError("bench.knife reads token distributions: it needs sampling.backend=hf")
        calls = closest_calls(sampler, reqs, max_tokens)
        todo = [i for i, c in enumerate(calls) if not c.forced_ends]
        sets = sampler.sample(
            [replace(reqs[i], prefill=calls[i].forced_prefix) for i in todo],
            SamplingParams(max_tokens=max_tokens),
        )
    forced_text = {i: c.forced_prefix for i, c in enumerate(calls)}
    for i, s in zip(todo, sets, strict=True):
        forced_text[i] = calls[i].forced_prefix + s.completions[0].text
    greedy = [extract(c.text, it) for c, it in zip(calls, items, strict=True)]
    forced = [extract(forced_text[i], it) for i, it in enumerate(items)]
    truth = [answers[it.item_id] for it in items]  # USES LABELS: the nudge shares only
    return {
        **summarize(greedy, forced, [c.margin for c in calls], truth, [c.fork for c in calls]),
        "closest_call_step_median": sorted(c.step for c in calls)[len(calls) // 2],
    }


def base_checkpoint(base_seed: int, overrides: list[str]) -> tuple[object, str]:
    cfg = load_config(ROOT / "conf" / "tiny.yaml", [f"bootstrap.seed={base_seed}", *overrides])
    path = cache_dir("bootstrap") / f"tiny-{bootstrap_key(cfg)}"
    if not (path / "bootstrap.json").is_file():
        raise FileNotFoundError(f"no cached base for bootstrap.seed={base_seed} with these overrides: {path}")
    return cfg, str(path)


def run_checkpoints(
    bench_name: str, spec: str, rounds: list[int] | None, overrides: list[str]
) -> list[tuple]:
    """(name, config, checkpoint) of a finished bench.upt run's rounds."""
    from bench.upt import run_config, run_spec
    from mmupt_core.rounds.context import Context

    run_id, cfg = run_config(*run_spec(spec), overrides, bench_name)
    store = Context(cfg, run_id, 0).store
    lineage = {c["round"]: c["path"] for c in store.lineage(run_id)}
    return [(f"{run_id} r{r}", cfg, lineage[r]) for r in (rounds or [max(lineage)])]


def report(rows: list[dict]) -> str:
    lines = [
        "# Greedy's knife's edge (label-free; nudge columns use LABELS)",
        "",
        "Per checkpoint, on the eval split: the closest call of each greedy decode (smallest top-1 minus top-2 "
        "probability), the runner-up forced there. *flippable*: closest call under δ and the forced answer differs. "
        "*nudge up / down* (LABELS): flippable items a nudge would turn right / wrong. The commonest fork "
        "(greedy's token > the runner-up) among the flippable: a share near 1 is one bias that flips them all.",
        "",
        "| checkpoint | greedy (LABELS) | median margin | δ | near tie | flippable | nudge up (LABELS) "
        "| nudge down (LABELS) | commonest fork of the flippable (share) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for x in rows:
        for k, (d, row) in enumerate(x["by_delta"].items()):
            head = f"{x['name']} | {x['greedy_acc']:.3f} | {x['margin_median']:.3f}" if k == 0 else " | |"
            lines.append(
                f"| {head} | {d} | {row['near_tie']:.3f} | {row['flippable']:.3f} | {row['nudge_up']:.3f} "
                f"| {row['nudge_down']:.3f} | {row.get('top_fork', '-')} ({row.get('top_fork_share', 0):.2f}) |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True, help="results file name")
    ap.add_argument(
        "--bases", nargs="*", type=int, default=[], help="cached base seeds under these overrides"
    )
    ap.add_argument(
        "--checkpoint",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "PATH"),
        help="any other checkpoint",
    )
    ap.add_argument("--bench", help="the bench.upt --name of --runs")
    ap.add_argument(
        "--runs", nargs="*", default=[], metavar="BASE:UPT:REWARD", help="bench.upt runs' checkpoints"
    )
    ap.add_argument("--rounds", nargs="*", type=int, help="which rounds of each run (default: its last)")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--append", action="store_true", help="add to the results file instead of replacing it")
    args = ap.parse_args()
    path = RESULTS / f"{args.name}.json"
    rows = json.loads(path.read_text()) if args.append and path.exists() else []
    jobs = [(f"base b{b}", *base_checkpoint(b, args.overrides)) for b in args.bases]
    cfg0 = load_config(ROOT / "conf" / "tiny.yaml", args.overrides)
    jobs += [(name, cfg0, p) for name, p in args.checkpoint]
    for spec in args.runs:
        jobs += run_checkpoints(args.bench, spec, args.rounds, args.overrides)
    for name, cfg, ck in jobs:
        rows.append({"name": name, "checkpoint": ck, "overrides": args.overrides, **measure(cfg, ck)})
        path.write_text(json.dumps(rows, indent=1))
    text = report(rows)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
