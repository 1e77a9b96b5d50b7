"""`RunConfig`, the sections composed, and the YAML loader with its --set overrides."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from mmupt_core.config.base import ConfigError, Section
from mmupt_core.config.sections import (
    DataConfig,
    EvaluationConfig,
    GuardConfig,
    ModelConfig,
    SamplingConfig,
    StoreConfig,
    SynthesisConfig,
    VotingConfig,
)
from mmupt_core.config.training import TrainingConfig
from mmupt_core.config.world import BootstrapConfig, WorldConfig


class RunConfig(Section):
    name: str = "tiny"
    seed: int = 0
    model: ModelConfig = Field(default_factory=ModelConfig)
    world: WorldConfig = Field(default_factory=WorldConfig)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    voting: VotingConfig = Field(default_factory=VotingConfig)
    synthesis: SynthesisConfig = Field(default_factory=SynthesisConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig)
    guard: GuardConfig = Field(default_factory=GuardConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)

    @model_validator(mode="after")
    def _dev_guard_needs_a_dev_set(self) -> RunConfig:
        if self.guard.max_dev_drop is not None and not self.evaluation.dev_items:
            raise ValueError(
                "guard.max_dev_drop needs a labelled dev set: set evaluation.dev_items (e.g. 100; on real data "
                "with evaluation.dev_benchmark and evaluation.dev_source)"
            )
        ev = self.evaluation
        if ev.dev_items and self.model.name_or_path != "tiny" and ev.dev_benchmark is None:
            raise ValueError(
                "evaluation.dev_items alone draws from the embedded world, which only the tiny model reads: for "
                "this model, name a labelled dev set of your own with evaluation.dev_benchmark (its layout and "
                "scoring, e.g. mathvista_testmini) and evaluation.dev_source (its file, folder or hub id)"
            )
        if ev.dev_benchmark is not None and not ev.dev_items:
            raise ValueError(
                "evaluation.dev_benchmark is set but evaluation.dev_items is 0: set how many of its rows to score"
            )
        return self

    def go_on_anyway(self) -> bool | list[str]:
        """guard.go_on_anyway for this run: its per-world form holds only on the named embedded world as
        defined, with the first SFT its base was measured on; on any other world, base or data nothing goes past
        the probe."""
        value = self.guard.go_on_anyway
        if not isinstance(value, dict):
            return value
        if self.data.source != "world":
            return False
        return next(
            (v for w, v in value.items() if self.world.is_variant(w) and self.bootstrap.is_measured(w)), False
        )

    def section_hash(self, *sections: str) -> str:
        """A short stable hash of the named sections (all but `store` and `guard` when none are named)."""
        names = sections or tuple(n for n in type(self).model_fields if n not in ("store", "guard"))
        dumped = self.model_dump(mode="json")
        payload = {n: dumped[n] for n in names}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split 'a.b=value' into (['a', 'b'], value), the value read as YAML (so 16 is an int, [1,2] a list)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. sampling.n=16")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML: {exc}") from exc
    return key.strip().split("."), value


def _apply(data: dict[str, Any], path: list[str], value: Any, origin: str) -> None:
    node = data
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{origin}: {'.'.join(path)}: {part!r} is a value, not a section")
        node = child
    node[path[-1]] = value


def _describe(exc: ValidationError, origin: str) -> str:
    lines = [f"invalid config {origin}:"]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {field}: unknown key (value {err['input']!r}); check its spelling")
        else:
            lines.append(f"  {field} = {err['input']!r}: {err['msg']}")
    return "\n".join(lines)


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Load a RunConfig from YAML (or defaults when path is None) and apply KEY=VALUE overrides."""
    origin = str(path) if path is not None else "(defaults)"
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid config {origin}: not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"invalid config {origin}: top level must be a mapping, got {type(loaded).__name__}"
            )
        data = loaded
    for text in overrides:
        keys, value = parse_override(text)
        _apply(data, keys, value, f"{origin} (override {text!r})")
    if overrides:
        origin = f"{origin} with overrides {list(overrides)}"
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin)) from None


def config_source(path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()) -> str:
    """How a run names the config it was started with: the file and its overrides, as a command line says it."""
    return " ".join([str(path) if path is not None else "(defaults)", *(f"--set {o}" for o in overrides)])


def dump_config(config: RunConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
