"""A memory plan before the first GPU hour: per-GPU memory of the GRPO update with a colocated vLLM engine.

    mmupt plan --config conf/qwen25vl-7b-mmr1.yaml --gpu h100-80gb

Arithmetic, not a measurement: bf16 weights (2 bytes a parameter), bf16 gradients, AdamW's fp32 master weights and
two moments (12 bytes a parameter), a bf16 reference model when the KL coefficient is above 0; ZeRO stage s shards
the optimizer (s >= 1), the gradients (s >= 2) and the weights and reference model (s = 3) over the processes.
Activations: with gradient checkpointing, one bf16 hidden state per layer and token of the micro-batch; without
it, about 34 x hidden (bytes) per layer and token, the usual transformer estimate. The log-probabilities of the
completion tokens need fp32 logits over the vocabulary. Without training.use_vllm, transformers' generate holds
the KV cache of the rank's whole rollout (rollout_prompts x num_generations / processes sequences) at once. The
colocated vLLM engine holds its share of the GPU
(`vllm_gpu_memory_utilization`): its weights plus a KV cache that must hold at least one sequence of
`vllm_max_model_length` tokens (vLLM's own activations and CUDA graphs come out of the same share and are not
modelled, so fewer than 4 sequences at once is called tight). Figures are GiB (2^30 bytes); the CUDA context and
allocator slack are a fixed 2 GiB.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from mmupt_core.config import RunConfig

GiB = 2**30
GPUS = {"h100-80gb": 80, "h200": 141, "a100-80gb": 80, "l40s": 48}  # memory per GPU, GiB
OVERHEAD_GIB = 2.0


@dataclass(frozen=True)
class Shape:
    """What the plan needs of a model: parameters and the text model's attention and vocabulary sizes."""

    params: float
    layers: int
    hidden: int
    kv_heads: int
    head_dim: int
    vocab: int
    max_context: int


# Read from the published config.json files (text model; parameters include the vision tower).
KNOWN = {
    "Qwen/Qwen2.5-VL-7B-Instruct": Shape(8.29e9, 28, 3584, 4, 128, 152064, 128000),
    "Qwen/Qwen2.5-VL-3B-Instruct": Shape(3.75e9, 36, 2048, 2, 128, 151936, 128000),
}


