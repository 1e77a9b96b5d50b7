"""Where mmupt keeps state: everything under one project-local folder, MMUPT_HOME (default ./.mmupt)."""

from __future__ import annotations

import os
from pathlib import Path

from mmupt_core.config import RunConfig


def mmupt_home() -> Path:
    return Path(os.environ.get("MMUPT_HOME", ".mmupt")).resolve()


def _under_home(value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else mmupt_home() / p


def runs_root(config: RunConfig) -> Path:
    return _under_home(config.store.root)


def store_path(config: RunConfig) -> Path:
    return runs_root(config) / config.store.db


def run_dir(config: RunConfig, run_id: str) -> Path:
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise ValueError(f"run id {run_id!r} must be a plain name (no '/', not starting with '.')")
    return runs_root(config) / run_id


def cache_dir(name: str) -> Path:
    """A shared cache folder (world data, bootstrap checkpoints) keyed by content, reused across runs.
    MMUPT_CACHE moves it (tests share one across isolated homes)."""
    root = os.environ.get("MMUPT_CACHE")
    return (Path(root).resolve() if root else mmupt_home() / "cache") / name
