"""What every stage of a round receives: the config, the run, the round, and the run's store and folders."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mmupt_core.config import RunConfig
from mmupt_core.paths import run_dir, store_path
from mmupt_core.store import Store


@dataclass(frozen=True)
class Context:
    config: RunConfig
    run_id: str
    round: int

    @cached_property
    def store(self) -> Store:
        c = self.config.store
        return Store(store_path(self.config), retries=c.lock_retries, backoff_s=c.lock_backoff_s)

    @property
    def dir(self) -> Path:
        return run_dir(self.config, self.run_id)

    @property
    def round_dir(self) -> Path:
        return self.dir / f"round-{self.round}"

    @property
    def config_hash(self) -> str:
        """The config's hash, with the world generator's version: stages built on an older world are not
        taken as done for a newer one."""
        from mmupt_core.world.builder import WORLD_FORMAT

        return f"{self.config.section_hash()}-w{WORLD_FORMAT}"
