"""Run configuration: one pydantic model per concern, composed into `RunConfig`.

Precedence: model defaults -> YAML file -> overrides (`--set sampling.n=16`).
A bad key, type or value fails at load time with the field, the value and the file named:

    mmupt config show conf/tiny.yaml --set sampling.n=16

base       Section (unknown keys fail) and ConfigError
world      the embedded world, its named variants (WORLD_VARIANTS), and the tiny model's first SFT
training   the GRPO update
sections   model, data, sampling, voting, synthesis, evaluation, store, guard
run        RunConfig and the loader (load_config, parse_override, dump_config)
"""

from mmupt_core.config.base import ConfigError, Section
from mmupt_core.config.run import RunConfig, config_source, dump_config, load_config, parse_override
from mmupt_core.config.sections import (
    BENCHMARK_NAMES,
    DEV_BENCHMARKS,
    DataConfig,
    EvaluationConfig,
    GuardConfig,
    ModelConfig,
    SamplingConfig,
    StoreConfig,
    SynthesisConfig,
    VotingConfig,
)
from mmupt_core.config.training import TrainingConfig, trl_expands_images_once
from mmupt_core.config.world import WORLD_VARIANTS, BootstrapConfig, WorldConfig

__all__ = [
    "BENCHMARK_NAMES",
    "DEV_BENCHMARKS",
    "WORLD_VARIANTS",
    "BootstrapConfig",
    "ConfigError",
    "DataConfig",
    "EvaluationConfig",
    "GuardConfig",
    "ModelConfig",
    "RunConfig",
    "SamplingConfig",
    "Section",
    "StoreConfig",
    "SynthesisConfig",
    "TrainingConfig",
    "VotingConfig",
    "WorldConfig",
    "config_source",
    "dump_config",
    "load_config",
    "parse_override",
    "trl_expands_images_once",
]
