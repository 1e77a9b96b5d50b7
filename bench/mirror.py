"""A world and its mirror: can anything label-free tell UPT sharpening a noisy favourite route from sharpening a
careful one? (`bench/results/mirror-plan.md`, fixed before the mirror's base was built.)

`two-panels-noisy-favourite` (the probe's third set) and its mirror, the same world with the two panels' noise
swapped. It builds both bases (cached), records every label-free number the shipped probe computes and the
contested share (`bench/contested.py`) on each base's 300 pool questions, with bootstrap standard errors of the
difference over questions, beside the accuracies the hidden answers give; then UPT, the oracle and the coin, 3
rounds each (SFT seed 0, UPT seed 0; a finished run is read back, not trained again).

    .venv/bin/python -m bench.mirror
"""

from __future__ import annotations

import json
import random
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.contested import contested_share
from bench.probe import WORLDS, overrides_of

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ORIGINAL = next(w for w in WORLDS if w["name"] == "two-panels-noisy-favourite")
MIRROR = {
    **ORIGINAL,
    "name": "two-panels-careful-favourite",
    "why": "two-panels-noisy-favourite with its panels' noise swapped: the favourite route (prior 0.65) reads the "
    "careful panel (10%), the other 45%",
    "overrides": [
        "world.panel_noise=[0.1,0.45]" if o.startswith("world.panel_noise=") else o
        for o in ORIGINAL["overrides"]
    ],
}
PAIR = [ORIGINAL, MIRROR]
REWARDS = ["majority_vote", "ground_truth", "random"]
RESAMPLES = 2000
Z = 2.0  # the plan's line: a difference under two standard errors counts as agreement


def readings(greedy, samples, types, k: int) -> dict[str, float]:
    """Every label-free number the shipped probe computes, overall and per type, and the contested share."""
    from mmupt_core.voting.probe import summarize_probe

    out = summarize_probe(greedy, samples, k, types=types).metrics()
    out["contested_share"] = contested_share(samples)
    for t in sorted({t for t in types if t}):
        mine = [s for s, tt in zip(samples, types, strict=True) if tt == t]
        out[f"contested_share/{t}"] = contested_share(mine)
    return out


def _resample(args: tuple) -> list[dict[str, float]]:
    answers, k, seed, n = args
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        idx = [rng.randrange(len(answers["greedy"])) for _ in answers["greedy"]]
        out.append(
            readings(
                [answers["greedy"][i] for i in idx],
                [answers["samples"][i] for i in idx],
                [answers["types"][i] for i in idx],
                k,
            )
        )
    return out


