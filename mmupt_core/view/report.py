"""A run's report, read from the store: the verdict, the compact table (round 0 = the base), plots, lineage.

mmupt report RUN                 # .mmupt/runs/RUN/report/report.html (+ PNG plots)
mmupt report RUN --format md     # report.md
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from mmupt_core.store.db import Store
from mmupt_core.view.choice import ChoiceError, choose
from mmupt_core.view.summary import RoundSummary, compact_rows, markdown, round_summaries, verdict


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys take lowercase letters, digits and dashes only."""
    key = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-{2,}", "-", key) or "mmupt"


def round_rows(store: Store, run_id: str) -> list[dict[str, str]]:
    """The compact table's rows (summary.py), with each round's checkpoint."""
    summaries = round_summaries(store, run_id)
    return [
        {**row, "checkpoint": s.checkpoint or "-"}
        for row, s in zip(compact_rows(summaries), summaries, strict=True)
    ]


def _kind(store: Store, run_id: str) -> str:
    run = store.get_run(run_id)
    kind = "supervised oracle (ground-truth reward)" if run["supervised"] else "unsupervised (majority vote)"
    if run["parent_run_id"]:
        kind += f", branched from {run['parent_run_id']} round {run['parent_round']}"
    if run.get("config_source"):
        kind += f"; config `{run['config_source']}`"
    return kind


def summary_markdown(store: Store, run_id: str) -> str:
    """The run's verdict and compact table (the Prefect summary artifact, report.md)."""
    supervised = bool(store.get_run(run_id)["supervised"])
    text = verdict(round_summaries(store, run_id), supervised)
    return f"# Run `{run_id}`\n\n{_kind(store, run_id)}\n\n**{text}**\n\n" + markdown(
        round_rows(store, run_id)
    )


def oracle_runs(store: Store, run_id: str) -> list[str]:
    """Supervised (ground-truth reward) runs that started from the same base checkpoint."""
    base = store.checkpoint(run_id, 0)
    if base is None:
        return []
    out = []
    for r in store.list_runs():
        other = store.checkpoint(r["run_id"], 0) if r["supervised"] and r["run_id"] != run_id else None
        if other is not None and other["path"] == base["path"]:
            out.append(r["run_id"])
    return out


def _plot(out_dir: Path, run_id: str, summaries: list[RoundSummary], oracles: dict[str, list[RoundSummary]]):
    from mmupt_core.paths import mmupt_home

    # matplotlib's font cache stays with the project's state, not in the home folder
    os.environ.setdefault("MPLCONFIGDIR", str(mmupt_home() / "matplotlib"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = next((s.k for s in summaries if s.k is not None), None)
    fig, (acc, agr) = plt.subplots(1, 2, figsize=(10, 3.6))
    for field, label in (("greedy", "greedy"), ("sampled", "sampled"), ("maj", f"maj@{k}")):
        pts = [(s.round, getattr(s, field)) for s in summaries if getattr(s, field) is not None]
        if pts:
            acc.plot(*zip(*pts, strict=True), marker="o", label=label)
    base = next((s.greedy for s in summaries if s.round == 0 and s.greedy is not None), None)
    if base is not None:
        acc.axhline(base, color="grey", linestyle="--", linewidth=1, label="base greedy")
    for name, rows in oracles.items():
        pts = [(s.round, s.greedy) for s in rows if s.greedy is not None]
        if pts:
            acc.plot(*zip(*pts, strict=True), marker="s", linestyle=":", label=f"oracle greedy ({name})")
    acc.set(xlabel="round", ylabel="accuracy (held out)", title=f"{run_id}: accuracy")
    for field, label in (("agreement", "agreement"), ("pseudo_label_acc", "pseudo-labels right (hidden)")):
        pts = [(s.round, getattr(s, field)) for s in summaries if getattr(s, field) is not None]
        if pts:
            agr.plot(*zip(*pts, strict=True), marker="o", label=label)
    agr.set(xlabel="round", title=f"{run_id}: agreement and pseudo-labels")
    for ax in (acc, agr):
        ax.grid(alpha=0.3)
        ax.set_xticks([s.round for s in summaries])
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "rounds.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rounds_png(store: Store, run_id: str, out_dir: Path) -> Path:
    """The run's accuracy and agreement curves (with the oracle's, when one exists) as one PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    oracles = {name: round_summaries(store, name) for name in oracle_runs(store, run_id)}
    return _plot(out_dir, run_id, round_summaries(store, run_id), oracles)


def data_uri(png: Path) -> str:
    """The PNG inline, for an image artifact the Prefect UI shows with no file server (an <img src>)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()


def _delivered(summaries: list[RoundSummary], run_id: str) -> str | None:
    """Which checkpoint the run delivers, in words, or None before it has one."""
    try:
        c = choose(summaries, run_id)
    except ChoiceError:
        return None
    return f"round {c.round}, {c.why}{' (USES LABELS)' if c.uses_labels else ''}: {c.path}"


def write_report(store: Store, run_id: str, out_dir: Path, fmt: str = "html") -> Path:
    """Write report.html (or .md) with the verdict, the table, the plots and the checkpoint lineage."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = round_summaries(store, run_id)
    oracles = {name: round_summaries(store, name) for name in oracle_runs(store, run_id)}
    png = _plot(out_dir, run_id, summaries, oracles)
    lineage = store.lineage(run_id)
    delivered = _delivered(summaries, run_id)
    if fmt == "md":
        lines = [summary_markdown(store, run_id), f"![rounds]({png.name})", "", "## Checkpoint lineage", ""]
        if delivered:
            lines += [f"The run's model (`mmupt checkpoint {run_id}`): {delivered}", ""]
        lines += [
            f"- {c['checkpoint_id']} (round {c['round']}) ← {c['parent_id'] or 'none'}: {c['path']}"
            for c in lineage
        ]
        path = out_dir / "report.md"
        path.write_text("\n".join(lines) + "\n")
        return path
    rows = round_rows(store, run_id)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0]) if rows else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    lin = "".join(
        f"<li><b>{html.escape(c['checkpoint_id'])}</b> (round {c['round']}) ← "
        f"{html.escape(c['parent_id'] or 'none')}<br><code>{html.escape(c['path'])}</code></li>"
        for c in lineage
    )
    oracle_note = (
        f"<p>Oracle curve: {', '.join(html.escape(o) for o in oracles)} (same base, ground-truth reward).</p>"
        if oracles
        else "<p>No supervised run of the same base in the store, so no oracle curve.</p>"
    )
    supervised = bool(store.get_run(run_id)["supervised"])
    model = (
        f"<p>The run's model (<code>mmupt checkpoint {html.escape(run_id)}</code>): {html.escape(delivered)}</p>"
        if delivered
        else ""
    )
    page = f"""<!doctype html><meta charset="utf-8"><title>mmupt: {html.escape(run_id)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}}
th{{background:#f3f3f3}}.verdict{{font-size:1.1em;background:#eef6ee;padding:.6em 1em;border-left:4px solid #4a4}}
code{{font-size:.85em;color:#555}}</style>
<h1>Run <code>{html.escape(run_id)}</code></h1><p>{html.escape(_kind(store, run_id))}</p>
<p class="verdict">{html.escape(verdict(summaries, supervised))}</p>
<h2>Rounds (round 0 is the base)</h2><table><tr>{head}</tr>{body}</table>
<h2>Curves</h2><img src="{png.name}" alt="accuracy and agreement per round" width="1000">{oracle_note}
<h2>Checkpoint lineage</h2>{model}<ul>{lin}</ul>
"""
    path = out_dir / "report.html"
    path.write_text(page)
    return path
