"""Where mmupt keeps state: everything under one project-local folder, MMUPT_HOME (default ./.mmupt)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from mmupt_core.config import RunConfig


def mmupt_home() -> Path:
    return Path(os.environ.get("MMUPT_HOME", ".mmupt")).resolve()


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.=-]{0,127}")


def _inside(config: RunConfig, field: str, value: str, base: Path) -> Path:
    """value resolved against base; it must stay inside MMUPT_HOME unless it lies under a store.allowed_roots
    entry (an absolute path outside the home, or a '..' that climbs out, is refused otherwise)."""
    path = (base / value).resolve()
    roots = [mmupt_home(), *(Path(r).expanduser().resolve() for r in config.store.allowed_roots)]
    if not any(path == r or path.is_relative_to(r) for r in roots):
        raise ValueError(
            f"store.{field} = {value!r} resolves to {path}, outside MMUPT_HOME ({mmupt_home()}); "
            "add its folder to store.allowed_roots to allow it"
        )
    return path


def runs_root(config: RunConfig) -> Path:
    return _inside(config, "root", config.store.root, mmupt_home())


def store_path(config: RunConfig) -> Path:
    return _inside(config, "db", config.store.db, runs_root(config))


def run_dir(config: RunConfig, run_id: str) -> Path:
    if not RUN_ID.fullmatch(run_id or ""):
        raise ValueError(
            f"run id {run_id!r} must be a plain name: letters, digits and _ . = - (not starting with . or -)"
        )
    return runs_root(config) / run_id


def cache_dir(name: str) -> Path:
    """A shared cache folder (world data, bootstrap checkpoints) keyed by content, reused across runs.
    MMUPT_CACHE moves it (tests share one across isolated homes)."""
    root = os.environ.get("MMUPT_CACHE")
    return (Path(root).resolve() if root else mmupt_home() / "cache") / name