def base_of(world: dict) -> dict:
    """The base's probe answers (building the base where it is not cached), its label-free readings with their
    bootstrap resamples, and its accuracies on the same answers."""
    from bench.probe_estimate import accuracies, base_answers, truth_of
    from mmupt_core.voting.probe import summarize_probe

    answers = base_answers(overrides_of(world))
    k = len(answers["samples"][0])
    with ProcessPoolExecutor(2) as ex:
        boots = [
            b for part in ex.map(_resample, [(answers, k, s, RESAMPLES // 2) for s in (0, 1)]) for b in part
        ]
    by_id = truth_of(
        overrides_of(world)
    )  # the pool's hidden answers; base_answers gives them in item-id order
    truth = [by_id[i] for i in sorted(by_id)]
    by_type = {}
    for t in sorted({t for t in answers["types"] if t}):
        mine = [i for i, tt in enumerate(answers["types"]) if tt == t]
        by_type[t] = accuracies(
            [answers["greedy"][i] for i in mine],
            [answers["samples"][i] for i in mine],
            [truth[i] for i in mine],
        )
    return {
        "name": world["name"],
        "overrides": overrides_of(world),
        "verdict": summarize_probe(answers["greedy"], answers["samples"], k, types=answers["types"]).kind,
        "readings": readings(answers["greedy"], answers["samples"], answers["types"], k),
        "boots": boots,
        "accuracy": accuracies(answers["greedy"], answers["samples"], truth),
        "accuracy_by_type": by_type,
    }


def outcome(job: tuple[dict, str]) -> dict:
    from bench import upt

    world, reward = job
    return upt.one_run((0, 0, reward, 3, overrides_of(world), f"probe-{world['name']}", True))


def compare(a: dict, b: dict) -> list[dict]:
    """Each reading on both bases, the difference and its bootstrap standard error (the two bases' errors added in
    quadrature: their questions are drawn apart)."""
    rows = []
    # k, the item counts and the confidence line are settings and sizes, not readings of the votes
    settings = {"k", "n", "confident"}
    for key in sorted(k for k in set(a["readings"]) & set(b["readings"]) if k.split("/")[0] not in settings):
        va = [x[key] for x in a["boots"] if key in x]
        vb = [x[key] for x in b["boots"] if key in x]
        se = (statistics.pstdev(va) ** 2 + statistics.pstdev(vb) ** 2) ** 0.5 if va and vb else 0.0
        diff = b["readings"][key] - a["readings"][key]
        rows.append(
            {
                "reading": key,
                "original": a["readings"][key],
                "mirror": b["readings"][key],
                "diff": diff,
                "se": se,
                "agrees": abs(diff) < Z * se if se else diff == 0,
            }
        )
    return rows


def render(data: dict) -> str:
    a, b = data["bases"]
    rows = data["compare"]
    agree = sum(r["agrees"] for r in rows)
    lines = [
        "# A world and its mirror: the same votes, opposite outcomes",
        "",
        "Written by `bench/mirror.py` to the plan fixed before the mirror's base was built (`mirror-plan.md`). "
        f"`{a['name']}` (the probe's third set) and `{b['name']}` ({MIRROR['why']}). SFT seed 0, UPT seed 0, the "
        "third set's first SFT and recipe; each base's 300 pool questions, k = 8; standard errors by bootstrap over "
        f"questions ({RESAMPLES} resamples a base).",
        "",
        "## 1. What the votes say, label-free",
        "",
        f"The shipped probe's verdict: `{a['name']}` **{a['verdict']}**, `{b['name']}` **{b['verdict']}**. "
        f"{agree} of {len(rows)} readings differ by less than {Z:g} standard errors.",
        "",
        "| reading | original | mirror | difference | standard error | within 2 SE? |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['reading']} | {r['original']:.3f} | {r['mirror']:.3f} | {r['diff']:+.3f} | {r['se']:.3f} | "
            f"{'yes' if r['agrees'] else '**no**'} |"
        )
    lines += [
        "",
        "## 2. What the hidden answers say",
        "",
        "| base | greedy | sampled | maj@8 | per type (greedy / sampled / maj@8) |",
        "|---|---|---|---|---|",
    ]
    for base in (a, b):
        acc = base["accuracy"]
        per = "; ".join(
            f"{t} {v['greedy']:.3f} / {v['sampled']:.3f} / {v['majority']:.3f}"
            for t, v in base["accuracy_by_type"].items()
        )
        lines.append(
            f"| {base['name']} | {acc['greedy']:.3f} | {acc['sampled']:.3f} | {acc['majority']:.3f} | {per} |"
        )
    lines += [
        "",
        "## 3. What 3 rounds did (eval split, 300 held-out questions)",
        "",
        "| world | reward | greedy by round | sampled by round | maj@8 / pass@8, round 0 → 3 | worst type Δ (greedy / sampled) |",
        "|---|---|---|---|---|---|",
    ]
    for run in data["outcomes"]:
        r = run["rounds"]
        last = str(max(int(x) for x in r if "world_eval.greedy_acc" in r[x]))

        def arrow(metric: str, r=r, last=last) -> str:
            return " → ".join(
                f"{r[str(i)][metric]:.3f}" for i in range(int(last) + 1) if metric in r.get(str(i), {})
            )

        worst = []
        for m in ("greedy_acc", "sampled_acc"):
            deltas = [
                (r[last][k] - r["0"][k], k.split("/", 1)[1])
                for k in r["0"]
                if k.startswith(f"world_eval.{m}/") and k in r[last]
            ]
            worst.append(f"{min(deltas)[0]:+.3f} ({min(deltas)[1]})" if deltas else "-")
        lines.append(
            f"| {run['world']} | {run['reward']} | {arrow('world_eval.greedy_acc')} | "
            f"{arrow('world_eval.sampled_acc')} | {r['0']['world_eval.maj@8']:.3f} → {r[last]['world_eval.maj@8']:.3f} "
            f"/ {r['0']['world_eval.pass@8']:.3f} → {r[last]['world_eval.pass@8']:.3f} | {' / '.join(worst)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    bases = [base_of(w) for w in PAIR]
    jobs = [(w, reward) for w in PAIR for reward in REWARDS]
    with ProcessPoolExecutor(2) as ex:
        runs = list(ex.map(outcome, jobs))
    outcomes = [
        {"world": w["name"], "reward": reward, **run} for (w, reward), run in zip(jobs, runs, strict=True)
    ]
    data = {"bases": bases, "compare": compare(*bases), "outcomes": outcomes}
    for base in data["bases"]:
        base.pop("boots")  # 2000 resamples a base: their spread is in `compare`
    data = json.loads(json.dumps(data))  # rounds keyed as the file keeps them, so render reads either
    (RESULTS / "mirror.json").write_text(json.dumps(data, indent=1) + "\n")
    text = render(data)
    (RESULTS / "mirror.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
