"""Per-round summaries of a run, read from the store: table rows, Markdown, and PNG plots.

mmupt report RUN            # writes .mmupt/runs/RUN/report/report.md (+ PNG curves)
"""

from __future__ import annotations

import re
from pathlib import Path

from mmupt_core.store import Store

# (column, benchmark, metric) shown per round
COLUMNS = [
    ("synth_accepted", "synthesis", "n_accepted"),
    ("synth_candidates", "synthesis", "n_candidates"),
    ("pool", "pool", "items"),
    ("accepted", "pool", "accepted"),
    ("agreement", "pool", "agreement_mean"),
    ("answer_entropy", "pool", "answer_entropy"),
    ("pseudo_label_acc", "pool", "pseudo_label_acc"),
    ("reward", "train", "reward_mean"),
    ("kl", "train", "kl"),
    ("greedy_acc", "world_eval", "greedy_acc"),
    ("sampled_acc", "world_eval", "sampled_acc"),
    ("maj_acc", "world_eval", "maj@8"),
    ("stability", "stopping", "majority_stability"),
    ("stop_suggested", "stopping", "stop_suggested"),
]


def artifact_key(*parts: str) -> str:
    """Prefect artifact keys take lowercase letters, digits and dashes only."""
    key = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-{2,}", "-", key) or "mmupt"


def round_rows(store: Store, run_id: str) -> list[dict]:
    metrics: dict[int, dict[tuple[str, str], float]] = {}
    for m in store.metrics(run_id):
        metrics.setdefault(m["round"], {})[(m["benchmark"], m["metric"])] = m["value"]
    checkpoints = {c["round"]: c["checkpoint_id"] for c in store.lineage(run_id)}
    rows = []
    for r in sorted(set(metrics) | set(checkpoints)):
        row: dict = {"round": r}
        for col, bench, metric in COLUMNS:
            value = metrics.get(r, {}).get((bench, metric))
            if value is None and metric == "maj@8":
                value = next(
                    (
                        v
                        for (b, k), v in metrics.get(r, {}).items()
                        if b == bench and k.startswith("maj@") and "/" not in k
                    ),
                    None,
                )
            row[col] = round(value, 4) if isinstance(value, float) else value
        row["checkpoint"] = checkpoints.get(r)
        rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "_no rounds yet_\n"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join("-" if r[c] is None else str(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def summary_markdown(store: Store, run_id: str) -> str:
    run = store.get_run(run_id)
    kind = "supervised oracle (ground-truth reward)" if run["supervised"] else "unsupervised (majority vote)"
    parent = (
        f", branched from {run['parent_run_id']} round {run['parent_round']}" if run["parent_run_id"] else ""
    )
    return f"# Run `{run_id}`\n\n{kind}{parent}\n\n" + markdown_table(round_rows(store, run_id))


def write_report(store: Store, run_id: str, out_dir: Path, fmt: str = "md") -> Path:
    """Write report.md (or .html) with PNG curves of accuracy, agreement and reward per round."""
    import os

    from mmupt_core.paths import mmupt_home

    # Keep matplotlib's font cache with the project's state, not in the home folder.
    os.environ.setdefault("MPLCONFIGDIR", str(mmupt_home() / "matplotlib"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = round_rows(store, run_id)
    plots = []
    for name, cols in (
        ("accuracy", ["greedy_acc", "sampled_acc", "maj_acc", "pseudo_label_acc"]),
        ("agreement", ["agreement", "answer_entropy", "stability"]),
        ("reward", ["reward", "kl"]),
    ):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for col in cols:
            pts = [(r["round"], r[col]) for r in rows if r.get(col) is not None]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=col)
        ax.set_xlabel("round")
        ax.set_title(f"{run_id}: {name}")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        fig.tight_layout()
        png = out_dir / f"{name}.png"
        fig.savefig(png, dpi=110)
        plt.close(fig)
        plots.append(png.name)
    md = summary_markdown(store, run_id) + "\n" + "\n".join(f"![{p}]({p})" for p in plots) + "\n"
    if fmt == "html":
        import html

        body = "<pre>" + html.escape(summary_markdown(store, run_id)) + "</pre>"
        body += "".join(f'<img src="{p}" alt="{p}">' for p in plots)
        path = out_dir / "report.html"
        path.write_text(f"<!doctype html><meta charset='utf-8'><title>{html.escape(run_id)}</title>{body}")
        return path
    path = out_dir / "report.md"
    path.write_text(md)
    return path
