"""The shipped default where UPT cannot help: does a user's run do no harm, with the guards as shipped?

Each world below is one where the ground-truth oracle gains little or greedy decoding already beats its own
majority (bench/results/README.md, "Do no harm"). For each, `conf/tiny.yaml` runs as `make round N=3 SET="--set
world.variant=..."` would run it: the base built at 2 threads (as `make round` builds it), the probe before round 1,
its verdict acting as the config says (a stopping verdict ends the run after round 0; with several question types
a type whose own verdict stops is held out of training). The report gives, per world, what the probe said, what
the run then did, and, where it trained, each measure's change after the last round, per question type too; a
change below -0.02 on any of them is harm by the issue's line. Results: bench/results/noharm.{json,md}.

    .venv/bin/python -m bench.noharm            # every world, one after another (each base uses both cores)
    .venv/bin/python -m bench.noharm --only equal-noise
    .venv/bin/python -m bench.noharm --name noharm-pertype   # another record (its own runs and files)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.common import run_and_collect
from bench.probe import PINNED
from bench.probe import WORLDS as PROBE_WORLDS
from mmupt_core.config import load_config

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LINE = 0.02  # the do-no-harm line: at most 2 points below base
MEASURES = ("greedy_acc", "sampled_acc", "maj@8", "pass@8")
# harm is judged on accuracy, overall and per type; what UPT costs in maj@8 and pass@8 is reported beside it
HARM_MEASURES = ("greedy_acc", "sampled_acc")

WORLDS = {
    "equal-noise": {
        "why": "five equally noisy panels (30%), uniform routes: nothing about which route to trust to learn",
        "overrides": ["world.variant=equal-noise"],
    },
    "views": {
        "why": "three occluded views, the negative control: samples mostly wrong, voting has nothing to teach",
        "overrides": ["world.variant=views"],
    },
    "consensus": {
        "why": "nearly clean panels, which the base reads by their consensus whatever panel it names: the variant "
        "made for a base whose greedy decoding beats its own majority",
        "overrides": ["world.variant=consensus"],
    },
    "framed": {
        "why": "a 2-px frame the base never locates, half count questions: UPT lost count questions there before",
        "overrides": ["world.variant=framed"],
    },
    "three-panels-even-colour": {
        "why": "3 equally noisy panels (25%), uniform routes, colour questions (bench/results/probe.md, 2026-12-07)",
        # the probe bench's world as it defines it, without its set's 1-thread first SFT and pinned recipe
        "overrides": [
            *PINNED,
            *next(w for w in PROBE_WORLDS if w["name"] == "three-panels-even-colour")["overrides"],
        ],
    },
}


def run_world(name: str, rounds: int, bench: str = "noharm", extra: list[str] | None = None) -> dict:
    from mmupt_core.rounds.context import Context
    from mmupt_core.rounds.guard import (
        collapse_stop,
        consolidation_stop,
        guard_stop,
        held_out_types,
        stored_probe,
    )
    from mmupt_core.view.summary import delivered, round_summaries

    run_id = f"{bench}-{name}"
    cfg = load_config(
        ROOT / "conf" / "tiny.yaml",
        [f"store.db=bench-{run_id}.duckdb", *WORLDS[name]["overrides"], *(extra or [])],
    )
    wall, per_round, store = run_and_collect(cfg, rounds, run_id, ("world_eval", "pool", "probe"))
    probe = stored_probe(Context(cfg, run_id, 0))
    # what the user gets: a guard that stops mid-run may deliver an earlier checkpoint than the last
    trained = max((r for r, m in per_round.items() if "world_eval.greedy_acc" in m), default=0)
    chosen = delivered(round_summaries(store, run_id))
    mid_run = None
    if 0 < trained < rounds:
        mid_run = consolidation_stop(cfg, run_id, trained + 1) or collapse_stop(cfg, run_id, trained + 1)
    return {
        "world": name,
        "recorded_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        # the guard's rules are code: which code ran is part of the record
        "commit": _commit(),
        "wall_s": wall,
        "verdict": probe.kind if probe else None,
        "verdict_text": probe.verdict if probe else None,
        "by_type": {t: r.kind for t, r in probe.by_type.items()} if probe else {},
        "overrides": extra or [],
        "stopped": guard_stop(cfg, run_id),
        "stopped_in_run": mid_run,
        "delivered": chosen[0].round if chosen else 0,
        "held_out": sorted(held_out_types(cfg, run_id)),
        "rounds": {str(k): v for k, v in per_round.items()},
    }


def _commit() -> str | None:
    import subprocess

    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or None


def changes(r: dict) -> dict[str, float]:
    """Each eval measure's change from the base to the round the run delivers (records from before the field:
    the last round), overall and per question type."""
    rounds = {int(k): v for k, v in r["rounds"].items() if "world_eval.greedy_acc" in v}
    base, end = rounds[0], rounds[r.get("delivered", max(rounds))]
    out = {}
    for key, v in end.items():
        if not key.startswith("world_eval."):
            continue
        measure = key.split(".", 1)[1]
        if measure.split("/")[0] in MEASURES and key in base:
            out[measure] = v - base[key]
    return out


def render(data: dict) -> str:
    """The report; a "_note" entry, where the record has one, says under what code or conditions it ran."""
    runs = {k: v for k, v in data.items() if not k.startswith("_")}
    lines = [
        "# The shipped default where UPT cannot help",
        "",
        "Written by `bench/noharm.py`. `conf/tiny.yaml` as shipped (1500-step first SFT at 2 threads, 20 updates of "
        "32 prompts a round, lr 3e-5, the guards as the config sets them), on worlds where the ground-truth oracle "
        "gains little or greedy decoding beats its own majority; 3 rounds asked for, 300 held-out questions. Harm: "
        f"greedy or sampled accuracy more than {LINE:.2f} below base at the round the run delivers (its last, unless a "
        "guard stopped it mid-run and delivers an earlier one), overall or for "
        "one question type (maj@8 and pass@8 are reported beside it). A run the probe stopped trained nothing, so "
        "it did no harm by construction; whether the probe was right to stop it is `bench/results/probe.md`'s "
        "question.",
        "",
        *([data["_note"], ""] if data.get("_note") else []),
        "| world | probe verdict (per type) | what the run did | base greedy / sampled / maj@8 | change at the "
        "round delivered: greedy / sampled / maj@8 / pass@8 | per type, greedy | harm? |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in runs.items():
        rounds = {int(k): v for k, v in r["rounds"].items() if "world_eval.greedy_acc" in v}
        base = rounds[0]
        types = ", ".join(f"{t}: {k}" for t, k in sorted(r["by_type"].items()))
        trained = max(rounds)
        did = (
            "stopped before round 1"
            if trained == 0
            else f"trained {trained} rounds"
            + (f", {', '.join(r['held_out'])} held out" if r["held_out"] else "")
        ) + (f" (with `{' '.join(r['overrides'])}`)" if r.get("overrides") else "")
        if r.get("stopped_in_run"):
            guard = "collapse" if "collapse guard" in r["stopped_in_run"] else "consolidation"
            did += f"; the {guard} guard stopped it before round {trained + 1}"
        if trained and r.get("delivered", trained) != trained:
            did += f"; it delivers round {r['delivered']}" + (" (the base)" if r["delivered"] == 0 else "")
        b = " / ".join(f"{base.get(f'world_eval.{m}', float('nan')):.3f}" for m in MEASURES[:3])
        if trained == 0:
            ch, per_type, harm = "-", "-", "no (nothing trained)"
        else:
            c = changes(r)
            ch = " / ".join(f"{c.get(m, float('nan')):+.3f}" for m in MEASURES)
            per_type = ", ".join(
                f"{k.split('/')[1]} {v:+.3f}" for k, v in sorted(c.items()) if k.startswith("greedy_acc/")
            )
            fell = sorted(k for k, v in c.items() if k.split("/")[0] in HARM_MEASURES and v < -LINE)
            harm = ("YES: " + ", ".join(fell)) if fell else "no"
        lines.append(
            f"| {name} | {r['verdict']}{f' ({types})' if types else ''} | {did} | {b} | {ch} | {per_type or '-'} | "
            f"{harm} |"
        )
    lines += ["", "## The worlds", ""]
    lines += [f"- `{n}`: {WORLDS[n]['why']}. Overrides: `{' '.join(WORLDS[n]['overrides'])}`." for n in runs]
    lines += ["", "## What the probe said", ""]
    lines += [
        f"- `{n}` ({r['recorded_at']}{', commit ' + r['commit'] if r.get('commit') else ''}, {r['wall_s']:.0f} s): "
        f"{r['verdict_text']}."
        for n, r in runs.items()
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="+", choices=list(WORLDS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--name", default="noharm", help="the record's name: its files and its runs' ids")
    ap.add_argument("--report", action="store_true", help="rewrite the .md from the .json; run nothing")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="a config override on top of the shipped config, e.g. guard.go_on_anyway=true to train past the probe",
    )
    args = ap.parse_args()
    path = RESULTS / f"{args.name}.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    for name in [] if args.report else args.only or list(WORLDS):
        # one at a time: each base trains at 2 threads, and two such processes on 2 cores run many times slower
        data[name] = run_world(name, args.rounds, args.name, args.overrides)
        path.write_text(json.dumps(data, indent=1))
    text = render(data)
    (RESULTS / f"{args.name}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
