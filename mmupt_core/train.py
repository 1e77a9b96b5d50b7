"""The GRPO update through TRL's `GRPOTrainer`, used as shipped (no subclassing, no patches).

`grpo_args` is the one mapping from our `TrainingConfig` to `trl.GRPOConfig`. `train_round` builds the round's
dataset (image, conversational prompt, item_id, pseudo_label, answer), trains, and writes the checkpoint to a
temporary folder that is renamed into place only when complete.

    python -m mmupt_core.train --help   (the flow calls train_round directly or in a subprocess)
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from mmupt_core.config import TrainingConfig
from mmupt_core.prompts import build_messages
from mmupt_core.rewards import reward_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainItem:
    item_id: str
    image: Image.Image
    question: str
    pseudo_label: str | None
    answer: str | None = None  # only read by the ground_truth oracle reward


def grpo_args(
    tc: TrainingConfig,
    output_dir: Path,
    *,
    n_items: int,
    suppress_tokens: Sequence[int] = (),
    use_vllm: bool | None = None,
):
    """Map our training config to GRPOConfig: one optimizer step per generation batch of
    prompts_per_step x num_generations completions, each batch reused num_iterations times."""
    from trl import GRPOConfig

    cuda = torch.cuda.is_available()
    use_vllm = cuda if use_vllm is None else use_vllm
    prompts = min(tc.prompts_per_step, n_items)
    batch = prompts * tc.num_generations
    return GRPOConfig(
        output_dir=str(output_dir),
        learning_rate=tc.lr,
        weight_decay=tc.weight_decay,
        lr_scheduler_type="constant",  # the paper's constant schedule
        warmup_steps=0,
        max_grad_norm=tc.max_grad_norm,
        beta=tc.beta,  # KL to the reference (start-of-round) model: the first collapse guard
        epsilon=tc.epsilon,
        epsilon_high=tc.epsilon_high if tc.epsilon_high is not None else tc.epsilon,  # clip-higher when set
        num_generations=tc.num_generations,
        num_iterations=tc.num_iterations,
        temperature=tc.temperature,
        top_p=1.0,
        max_completion_length=tc.max_completion_length,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        steps_per_generation=1,
        max_steps=tc.steps * tc.num_iterations,
        loss_type="dapo",  # token-level mean over the batch, as in the paper
        scale_rewards="group",  # advantage = (r - group mean) / (group std + eps)
        generation_kwargs={"suppress_tokens": list(suppress_tokens)} if suppress_tokens else None,
        use_vllm=use_vllm,
        vllm_mode="colocate",
        bf16=cuda and torch.cuda.is_bf16_supported(),
        use_cpu=not cuda,
        seed=tc.seed,
        data_seed=tc.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        shuffle_dataset=True,
    )


def build_dataset(items: Sequence[TrainItem], suffix: str, image_first: bool):
    """TRL's VLM GRPO shape: an `image` column and a conversational `prompt` (template not applied); the extra
    columns reach the reward functions one value per completion."""
    from datasets import Dataset

    return Dataset.from_dict(
        {
            "prompt": [build_messages(it.question, suffix, image_first) for it in items],
            "image": [it.image for it in items],
            "item_id": [it.item_id for it in items],
            "pseudo_label": [it.pseudo_label for it in items],
            "answer": [it.answer for it in items],
        }
    )


def _summarize(history: list[dict[str, Any]]) -> dict[str, float]:
    keys = {
        "reward": "reward_mean",
        "kl": "kl",
        "entropy": "entropy",
        "frac_reward_zero_std": "frac_zero_spread",
        "loss": "loss",
        "completions/mean_length": "completion_length",
    }
    out: dict[str, float] = {}
    for src, dst in keys.items():
        values = [h[src] for h in history if src in h and h[src] is not None and not math.isnan(h[src])]
        if values:
            out[dst] = sum(values) / len(values)
    return out


def train_round(
    checkpoint: Path,
    items: Sequence[TrainItem],
    tc: TrainingConfig,
    out: Path,
    *,
    suffix: str,
    image_first: bool,
    tie_break: str = "none",
    min_agreement: float = 0.0,
    trust_remote_code: bool = False,
    suppress_tokens: Sequence[int] = (),
) -> dict[str, float]:
    """One round's GRPO update from `checkpoint`; writes the new checkpoint at `out` and returns train metrics."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOTrainer

    if not items:
        raise ValueError("train_round: no accepted items to train on")
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    processor = AutoProcessor.from_pretrained(checkpoint, trust_remote_code=trust_remote_code)
    model = AutoModelForImageTextToText.from_pretrained(
        checkpoint, trust_remote_code=trust_remote_code, use_safetensors=True, dtype=torch.float32
    )
    processor.tokenizer.padding_side = "left"
    args = grpo_args(tc, tmp / "trainer", n_items=len(items), suppress_tokens=suppress_tokens)
    reward = reward_for(tc.reward, tie_break=tie_break, min_agreement=min_agreement)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=build_dataset(items, suffix, image_first),
        processing_class=processor,
    )
    trainer.train()
    metrics = _summarize(trainer.state.log_history)
    metrics["steps"] = float(trainer.state.global_step)
    model.save_pretrained(tmp, safe_serialization=True)
    processor.save_pretrained(tmp)
    shutil.rmtree(tmp / "trainer", ignore_errors=True)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return metrics
