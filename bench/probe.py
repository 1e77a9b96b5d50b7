"""The label-free probe, validated on worlds it was not tuned on (bench/results/probe.md).

Phase 1 (`--verdicts`): for each world in WORLDS, build its base (cached) and record the probe's verdict, overall
and per question type, with the time it was written, BEFORE anything is trained on that world. A verdict once
recorded is never rewritten (pass --force to redo one on purpose, which the report then says).
Phase 2 (`--outcomes`): UPT (majority vote) and the ground-truth oracle, 3 rounds each, on the same bases.
The report sets each verdict beside what happened. The rule for a hit was fixed with the verdicts, before any
outcome: a stopping verdict ("little to teach", "may harm") is a hit when UPT's greedy gain after 3 rounds is
below +0.02; "something to teach" is a hit when it is at least +0.02. A miss is reported, not re-thresholded.

    .venv/bin/python -m bench.probe --verdicts --jobs 2
    .venv/bin/python -m bench.probe --outcomes --jobs 2 --only NAME [NAME ...]

Worlds come in sets, each with the first SFT and training recipe of its day pinned (SETS), so that a set's verdicts
and outcomes stay reproducible when conf/tiny.yaml's default moves. The first set ran with the recipe of
2026-12-01 (its outcomes were run with `--set training.lr=3e-5`, now pinned in SETS); the second with the default
of 2026-12-07 (a 1500-step first SFT, 20 updates a round).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.contested import CONTESTED, RUNNER_UP
from bench.inrun_signals import HARM, harmed, last_round
from mmupt_core.config.sections import GuardConfig
from mmupt_core.view.collapse import COLLAPSE_Z

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PATH = RESULTS / "probe.json"
GAIN = 0.02  # the hit rule's line, fixed before any outcome
COLLAPSE_LINE = GuardConfig().max_top_label_rise  # the shipped collapse guard's line, replayed on each run

# The default of 2026-12-07: a 1500-step first SFT, lr 3e-5, 20 updates of 32 prompts a round
RECIPE_2026_12_07 = [
    "bootstrap.threads=1",
    "bootstrap.steps=1500",
    "bootstrap.frame_fraction=0.2",
    "training.lr=3e-5",
    "training.steps=20",
    "training.prompts_per_step=32",
]

# What each set of worlds ran with besides its world keys: the first SFT and the recipe of its day.
SETS = {
    "2026-12-01": {
        "why": "a 1200-step first SFT, lr 3e-5, 5 updates of 32 prompts a round",
        "overrides": [
            "bootstrap.threads=1",
            "bootstrap.steps=1200",
            "bootstrap.frame_fraction=0",
            "training.lr=3e-5",
            "training.steps=5",
        ],
    },
    "2026-12-07": {
        "why": "the default of that day: a 1500-step first SFT (with 20% 'Which panel is framed?' examples where "
        "scenes have a frame), lr 3e-5, 20 updates of 32 prompts a round",
        "overrides": RECIPE_2026_12_07,
    },
    "2026-12-07, third": {
        "why": "the same recipe as the 2026-12-07 set (a 1500-step first SFT with 20% 'Which panel is framed?' "
        "examples where scenes have a frame, lr 3e-5, 20 updates of 32 prompts a round); worlds written down after "
        "that set's outcomes had been read, with a candidate rule (bench/contested.py) recorded beside the probe",
        "overrides": RECIPE_2026_12_07,
    },
}

# New worlds: none of them was used to set the probe's thresholds (those came from route-switch, views, the
# first panel design; equal-noise and consensus were seen by the issue that asked for this). The second set's
# worlds were written down, and committed, before any base was built on them; the third set's too, with its plan
# (bench/results/probe-third-set-plan.md).
WORLDS = [
    {
        "name": "four-panels-favourite",
        "set": "2026-12-01",
        "why": "4 panels; the favourite route (prior 0.4) reads the noisiest (50%), the others 10%",
        "overrides": [
            "world.panels=4",
            "world.panel_noise=[0.5,0.1,0.1,0.1]",
            "world.route_prior=[0.4,0.2,0.2,0.2]",
        ],
    },
    {
        "name": "three-panels-framed",
        "set": "2026-12-01",
        "why": "3 panels, one framed and always wrong, the others 15%; uniform routes",
        "overrides": [
            "world.panels=3",
            "world.panel_noise=[0.15,0.15,0.15]",
            "world.route_prior=[0.34,0.33,0.33]",
            "world.frame_noise=1.0",
        ],
    },
    {
        "name": "six-panels-even",
        "set": "2026-12-01",
        "why": "6 equally noisy panels (20%), uniform routes, 70% count questions: nothing per item to learn",
        "overrides": [
            "world.panels=6",
            "world.panel_noise=[0.2,0.2,0.2,0.2,0.2,0.2]",
            "world.route_prior=[0.17,0.17,0.17,0.17,0.16,0.16]",
            "world.count_share=0.7",
        ],
    },
    {
        "name": "colour-heavy-careful-favourite",
        "set": "2026-12-01",
        "why": "5 panels; the favourite route (prior 0.4) reads the CLEANEST panel (2%), the others 25%; 80% colour",
        "overrides": [
            "world.panel_noise=[0.02,0.25,0.25,0.25,0.25]",
            "world.route_prior=[0.4,0.15,0.15,0.15,0.15]",
            "world.count_share=0.2",
        ],
    },
    {
        "name": "four-panels-frame08",
        "set": "2026-12-07",
        "why": "4 panels, 10% wrong, one framed at random and 80% wrong (the base sees its 4-px frame); uniform "
        "routes, the framed panel's route taken 0.75 times as often by the first SFT; colour questions",
        "overrides": [
            "world.panels=4",
            "world.panel_noise=[0.1,0.1,0.1,0.1]",
            "world.route_prior=[0.25,0.25,0.25,0.25]",
            "world.frame_noise=0.8",
            "world.frame_width=4",
            "world.sft_panel_noise=0.4",
            "world.sft_frame_weight=0.75",
            "world.count_share=0.0",
        ],
    },
    {
        "name": "framed-half-counts",
        "set": "2026-12-07",
        "why": "the default world (framed-colour) with half its questions counts",
        "overrides": [
            "world.panel_noise=[0.1,0.1,0.1,0.1,0.1]",
            "world.route_prior=[0.28,0.18,0.18,0.18,0.18]",
            "world.frame_noise=1.0",
            "world.frame_width=4",
            "world.sft_panel_noise=0.4",
            "world.sft_frame_weight=0.75",
            "world.count_share=0.5",
        ],
    },
    {
        "name": "two-clean-three-noisy",
        "set": "2026-12-07",
        "why": "5 panels: A and B 5% wrong, C, D and E 35%; uniform routes; no frame; 30% counts. Which routes to "
        "trust is the same on every item, so it can be learned without seeing anything per item",
        "overrides": [
            "world.panel_noise=[0.05,0.05,0.35,0.35,0.35]",
            "world.route_prior=[0.2,0.2,0.2,0.2,0.2]",
            "world.count_share=0.3",
        ],
    },
    {
        "name": "three-panels-even-colour",
        "set": "2026-12-07",
        "why": "3 equally noisy panels (25%), uniform routes, no frame, colour questions: nothing per item or per "
        "route to learn (a do-no-harm world)",
        "overrides": [
            "world.panels=3",
            "world.panel_noise=[0.25,0.25,0.25]",
            "world.route_prior=[0.34,0.33,0.33]",
            "world.count_share=0.0",
        ],
    },
    {
        "name": "seven-panels-graded",
        "set": "2026-12-07, third",
        "why": "7 panels whose noise climbs from 5% to 35% in steps of 5; uniform routes; no frame; 40% counts. "
        "Which routes to trust is the same on every item, in seven grades instead of two",
        "overrides": [
            "world.panels=7",
            "world.panel_noise=[0.05,0.1,0.15,0.2,0.25,0.3,0.35]",
            "world.route_prior=[0.15,0.15,0.14,0.14,0.14,0.14,0.14]",
            "world.count_share=0.4",
        ],
    },
    {
        "name": "direct-counts-framed",
        "set": "2026-12-07, third",
        "why": "5 panels, 15% wrong, one framed at random and 90% wrong (4-px frame, the first SFT on 40%-noisy "
        "panels leaning 0.75 away from the frame); uniform routes; 60% counts, answered directly instead of after "
        "transcribing the panel",
        "overrides": [
            "world.panel_noise=[0.15,0.15,0.15,0.15,0.15]",
            "world.route_prior=[0.2,0.2,0.2,0.2,0.2]",
            "world.frame_noise=0.9",
            "world.frame_width=4",
            "world.sft_panel_noise=0.4",
            "world.sft_frame_weight=0.75",
            "world.count_share=0.6",
            "world.count_route=direct",
        ],
    },
    {
        "name": "two-panels-noisy-favourite",
        "set": "2026-12-07, third",
        "why": "2 panels; the favourite route (prior 0.65) reads the noisy one (45%), the other 10%; no frame; 30% "
        "counts. A route switch with one alternative",
        "overrides": [
            "world.panels=2",
            "world.panel_noise=[0.45,0.1]",
            "world.route_prior=[0.65,0.35]",
            "world.count_share=0.3",
        ],
    },
    {
        "name": "four-panels-even-counts",
        "set": "2026-12-07, third",
        "why": "4 equally noisy panels (25%) with a favourite route (prior 0.4) that is no better than the others; "
        "no frame; 80% counts: nothing per route or per item to learn (a do-no-harm world)",
        "overrides": [
            "world.panels=4",
            "world.panel_noise=[0.25,0.25,0.25,0.25]",
            "world.route_prior=[0.4,0.2,0.2,0.2]",
            "world.count_share=0.8",
        ],
    },
]


# Every world key a variant could fill, pinned, so a world here stays the same whatever conf/tiny.yaml's default is.
PINNED = [
    "world.variant=null",
    "world.frame_noise=null",
    "world.sft_panel_noise=null",
    "world.count_share=null",
    "world.frame_width=null",
    "world.sft_frame_weight=null",
    "world.cue_weight=null",
]


def overrides_of(world: dict) -> list[str]:
    """The world's keys and its set's first SFT and recipe, over conf/tiny.yaml."""
    return [*PINNED, *SETS[world["set"]]["overrides"], *world["overrides"]]


def _cfg(world: dict, extra: list[str] = ()):
    from mmupt_core.config import load_config

    return load_config(ROOT / "conf" / "tiny.yaml", [*overrides_of(world), *extra])


def verdict_of(world: dict) -> dict:
    """Build the world's base (cached) and record the probe's verdict, with the candidate rule's beside it; the
    probe's answers (no hidden answer among them) are kept in probe-answers/NAME.json for later reading."""
    from bench.contested import candidate
    from bench.probe_estimate import ANSWERS, base_answers
    from mmupt_core.model.sampling import SamplingParams
    from mmupt_core.rounds.probe import summarize_probe

    answers = base_answers(overrides_of(world))  # the pool in item-id order, as probe_checkpoint takes it
    answers["truth"] = []  # the hidden answers stay with the world (probe_estimate.truth_of reads them)
    ANSWERS.mkdir(parents=True, exist_ok=True)
    (ANSWERS / f"{world['name']}.json").write_text(json.dumps(answers))
    k = SamplingParams.votes(_cfg(world)).n
    result = summarize_probe(answers["greedy"], answers["samples"], k, types=answers["types"])
    return {
        "name": world["name"],
        "recorded_at": answers["recorded_at"],
        "kind": result.kind,
        "verdict": result.verdict,
        "by_type": {t: r.kind for t, r in result.by_type.items()},
        "metrics": result.metrics(),
        "candidate": candidate(answers["samples"], answers["types"]),
    }


