"""Could a label-free signal, read during a run, stop UPT before it harms? Replayed on every finished run on record.

It trains and scores nothing. It reads each `bench/results/*.json` whose runs carry per-round metrics (the
`bench.upt` family: rounds 0 to 3, the pool's vote statistics for rounds 1 to 3, every checkpoint's accuracy on
the 300-item eval split), keeps each run once, and replays stopping rules that need no labels. A rule is checked
before round k (2 or 3) trains, on what the run has by then: the votes of rounds 1..k (round k's pool is sampled
from round k-1's checkpoint) and round k-1's checkpoint on the eval split, scored without its answers (the samples'
agreement and entropy, which a run could read on any held-out unlabeled split). A stop delivers round k-1's
checkpoint, as the shipped consolidation guard does; the tables also say what delivering the base instead would
leave (nothing trained is kept, so no harm, and no gain).

Each run's outcome is judged on its eval split, which no rule reads: 'harm' where its last round ends more than 2
points below base in greedy or sampled accuracy or on a question type; 'gain' where greedy ends more than 5 points
above base without harm; else 'flat'. For each rule and arm (UPT, the oracle, the coin): how many runs it stops, by
outcome, and what the delivered checkpoint leaves. Runs whose pool changes between rounds (question synthesis)
are left out, since their vote statistics are not comparable across rounds.

    .venv/bin/python -m bench.inrun_signals
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ROUNDS = 3
HARM = 0.02 + 1e-9  # the do-no-harm line, a hair over so that 0.02 on 300 items is not harm
GAINED = 0.05
ARMS = {"majority_vote": "UPT", "ground_truth": "oracle", "random": "coin"}
# records made after the rule they test was written down (noharm-past-probe-plan.md): reported apart
PLANNED = {"noharm-past-probe"}
CANDIDATE = "top label up > 0.10"
# the world behind each results file, by its name's start (the files do not record it); the longest match wins
WORLDS = {
    "upt-route-switch": "route-switch",
    "upt-views": "views",
    "upt-equal-noise": "equal-noise",
    "upt-framed-dev": "framed",
    "upt-framed-s20": "framed",
    "upt-framed-w4": "framed",
    "recipe-framed-w4": "framed",
    "recipe-framed10": "framed, frame noise 0.1",
    "recipe-framedsft40": "framed, short SFT",
    "recipe-consensus": "consensus",
    "upt-framed-colour": "framed-colour",
    "upt-w4-colour": "framed-colour",
    "upt-sft": "framed-colour",
    "upt-cued": "cued",
    "probe-framed-half-counts": "framed-half-counts",
    "probe-two-clean-three-noisy": "two-clean-three-noisy",
    "probe-three-panels-even-colour": "three-panels-even-colour",
}


def world_of(stem: str) -> str | None:
    hits = [p for p in WORLDS if stem.startswith(p)]
    return WORLDS[max(hits, key=len)] if hits else None


def _entry(run: dict, file: str, world: str, planned: bool) -> dict | None:
    """One run as this bench reads it, or None where it lacks what the rules read (a base, a trained round, the
    pool's votes from round 1)."""
    rounds = run.get("rounds")
    if run.get("reward", "majority_vote") not in ARMS or not isinstance(rounds, dict):
        return None
    # a run of more rounds is judged at round 3, as the others are
    rounds = {k: v for k, v in rounds.items() if k.isdigit() and int(k) <= ROUNDS}
    trained = [r for r in range(1, ROUNDS + 1) if "world_eval.greedy_acc" in rounds.get(str(r), {})]
    if (
        "world_eval.greedy_acc" not in rounds.get("0", {})
        or not trained
        or trained != list(range(1, max(trained) + 1))
    ):
        return None
    if not all("pool.agreement_mean" in rounds[str(r)] for r in trained):
        return None
    run_id = run.get("run_id") or f"{file}-{world}"
    return {
        "reward": "majority_vote",
        **run,
        "rounds": rounds,
        "run_id": run_id,
        "file": file,
        "world": world,
        "planned": planned,
    }


def load_runs() -> list[dict]:
    """Every run on record with per-round metrics, once (the same run appears in merged files), with its world:
    the `bench.upt` family's lists (rounds 0 to 3 each), and `bench.noharm`'s records by world (UPT, as a user runs
    it; a guard may have stopped one early). Runs of PLANNED files are marked: they ran after the rule they test was
    written down."""
    runs: dict[tuple, dict] = {}
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        if path.stem.startswith("noharm") and isinstance(data, dict):
            # a run a guard stopped mid-run has no unguarded outcome to judge a rule by
            found = [
                _entry(v, path.stem, w, path.stem in PLANNED)
                for w, v in data.items()
                if isinstance(v, dict) and not v.get("stopped_in_run")
            ]
        elif (world := world_of(path.stem)) is not None and isinstance(data, list):
            found = [_entry(r, path.stem, world, False) for r in data if isinstance(r, dict)]
            found = [r for r in found if r is not None and last_round(r) == ROUNDS]  # every round of a bench
        else:
            continue
        for run in found:
            if run is None:
                continue
            # the same run under another name (a rerun that gave the same figures to the digit) counts once
            path_of = tuple(
                round(at(run, r, f"world_eval.{m}") or 0.0, 4)
                for r in range(last_round(run) + 1)
                for m in ("greedy_acc", "sampled_acc")
            )
            runs.setdefault((run["world"], run["reward"], path_of), run)
    return list(runs.values())


def last_round(run: dict) -> int:
    """The last round whose checkpoint was scored."""
    return max(int(r) for r, m in run["rounds"].items() if "world_eval.greedy_acc" in m)


def at(run: dict, round_: int, metric: str) -> float | None:
    return run["rounds"].get(str(round_), {}).get(metric)


def types(run: dict) -> list[str]:
    base = run["rounds"]["0"]
    return sorted({m.split("/", 1)[1] for m in base if m.startswith("world_eval.greedy_acc/")})


def change(run: dict, round_: int) -> dict[str, float]:
    """Round `round_`'s checkpoint against the base on the eval split: greedy, sampled, and the worst question type
    in either (where there are several types), as `bench.noharm` judges harm."""
    d = {
        m: at(run, round_, f"world_eval.{m}_acc") - at(run, 0, f"world_eval.{m}_acc")
        for m in ("greedy", "sampled")
    }
    kinds = types(run)
    per_type = [
        at(run, round_, f"world_eval.{m}_acc/{t}") - at(run, 0, f"world_eval.{m}_acc/{t}")
        for t in kinds
        for m in ("greedy", "sampled")
        if at(run, round_, f"world_eval.{m}_acc/{t}") is not None
        and at(run, 0, f"world_eval.{m}_acc/{t}") is not None
    ]
    d["worst type"] = min(per_type) if len(kinds) > 1 and per_type else 0.0
    return d


def harmed(d: dict[str, float]) -> bool:
    return min(d.values()) < -HARM


def outcome(run: dict) -> str:
    d = change(run, last_round(run))
    if harmed(d):
        return "harm"
    return "gain" if d["greedy"] > GAINED else "flat"


def _pool(metric: str, k: int, since: int | None = None) -> Callable[[dict], float | None]:
    """The pool's `metric` at round k, less its value at round `since` (default k-1)."""

    def read(run: dict) -> float | None:
        a, b = at(run, k, f"pool.{metric}"), at(run, since if since is not None else k - 1, f"pool.{metric}")
        return None if a is None or b is None else a - b

    return read


def _held_out(metric: str, k: int) -> Callable[[dict], float | None]:
    """Round k-1's checkpoint on the held-out split against the base's, without answers."""

    def read(run: dict) -> float | None:
        a, b = at(run, k - 1, f"world_eval.{metric}"), at(run, 0, f"world_eval.{metric}")
        return None if a is None or b is None else a - b

    return read


# (name, for k: whether it fires on a run) -- each checked before round k trains; LEGEND says what each reads
RULES: list[tuple[str, Callable[[int], Callable[[dict], bool]]]] = []
LEGEND = {
    "consolidation": "the shipped consolidation guard (guard.min_agreement_change): the pool's mean agreement under "
    "the vote fell more than 0.02 since the last round's pool",
    "collapse warning": "the shipped stopping signal's collapse flag (mmupt_core/rounds/diagnostics.py): the pool's "
    "agreement at least 0.9 and one label the majority of half the pool",
    "top label up": "the share of the pool whose majority is the single most common label rose since round 1's pool",
    "accept up": "the share of the pool whose vote passed voting.min_agreement rose since round 1's pool",
    "entropy down": "the last checkpoint's answer entropy over its samples on the held-out split fell from the base's",
    "agreement up": "the last checkpoint's samples' agreement with their majority on the held-out split rose from "
    "the base's",
}


def rule(name: str, signal: Callable[[int], Callable[[dict], float | None]], fires: Callable[[float], bool]):
    def check(k: int) -> Callable[[dict], bool]:
        read = signal(k)
        return lambda run: (v := read(run)) is not None and fires(v)

    RULES.append((name, check))


def _collapse_flag(k: int) -> Callable[[dict], float | None]:
    def read(run: dict) -> float | None:
        agreement, top = at(run, k, "pool.agreement_mean"), at(run, k, "pool.top_label_share")
        return None if agreement is None or top is None else float(agreement >= 0.9 and top >= 0.5)

    return read


rule("consolidation", lambda k: _pool("agreement_mean", k), lambda v: v < -0.02)
rule("collapse warning", _collapse_flag, lambda v: v > 0)
for t in (0.05, 0.10, 0.15):
    rule(f"top label up > {t:.2f}", lambda k: _pool("top_label_share", k, 1), lambda v, t=t: v > t)
for t in (0.05, 0.10):
    rule(f"accept up > {t:.2f}", lambda k: _pool("accept_rate", k, 1), lambda v, t=t: v > t)
for t in (0.15, 0.30):
    rule(f"entropy down > {t:.2f}", lambda k: _held_out("entropy", k), lambda v, t=t: v < -t)
for t in (0.10, 0.20):
    rule(f"agreement up > {t:.2f}", lambda k: _held_out("agreement", k), lambda v, t=t: v > t)


def replay(run: dict, check: Callable[[int], Callable[[dict], bool]]) -> int:
    """The round a run ends on under a rule: k-1 for the first k it fires before, else the last it trained."""
    last = last_round(run)
    return next((k - 1 for k in range(2, last + 1) if check(k)(run)), last)


def measure() -> dict:
    out = []
    for run in load_runs():
        last = last_round(run)
        row = {
            "run_id": run["run_id"],
            "file": run["file"],
            "world": run["world"],
            "arm": ARMS[run["reward"]],
            "planned": run["planned"],
            "trained": last,
            "outcome": outcome(run),
            "last": change(run, last),
            "top_label_share": [at(run, r, "pool.top_label_share") for r in range(1, ROUNDS + 1)],
            "rules": {},
        }
        for name, check in RULES:
            end = replay(run, check)
            row["rules"][name] = {
                "end": end,
                "stopped": end < last,
                "change": change(run, end),
                "harm": harmed(change(run, end)),
            }
        out.append(row)
    return {"runs": out}


def _arm_table(mine: list[dict], names: list[str]) -> list[str]:
    groups = {o: [r for r in mine if r["outcome"] == o] for o in ("harm", "flat", "gain")}
    gains = groups["gain"]
    unguarded = f"{statistics.mean(r['last']['greedy'] for r in gains):+.3f}" if gains else "-"
    lines = [
        "| rule | harm runs stopped | of them, left without harm (the base delivered: all) | flat stopped | "
        "gain runs stopped | gain runs: mean Δ greedy kept, last checkpoint / the base delivered (unguarded) |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        stopped = {o: [r for r in g if r["rules"][name]["stopped"]] for o, g in groups.items()}
        mended = sum(not r["rules"][name]["harm"] for r in stopped["harm"])
        kept = "-"
        if gains:
            at_stop = statistics.mean(r["rules"][name]["change"]["greedy"] for r in gains)
            on_base = statistics.mean(
                0.0 if r["rules"][name]["stopped"] else r["last"]["greedy"] for r in gains
            )
            kept = f"{at_stop:+.3f} / {on_base:+.3f}"
        lines.append(
            f"| {name} | {len(stopped['harm'])} of {len(groups['harm'])} | {mended} | "
            f"{len(stopped['flat'])} of {len(groups['flat'])} | {len(stopped['gain'])} of {len(gains)} | "
            f"{kept} ({unguarded}) |"
        )
    return lines


def _fired(r: dict, names: list[str]) -> str:
    return ", ".join(f"{n} ({r['rules'][n]['end'] + 1})" for n in names if r["rules"][n]["stopped"]) or "-"


def render(result: dict) -> str:
    names = [n for n, _ in RULES]
    runs = [r for r in result["runs"] if not r["planned"]]
    planned = [r for r in result["runs"] if r["planned"]]
    lines = [
        "# Label-free signals during a run, replayed: could one stop UPT before it harms?",
        "",
        f"Written by `bench/inrun_signals.py` from the per-round metrics of {len(runs)} finished runs on record "
        "(each once; files listed per run below). Trains nothing. A rule is checked before rounds 2 and 3 train, on "
        "the pool's votes so far and on the last checkpoint's samples on the held-out split (their agreement and "
        "entropy, no answers); a stop delivers the last checkpoint. Outcomes are judged on the 300-item eval "
        "split: harm = the last round more than 2 points below base in greedy or sampled accuracy, overall or on a "
        "question type; gain = greedy more than 5 points up without harm.",
        "",
        "The rules (thresholds are a grid, none fitted):",
        "",
        *(f"- **{k}**: {v}." for k, v in LEGEND.items()),
        "",
    ]
    for arm in ARMS.values():
        mine = [r for r in runs if r["arm"] == arm]
        if mine:
            counts = ", ".join(
                f"{sum(r['outcome'] == o for r in mine)} {o}" for o in ("harm", "flat", "gain")
            )
            lines += [f"## {arm}: {len(mine)} runs ({counts})", "", *_arm_table(mine, names), ""]
    if planned:
        lines += [
            f"## Runs made after the candidate was written down ({len(planned)}; `noharm-past-probe-plan.md`)",
            "",
            f"The candidate, fixed before these ran: **{CANDIDATE}**, delivering the base. The shipped config past "
            "the probe (`guard.go_on_anyway=true`), the consolidation guard on as shipped.",
            "",
            "| world | rounds trained | outcome | last Δ greedy / sampled / worst type | top label's share of the pool, "
            "rounds 1-3 | the candidate | rules that stop it (before round) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in planned:
            d, c = r["last"], r["rules"][CANDIDATE]
            shares = " → ".join(f"{v:.3f}" for v in r["top_label_share"] if v is not None)
            verdict = f"stops before round {c['end'] + 1}" if c["stopped"] else "does not fire"
            lines.append(
                f"| {r['world']} | {r['trained']} | {r['outcome']} | {d['greedy']:+.3f} / {d['sampled']:+.3f} / "
                f"{d['worst type']:+.3f} | {shares} | {verdict} | {_fired(r, names)} |"
            )
        lines.append("")
    lines += [
        "## UPT's harmed runs, by world",
        "",
        "| world | runs | harmed | which rules stop them (runs stopped / left without harm) |",
        "|---|---|---|---|",
    ]
    upt = [r for r in runs if r["arm"] == "UPT"]
    for world in sorted({r["world"] for r in upt}):
        mine = [r for r in upt if r["world"] == world]
        bad = [r for r in mine if r["outcome"] == "harm"]
        cells = []
        for name in names:
            stopped = [r for r in bad if r["rules"][name]["stopped"]]
            if stopped:
                cells.append(f"{name} {len(stopped)}/{sum(not r['rules'][name]['harm'] for r in stopped)}")
        lines.append(f"| {world} | {len(mine)} | {len(bad)} | {'; '.join(cells) or 'none'} |")
    lines += [
        "",
        "## Per run",
        "",
        "| run | file | world | arm | outcome | last Δ greedy / sampled / worst type | rules that stop it (before round) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r["arm"], r["world"], r["outcome"], r["run_id"])):
        d = r["last"]
        lines.append(
            f"| {r['run_id']} | `{r['file']}` | {r['world']} | {r['arm']} | {r['outcome']} | "
            f"{d['greedy']:+.3f} / {d['sampled']:+.3f} / {d['worst type']:+.3f} | {_fired(r, names)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    result = measure()
    (RESULTS / "inrun-signals.json").write_text(json.dumps(result) + "\n")
    text = render(result)
    (RESULTS / "inrun-signals.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
