"""MM-UPT on the embedded default against the ground-truth oracle on the same budget.

For each (base seed, UPT seed): 3 rounds with reward=majority_vote (label-free), 3 with reward=random (a fair coin:
the control a gain from voting must beat) and 3 with reward=ground_truth
(oracle). Per round: greedy, sampled T=1, maj@8 and the gap on `eval` (from the store), plus a temperature sweep
of the base and of the final checkpoints, so gains can be told apart from sharpening (lowering the temperature
of the untrained base). Results go to bench/results/upt.{json,md}.

    .venv/bin/python -m bench.upt --base-seeds 0 --upt-seeds 0 1 2 3 4 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import statistics
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from bench.common import run_and_collect
from bench.sweep import accuracy_at
from mmupt_core.config import load_config
from mmupt_core.model.backend import open_sampler
from mmupt_core.scoring.checkpoint import evaluate_checkpoint
from mmupt_core.world import builder as world
from mmupt_core.world.builder import world_path

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"
# The sharpening-only baseline: the untrained base at each temperature (above 1 a flatter route mix too).
TEMPERATURES = [0.0, 0.5, 0.7, 1.0, 1.3, 1.6]


def greedy_routes(cfg, checkpoint: str) -> dict[str, float]:
    """Which route greedy decoding takes on eval (share per route): the habit UPT may change."""
    from collections import Counter

    from bench.chain import route_of
    from mmupt_core.model.sampling import SamplingParams, requests_for

    items = world.load_split(world_path(cfg), "eval")
    with open_sampler(cfg, checkpoint) as sampler:
        sets = sampler.sample(
            requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first),
            SamplingParams(max_tokens=cfg.sampling.max_tokens),
        )
    counts = Counter(route_of(s.completions[0].text) or "none" for s in sets)
    return {k: v / len(items) for k, v in counts.most_common()}


def sweep(cfg, checkpoint: str) -> dict[str, float]:
    items = world.load_split(world_path(cfg), "eval")
    from mmupt_core.model.sampling import requests_for

    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first)
    answers = {it.item_id: it.answer for it in items}
    with open_sampler(cfg, checkpoint) as sampler:
        return {
            str(t): accuracy_at(
                sampler, items, reqs, answers, temperature=t, n=4, max_tokens=cfg.sampling.max_tokens, seed=11
            )
            for t in TEMPERATURES
        }


def run_config(base_seed: int, upt_seed: int, reward: str, overrides: list[str], name: str):
    """(run id, config) of one bench run; its store is its own DuckDB file."""
    # another bench name gets its own run ids, so it never resumes the default bench's stores
    prefix = "" if name == "upt" else f"{name}-"
    run_id = f"{prefix}{reward}-b{base_seed}-u{upt_seed}"
    cfg = load_config(
        ROOT / "conf" / "tiny.yaml",
        [
            f"bootstrap.seed={base_seed}",
            f"sampling.seed={upt_seed}",
            f"training.seed={upt_seed}",
            f"training.reward={reward}",
            f"store.db=bench-{run_id}.duckdb",
            # the bench measures what training does whatever the probe says; the probe is judged against it
            "guard.go_on_anyway=true",
            "guard.min_agreement_change=null",
            # the collapse guard too (it came later, and stopped three of the probe's third-set runs before this
            # line: bench/results/probe-third-set-guarded.json)
            "guard.max_top_label_rise=null",
            *overrides,
        ],
    )
    return run_id, cfg


def one_run(job: tuple) -> dict:
    """(base seed, UPT seed, reward, rounds, overrides, bench name[, light]); light skips the temperature sweeps
    and greedy-route counts (the probe bench needs only the rounds)."""
    base_seed, upt_seed, reward, rounds, overrides, name, *rest = job
    light = bool(rest and rest[0])
    run_id, cfg = run_config(base_seed, upt_seed, reward, overrides, name)
    wall, per_round, store = run_and_collect(cfg, rounds, run_id, ("world_eval", "pool", "train", "probe"))
    base_ck = store.checkpoint(run_id, 0)["path"]
    final_ck = store.last_checkpoint(run_id)["path"]
    # round 0 is the base, evaluated by the run itself with the same k and seeds
    base = {k.split(".", 1)[1]: v for k, v in per_round.get(0, {}).items() if k.startswith("world_eval.")}
    base = base or evaluate_checkpoint(cfg, base_ck)
    return {
        "run_id": run_id,
        "reward": reward,
        "base_seed": base_seed,
        "upt_seed": upt_seed,
        "wall_s": wall,
        "base": base,
        "rounds": per_round,
        "sweep_base": {} if light else sweep(cfg, base_ck),
        "sweep_final": {} if light else sweep(cfg, final_ck),
        "routes_base": {} if light else greedy_routes(cfg, base_ck),
        "routes_final": {} if light else greedy_routes(cfg, final_ck),
    }


def _ms(values, signed: bool = True):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):{'+' if signed else ''}.3f} ± {sd:.3f}"


def _top(shares: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in list(shares.items())[:2])


def _final(rs: list[dict], rounds: int, metric: str) -> list[float]:
    """Per run, the metric's change from base after `rounds` (runs that lack it are left out)."""
    out = []
    for r in rs:
        last = r["rounds"].get(rounds, {}).get(f"world_eval.{metric}")
        if last is not None and r["base"].get(metric) is not None:
            out.append(last - r["base"][metric])
    return out


