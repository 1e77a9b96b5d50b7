"""Link 6 from the inside: does training teach the model to avoid the framed panel, round by round?

For each run of a `bench.upt` result (bench/results/<name>.json, framed worlds), every round's checkpoint is
sampled on eval: the share of sampled routes (T = 1, 8 per question) and of greedy routes that read the framed
panel, what those framed routes answer (the panel's wrong answer, or the truth: the model looked past the
panel it named), and how often greedy "Which panel is framed?" is right. A base that took its routes uniformly reads the
frame on 1/panels of its samples; a model that learned to distrust it, on fewer. Results go to
bench/results/<name>-frame.{json,md}.

    .venv/bin/python -m bench.frame --name recipe-framed-w4-lr3e-5 --set world.frame_width=4 ...
"""

from __future__ import annotations

import argparse
import json

from bench.chain import frame_located, route_of
from bench.upt import RESULTS, run_config
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.sampling import SamplingParams, requests_for
from mmupt_core.rounds.context import Context
from mmupt_core.voting.answers import extract_answer
from mmupt_core.world import builder as world
from mmupt_core.world.panels import PANEL_NAMES


def frame_shares(cfg, checkpoint: str, n_items: int, seed: int = 5) -> dict[str, float]:
    """On the first n_items of eval: framed-route share of sampled and of greedy routes, what the framed routes
    answer, frame located."""
    with open_sampler(cfg, checkpoint) as sampler:
        return _frame_shares(sampler, cfg, n_items, seed)


def _frame_shares(sampler, cfg, n_items: int, seed: int) -> dict[str, float]:
    wpath = world.world_path(cfg)
    items = world.load_split(wpath, "eval")[:n_items]
    metas = world.load_metas(wpath, "eval")
    framed = [f"Panel {PANEL_NAMES[metas[it.item_id]['framed']]}" for it in items]
    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first)
    mt = cfg.sampling.max_tokens
    greedy = sampler.sample(reqs, SamplingParams(max_tokens=mt))
    sampled = sampler.sample(reqs, SamplingParams(8, 1.0, 1.0, mt, seed))
    # what a route that names the framed panel answers, where that panel's answer is not the truth: the panel's
    # answer (it read what it named) or the truth (it looked past the panel it named)
    read = past = 0
    for s, it, f in zip(sampled, items, framed, strict=True):
        meta = metas[it.item_id]
        panel_says = meta["route_answers"][meta["framed"]]
        if panel_says == it.answer:
            continue
        for c in s.completions:
            if route_of(c.text) == f:
                got = extract_answer(c.text, it.choices)
                read += got == panel_says
                past += got == it.answer
    return {
        "sampled_on_frame": sum(
            route_of(c.text) == f for s, f in zip(sampled, framed, strict=True) for c in s.completions
        )
        / (8 * len(items)),
        "greedy_on_frame": sum(
            route_of(s.completions[0].text) == f for s, f in zip(greedy, framed, strict=True)
        )
        / len(items),
        "frame_looked_past": past / max(1, read + past),
        "frame_located": frame_located(sampler, items, metas, cfg.model.image_first),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--items", type=int, default=300)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    runs = json.loads((RESULTS / f"{args.name}.json").read_text())
    out = []
    for r in runs:
        run_id, cfg = run_config(r["base_seed"], r["upt_seed"], r["reward"], args.overrides, args.name)
        store = Context(cfg, run_id, 0).store
        rounds = sorted(int(k) for k in r["rounds"])
        per_round = {}
        for k in [0, *[k for k in rounds if k > 0]]:
            ck = store.checkpoint(run_id, k)
            if ck is not None:
                per_round[k] = frame_shares(cfg, ck["path"], args.items)
        out.append(
            {
                "run_id": run_id,
                "reward": r["reward"],
                "base_seed": r["base_seed"],
                "upt_seed": r["upt_seed"],
                "rounds": per_round,
            }
        )
    (RESULTS / f"{args.name}-frame.json").write_text(json.dumps(out, indent=1))
    text = render(args.name, out, args.items)
    (RESULTS / f"{args.name}-frame.md").write_text(text)
    print(text)


def render(name: str, out: list[dict], n_items: int) -> str:
    lines = [
        f"# Does training learn to avoid the frame? (`{name}`)",
        "",
        f"First {n_items} eval questions, each round's checkpoint (round 0 is the base). Written by `bench/frame.py`.",
        "",
        "| reward, SFT seed / UPT seed | sampled routes on the frame | greedy route on the frame "
        "| of those sampled, answer the truth (not the panel) | frame located |",
        "|---|---|---|---|---|",
    ]
    for r in out:
        rounds = {int(k): v for k, v in r["rounds"].items()}

        def series(m: str, rounds=rounds) -> str:
            return " → ".join(f"{rounds[k][m]:.3f}" for k in sorted(rounds))

        lines.append(
            f"| {r['reward']} b{r.get('base_seed', 0)} / u{r['upt_seed']} | {series('sampled_on_frame')} | "
            f"{series('greedy_on_frame')} | {series('frame_looked_past')} | {series('frame_located')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