def outcome_of(job: tuple[dict, str]) -> dict:
    """One reward's 3 rounds on a world, with its set's first SFT and recipe (SFT seed 0, UPT seed 0)."""
    from bench import upt

    world, reward = job
    return upt.one_run((0, 0, reward, 3, overrides_of(world), f"probe-{world['name']}", True))


def _load() -> dict:
    return json.loads(PATH.read_text()) if PATH.is_file() else {"verdicts": {}, "outcomes": {}}


def _hit(verdict: str, gain: float) -> bool:
    """The rule fixed before any outcome: a stopping verdict is right when UPT's greedy gain is below GAIN."""
    return (gain < GAIN) if verdict in ("little to teach", "may harm") else (gain >= GAIN)


def render(data: dict) -> str:
    lines = [
        "# The label-free probe on worlds it was not tuned on",
        "",
        "Verdicts were written before anything trained on these worlds (column 'recorded'); the hit rule was "
        f"fixed with them: a stopping verdict ('little to teach', 'may harm') is a hit when UPT's greedy gain "
        f"after 3 rounds is below +{GAIN:.2f}, 'something to teach' when it is at least +{GAIN:.2f}. Written by "
        "`bench/probe.py`; accuracy on each world's 300 held-out questions, one SFT seed and one UPT seed each "
        "(SFT seed 0, UPT seed 0), guards off. The worlds come in sets, each run with the first SFT and the "
        "training recipe of its day.",
        "",
    ]
    for set_name, spec in SETS.items():
        lines += _set_section(data, set_name, spec)
        lines += harm_section(data, set_name)
    return "\n".join(lines + _rest(data)) + "\n"


