"""What a run did, in one compact table a round a row (round 0 = the base) and a verdict in words.

The same rows feed the terminal's final table, `mmupt show RUN`, the Prefect summary artifact and the HTML report.
Accuracy is the embedded world's held-out split (`world_eval`) or, for real data, the first configured benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from mmupt_core.config import DEV_BENCHMARKS, RunConfig
from mmupt_core.store.db import Store
from mmupt_core.view.collapse import first_piled_on
from mmupt_core.view.devpick import Sampled, best_round, best_safe_round, fell_at, held_back
from mmupt_core.voting.probe import ProbeResult, stopping_verdicts

# (header, field) of the compact table
COLUMNS = (
    ("round", "round"),
    ("greedy", "greedy"),
    ("Δ base", "delta"),
    ("sampled", "sampled"),
    ("maj@k", "maj"),
    ("pass@k", "pass_k"),
    ("agree", "agreement"),
    ("PL n", "accepted"),
    ("PL ok", "pseudo_label_acc"),
    ("signal", "stop"),
    ("wall", "wall_s"),  # seconds
)


@dataclass
class RoundSummary:
    round: int
    greedy: float | None = None
    sampled: float | None = None
    maj: float | None = None
    pass_k: float | None = None  # any of the k samples right: what UPT's sharpening costs in diversity
    k: int | None = None
    n_eval: int | None = None
    benchmark: str | None = None
    agreement: float | None = None
    accepted: int | None = None
    pool: int | None = None
    pseudo_label_acc: float | None = None
    stop: bool | None = None
    wall_s: float | None = None
    checkpoint: str | None = None
    path: str | None = None  # the checkpoint's weights
    delta: float | None = None
    dev: float | None = None  # greedy on the labelled dev set (evaluation.dev_items): USES LABELS
    dev_sampled: float | None = None  # sampled accuracy there, at evaluation.temperature: USES LABELS
    dev_types: dict[str, float] = field(default_factory=dict)  # greedy there, per question type: USES LABELS
    dev_sampled_types: dict[str, float] = field(default_factory=dict)  # sampled there, per type: USES LABELS
    dev_temperature: float = 1.0  # evaluation.temperature, as the run was configured
    max_dev_drop: float | None = None  # the dev guard's line, as the run was configured
    dev_stop_per_type: bool = False  # whether a question type falling past that line stops the run too
    dev_watch_sampled: bool = False  # whether the dev set's sampled accuracy is watched too (USES LABELS)
    dev_n: int | None = None  # the labelled dev set's items behind `dev`
    dev_margin_z: float = 0.0  # guard.dev_margin_z, as the run was configured (0 for runs from before it)
    min_agreement_change: float | None = None  # the consolidation guard's floor, as the run was configured
    top_label_share: float | None = None  # the share of the pool whose vote elects its most common answer
    top_label_n: int | None = None  # the pool items behind it
    max_top_label_rise: float | None = None  # the collapse guard's line (None: off, or a run before it)
    probe: ProbeResult | None = None  # round 0: the label-free probe of the base
    guard_stopped: bool = False  # round 0: the probe's verdict stopped the run before round 1
    held_types: tuple[
        str, ...
    ] = ()  # round 0: question types the probe's per-type verdicts kept out of training

    @property
    def labelled(self) -> str | None:
        """Pseudo-labelled items of the pool: 'accepted/pool'."""
        return None if self.accepted is None or self.pool is None else f"{self.accepted}/{self.pool}"


def dev_fell(summaries: list[RoundSummary], round_: int) -> list[str]:
    """What fell past the labelled dev guard's line at `round_`, as the run was last configured: "overall" for
    its dev greedy accuracy, and the question types that did where guard.dev_stop_per_type is on; with
    guard.dev_watch_sampled, "sampled" (and "sampled TYPE") for its sampled accuracy. Empty: the guard lets the run
    go on (also when it is off)."""
    dev = {s.round: s.dev for s in summaries if s.dev is not None}
    last = summaries[-1] if summaries else None
    if last is None or last.max_dev_drop is None or 0 not in dev or round_ not in dev or round_ == 0:
        return []
    by_type = {s.round: s.dev_types for s in summaries}
    return fell_at(
        dev, by_type, round_, last.max_dev_drop, last.dev_stop_per_type, watched_sampled(summaries)
    )


def watched_sampled(summaries: list[RoundSummary]) -> Sampled | None:
    """The dev set's sampled accuracy by round where the run (as last configured) watches it
    (guard.dev_watch_sampled), else None."""
    if not summaries or not summaries[-1].dev_watch_sampled:
        return None
    return Sampled(
        {s.round: s.dev_sampled for s in summaries if s.dev_sampled is not None},
        {s.round: s.dev_sampled_types for s in summaries if s.dev_sampled is not None},
    )


def dev_guard_fired(summaries: list[RoundSummary]) -> int | None:
    """The round after which the labelled dev guard stopped the run (its last dev score fell past the line, as
    the run was last configured), or None."""
    dev = [s.round for s in summaries if s.dev is not None]
    if not dev:
        return None
    last = max(dev)
    return last if dev_fell(summaries, last) else None


def delivered(summaries: list[RoundSummary]) -> tuple[RoundSummary, bool] | None:
    """The round whose checkpoint the run delivers, and whether the labelled dev set chose it: with the dev guard
    on (guard.max_dev_drop), the best round on the dev set (USES LABELS); otherwise the last checkpoint. The dev
    set's pick, not the stop alone, is what kept UPT within 2 points of its base where it lost greedy accuracy a
    little each round (bench/results/dev-guard.md), so it holds whether or not the guard stopped the run. A
    trained round is delivered only where it qualifies (mmupt_core/view/devpick.py: no question type past the line,
    a gain clear of the dev set's noise). Where the label-free collapse guard found the votes piling onto one answer
    before round k, only the rounds before k-1 (whose checkpoint the pool of round k was sampled from) qualify."""
    collapsed = collapse_at(summaries)
    with_ck = [s for s in summaries if s.path and (collapsed is None or s.round <= collapsed - 2)]
    if not with_ck:
        return None
    dev = {s.round: s.dev for s in with_ck if s.dev is not None}
    line = summaries[-1].max_dev_drop
    if line is not None and 0 in dev:
        best = best_safe_round(
            dev,
            {s.round: s.dev_types for s in with_ck},
            line,
            *dev_margin(summaries),
            watched_sampled(summaries),
        )
        return next(s for s in with_ck if s.round == best), True
    return max(with_ck, key=lambda s: s.round), False


def collapse_at(summaries: list[RoundSummary]) -> int | None:
    """The first round k >= 2 whose pool's top-label share rose past the collapse guard's line since round 1's, as
    the run was last configured (mmupt_core/rounds/guard.py: collapse_stop); None where none did or it is off."""
    rise = summaries[-1].max_top_label_rise if summaries else None
    if rise is None:
        return None
    shares = {s.round: (s.top_label_share, s.top_label_n) for s in summaries if s.top_label_share is not None}
    return first_piled_on(shares, rise)


def dev_margin(summaries: list[RoundSummary]) -> tuple[int | None, float]:
    """(dev items, guard.dev_margin_z) for the delivered round's margin; the fewest items any round was scored
    on, so a round scored on fewer is not held to a looser margin."""
    ns = [s.dev_n for s in summaries if s.dev is not None and s.dev_n]
    return (min(ns) if ns else None), (summaries[-1].dev_margin_z if summaries else 0.0)


def _accuracy_benchmark(names: set[str], configured: list[str]) -> str | None:
    """The benchmark the table and verdict report: the world's held-out split, else the first of the run's
    configured benchmarks (evaluation.benchmarks, in the user's order) that has scores. A store whose config
    names none of them falls back to the first in sort order."""
    if "world_eval" in names:
        return "world_eval"
    paper = [n for n in names if ":" in n]  # "<benchmark>:<scoring mode>"
    for name in configured:
        mine = sorted(n for n in paper if n.split(":", 1)[0] == name)
        if mine:
            return mine[0]
    return min(paper) if paper else None


def round_summaries(store: Store, run_id: str) -> list[RoundSummary]:
    """One summary a round, round 0 (the base) first; each round's greedy change against round 0."""
    by_round: dict[int, dict[tuple[str, str], tuple[float, int | None]]] = {}
    for m in store.metrics(run_id):
        by_round.setdefault(m["round"], {})[(m["benchmark"], m["metric"])] = (m["value"], m["n"])
    walls: dict[int, float] = {}
    for s in store.stages(run_id):
        walls[s["round"]] = walls.get(s["round"], 0.0) + (s["wall_s"] or 0.0)
    lineage = store.lineage(run_id)
    checkpoints = {c["round"]: c["checkpoint_id"] for c in lineage}
    paths = {c["round"]: c["path"] for c in lineage}
    rounds = sorted(set(by_round) | set(checkpoints) | set(walls))
    config = _run_config(store, run_id)
    configured = (config.get("evaluation") or {}).get("benchmarks") or []
    bench = _accuracy_benchmark({b for m in by_round.values() for b, _ in m}, list(configured))
    out = []
    for r in rounds:
        m = by_round.get(r, {})
        s = RoundSummary(
            round=r, wall_s=walls.get(r), checkpoint=checkpoints.get(r), path=paths.get(r), benchmark=bench
        )
        if bench and (bench, "greedy_acc") in m:
            s.greedy, s.n_eval = m[(bench, "greedy_acc")]
            s.sampled = m.get((bench, "sampled_acc"), (None, None))[0]
            maj = next(
                ((k, v) for (b, k), v in m.items() if b == bench and k.startswith("maj@") and "/" not in k),
                None,
            )
            if maj:
                s.k, s.maj = int(maj[0][4:]), maj[1][0]
                s.pass_k = m.get((bench, f"pass@{s.k}"), (None, None))[0]
        dev = next((b for b in DEV_BENCHMARKS if (b, "greedy_acc") in m), None)
        s.dev, s.dev_n = m.get((dev, "greedy_acc"), (None, None))
        s.dev_sampled = m.get((dev, "sampled_acc"), (None, None))[0]
        s.dev_types = {
            k.split("/", 1)[1]: v for (b, k), (v, _) in m.items() if b == dev and k.startswith("greedy_acc/")
        }
        s.dev_sampled_types = {
            k.split("/", 1)[1]: v for (b, k), (v, _) in m.items() if b == dev and k.startswith("sampled_acc/")
        }
        s.agreement = m.get(("pool", "agreement_mean"), (None, None))[0]
        s.top_label_share, s.top_label_n = m.get(("pool", "top_label_share"), (None, None))
        items = m.get(("pool", "items"), (None, None))[0]
        accepted = m.get(("pool", "accepted"), (None, None))[0]
        s.pool = int(items) if items is not None else None
        s.accepted = int(accepted) if accepted is not None else None
        s.pseudo_label_acc = m.get(("pool", "pseudo_label_acc"), (None, None))[0]
        stop = m.get(("stopping", "stop_suggested"), (None, None))[0]
        s.stop = bool(stop) if stop is not None else None
        out.append(s)
    guard = config.get("guard") or {}
    probe = {k: v for (b, k), (v, _) in by_round.get(0, {}).items() if b == "probe"}
    if probe and out and out[0].round == 0:
        out[0].probe = ProbeResult.from_metrics(probe)
        trained = any(s.round >= 1 for s in out if s.checkpoint is not None)
        stopping = stopping_verdicts(_go_on_anyway(config))
        out[0].guard_stopped = out[0].probe.stops_run(stopping) and not trained
        out[0].held_types = tuple(sorted(out[0].probe.held_types(stopping)))
    temperature = (config.get("evaluation") or {}).get("temperature", 1.0)
    for s in out:
        s.max_dev_drop = guard.get("max_dev_drop")
        s.dev_stop_per_type = bool(guard.get("dev_stop_per_type", False))
        s.dev_watch_sampled = bool(guard.get("dev_watch_sampled", False))
        s.dev_margin_z = guard.get("dev_margin_z") or 0.0
        s.min_agreement_change = guard.get("min_agreement_change")
        s.max_top_label_rise = guard.get("max_top_label_rise")
        s.dev_temperature = temperature
    base = next((s for s in out if s.round == 0 and s.greedy is not None), None)
    for s in out:
        if base is not None and s.greedy is not None and s.round > 0:
            s.delta = s.greedy - base.greedy
    return out


def _run_config(store: Store, run_id: str) -> dict:
    """The run's latest resolved config (as last started), as a plain mapping."""
    raw = store.get_run(run_id).get(
        "config_json"
    )  # YAML (dump_config); older stores may hold JSON, also YAML
    config = yaml.safe_load(raw) if raw else None
    return config if isinstance(config, dict) else {}


def _go_on_anyway(config: dict) -> bool | list[str]:
    """The stored config's guard.go_on_anyway as it held for the run (its per-world form on that world only)."""
    value = (config.get("guard") or {}).get("go_on_anyway")
    if not isinstance(value, dict):
        return value or False
    try:
        return RunConfig.model_validate(config).go_on_anyway()
    except ValueError:  # a config this version no longer reads: nothing went past the probe
        return False


def _cell(field: str, value) -> str:
    if value is None:
        return "-"
    if field == "delta":
        return f"{value:+.3f}"
    if field == "stop":
        return "stop" if value else "go on"
    if field == "wall_s":
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def compact_rows(summaries: list[RoundSummary]) -> list[dict[str, str]]:
    """The compact table as strings: integers as integers, accuracies to 3 places, changes signed; the
    majority column names its k ("maj@8")."""
    k = next((s.k for s in summaries if s.k is not None), None)
    rename = {"maj@k": f"maj@{k}", "pass@k": f"pass@{k}"} if k is not None else {}
    return [{rename.get(h, h): _cell(f, getattr(s, f)) for h, f in COLUMNS} for s in summaries]


def markdown(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "_no rounds yet_\n"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c] for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def verdict(summaries: list[RoundSummary], supervised: bool = False) -> str:
    """The run's outcome in words and numbers."""
    base = next((s for s in summaries if s.round == 0 and s.greedy is not None), None)
    last = next((s for s in reversed(summaries) if s.round > 0 and s.greedy is not None), None)
    zero = next((s for s in summaries if s.round == 0), None)
    if last is None and zero is not None and zero.guard_stopped and zero.probe is not None:
        where = f" (greedy {base.greedy:.3f} on {base.n_eval} held-out questions)" if base else ""
        return (
            f"no round ran: the label-free probe said '{zero.probe.kind}' about the base{where}, so the guard "
            "stopped the run before round 1; set guard.go_on_anyway=true to train anyway."
        )
    if base is None or last is None:
        return "no verdict yet: the base and at least one round must be evaluated"
    change = last.greedy - base.greedy
    where = (
        f"on {last.n_eval} held-out questions" if last.benchmark == "world_eval" else f"on {last.benchmark}"
    ) + (" (n unknown)" if last.n_eval is None else "")
    labels = "ground-truth rewards (a supervised oracle run)" if supervised else "no labels used"
    head = f"greedy {base.greedy:.3f} → {last.greedy:.3f} ({change:+.3f}) after round {last.round} {where}, {labels}"
    if change > 0:
        head = "the model got better: " + head
    elif change < 0:
        head = "the model got WORSE: " + head
    else:
        head = "no change: " + head
    parts = [head]
    plab = next((s.pseudo_label_acc for s in reversed(summaries) if s.pseudo_label_acc is not None), None)
    if plab is not None:
        parts.append(f"pseudo-labels {100 * plab:.0f}% right in the last round (diagnostic, hidden answers)")
    if last.stop is not None:
        parts.append("the stopping signal says " + ("stop" if last.stop else "go on"))
    if zero is not None and zero.held_types:
        said = ", ".join(f"{t} '{zero.probe.by_type[t].kind}'" for t in zero.held_types)
        parts.append(
            f"questions of type {', '.join(zero.held_types)} were held out of training (the probe said {said})"
        )
    elif zero is not None and zero.probe is not None and zero.probe.stops() and not zero.probe.by_type:
        parts.append(f"the probe had said '{zero.probe.kind}' and the run went on anyway")
    held = next(
        (s for s in summaries if s.round > last.round and s.checkpoint is None and s.agreement is not None),
        None,
    )
    floor = last.min_agreement_change
    if held is not None and floor is not None and last.agreement is not None:
        change = held.agreement - last.agreement
        if change < floor:
            parts.append(
                f"the label-free consolidation guard stopped the run before round {held.round} trained "
                f"(agreement under the vote {last.agreement:.3f} → {held.agreement:.3f})"
            )
    collapsed = collapse_at(summaries)
    if collapsed is not None:
        share = {s.round: s.top_label_share for s in summaries}
        # a round that trained anyway did so with the guard off; the delivered round follows the config as it is now
        trained = any(s.round == collapsed and s.checkpoint for s in summaries)
        what = (
            f"found round {collapsed}'s votes"
            if trained
            else f"stopped the run before round {collapsed} trained"
        )
        parts.append(
            f"the label-free collapse guard {what} (the pool's votes piled "
            f"onto one answer: its top label's share {share[1]:.3f} → {share[collapsed]:.3f}); it delivers round "
            f"{collapsed - 2}"
            + (" (the base)" if collapsed == 2 else "")
            + next(
                (
                    f", greedy {s.greedy:.3f}"
                    for s in summaries
                    if s.round == collapsed - 2 and s.greedy is not None
                ),
                "",
            )
        )
    dev = {s.round: s.dev for s in summaries if s.dev is not None}
    if 0 in dev and len(dev) > 1:
        best = best_round(dev)
        last_dev = max(dev)
        text = (
            f"labelled dev set (USES LABELS): greedy {dev[0]:.3f} → {dev[last_dev]:.3f}, best at round {best} "
            f"({dev[best]:.3f})"
        )
        if dev_guard_fired(summaries) is not None:
            text += f"; the dev guard stopped the run after round {last_dev}"
        chosen = delivered(summaries)
        if chosen is not None and chosen[1] and chosen[0].round != best:
            why = held_back(
                dev,
                {s.round: s.dev_types for s in summaries},
                best,
                summaries[-1].max_dev_drop,
                *dev_margin(summaries),
                watched_sampled(summaries),
            )
            text += f"; round {best} is not delivered: {' and '.join(why)} on the dev set"
        last_ck = max((s.round for s in summaries if s.path), default=None)
        if chosen is not None and chosen[1] and chosen[0].round != last_ck:
            text += (
                f"; the run delivers round {chosen[0].round}'s checkpoint (`mmupt checkpoint`), not its last: "
                f"{chosen[0].path}"
            )
        sampled = {s.round: s.dev_sampled for s in summaries if s.dev_sampled is not None}
        best_s = best_round(sampled) if 0 in sampled and len(sampled) > 1 else None
        if best_s is not None and best_s != best:
            # greedy and sampling can part ways (greedy fell where UPT's sampled accuracy rose:
            # bench/results/dev-guard.md), so a user who samples gets the round that suits sampling
            text += (
                f"; sampled (T = {last.dev_temperature:g}) {sampled[0]:.3f} → {sampled[max(sampled)]:.3f}, "
                f"best at round {best_s} ({sampled[best_s]:.3f})"
            )
        parts.append(text)
    return "; ".join(parts) + "."
