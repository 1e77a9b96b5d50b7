"""The `mmupt` command line: inspect runs and configs, build the embedded default, run rounds.

mmupt round --config conf/tiny.yaml --rounds 3 --run default   # the main job (the same flow as `make round`)
mmupt runs
mmupt show RUN
mmupt checkpoint RUN --copy-to ./model   # the checkpoint the run delivers, with where it came from
mmupt config show conf/tiny.yaml --set sampling.n=16
mmupt bootstrap --config conf/tiny.yaml
mmupt probe --config conf/tiny.yaml
mmupt plan --config conf/qwen25vl-7b-mmr1.yaml --gpu h100-80gb
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mmupt_core.config import ConfigError, RunConfig, dump_config, load_config
from mmupt_core.paths import store_path
from mmupt_core.store.db import Store, StoreError

app = typer.Typer(
    help="mmupt: label-free post-training rounds for vision-language models.", no_args_is_help=True
)
config_app = typer.Typer(help="Inspect configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")
console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[str, typer.Option("--config", "-c", help="YAML experiment file")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="override, e.g. sampling.n=16 (repeatable)")]


def _load(path: str | None, overrides: list[str] | None) -> RunConfig:
    try:
        return load_config(path, overrides or [])
    except ConfigError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _reader(config: RunConfig) -> Store:
    path = store_path(config)
    try:
        return Store(
            path, read_only=True, retries=config.store.lock_retries, backoff_s=config.store.lock_backoff_s
        )
    except FileNotFoundError:
        err_console.print(f"no runs yet: {path} does not exist")
        raise typer.Exit(1) from None


def _table(title: str, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Table:
    columns = columns or (list(rows[0].keys()) if rows else [])
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[_fmt(r.get(c)) for c in columns])
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command()
def runs(config: ConfigOpt = "conf/tiny.yaml", set_: SetOpt = None) -> None:
    """List runs in the store (--set store.db=... where the runs were started with it)."""
    store = _reader(_load(config, set_))
    rows = store.list_runs()
    if not rows:
        console.print("no runs yet")
        return
    console.print(_table("runs", rows))


@app.command()
def show(
    run: str,
    config: ConfigOpt = "conf/tiny.yaml",
    metrics: Annotated[
        bool, typer.Option("--metrics", help="the long form: stages, every metric, lineage")
    ] = False,
    set_: SetOpt = None,
) -> None:
    """A run at a glance: one row a round (round 0 = the base) and the verdict; --metrics for everything."""
    from mmupt_core.view.live import final_table
    from mmupt_core.view.report import round_rows
    from mmupt_core.view.summary import round_summaries, verdict

    store = _reader(_load(config, set_))
    try:
        info = store.get_run(run)
    except StoreError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    parent = (
        f" (branched from {info['parent_run_id']} round {info['parent_round']})"
        if info["parent_run_id"]
        else ""
    )
    kind = "supervised (ground-truth reward)" if info["supervised"] else "unsupervised"
    # A config source holds user text ("--set a=[1, 2]"): escaped, so rich does not read it as markup.
    source = f"{escape(info['config_source'])}, " if info.get("config_source") else ""
    console.print(
        f"[bold]{escape(run)}[/bold]: {kind}, config {source}hash {info['config_hash']}{escape(parent)}"
    )
    rows = round_rows(store, run)
    if rows:
        Console(width=max(console.width, 120)).print(final_table(rows))  # a pipe gets the table unsquashed
    console.print(
        verdict(round_summaries(store, run), bool(info["supervised"])), markup=False, soft_wrap=True
    )
    if not metrics:
        return
    console.print(_table("rounds", store.rounds(run), ["round", "status", "started_at", "finished_at"]))
    console.print(
        _table("stages", store.stages(run), ["round", "stage", "status", "wall_s", "config_hash", "error"])
    )
    rows = store.metrics(run)
    if rows:
        console.print(_table("metrics", rows, ["round", "benchmark", "metric", "value", "n"]))
    console.print(
        _table("lineage", store.lineage(run), ["checkpoint_id", "round", "stage", "parent_id", "path"])
    )
    rejected = store.rejected(run)
    if rejected:
        console.print(_table("rejected items", rejected))


@app.command()
def report(
    run: str,
    config: ConfigOpt = "conf/tiny.yaml",
    fmt: Annotated[str, typer.Option("--format", help="html or md")] = "html",
    out: Annotated[str | None, typer.Option(help="output folder (default: the run's report/ folder)")] = None,
    set_: SetOpt = None,
) -> None:
    """Write an HTML (or Markdown) report: the verdict, a row a round, accuracy and agreement curves (with the
    oracle's when a supervised run of the same base exists), and the checkpoint lineage."""
    from mmupt_core.paths import run_dir
    from mmupt_core.view.report import write_report

    if fmt not in ("md", "html"):
        err_console.print(f"[red]--format must be md or html, got {fmt!r}[/red]")
        raise typer.Exit(2)
    cfg = _load(config, set_)
    store = _reader(cfg)
    try:
        store.get_run(run)
    except StoreError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    path = write_report(store, run, Path(out) if out else run_dir(cfg, run) / "report", fmt)
    console.print(f"wrote {path}")


@app.command()
def checkpoint(
    run: str,
    config: ConfigOpt = "conf/tiny.yaml",
    pick: Annotated[
        str,
        typer.Option(
            help="run: what the run delivers (its last checkpoint; the dev set's best round where the dev guard "
            "is on; an earlier one where the collapse guard stopped it); last; dev or dev-sampled: the best round "
            "on the labelled dev set (uses labels)"
        ),
    ] = "run",
    round_: Annotated[int | None, typer.Option("--round", help="this round's checkpoint instead")] = None,
    copy_to: Annotated[
        str | None,
        typer.Option(help="copy the checkpoint folder here, with mmupt.json saying where it came from"),
    ] = None,
    set_: SetOpt = None,
) -> None:
    """The checkpoint a run delivers, or the one a pick or round names: its path, and why; --copy-to copies it."""
    from mmupt_core.model.checkpoints import ModelError, copy_checkpoint
    from mmupt_core.view.choice import ChoiceError, choose
    from mmupt_core.view.summary import round_summaries

    store = _reader(_load(config, set_))
    try:
        info = store.get_run(run)
        choice = choose(round_summaries(store, run), run, pick, round_)
    except (StoreError, ChoiceError) as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None
    labels = " (USES LABELS)" if choice.uses_labels else ""
    score = f"; greedy {choice.greedy:.3f} on {choice.benchmark}" if choice.greedy is not None else ""
    err_console.print(f"round {choice.round}: {choice.why}{labels}{score}", markup=False, soft_wrap=True)
    if copy_to is None:
        print(choice.path)  # alone on stdout, so `$(mmupt checkpoint RUN)` is the path
        return
    provenance = choice.as_dict() | {"config_hash": info["config_hash"]}
    try:
        print(copy_checkpoint(choice.path, copy_to, provenance))
    except ModelError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(1) from None


@app.command()
def bootstrap(config: ConfigOpt = "conf/tiny.yaml", set_: SetOpt = None) -> None:
    """Build the world and first-SFT the tiny model (cached: a second call reuses the checkpoint)."""
    from rich.progress import Progress

    from mmupt_core.model.bootstrap import run_bootstrap
    from mmupt_core.paths import cache_dir
    from mmupt_core.world.builder import world_path

    cfg = _load(config, set_)
    if cfg.model.name_or_path != "tiny":
        err_console.print(
            "[red]bootstrap builds the embedded tiny model; model.name_or_path is not 'tiny'[/red]"
        )
        raise typer.Exit(2)
    with Progress(console=console) as progress:
        task = progress.add_task("first SFT", total=cfg.bootstrap.steps)
        path, info = run_bootstrap(
            cfg,
            world_path(cfg),
            cache_dir("bootstrap"),
            on_step=lambda step, loss: progress.update(
                task, completed=step + 1, description=f"first SFT loss {loss:.3f}"
            ),
        )
        progress.update(task, completed=cfg.bootstrap.steps)
    console.print(f"checkpoint: {path}")
    console.print({k: v for k, v in info.items() if k != "losses_every_50"})


@app.command()
def probe(
    config: ConfigOpt = "conf/tiny.yaml",
    set_: SetOpt = None,
    checkpoint: Annotated[
        str | None, typer.Option(help="a checkpoint folder (default: the config's base model)")
    ] = None,
) -> None:
    """Label-free probe on the unlabeled pool, before any training: what majority voting can teach here."""
    import torch

    from mmupt_core.model.bootstrap import run_bootstrap
    from mmupt_core.model.checkpoints import resolve_model
    from mmupt_core.model.sampling import load_images
    from mmupt_core.paths import cache_dir
    from mmupt_core.rounds.pool import pool_items
    from mmupt_core.rounds.probe import probe_checkpoint
    from mmupt_core.world.builder import world_path

    cfg = _load(config, set_)
    torch.set_num_threads(cfg.model.threads)
    if checkpoint is None and cfg.model.name_or_path == "tiny":
        checkpoint = str(run_bootstrap(cfg, world_path(cfg), cache_dir("bootstrap"))[0])
    checkpoint = checkpoint or str(resolve_model(cfg.model.name_or_path))
    items, _ = pool_items(cfg)
    items, images, _ = load_images(items)
    result = probe_checkpoint(cfg, checkpoint, items, images)
    for line in result.lines():
        console.print(line, markup=False, highlight=False)


@app.command("round")
def round_(
    config: ConfigOpt = "conf/tiny.yaml",
    rounds: Annotated[
        int, typer.Option(help="rounds to run (a run continues from its last finished one)")
    ] = 3,
    run: Annotated[str, typer.Option(help="run id; an existing one resumes")] = "default",
    from_run: Annotated[str | None, typer.Option(help="branch: start from this run's checkpoint")] = None,
    from_round: Annotated[int | None, typer.Option(help="branch: ... at this round")] = None,
    set_: SetOpt = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="every library's output on the terminal")
    ] = False,
) -> None:
    """Run, resume or branch rounds through the Prefect flow, as `make round` does."""
    _load(config, set_)  # a bad config fails here, with the field named, before the flow starts
    # The flow lives outside the core (the core never imports Prefect): run it as its own module.
    cmd = [sys.executable, "-m", "flows.improve", "--config", config, "--rounds", str(rounds), "--run", run]
    if from_run is not None:
        cmd += ["--from-run", from_run]
    if from_round is not None:
        cmd += ["--from-round", str(from_round)]
    for override in set_ or []:
        cmd += ["--set", override]
    if verbose:
        cmd.append("--verbose")
    raise typer.Exit(subprocess.run(cmd).returncode)


@app.command()
def plan(
    config: ConfigOpt = "conf/qwen25vl-7b-mmr1.yaml",
    gpu: Annotated[str, typer.Option(help="h100-80gb, h200, a100-80gb or l40s")] = "h100-80gb",
    set_: SetOpt = None,
    colocated: Annotated[
        bool | None,
        typer.Option("--colocated/--generate", help="what if the rollouts ran in colocated vLLM / generate"),
    ] = None,
) -> None:
    """Per-GPU memory of the GRPO update (and its rollouts), before the first GPU hour."""
    from mmupt_core.model.plan import plan as make_plan

    cfg = _load(config, set_)
    try:
        result = make_plan(cfg, gpu, colocated=colocated)
    except ValueError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    for line in result.lines():
        console.print(line, markup=False, highlight=False)


@config_app.command("show")
def config_show(file: str, set_: SetOpt = None) -> None:
    """Print the resolved config (defaults, then FILE, then --set overrides)."""
    cfg = _load(file, set_)
    console.print(dump_config(cfg), markup=False, highlight=False)
    console.print(f"# config hash: {cfg.section_hash()}", markup=False)


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