def _changes(run: dict) -> dict[str, float]:
    """Greedy and sampled change from base after the last evaluated round, overall and per question type."""
    last = run["rounds"][str(last_round(run))]
    return {
        m + t: last[f"world_eval.{m}_acc{t}"] - run["base"][f"{m}_acc{t}"]
        for m in ("greedy", "sampled")
        for t in ["", *(k.removeprefix("greedy_acc") for k in run["base"] if k.startswith("greedy_acc/"))]
        if f"world_eval.{m}_acc{t}" in last
    }


def collapse_fires(run: dict, line: float = COLLAPSE_LINE) -> int | None:
    """The round before which the shipped collapse guard (guard.max_top_label_rise) would have stopped this run,
    replayed on its stored pool votes; None when it would not have."""
    from mmupt_core.view.collapse import first_piled_on

    shares = {
        int(k): (r["pool.top_label_share"], r.get("pool.items"))
        for k, r in run["rounds"].items()
        if r.get("pool.top_label_share") is not None
    }
    return first_piled_on(shares, line)


def _no_harm_hit(stops: bool, d: dict[str, float]) -> bool:
    gained = d["greedy"] >= GAIN
    return (harmed(d) or not gained) if stops else (gained and not harmed(d))


def harm_section(data: dict, set_name: str) -> list[str]:
    """The do-no-harm reading of a set whose verdicts carry the candidate rule (bench/contested.py): both rules
    and the collapse guard's replay against what UPT did, by the rules written before the outcomes."""
    rows = []
    for w in (w for w in WORLDS if w["set"] == set_name):
        v = data["verdicts"].get(w["name"])
        run = data["outcomes"].get(w["name"], {}).get("majority_vote")
        if v is None or "candidate" not in v:
            continue
        c = v["candidate"]
        by_type = ", ".join(f"{t} {x:.3f}" for t, x in c["contested_by_type"].items())
        cells = [
            w["name"],
            v["kind"],
            f"{c['verdict']} ({c['contested']:.3f}{'; ' + by_type if by_type else ''})",
        ]
        if run is None:
            rows.append("| " + " | ".join([*cells, "(not run yet)", "", "", "", ""]) + " |")
            continue
        d = _changes(run)
        worst = min(d, key=d.get)
        fired = collapse_fires(run)
        outcome = "harm" if harmed(d) else ("gain" if d["greedy"] >= GAIN else "flat")
        probe_hit = _no_harm_hit(v["kind"] in ("little to teach", "may harm"), d)
        cand_hit = _no_harm_hit(c["verdict"] == "may harm", d)
        guard = "no" if fired is None else f"before round {fired}"
        guard_hit = (fired is not None) == harmed(d)
        rows.append(
            "| "
            + " | ".join(
                [
                    *cells,
                    f"{outcome}: greedy {d['greedy']:+.3f}, sampled {d['sampled']:+.3f}, worst {worst} {d[worst]:+.3f}",
                    "hit" if probe_hit else "MISS",
                    "hit" if cand_hit else "MISS",
                    f"{guard}: {'hit' if guard_hit else 'MISS'}",
                ]
            )
            + " |"
        )
    if not rows:
        return []
    return [
        f"### The same worlds, read for harm ({set_name})",
        "",
        "Rules fixed before the outcomes (`probe-third-set-plan.md`): harm is greedy or sampled accuracy, overall or on "
        f"a question type, more than {HARM:.2f} below base after round 3. A stopping verdict is a hit when UPT harmed "
        f"or did not gain greedy +{GAIN:.2f}; a go verdict when it gained and harmed nothing. The candidate "
        f"(`bench/contested.py`, used by no run) says 'may harm' when more than {CONTESTED:.2f} of the pool's "
        f"questions, overall or of a type, have a runner-up answer with {RUNNER_UP} or more of the 8 votes. The collapse "
        "guard is replayed on the UPT run's stored pool votes (shipped line: the top label's share up more than "
        f"{COLLAPSE_LINE:.2f} since round 1, and by {COLLAPSE_Z:.2f} standard errors); firing is a hit when the run "
        "harmed.",
        "",
        "| world | probe | candidate (contested share) | UPT after round 3 | probe | candidate | collapse guard |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _set_section(data: dict, set_name: str, spec: dict) -> list[str]:
    worlds = [w for w in WORLDS if w["set"] == set_name]
    lines = [
        f"## The worlds of {set_name}",
        "",
        f"Run with {spec['why']}. Overrides besides the world's: `{' '.join(spec['overrides'])}`.",
        "",
        "| world | probe verdict (recorded) | per type | UPT greedy Δ (per type) | UPT sampled Δ | UPT maj@8 Δ / "
        "pass@8 Δ | oracle greedy Δ | oracle sampled Δ | coin greedy Δ / sampled Δ | hit? |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    hits = total = 0
    for w in worlds:
        v = data["verdicts"].get(w["name"])
        if v is None:
            lines.append(f"| {w['name']} | (no verdict yet) | | | | | | | | |")
            continue
        out = data["outcomes"].get(w["name"], {})
        cells = {}
        for reward in ("majority_vote", "ground_truth", "random"):
            r = out.get(reward)
            if r is None:
                cells[reward] = ("-", "-", None, "-")
                continue
            base, last = r["base"], r["rounds"][str(last_round(r))]
            g = last["world_eval.greedy_acc"] - base["greedy_acc"]
            s = last["world_eval.sampled_acc"] - base["sampled_acc"]
            types = ", ".join(
                f"{t} {last[f'world_eval.greedy_acc/{t}'] - base[f'greedy_acc/{t}']:+.3f}"
                for t in sorted(v["by_type"])
            )
            diversity = " / ".join(
                f"{last[f'world_eval.{m}'] - base[m]:+.3f}"
                if f"world_eval.{m}" in last and m in base
                else "-"
                for m in ("maj@8", "pass@8")
            )
            cells[reward] = (f"{g:+.3f}" + (f" ({types})" if types else ""), f"{s:+.3f}", g, diversity)
        g = cells["majority_vote"][2]
        # the fair coin (training.reward=random), where it was run: what any reward would have done
        coin = "-" if cells["random"][2] is None else f"{cells['random'][2]:+.3f} / {cells['random'][1]}"
        hit = "-"
        if g is not None:
            ok = _hit(v["kind"], g)
            hit = "hit" if ok else "MISS"
            hits += ok
            total += 1
        per_type = ", ".join(f"{t}: {k}" for t, k in sorted(v["by_type"].items())) or "(one type)"
        lines.append(
            f"| {w['name']} | {v['kind']} ({v['recorded_at']}{', redone' if v.get('forced') else ''}) | {per_type} | "
            f"{cells['majority_vote'][0]} | {cells['majority_vote'][1]} | {cells['majority_vote'][3]} | "
            f"{cells['ground_truth'][0]} | {cells['ground_truth'][1]} | {coin} | {hit} |"
        )
    lines += ["", f"Hits: {hits} of {total} worlds with outcomes (overall verdicts).", ""]
    type_hits = type_total = 0
    per_type_lines = []
    for w in worlds:
        v, r = data["verdicts"].get(w["name"]), data["outcomes"].get(w["name"], {}).get("majority_vote")
        if v is None or r is None:
            continue
        last = r["rounds"][str(last_round(r))]
        for t, kind in sorted(v["by_type"].items()):
            g = last[f"world_eval.greedy_acc/{t}"] - r["base"][f"greedy_acc/{t}"]
            ok = _hit(kind, g)
            type_hits += ok
            type_total += 1
            per_type_lines.append(
                f"- `{w['name']}` {t}: {kind}; UPT greedy Δ {g:+.3f}: {'hit' if ok else 'MISS'}"
            )
    if per_type_lines:
        lines += [
            f"Per question type, the same rule: {type_hits} hit{'' if type_hits == 1 else 's'} of {type_total}.",
            "",
            *per_type_lines,
            "",
        ]
    return lines


def _rest(data: dict) -> list[str]:
    lines: list[str] = []
    if data.get("elsewhere"):
        lines += [
            "## Verdicts recorded before training by other benches",
            "",
            "Bases measured by another bench's chain (`bench/bootstrap.py`), whose probe verdicts were written before "
            "any UPT run on them; outcomes from the UPT bench named, judged by the same rule after 3 rounds.",
            "",
            "| world | SFT seed | verdict (recorded) | UPT greedy Δ / sampled Δ, round 3 | oracle greedy Δ / sampled Δ, "
            "round 3 | later rounds | hit? |",
            "|---|---|---|---|---|---|---|",
        ]
        for e in data["elsewhere"]:
            g = e["upt"][0]
            ok = _hit(e["verdict"], g)
            oracle = "-" if e.get("oracle") is None else f"{e['oracle'][0]:+.3f} / {e['oracle'][1]:+.3f}"
            lines.append(
                f"| {e['world']} | {e['seed']} | {e['verdict']} ({e['recorded']}) | {g:+.3f} / {e['upt'][1]:+.3f} | "
                f"{oracle} | {e.get('later', '')} | {'hit' if ok else 'MISS'} |"
            )
        lines.append("")
    lines += ["## The worlds", ""]
    lines += [f"- `{w['name']}`: {w['why']}. Overrides: `{' '.join(w['overrides'])}`." for w in WORLDS]
    lines += ["", "## The probe's numbers", ""]
    for name, v in data["verdicts"].items():
        m = v["metrics"]
        lines.append(
            f"- `{name}`: {v['verdict']}. Confident majority ≠ greedy {m['confident_differs']:.3f}, greedy answer's "
            f"advantage {m.get('greedy_advantage', 0):+.3f}, mean agreement {m['mean_agreement']:.3f}."
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--verdicts", action="store_true")
    ap.add_argument("--outcomes", action="store_true")
    ap.add_argument(
        "--force", action="store_true", help="redo verdicts already recorded (the report says so)"
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--only", nargs="+", help="outcomes of these worlds only")
    ap.add_argument("--rewards", nargs="+", default=["majority_vote", "ground_truth"])
    args = ap.parse_args()
    data = _load()
    if args.verdicts:
        todo = [w for w in WORLDS if args.force or w["name"] not in data["verdicts"]]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for v in pool.map(verdict_of, todo):
                data = _load()
                v["forced"] = args.force and v["name"] in data["verdicts"]
                data["verdicts"][v["name"]] = v
                PATH.write_text(json.dumps(data, indent=1))
    if args.outcomes:
        if args.overrides:
            # a world's outcomes are judged under its set's recipe; anything else is another experiment
            raise SystemExit("--set is for verdicts only: each set's recipe is pinned in SETS")
        jobs = [
            (w, reward)
            for w in WORLDS
            if w["name"] in data["verdicts"] and (not args.only or w["name"] in args.only)
            for reward in args.rewards
        ]
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(outcome_of, jobs))
        data = _load()
        for (w, reward), r in zip(jobs, runs, strict=True):
            data["outcomes"].setdefault(w["name"], {})[reward] = r
        PATH.write_text(json.dumps(data, indent=1, default=str))
        data = _load()  # round keys as the file has them
    text = render(data)
    (RESULTS / "probe.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
