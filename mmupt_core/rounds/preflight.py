"""Run-level checks, run before any work: every problem that would stop a run is reported at once, in one
error, before a stage starts (so nothing is half-done and nothing already stored is touched)."""

from __future__ import annotations

from pathlib import Path

from mmupt_core.config import RunConfig


class PreflightError(ValueError):
    """The run cannot start; the message lists each problem."""


def problems(config: RunConfig, run_id: str) -> list[str]:
    from mmupt_core.data import sources as data
    from mmupt_core.model.checkpoints import ModelError, resolve_model
    from mmupt_core.paths import cache_dir, run_dir, store_path

    found: list[str] = []
    try:
        store_path(config)
        run_dir(config, run_id)
    except ValueError as exc:
        found.append(str(exc))
    if config.model.name_or_path != "tiny":
        try:
            resolve_model(config.model.name_or_path)
        except ModelError as exc:
            found.append(str(exc))
    prepared = data.items_folder(config.data, config.model, cache_dir("data")) / "manifest.json"
    if config.data.source != "world" and not prepared.is_file():  # a prepared data set was checked then
        try:
            rows = data.read_rows(config.data.source, config.data.split)
            data.check_columns(rows.column_names, config.data)
        except data.DataError as exc:
            found.append(str(exc))
        if config.data.image_root and not Path(config.data.image_root).expanduser().is_dir():
            found.append(f"data.image_root {config.data.image_root!r}: no such folder")
    for name, source in config.evaluation.sources.items():
        if not Path(source).expanduser().exists():
            found.append(f"evaluation.sources.{name} = {source!r}: no such file or folder")
    tc = config.training
    if tc.launcher == "accelerate" and tc.accelerate_config and not Path(tc.accelerate_config).is_file():
        found.append(f"training.accelerate_config {tc.accelerate_config!r}: no such file")
    return found


def preflight(config: RunConfig, run_id: str) -> None:
    found = problems(config, run_id)
    if found:
        raise PreflightError(f"run {run_id!r} cannot start:\n  " + "\n  ".join(found))