def controls(runs: list[dict], rounds: int) -> list[str]:
    """UPT beside its controls after `rounds`, on greedy and sampled accuracy: the random-reward control, the
    oracle, and sharpening alone (the untrained base at its best temperature, against its greedy)."""
    by = {
        reward: [r for r in runs if r["reward"] == reward]
        for reward in ("majority_vote", "random", "ground_truth")
    }
    upt = by["majority_vote"]
    if not upt:
        return []
    lines = [
        "## UPT beside its controls",
        "",
        f"| after round {rounds} | greedy Δ | sampled T=1 Δ |",
        "|---|---|---|",
    ]
    for reward, rs in by.items():
        if rs:
            lines.append(
                f"| {reward} ({len(rs)} runs) | {_ms(_final(rs, rounds, 'greedy_acc'))} | "
                f"{_ms(_final(rs, rounds, 'sampled_acc'))} |"
            )
    sharpen = [max(r["sweep_base"].values()) - r["base"]["greedy_acc"] for r in upt]
    lines.append(f"| sharpening alone (base at its best T − base greedy) | {_ms(sharpen)} | - |")
    mean = lambda xs: statistics.mean(xs) if xs else float("nan")  # noqa: E731
    g, s_ = mean(_final(upt, rounds, "greedy_acc")), mean(_final(upt, rounds, "sampled_acc"))
    verdicts = []
    for reward in ("random", "ground_truth"):
        if by[reward]:
            gc, sc = (
                mean(_final(by[reward], rounds, "greedy_acc")),
                mean(_final(by[reward], rounds, "sampled_acc")),
            )
            if reward == "random":
                verdicts.append(
                    f"beats the random reward on greedy: {'yes' if g > gc else 'NO'}, on sampled: "
                    f"{'yes' if s_ > sc else 'NO'}"
                )
            else:
                share = lambda u, o: f"{u / o:.2f}" if o > 0 else "n/a (oracle did not gain)"  # noqa: E731
                verdicts.append(f"share of the oracle's gain: greedy {share(g, gc)}, sampled {share(s_, sc)}")
    verdicts.append(f"beats sharpening alone on greedy: {'yes' if g > mean(sharpen) else 'NO'}")
    return [*lines, "", "UPT " + "; ".join(verdicts) + ".", ""]


