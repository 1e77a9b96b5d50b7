"""Benchmark of the embedded default's base, link by link (bench/chain.py), for every world design tried.

For each design (a name and config overrides) and SFT seed: the world and the first SFT (cached), then
1. the ideal gap of the world on the pool (no model; k and tie rule as voted);
2. perception on a clean control (no noise): per-type greedy accuracy, and the describe probe per cell;
3. route fidelity: each route forced by its prefix; how often wrong routes agree;
4. the learned gap on the pool (maj@k - greedy, two sampling streams) and pseudo-label accuracy (hidden answers);
5. the training signal: mean GRPO advantage per route under the online majority reward, from the base's samples;
plus the label-free probe (probe.py) and held-out eval accuracy. `--perception` runs the one-object probe over
learning rates instead. Results accumulate in bench/results/bootstrap.json (one entry per design) and are
rendered to bootstrap.md.

    .venv/bin/python -m bench.bootstrap --design panels --seeds 0 1 2 --jobs 2
    .venv/bin/python -m bench.bootstrap --design views --set world.kind=views --seeds 0 1 2
    .venv/bin/python -m bench.bootstrap --perception
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench import chain
from mmupt_core.config import load_config
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.bootstrap import run_bootstrap
from mmupt_core.model.sampling import Request, SamplingParams, requests_for
from mmupt_core.paths import cache_dir
from mmupt_core.prompts import text_messages
from mmupt_core.rounds.probe import LITTLE_TO_TEACH, SHARPENS, ProbeResult, summarize_probe
from mmupt_core.scoring.evaluate import evaluate
from mmupt_core.voting.answers import extract_answer
from mmupt_core.voting.vote import vote
from mmupt_core.world import builder as world

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"
CLEAN_N = 300


def describe_accuracy(sampler, cfg, clean_path: Path, max_tokens: int) -> float:
    """Per-cell accuracy of "Describe panel X." on the clean control (colour per cell; views: cell codes)."""
    module = world.kind(cfg.world)
    items = world.load_split(clean_path, "eval")
    metas = world.load_metas(clean_path, "eval")
    from PIL import Image

    reqs, targets = [], []
    for k, it in enumerate(items):
        meta = metas[it.item_id]
        prompt, target = module.describe(meta, k % len(meta["routes"]))
        reqs.append(Request(it.item_id, Image.open(it.image).convert("RGB"), text_messages(prompt, False)))
        targets.append(target.rstrip(".").split())
    sets = sampler.sample(reqs, SamplingParams(max_tokens=max_tokens))
    hits = total = 0
    for s, target in zip(sets, targets, strict=True):
        got = s.completions[0].text.strip().rstrip(".").split()
        total += len(target)
        hits += sum(g == t for g, t in zip(got, target, strict=False))
    return hits / total


def one_seed(seed: int, overrides: list[str]) -> dict:
    import torch

    cfg = load_config(ROOT / "conf" / "tiny.yaml", [f"bootstrap.seed={seed}", *overrides])
    torch.set_num_threads(cfg.model.threads)
    wpath = world.build_world(cfg.world, cache_dir("world"))
    ck, info = run_bootstrap(cfg, wpath, cache_dir("bootstrap"))
    out = {
        "seed": seed,
        "checkpoint": str(ck),
        "bootstrap": {k_: v for k_, v in info.items() if k_ != "losses_every_50"},
    }
    t0 = time.perf_counter()
    with open_sampler(cfg, str(ck)) as sampler:
        out.update(_measure(sampler, cfg, wpath, seed))
    out["eval_seconds"] = time.perf_counter() - t0
    # the probe's verdict is judged against later training, so the record carries when it was written
    out["recorded"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return out


def _measure(sampler, cfg, wpath: Path, seed: int) -> dict:
    """Links 1 to 5 and the held-out eval of one base, by its open sampler."""
    k, mt, suffix = SamplingParams.votes(cfg).n, cfg.sampling.max_tokens, cfg.sampling.prompt_suffix
    out: dict = {}

    # 1. ideal gap (pool scenes: hidden, diagnostics only)
    pool = world.load_split(wpath, "pool")
    hidden = world.load_pool_answers(wpath)
    scenes = {r["item_id"]: r for r in world.pool_scenes(cfg.world, wpath).values()}
    route_answers = {it.item_id: scenes[it.item_id]["route_answers"] for it in pool}
    out["ideal"] = chain.ideal_gap(
        [route_answers[it.item_id] for it in pool],
        [hidden[it.item_id] for it in pool],
        [world.route_weights(cfg.world, scenes[it.item_id]) for it in pool],
        k,
        cfg.voting.tie_break,
        seed=seed,
    )
    # 2. perception on the clean control
    clean_path = world.build_clean_control(cfg.world, cache_dir("world"), CLEAN_N)
    clean = world.load_split(clean_path, "eval")
    clean_metrics, _ = evaluate(
        sampler,
        clean,
        requests_for(clean, suffix, cfg.model.image_first),
        {it.item_id: it.answer for it in clean},
        SamplingParams(1, 1.0, 1.0, mt, seed),
    )
    out["clean"] = {key: v for key, v in clean_metrics.items() if key.startswith("greedy_acc")}
    out["describe_cell_acc"] = describe_accuracy(sampler, cfg, clean_path, 48)
    if cfg.world.frame_noise is not None:
        out["frame_located"] = chain.frame_located(
            sampler,
            world.load_split(clean_path, "eval"),
            world.load_metas(clean_path, "eval"),
            cfg.model.image_first,
        )
    # 3. route fidelity
    pool_req = requests_for(pool, suffix, cfg.model.image_first)
    out["forced_routes"] = chain.forced_routes(
        sampler, pool, pool_req, world.route_names(cfg.world), route_answers, hidden, mt
    )
    # 4. learned gap, and 5. training signal (from the same samples), and the label-free probe
    out["pool_streams"] = []
    for stream in (0, 1):
        metrics, results = evaluate(
            sampler,
            pool,
            pool_req,
            hidden,
            SamplingParams(k, cfg.sampling.temperature, 1.0, mt, 1000 * (stream + 1) + seed),
        )
        accepted = [
            (r, v)
            for r in results
            if (v := vote(r.samples[:k], tie_break=cfg.voting.tie_break)).accepted(
                cfg.voting.min_agreement, 1
            )
        ]
        metrics["pseudo_label_acc"] = (
            sum(v.label == r.answer for r, v in accepted) / len(accepted) if accepted else None
        )
        out["pool_streams"].append(metrics)
        if stream == 0:
            out["probe"] = summarize_probe(
                [r.greedy for r in results], [r.samples for r in results], k
            ).metrics()
    sets = sampler.sample(
        pool_req, SamplingParams(k, cfg.sampling.temperature, cfg.sampling.top_p, mt, 77 + seed)
    )
    greedy_sets = sampler.sample(pool_req, SamplingParams(max_tokens=mt))
    groups = [
        [(chain.route_of(c.text), extract_answer(c.text, it.choices)) for c in s.completions]
        for s, it in zip(sets, pool, strict=True)
    ]
    out["advantage"] = chain.route_advantages(groups, cfg.voting.tie_break)
    names = world.route_names(cfg.world)
    for key in ("framed", "cued"):
        marked = [scenes[it.item_id].get(key) for it in pool]
        if all(m is None for m in marked):
            continue
        # link 5 where the route to weigh differs by item: the marked panel's route against the others
        out[f"advantage_{key}"] = chain.route_advantages(
            [
                [
                    (key if r is not None and m is not None and r + ":" == names[m] else "other", a)
                    for r, a in g
                ]
                for g, m in zip(groups, marked, strict=True)
            ],
            cfg.voting.tie_break,
        )
        if key == "cued":
            # whether the first SFT taught the cue: greedy on each item's own cued route (chance 1 / panels)
            out["greedy_on_cued"] = sum(
                chain.route_of(s.completions[0].text) is not None
                and chain.route_of(s.completions[0].text) + ":" == names[m]
                for s, m in zip(greedy_sets, marked, strict=True)
            ) / len(pool)
    out["greedy_route"] = statistics.mode(
        [chain.route_of(s.completions[0].text) or "none" for s in greedy_sets]
    )
    # held-out eval
    ev = world.load_split(wpath, "eval")
    out["eval"], _ = evaluate(
        sampler,
        ev,
        requests_for(ev, suffix, cfg.model.image_first),
        {it.item_id: it.answer for it in ev},
        SamplingParams(k, cfg.sampling.temperature, 1.0, mt, seed),
    )
    return out


def _ms(values, signed=False) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    m = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:+.3f} ± {sd:.3f}" if signed else f"{m:.3f} ± {sd:.3f}"


def render_design(name: str, entry: dict) -> list[str]:
    runs = entry["runs"]
    lines = [
        f"## Design `{name}`",
        "",
        f"Overrides: `{' '.join(entry['overrides']) or 'none (conf/tiny.yaml)'}`.",
        "",
    ]
    if entry.get("note"):
        lines += [entry["note"], ""]
    k = next(key for key in runs[0]["ideal"] if key.startswith("maj@"))
    types = sorted(key.split("/")[1] for key in runs[0]["clean"] if "/" in key)
    gaps = [p["gap"] for r in runs for p in r["pool_streams"]]
    adv_greedy = [r["advantage"].get(r["greedy_route"], {}).get("advantage") for r in runs]
    adv_other = [
        statistics.fmean(
            a["advantage"] for route, a in r["advantage"].items() if route not in (r["greedy_route"], "none")
        )
        for r in runs
    ]
    lines += [
        f"| link | measure | mean ± sd over {len(runs)} SFT seed(s) | target |",
        "|---|---|---|---|",
        f"| 1 ideal gap | greedy route / {k} over sampled routes (ideal executor, pool) | "
        f"{_ms([r['ideal']['greedy'] for r in runs])} / {_ms([r['ideal'][k] for r in runs])} | |",
        f"| 1 ideal gap | {k} − greedy | {_ms([r['ideal']['gap'] for r in runs], True)} | ≥ +0.15 |",
    ]
    for t in types:
        lines.append(
            f"| 2 perception | clean control greedy, {t} | {_ms([r['clean'][f'greedy_acc/{t}'] for r in runs])} | ≥ 0.90 |"
        )
    if all("frame_located" in r for r in runs):
        lines.append(
            f"| 2 perception | frame located: greedy 'Which panel is framed?' (clean) | "
            f"{_ms([r['frame_located'] for r in runs])} | ≥ 0.90 (chance 1 / panels) |"
        )
    lines += [
        f"| 2 perception | describe probe, per cell (clean) | {_ms([r['describe_cell_acc'] for r in runs])} | ≥ 0.90 |",
        f"| 3 fidelity | forced route answers its own route's truth (mean over routes) | "
        f"{_ms([r['forced_routes']['fidelity_mean'] for r in runs])} | ≥ 0.85 |",
        f"| 3 fidelity | wrong routes agree (items with ≥ 2 wrong routes) | "
        f"{_ms([r['forced_routes']['wrong_routes_agree'] for r in runs])} | well below 0.50 |",
        f"| 4 learned gap | pool greedy / {k} (2 streams per seed) | "
        f"{_ms([p['greedy_acc'] for r in runs for p in r['pool_streams']])} / "
        f"{_ms([p[k] for r in runs for p in r['pool_streams']])} | |",
        f"| 4 learned gap | {k} − greedy, pool | {_ms(gaps, True)} (min {min(gaps):+.3f}) | ≥ +0.05 every seed |",
        f"| 5 training signal | mean GRPO advantage of greedy's route ({', '.join(sorted({r['greedy_route'] for r in runs}))}) "
        f"/ of the other routes | {_ms(adv_greedy, True)} / {_ms(adv_other, True)} | greedy's < 0 |",
        f"| - | pseudo-label accuracy (accepted, hidden answers) | "
        f"{_ms([p['pseudo_label_acc'] for r in runs for p in r['pool_streams']])} | |",
        f"| - | label-free probe: confident majority ≠ greedy (share of pool) | "
        f"{_ms([r['probe']['confident_differs'] for r in runs])} | |",
        "| - | label-free probe: greedy answer's mean GRPO advantage under the vote | "
        f"{_ms([r['probe'].get('greedy_advantage') for r in runs], True)} | |",
        "| - | label-free probe verdict, per seed | "
        + ", ".join(
            f"{r['probe']['confident_differs']:.3f}: {ProbeResult.from_metrics(r['probe']).kind}"
            + (f" (recorded {r['recorded']})" if r.get("recorded") else "")
            for r in runs
        )
        + f" | little to teach below {LITTLE_TO_TEACH:.2f}; may harm if the greedy answer's advantage > "
        f"{SHARPENS:+.2f} |",
        f"| - | eval (held out) greedy / {k} | {_ms([r['eval']['greedy_acc'] for r in runs])} / "
        f"{_ms([r['eval'][k] for r in runs])} | |",
    ]
    if "sampled_acc" in runs[0]["eval"]:
        ev = lambda m: _ms([r["eval"].get(m) for r in runs])  # noqa: E731
        lines += [
            f"| real-model statistics | eval greedy − sampled (T = 1) | "
            f"{_ms([r['eval']['greedy_acc'] - r['eval']['sampled_acc'] for r in runs], True)} | within ±0.02 |",
            f"| real-model statistics | eval {k} − greedy | "
            f"{_ms([r['eval'][k] - r['eval']['greedy_acc'] for r in runs], True)} | ≥ +0.10 |",
        ]
        for t in types:
            lines.append(
                f"| per type | eval {t}: greedy / sampled / {k} / pass@{k[4:]} | {ev(f'greedy_acc/{t}')} / "
                f"{ev(f'sampled_acc/{t}')} / {ev(f'{k}/{t}')} / {ev(f'pass@{k[4:]}/{t}')} | |"
            )
    for key, what in (("framed", "the framed panel's route"), ("cued", "the cued (outlined) panel's route")):
        if not runs[0].get(f"advantage_{key}"):
            continue
        adv = lambda route, key=key: [r[f"advantage_{key}"].get(route, {}).get("advantage") for r in runs]  # noqa: E731
        share = [r[f"advantage_{key}"].get(key, {}).get("share") for r in runs]
        lines.append(
            f"| 5 training signal | mean GRPO advantage of {what} / of the others (share of samples on it "
            f"{_ms(share)}) | {_ms(adv(key), True)} / {_ms(adv('other'), True)} | {key} "
            f"{'< 0' if key == 'framed' else '≈ 0: the cue is a habit, not a signal'} |"
        )
    if runs[0].get("greedy_on_cued") is not None:
        lines.append(
            "| 2 perception | greedy takes the item's cued route (pool) | "
            f"{_ms([r['greedy_on_cued'] for r in runs])} | ≫ 1 / panels: the cue was learned |"
        )
    for link in entry.get("oracle", []):
        lines.append(f"| 6 oracle gain | {link['measure']} | {link['value']} | {link.get('target', '')} |")
    lines += [
        "| - | first SFT wall (s), as recorded when each cached base was built (threads and other load vary) | "
        f"{_ms([r['bootstrap']['wall_s'] for r in runs])} | |",
        "",
    ]
    return lines


def render(data: dict) -> str:
    lines = [
        "# Embedded default: the base, link by link",
        "",
        "Every world design tried, with the chain of bench/chain.py: when the self-consistency gap fails, "
        "the row that misses its target names the link that broke. Pool answers are hidden from training; "
        "they are read here for diagnostics only. Written by `bench/bootstrap.py`.",
        "",
        "Per-skill probes and where they are in the tables: *colour of a cell* — the describe probe (clean "
        "control, per cell); *a named shape's colour in a named panel (binding)* — the colour questions on the "
        "clean control, and route fidelity (a forced panel answers from that panel); *counting by attribute* — "
        "the count questions on the clean control; *shape* — the one-object probe below (in the panel world a "
        "shape keeps its column, so its questions do not rely on shape); *an object in cell j or not* — part of "
        "the describe probe in the views world (cell codes and '.'), not asked in the panel world, where every "
        "cell holds an object.",
        "",
    ]
    if data.get("perception"):
        lines += [
            "## The one-object probe (perception of a fresh base, `--perception`)",
            "",
            '"Describe the object." on one shape in a 4-cell canvas; greedy accuracy on 200 new images (chance: '
            "colour 0.25, shape 0.33).",
            "",
            "| lr | steps | colour | shape | final loss |",
            "|---|---|---|---|---|",
        ]
        for r in data["perception"]:
            lines.append(
                f"| {r['lr']:g} | {r['steps']} | {r['colour']:.3f} | {r['shape']:.3f} | {r['loss_last']:.3f} |"
            )
        lines.append("")
    for name, entry in data.get("designs", {}).items():
        lines += render_design(name, entry)
    if data.get("history"):
        # designs whose generator (or machine) has since changed: their chains cannot be rerun as they were, so they
        # stay as recorded
        lines += ["## Designs measured earlier, with generators (or machines) since replaced", ""]
        lines += [f"- {h}" for h in data["history"]] + [""]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--design", default="panels")
    ap.add_argument("--note", default="")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--perception", action="store_true", help="the one-object probe over learning rates")
    ap.add_argument("--render", action="store_true", help="only re-render bootstrap.md from the JSON")
    args = ap.parse_args()
    path = RESULTS / "bootstrap.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    if "designs" not in data:
        data = {"designs": {}}
    if args.perception:
        grid = [(2e-3, 400), (2e-3, 1200), (5e-4, 400), (5e-4, 800), (2e-4, 400)]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(_perception, grid))
        data["perception"] = results
    elif not args.render:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(one_seed, args.seeds, [args.overrides] * len(args.seeds)))
        # read again: another design may have finished meanwhile (designs run side by side)
        data = json.loads(path.read_text()) if path.is_file() else {"designs": {}}
        data["designs"][args.design] = {"overrides": args.overrides, "note": args.note, "runs": runs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str))
    text = render(data)
    (RESULTS / "bootstrap.md").write_text(text)
    print(text)


def _perception(lr_steps: tuple[float, int]) -> dict:
    import dataclasses

    import torch

    from bench.perception import one_object_probe

    torch.set_num_threads(1)
    return dataclasses.asdict(one_object_probe(lr_steps[1], lr_steps[0]))


if __name__ == "__main__":
    main()