def model_shape(name_or_path: str) -> Shape:
    """A known model's shape, or a local checkpoint's: its config.json, and its parameters counted from the
    safetensors headers (shapes only; no tensor is read)."""
    if name_or_path in KNOWN:
        return KNOWN[name_or_path]
    path = Path(name_or_path)
    weights = sorted(path.glob("*.safetensors"))
    if not (path / "config.json").is_file() or not weights:
        raise ValueError(
            f"model {name_or_path!r}: no shape known for it and no local config.json with .safetensors "
            f"weights; known models: {sorted(KNOWN)}"
        )
    cfg = json.loads((path / "config.json").read_text())
    text = cfg.get("text_config", cfg)
    heads = text["num_attention_heads"]
    return Shape(
        params=float(sum(_safetensors_params(w) for w in weights)),
        layers=text["num_hidden_layers"],
        hidden=text["hidden_size"],
        kv_heads=text.get("num_key_value_heads", heads),
        head_dim=text.get("head_dim", text["hidden_size"] // heads),
        vocab=text["vocab_size"],
        max_context=text.get("max_position_embeddings", 32768),
    )


def _safetensors_params(path: Path) -> int:
    """Parameters in one safetensors file, from its header: 8 bytes of length, then JSON of names to shapes."""
    with path.open("rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    return sum(math.prod(t["shape"]) for name, t in header.items() if name != "__metadata__")


def zero_setup(config: RunConfig) -> tuple[int, int]:
    """(ZeRO stage, processes) of the training launch: the accelerate config's DeepSpeed stage (0 without one)."""
    tc = config.training
    if tc.launcher != "accelerate" or not tc.accelerate_config:
        return 0, 1
    acc = yaml.safe_load(Path(tc.accelerate_config).read_text()) or {}
    stage = int((acc.get("deepspeed_config") or {}).get("zero_stage", 0))
    return stage, int(tc.num_processes or acc.get("num_processes", 1))


@dataclass(frozen=True)
class Plan:
    gpu: str
    gpu_gib: float
    zero_stage: int
    processes: int
    parts: dict[str, float]  # GiB per GPU
    kv_per_sequence_gib: float
    kv_budget_gib: float
    sequence: int
    checkpointing: bool

    @property
    def total_gib(self) -> float:
        return sum(self.parts.values())

    @property
    def colocated(self) -> bool:
        return self.parts["vLLM engine (its share)"] > 0

    @property
    def fits(self) -> bool:
        kv_ok = not self.colocated or self.kv_budget_gib >= self.kv_per_sequence_gib
        return self.total_gib <= self.gpu_gib and kv_ok

    def advice(self) -> list[str]:
        out = []
        share = self.parts["vLLM engine (its share)"]
        if self.colocated and self.kv_budget_gib < 0:
            out.append(
                f"vLLM's share ({share:.1f} GiB) does not hold its own weights "
                f"({share - self.kv_budget_gib:.1f} GiB): raise training.vllm_gpu_memory_utilization"
            )
        elif self.colocated and self.kv_budget_gib < 4 * self.kv_per_sequence_gib:
            out.append(
                f"vLLM's share leaves {self.kv_budget_gib:.1f} GiB for KV cache, room for fewer than 4 "
                f"sequences of {self.kv_per_sequence_gib:.2f} GiB: set "
                "training.vllm_max_model_length (prompt + completion) or raise vllm_gpu_memory_utilization"
            )
        if self.total_gib > self.gpu_gib:
            over = self.total_gib - self.gpu_gib
            out.append(f"{over:.1f} GiB over: in order of cost to the run,")
            rollout_kv = self.parts.get("rollout KV cache (generate)", 0.0)
            if rollout_kv > over / 2:
                out.append(
                    f"  the rollouts' KV cache ({rollout_kv:.1f} GiB, transformers' generate over this rank's whole "
                    "rollout): lower training.rollout_prompts, or training.use_vllm once TRL is past 1.16"
                )
            if self.zero_stage < 3 and self.processes > 1:
                out.append("  use ZeRO-3 (shards weights, gradients and optimizer over the processes)")
            out.append("  halve training.micro_batch_size (more accumulation steps, same batch)")
            if not self.checkpointing:
                out.append("  set training.gradient_checkpointing: true")
            if self.colocated and self.kv_budget_gib > 4 * self.kv_per_sequence_gib:
                out.append("  lower training.vllm_gpu_memory_utilization (fewer concurrent rollouts)")
            out.append("  or a GPU with more memory")
        return out

    def lines(self) -> list[str]:
        head = (
            f"{self.gpu} ({self.gpu_gib:.0f} GiB), ZeRO-{self.zero_stage} over {self.processes} process(es), "
            f"sequences of {self.sequence} tokens"
        )
        rows = [f"  {name:<28} {gib:8.1f} GiB" for name, gib in self.parts.items()]
        rows.append(f"  {'total':<28} {self.total_gib:8.1f} GiB")
        kv = (
            [
                f"  vLLM KV cache: {self.kv_budget_gib:.1f} GiB after its weights; one sequence needs "
                f"{self.kv_per_sequence_gib:.2f} GiB ({max(0.0, self.kv_budget_gib) / self.kv_per_sequence_gib:.0f} at once)"
            ]
            if self.colocated
            else []
        )
        verdict = "fits" if self.fits else "does not fit"
        return [head, *rows, *kv, verdict, *self.advice()]


def rollout_sequences(tc, processes: int) -> int:
    """Completions one rank generates at once: its share of a whole rollout (TRL generates the generation batch,
    steps_per_generation micro-batches, in one call)."""
    return math.ceil(tc.prompts_per_rollout * tc.num_generations / processes)


def plan(config: RunConfig, gpu: str, *, colocated: bool | None = None) -> Plan:
    """The per-GPU plan; `colocated` asks "what if" the rollouts ran in a colocated vLLM engine (None: as the
    config says, training.use_vllm)."""
    if gpu not in GPUS:
        raise ValueError(f"unknown GPU {gpu!r}; expected one of {sorted(GPUS)}")
    tc = config.training
    use_vllm = tc.use_vllm if colocated is None else colocated
    shape = model_shape(config.model.name_or_path)
    stage, n = zero_setup(config)
    p = shape.params

    def shard(nbytes: float, sharded: bool) -> float:
        return nbytes / (n if sharded else 1) / GiB

    # The prompt is at most 2048 tokens (the paper's max_prompt_length) unless the engine's length says less.
    sequence = tc.vllm_max_model_length or (2048 + tc.max_completion_length)
    micro = tc.micro_batch_size or (tc.prompts_per_step * tc.num_generations // n)
    per_token = 2 * shape.hidden if tc.gradient_checkpointing else 34 * shape.hidden
    parts = {
        "policy weights (bf16)": shard(2 * p, stage >= 3),
        "gradients (bf16)": shard(2 * p, stage >= 2),
        "AdamW states (fp32 x3)": shard(12 * p, stage >= 1),
        "reference model (bf16)": shard(2 * p, stage >= 3) if tc.beta > 0 else 0.0,
        "activations": shape.layers * micro * sequence * per_token / GiB,
        "completion logits (fp32)": micro * tc.max_completion_length * shape.vocab * 4 / GiB,
        # TRL colocates vLLM for the rollouts only with training.use_vllm
        "vLLM engine (its share)": tc.vllm_gpu_memory_utilization * GPUS[gpu] if use_vllm else 0.0,
        # otherwise transformers' generate holds the KV cache of this rank's whole generation batch at once
        "rollout KV cache (generate)": 0.0
        if use_vllm
        else rollout_sequences(tc, n)
        * 2
        * shape.layers
        * shape.kv_heads
        * shape.head_dim
        * 2
        * sequence
        / GiB,
        "CUDA context and slack": OVERHEAD_GIB,
    }
    vllm_share = parts["vLLM engine (its share)"]
    kv_budget = vllm_share - 2 * p / GiB if vllm_share else 0.0
    # K and V, per layer and KV head, bf16, for every token of the engine's context
    context = tc.vllm_max_model_length or shape.max_context
    kv_per_seq = 2 * shape.layers * shape.kv_heads * shape.head_dim * 2 * context / GiB
    return Plan(
        gpu, float(GPUS[gpu]), stage, n, parts, kv_per_seq, kv_budget, sequence, tc.gradient_checkpointing
    )
