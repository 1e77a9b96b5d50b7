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


def load_runs() -> list[dict]:
    """Every run with rounds 0..3 on record, once (the same run appears in merged files), with its world."""
    runs: dict[tuple, dict] = {}
    for path in sorted(RESULTS.glob("*.json")):
        world = world_of(path.stem)
        if world is None:
            continue
        data = json.loads(path.read_text())
        for run in data if isinstance(data, list) else []:
            rounds = run.get("rounds") if isinstance(run, dict) else None
            if run.get("reward") not in ARMS or not isinstance(rounds, dict):
                continue
            if not all("world_eval.greedy_acc" in rounds.get(str(r), {}) for r in range(ROUNDS + 1)):
                continue
            if not all("pool.agreement_mean" in rounds[str(r)] for r in range(1, ROUNDS + 1)):
                continue
            g = [rounds[str(r)]["world_eval.greedy_acc"] for r in range(ROUNDS + 1)]
            key = (run["run_id"], round(g[0], 4), round(g[-1], 4))
            runs.setdefault(key, {"run_id": run["run_id"], "file": path.stem, "world": world, **run})
    return list(runs.values())


def at(run: dict, round_: int, metric: str) -> float | None:
    return run["rounds"][str(round_)].get(metric)


def types(run: dict) -> list[str]:
    base = run["rounds"]["0"]
    return sorted({m.split("/", 1)[1] for m in base if m.startswith("world_eval.greedy_acc/")})


def change(run: dict, round_: int) -> dict[str, float]:
    """Round `round_`'s checkpoint against the base on the eval split: greedy, sampled, and the worst type."""
    d = {
        m: at(run, round_, f"world_eval.{m}_acc") - at(run, 0, f"world_eval.{m}_acc")
        for m in ("greedy", "sampled")
    }
    per_type = [
        at(run, round_, f"world_eval.greedy_acc/{t}") - at(run, 0, f"world_eval.greedy_acc/{t}")
        for t in types(run)
        if at(run, round_, f"world_eval.greedy_acc/{t}") is not None
    ]
    d["worst type"] = min(per_type) if len(per_type) > 1 else 0.0
    return d


def harmed(d: dict[str, float]) -> bool:
    return min(d.values()) < -HARM


def outcome(run: dict) -> str:
    d = change(run, ROUNDS)
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
    """The round a run ends on under a rule: k-1 for the first k it fires before, else the last."""
    return next((k - 1 for k in range(2, ROUNDS + 1) if check(k)(run)), ROUNDS)


def measure() -> dict:
    runs = load_runs()
    out = []
    for run in runs:
        row = {
            "run_id": run["run_id"],
            "file": run["file"],
            "world": run["world"],
            "arm": ARMS[run["reward"]],
            "outcome": outcome(run),
            "last": change(run, ROUNDS),
            "rules": {},
        }
        for name, check in RULES:
            end = replay(run, check)
            row["rules"][name] = {"end": end, "change": change(run, end), "harm": harmed(change(run, end))}
        out.append(row)
    return {"runs": out}


def render(result: dict) -> str:
    runs = result["runs"]
    names = [n for n, _ in RULES]
    lines = [
        "# Label-free signals during a run, replayed: could one stop UPT before it harms?",
        "",
        f"Written by `bench/inrun_signals.py` from the per-round metrics of {len(runs)} finished runs on record "
        "(each once; files listed per run below). Trains nothing. A rule is checked before rounds 2 and 3 train, on "
        "the pool's votes so far and on the last checkpoint's samples on the held-out split (their agreement and "
        "entropy, no answers); a stop delivers the last checkpoint. Outcomes are judged on the 300-item eval "
        "split: harm = the last round more than 2 points below base in greedy or sampled accuracy or on a question "
        "type; gain = greedy more than 5 points up without harm.",
        "",
        "The rules (thresholds are a grid, none fitted):",
        "",
        *(f"- **{k}**: {v}." for k, v in LEGEND.items()),
        "",
    ]
    for arm in ARMS.values():
        mine = [r for r in runs if r["arm"] == arm]
        if not mine:
            continue
        groups = {o: [r for r in mine if r["outcome"] == o] for o in ("harm", "flat", "gain")}
        lines += [
            f"## {arm}: {len(mine)} runs ({', '.join(f'{len(v)} {k}' for k, v in groups.items())})",
            "",
            "| rule | harm runs stopped | of them, left without harm (the base delivered: all) | flat stopped | "
            "gain runs stopped | gain runs: mean Δ greedy kept, last checkpoint / the base delivered (unguarded) |",
            "|---|---|---|---|---|---|",
        ]
        gains = groups["gain"]
        unguarded = f"{statistics.mean(r['last']['greedy'] for r in gains):+.3f}" if gains else "-"
        for name in names:
            stopped = {o: [r for r in g if r["rules"][name]["end"] < ROUNDS] for o, g in groups.items()}
            mended = sum(not r["rules"][name]["harm"] for r in stopped["harm"])
            kept = (
                f"{statistics.mean(r['rules'][name]['change']['greedy'] for r in gains):+.3f} / "
                + f"{statistics.mean(r['last']['greedy'] if r['rules'][name]['end'] == ROUNDS else 0.0 for r in gains):+.3f}"
                if gains
                else "-"
            )
            lines.append(
                f"| {name} | {len(stopped['harm'])} of {len(groups['harm'])} | {mended} | "
                f"{len(stopped['flat'])} of {len(groups['flat'])} | {len(stopped['gain'])} of {len(gains)} | "
                f"{kept} ({unguarded}) |"
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
            stopped = [r for r in bad if r["rules"][name]["end"] < ROUNDS]
            if stopped:
                mended = sum(not r["rules"][name]["harm"] for r in stopped)
                cells.append(f"{name} {len(stopped)}/{mended}")
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
        fired = [
            f"{n.split(':')[0]} ({r['rules'][n]['end'] + 1})" for n in names if r["rules"][n]["end"] < ROUNDS
        ]
        lines.append(
            f"| {r['run_id']} | `{r['file']}` | {r['world']} | {r['arm']} | {r['outcome']} | "
            f"{d['greedy']:+.3f} / {d['sampled']:+.3f} / {d['worst type']:+.3f} | {', '.join(fired) or '-'} |"
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
