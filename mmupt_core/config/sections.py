"""The sections of a round's stages besides the world and the update: the model to load, the data, sampling,
voting, synthesis, evaluation, the store, and the guard."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mmupt_core.config.base import Section
from mmupt_core.config.world import known_variant
from mmupt_core.prompts import DIRECT_SYNTHESIS_PROMPT, IN_CONTEXT_SYNTHESIS_PROMPT


class ModelConfig(Section):
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
    encode_images_once: bool = Field(
        default=True,
        description="the vision tower encodes each distinct image of a batch once, not once per completion "
        "(Qwen2-VL-family towers; the same features, a quarter less training time on the tiny model)",
    )

    @model_validator(mode="after")
    def _pixels_ordered(self) -> ModelConfig:
        if self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels ({self.min_pixels}) must not exceed max_pixels ({self.max_pixels})")
        return self


class DataConfig(Section):
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


class SamplingConfig(Section):
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


class VotingConfig(Section):
    n_votes: int | None = Field(default=None, ge=1, description="votes per item; None = sampling.n")
    min_agreement: float = Field(default=0.5, ge=0, le=1)
    min_valid: int = Field(default=1, ge=1)
    tie_break: Literal["none", "lowest"] = "none"


class SynthesisConfig(Section):
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


BENCHMARK_NAMES = (
    "world_eval",
    "mathvista_testmini",
    "wemath_testmini",
    "mathverse_testmini",
    "mathvision_test",
    "mathvision_testmini",
)

# The names a labelled dev set's scores are stored under: the embedded world's, and one of real data
# (evaluation.dev_benchmark). Both USE LABELS.
DEV_BENCHMARKS = ("world_dev", "dev")


class EvaluationConfig(Section):
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
    # USES LABELS. A labelled dev set, scored each round for monitoring, checkpoint choice and the guard
    # (guard.max_dev_drop): this many questions of the embedded world, apart from every split (benchmark
    # 'world_dev'); or, with dev_benchmark, at most this many rows of dev_source (benchmark 'dev'). 0: none.
    dev_items: int = Field(default=0, ge=0)
    # Real data: the dev set's column layout and official scoring rules (a benchmark's name, e.g.
    # mathvista_testmini) and a labelled copy of your own in that layout (a file, folder or hub id), held apart
    # from every benchmark you report.
    dev_benchmark: str | None = None
    dev_source: str | None = None

    @model_validator(mode="after")
    def _known(self) -> EvaluationConfig:
        for name in [*self.benchmarks, *self.sources]:
            if name not in BENCHMARK_NAMES:
                raise ValueError(f"unknown benchmark {name!r}; known: {list(BENCHMARK_NAMES)}")
        if (self.judge_url is None) != (self.judge_model is None):
            raise ValueError("judge_url and judge_model go together")
        if (self.dev_benchmark is None) != (self.dev_source is None):
            raise ValueError(
                "dev_benchmark and dev_source go together: the dev set's layout (a benchmark name) and its "
                "labelled copy"
            )
        if self.dev_benchmark is not None:
            if self.dev_benchmark not in BENCHMARK_NAMES or self.dev_benchmark == "world_eval":
                raise ValueError(
                    f"dev_benchmark {self.dev_benchmark!r} is not a benchmark layout; known: "
                    f"{[n for n in BENCHMARK_NAMES if n != 'world_eval']}"
                )
            if (
                self.dev_benchmark in self.benchmarks
                and self.sources.get(self.dev_benchmark) == self.dev_source
            ):
                raise ValueError(
                    f"dev_source {self.dev_source!r} is the copy of {self.dev_benchmark} this run reports: a dev "
                    "set that chooses checkpoints must be apart from the benchmarks reported"
                )
        return self

    def dev_set(self) -> str | None:
        """The benchmark name the labelled dev set is scored and stored under, or None without one."""
        if not self.dev_items:
            return None
        return "dev" if self.dev_benchmark else "world_dev"


class StoreConfig(Section):
    # Relative paths resolve against MMUPT_HOME (default ./.mmupt).
    root: str = "runs"
    db: str = "mmupt.duckdb"
    # Folders outside MMUPT_HOME that root/db may point into (absolute, or reached through '..').
    allowed_roots: list[str] = Field(default_factory=list)
    lock_retries: int = Field(default=8, ge=0)
    lock_backoff_s: float = Field(default=0.05, gt=0)


Verdict = Literal["little to teach", "may harm"]


class GuardConfig(Section):
    """What the label-free probe's verdict on the base does before round 1 (mmupt_core/rounds/probe.py). It
    decides whether rounds run, not what a stage computes, so it is left out of the config hash: a run stopped by
    the guard resumes with go_on_anyway=true without redoing its base."""

    # "little to teach" and "may harm" stop a run before round 1 unless this is true, or a list that names the
    # verdict (the other one still stops it), or a mapping from a world variant to such a list: then it holds on
    # that embedded world as defined (data.source 'world', no key of the variant changed, the first SFT its base
    # was measured on: world.MEASURED_FIRST_SFT) and nowhere else, since a verdict contradicted on one world says
    # nothing of the next one
    go_on_anyway: bool | list[Verdict] | dict[str, list[Verdict]] = False
    # Label-free. Before round k >= 2 trains: the pool's mean agreement under round k's votes (the model round
    # k-1 trained) minus round k-1's. Majority-vote training that fits its labels raises agreement; where it fell
    # by more than this the update was not consolidating the majority (framed world: agreement 0.707 -> 0.672
    # while greedy fell 0.713 -> 0.597), and the run stops before training on it. None: off.
    min_agreement_change: float | None = Field(default=-0.02, ge=-1, le=1)
    # The label-free collapse guard: stop before round k >= 2 trains where the share of the pool whose vote elects
    # its single most common answer rose more than this since round 1's pool -- the votes pile onto one answer
    # whatever the question -- and deliver the checkpoint before the one whose samples showed it. Replayed on 247
    # runs (bench/results/inrun-signals.md) it stopped 8 of the 9 UPT runs on `views`, all harmed by round 1, and none
    # of 76 that gained; fixed before the runs of bench/results/noharm-past-probe.md, it stopped `views` there and
    # nothing else. It sees only this kind of collapse: entrenched off-by-one counts (`equal-noise`, `framed`) pile
    # onto many answers, and went unstopped. None: off.
    max_top_label_rise: float | None = Field(default=0.10, ge=0, le=1)
    # USES LABELS. Stop after a round whose greedy accuracy on the labelled dev set (evaluation.dev_items) fell
    # more than this below the base's. None: no dev guard.
    max_dev_drop: float | None = Field(default=None, ge=0, le=1)
    # USES LABELS. Stop also after a round where one question type's dev greedy fell past that line (the round
    # delivered is per type either way). Replayed on 8 runs of worlds with several types at 100 dev items
    # (bench/results/dev-guard-types.md): on framed, UPT seeds 0 and 1 ran 1.0 and 1.2 fewer rounds of 3 and a
    # type ended past the line on 20% and 33% of draws (32%, 34% without), but the oracle's gain fell +0.088 ->
    # +0.061, stopped by a type's noise on 50 dev items; so off by default.
    dev_stop_per_type: bool = False
    # USES LABELS. Watch the dev set's sampled accuracy (evaluation.temperature) as well as its greedy: a round
    # whose dev sampled accuracy fell past max_dev_drop stops the run, and a round whose sampled accuracy fell past
    # it, overall or on a question type, is not delivered. Off: where UPT sharpened a noisy route (sampled -0.10
    # to -0.12, greedy flat) the margin above already delivered the base, and replayed on 64 runs at 100 dev
    # items this did not lower harm (the third set's 16 runs: a delivered round harmed on 0.9% of draws with it,
    # 0.7% without; bench/results/dev-guard-sampled.md).
    dev_watch_sampled: bool = False
    # USES LABELS. With the dev guard on, a trained round is delivered over the base only where its dev greedy
    # gain is at least this many standard errors of the difference (one-sided 95% at 1.64; the unpaired error,
    # larger than a paired test's). Replayed on 48 finished runs at 100 dev items (bench/results/dev-margin.md):
    # a question type ended more than 2 points below its base on 12.5% of draws of the 8 runs with several types
    # under the per-type pick alone, 0.5% with this margin, for 0.009 of the 27 runs that gained. 0: the best
    # round, whatever its margin.
    dev_margin_z: float = Field(default=1.64, ge=0)

    @field_validator("go_on_anyway")
    @classmethod
    def _known_worlds(cls, value):
        for world in value if isinstance(value, dict) else ():
            known_variant(world)
        return value