def report(runs: list[dict], rounds: int, overrides: list[str] | None = None) -> str:
    lines = [
        "# MM-UPT vs ground-truth oracle on the embedded default"
        + (f" with `{' '.join(overrides)}`" if overrides else ""),
        "",
        "Changes from each run's own base (round 0), mean ± sd over runs. Accuracy on the 300 held-out eval "
        "questions; 'best-T' is the best of a temperature sweep (T in "
        + ", ".join(runs[0]["sweep_base"])
        + "; 4 samples each).",
        "",
    ]
    for reward in sorted(
        {r["reward"] for r in runs}, key=["majority_vote", "pseudo_label", "ground_truth", "random"].index
    ):
        rs = [r for r in runs if r["reward"] == reward]
        if not rs:
            continue
        lines += [
            f"## {reward} ({len(rs)} runs)",
            "",
            "| round | greedy Δ | sampled T=1 Δ | maj@8 Δ | gap | "
            "pseudo-label acc | agreement | runs with greedy below base |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for k in range(1, rounds + 1):
            g = [
                r["rounds"][k]["world_eval.greedy_acc"] - r["base"]["greedy_acc"]
                for r in rs
                if k in r["rounds"]
            ]
            s = [
                r["rounds"][k]["world_eval.sampled_acc"] - r["base"]["sampled_acc"]
                for r in rs
                if k in r["rounds"]
            ]
            m = [r["rounds"][k]["world_eval.maj@8"] - r["base"]["maj@8"] for r in rs if k in r["rounds"]]
            gap = [r["rounds"][k]["world_eval.gap"] for r in rs if k in r["rounds"]]
            pla = [r["rounds"][k].get("pool.pseudo_label_acc") for r in rs if k in r["rounds"]]
            agr = [r["rounds"][k].get("pool.agreement_mean") for r in rs if k in r["rounds"]]
            below = sum(x < 0 for x in g)
            lines.append(
                f"| {k} | {_ms(g)} | {_ms(s)} | {_ms(m)} | {_ms(gap)} | {_ms(pla, False)} | {_ms(agr, False)} | "
                f"{below}/{len(g)} |"
            )
        types = sorted({key.split("/", 1)[1] for key in rs[0]["base"] if key.startswith("greedy_acc/")})
        if types:
            lines += [
                "",
                f"Per question type after round {rounds} (Δ from base): "
                + "; ".join(
                    f"{t}: greedy {_ms(_final(rs, rounds, f'greedy_acc/{t}'))}, sampled "
                    f"{_ms(_final(rs, rounds, f'sampled_acc/{t}'))}, maj@8 {_ms(_final(rs, rounds, f'maj@8/{t}'))}"
                    for t in types
                ),
            ]
        passk = _final(rs, rounds, "pass@8")
        if passk:
            lines += [
                "",
                f"pass@8 after round {rounds}: Δ {_ms(passk)} (base {_ms([r['base'].get('pass@8') for r in rs], False)}).",
            ]
        bt_base = [max(r["sweep_base"].values()) for r in rs]
        bt_final = [max(r["sweep_final"].values()) for r in rs]
        lines += [
            "",
            f"Base greedy {_ms([r['base']['greedy_acc'] for r in rs], False)}; base best-T {_ms(bt_base, False)}; "
            f"final best-T {_ms(bt_final, False)}; best-T Δ {_ms([f - b for f, b in zip(bt_final, bt_base, strict=True)])}.",
            "",
        ]
        lines.append(
            "Sharpening-only baseline (untrained base by temperature): "
            + ", ".join(f"T={t}: {_ms([r['sweep_base'][t] for r in rs], False)}" for t in rs[0]["sweep_base"])
        )
        final_greedy = [r["rounds"][rounds]["world_eval.greedy_acc"] for r in rs if rounds in r["rounds"]]
        lines += [
            "",
            f"Final greedy {_ms(final_greedy, False)} against the base at its best temperature "
            f"{_ms(bt_base, False)}: above it in {sum(g > b for g, b in zip(final_greedy, bt_base, strict=False))}"
            f"/{len(final_greedy)} runs.",
        ]
        if rs[0].get("routes_base"):
            lines.append(
                "Greedy decoding's route on eval (share of questions), base → final: "
                + "; ".join(
                    f"{r['run_id']}: {_top(r['routes_base'])} → {_top(r['routes_final'])}" for r in rs
                )
            )
        lines.append("")
    upt = [r for r in runs if r["reward"] == "majority_vote"]
    orc = [r for r in runs if r["reward"] == "ground_truth"]
    if upt and orc:
        gu = statistics.mean(
            r["rounds"][rounds]["world_eval.greedy_acc"] - r["base"]["greedy_acc"] for r in upt
        )
        go = statistics.mean(
            r["rounds"][rounds]["world_eval.greedy_acc"] - r["base"]["greedy_acc"] for r in orc
        )
        ratio = gu / go if go > 0 else float("nan")
        below = sum(r["rounds"][rounds]["world_eval.greedy_acc"] < r["base"]["greedy_acc"] for r in upt)
        lines += [
            f"After round {rounds}: UPT greedy gain {gu:+.3f} (target ≥ +0.03, moonshot +0.08; {below}/{len(upt)} "
            f"runs below base, target ≤ 1 in 5), oracle {go:+.3f}, UPT/oracle {ratio:.2f} (target ≥ 0.5, "
            "moonshot 0.8).",
            "",
        ]
    lines += controls(runs, rounds)
    lines.append(
        f"Wall per run: {_ms([r['wall_s'] for r in runs], False)} s (runs side by side on 2 cores, 1 thread each)."
    )
    return "\n".join(lines) + "\n"


def run_spec(spec: str) -> tuple[int, int, str]:
    try:
        base, upt, reward = spec.split(":")
        return int(base), int(upt), reward
    except ValueError:
        raise SystemExit(f"--runs takes BASE:UPT:REWARD, e.g. 0:1:majority_vote; got {spec!r}") from None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--upt-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rewards", nargs="+", default=["majority_vote", "ground_truth", "random"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--name", default="upt")
    ap.add_argument(
        "--runs",
        nargs="+",
        metavar="BASE:UPT:REWARD",
        help="these runs, in this order, instead of every base x UPT seed x reward",
    )
    ap.add_argument("--from-json", action="store_true", help="re-render the report from the last results")
    ap.add_argument(
        "--resweep",
        action="store_true",
        help="redo the base's temperature sweep (config grid), then re-render",
    )
    ap.add_argument(
        "--merge",
        nargs="+",
        metavar="NAME",
        help="join these results (runs on the same base and overrides) into --name, then render it",
    )
    ap.add_argument("--only-base", type=int, help="with --merge: keep the runs on this base seed only")
    ap.add_argument(
        "--drop", nargs="+", default=[], metavar="RUN_ID", help="with --merge: leave these runs out"
    )
    args = ap.parse_args()
    if args.merge:
        merged = [
            r
            for name in args.merge
            for r in json.loads((RESULTS / f"{name}.json").read_text())
            if args.only_base in (None, r["base_seed"]) and r["run_id"] not in args.drop
        ]
        (RESULTS / f"{args.name}.json").write_text(json.dumps(merged, indent=1, default=str))
        args.from_json = True
    if args.resweep:
        runs = json.loads((RESULTS / f"{args.name}.json").read_text())
        cfg = load_config(
            ROOT / "conf" / "tiny.yaml", [f"bootstrap.seed={runs[0]['base_seed']}", *args.overrides]
        )
        from mmupt_core.model.bootstrap import run_bootstrap
        from mmupt_core.paths import cache_dir

        base_ck, _ = run_bootstrap(cfg, world_path(cfg), cache_dir("bootstrap"))
        swept = sweep(cfg, str(base_ck))
        for r in runs:
            r["sweep_base"] = swept
        (RESULTS / f"{args.name}.json").write_text(json.dumps(runs, indent=1, default=str))
        args.from_json = True
    if args.from_json:
        runs = json.loads((RESULTS / f"{args.name}.json").read_text())
        for r in runs:
            r["rounds"] = {int(k): v for k, v in r["rounds"].items()}
        text = report(runs, args.rounds, args.overrides)
        (RESULTS / f"{args.name}.md").write_text(text)
        print(text)
        return
    if args.runs:
        triples = [run_spec(s) for s in args.runs]
    else:
        triples = [(b, u, r) for b in args.base_seeds for u in args.upt_seeds for r in args.rewards]
    jobs = [(b, u, r, args.rounds, args.overrides, args.name) for b, u, r in triples]
    # Build each base once, here, so parallel workers never race to write the same cached checkpoint.
    from mmupt_core.model.bootstrap import run_bootstrap
    from mmupt_core.paths import cache_dir

    for b in dict.fromkeys(b for b, _, _ in triples):
        cfg = load_config(ROOT / "conf" / "tiny.yaml", [f"bootstrap.seed={b}", *args.overrides])
        run_bootstrap(cfg, world_path(cfg), cache_dir("bootstrap"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs: list[dict] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        # written as each run ends, so that a bench stopped part way keeps the runs it finished
        for fut in as_completed([pool.submit(one_run, job) for job in jobs]):
            runs.append(fut.result())
            (RESULTS / f"{args.name}.json").write_text(json.dumps(runs, indent=1, default=str))
    order = {t: i for i, t in enumerate(triples)}
    runs.sort(key=lambda r: order[(r["base_seed"], r["upt_seed"], r["reward"])])
    (RESULTS / f"{args.name}.json").write_text(json.dumps(runs, indent=1, default=str))
    text = report(runs, args.rounds, args.overrides)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
