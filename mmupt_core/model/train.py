"""The GRPO update through TRL's `GRPOTrainer`, used as shipped (no subclassing, no patches).

`grpo_args` is the one mapping from our `TrainingConfig` to `trl.GRPOConfig`. `train_round` builds the round's
dataset (image, conversational prompt, item_id, pseudo_label, answer), trains, and writes the checkpoint to a
temporary folder that is renamed into place only when complete.

    python -m mmupt_core.model.train --help   (the flow calls train_round directly or in a subprocess)
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from mmupt_core.config import TrainingConfig
from mmupt_core.model import image_repeats
from mmupt_core.prompts import build_messages
from mmupt_core.voting.rewards import reward_for

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
    world_size: int | None = None,
):
    """Map our training config to GRPOConfig. One generation batch (a rollout) is rollout_prompts x
    num_generations completions; it is split into updates_per_rollout optimizer steps of prompts_per_step
    prompts each, and reused num_iterations times. `steps` counts rollouts."""
    from trl import GRPOConfig

    cuda = torch.cuda.is_available()
    use_vllm = tc.use_vllm if use_vllm is None else use_vllm
    updates = tc.updates_per_rollout
    # never more prompts in a rollout than items (TRL would repeat them within the batch)
    prompts = min(tc.prompts_per_step, max(1, n_items // updates))
    batch = prompts * tc.num_generations  # completions per optimizer step
    # With micro-batches, one optimizer step still covers the whole generation batch: it is split over the
    # processes (accelerate's WORLD_SIZE) and gradient-accumulated.
    world = world_size or int(os.environ.get("WORLD_SIZE", "1"))
    micro = tc.micro_batch_size or batch // world
    if batch % (micro * world):
        raise ValueError(
            f"training: prompts_per_step x num_generations = {batch} completions must split evenly into "
            f"micro_batch_size ({micro}) x processes ({world})"
        )
    accumulation = batch // (micro * world)
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
        top_p=tc.top_p,
        max_completion_length=tc.max_completion_length,
        per_device_train_batch_size=micro,
        gradient_accumulation_steps=accumulation,
        steps_per_generation=accumulation * updates,
        gradient_checkpointing=tc.gradient_checkpointing,
        max_steps=tc.steps * updates * tc.num_iterations,
        loss_type="dapo",  # token-level mean over the batch, as in the paper
        scale_rewards="group",  # advantage = (r - group mean) / (group std + eps)
        generation_kwargs=generation_kwargs(suppress_tokens, use_vllm),
        use_vllm=use_vllm,
        vllm_mode="colocate",
        vllm_gpu_memory_utilization=tc.vllm_gpu_memory_utilization,
        vllm_max_model_length=tc.vllm_max_model_length,
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


def budget(tc: TrainingConfig, rounds: int) -> dict[str, int]:
    """The training a run of `rounds` rounds asks for, in the paper's units: rollouts (EasyR1's "steps"),
    prompts, completions and optimizer updates (each rollout reused num_iterations times)."""
    rollouts = rounds * tc.steps
    return {
        "rollouts": rollouts,
        "prompts": rollouts * tc.prompts_per_rollout,
        "completions": rollouts * tc.prompts_per_rollout * tc.num_generations,
        "updates": rollouts * tc.updates_per_rollout * tc.num_iterations,
    }


def generation_kwargs(suppress_tokens: Sequence[int], use_vllm: bool) -> dict | None:
    """The rollout's extra sampling keys: the tokens it must never sample (a sampled image token breaks the GRPO
    re-forward). transformers' generate takes `suppress_tokens`; vLLM's SamplingParams, a strict struct that TRL
    builds from these keys, has no such field and takes a logit bias instead."""
    if not suppress_tokens:
        return None
    if use_vllm:
        # -100 is the floor of an OpenAI-style logit bias: the token's probability becomes ~e^-100 of the rest.
        return {"logit_bias": {int(t): -100.0 for t in suppress_tokens}}
    return {"suppress_tokens": list(suppress_tokens)}


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


def _progress_callback():
    """TRL's step logs go to this module's logger (the run's log file, Prefect's run logs), not to stdout, and
    each optimizer step is a progress event for the terminal view."""
    from transformers import TrainerCallback

    from mmupt_core import events

    class StepLog(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            events.progress(state.global_step, state.max_steps, "steps")

        def on_log(self, args, state, control, logs=None, **kwargs):
            log.info("step %d: %s", state.global_step, logs)

    return StepLog()


def policy_dtype(args) -> torch.dtype:
    """The weights' dtype at load. Under DeepSpeed with bf16, bf16 (its optimizer keeps fp32 master weights
    itself): an fp32 7B is 33 GB a rank before ZeRO-3 can shard it, and TRL's reference model would be fp32
    too. Elsewhere fp32, with bf16 autocast where the GPU has it, so AdamW updates full-precision weights."""
    deepspeed = os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true" or bool(args.deepspeed)
    return torch.bfloat16 if deepspeed and args.bf16 else torch.float32


def freeze_vision(model) -> int:
    """Stop gradients into the vision tower and merger; returns how many parameters were frozen."""
    frozen = 0
    for name, p in model.named_parameters():
        if ".visual." in f".{name}":
            p.requires_grad_(False)
            frozen += p.numel()
    if not frozen:
        raise ValueError("training.train_vision=false: this model has no parameters under 'visual'")
    return frozen


def _rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


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
    encode_images_once: bool = True,
) -> dict[str, float]:
    """One round's GRPO update from `checkpoint`; writes the new checkpoint at `out` and returns train metrics."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOTrainer

    if not items:
        raise ValueError("train_round: no accepted items to train on")
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    if _rank_zero():  # under accelerate, only rank 0 touches the folders
        shutil.rmtree(tmp, ignore_errors=True)
    # The config first: under accelerate with DeepSpeed, building it registers ZeRO-3, so that from_pretrained
    # partitions the weights as it loads them instead of every rank holding the whole model.
    args = grpo_args(tc, tmp / "trainer", n_items=len(items), suppress_tokens=suppress_tokens)
    processor = AutoProcessor.from_pretrained(checkpoint, trust_remote_code=trust_remote_code)
    model = AutoModelForImageTextToText.from_pretrained(
        checkpoint, trust_remote_code=trust_remote_code, use_safetensors=True, dtype=policy_dtype(args)
    )
    processor.tokenizer.padding_side = "left"
    if not tc.train_vision:
        freeze_vision(model)
    reward = reward_for(tc.reward, tie_break=tie_break, min_agreement=min_agreement, seed=tc.seed)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=args,
        train_dataset=build_dataset(items, suffix, image_first),
        processing_class=processor,
    )
    if encode_images_once:
        # TRL loads its own reference model (beta > 0), which needs the same change
        for m in (trainer.model, trainer.ref_model):
            if m is not None:
                image_repeats.encode_images_once(m)
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # with disable_tqdm it prints every log dict to stdout
    trainer.add_callback(_progress_callback())
    trainer.train()
    metrics = _summarize(trainer.state.log_history)
    metrics["steps"] = float(trainer.state.global_step)
    metrics["processes"] = float(trainer.accelerator.num_processes)
    # save_model gathers ZeRO-3 shards and writes safetensors (and the processor) from rank 0 only.
    trainer.save_model(str(tmp))
    if trainer.is_world_process_zero():
        shutil.rmtree(tmp / "trainer", ignore_errors=True)
        (tmp / "training_args.bin").unlink(missing_ok=True)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    return metrics


# -- the same update in its own process group (accelerate launch: DeepSpeed ZeRO-3, several GPUs) ----------
def write_job(job_dir: Path, rows: Sequence[dict], **kwargs: Any) -> Path:
    """Everything train_round needs, as files: rows (item_id, image path, question, pseudo_label, answer)."""
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    job = {
        **kwargs,
        "tc": kwargs["tc"].model_dump(mode="json"),
        "checkpoint": str(kwargs["checkpoint"]),
        "out": str(kwargs["out"]),
    }
    (job_dir / "job.json").write_text(json.dumps(job))
    return job_dir / "job.json"


def launch(job: Path, tc: TrainingConfig) -> dict[str, float]:
    """Run `python -m mmupt_core.model.train JOB` under `accelerate launch`; returns the metrics it wrote."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    if tc.accelerate_config:
        cmd += ["--config_file", tc.accelerate_config]
    if tc.num_processes:
        cmd += ["--num_processes", str(tc.num_processes)]
    if not torch.cuda.is_available() and (tc.num_processes or 1) == 1 and not tc.accelerate_config:
        # --cpu makes accelerate start exactly one process, whatever --num_processes says; several CPU ranks
        # need a config such as conf/accelerate/cpu-2proc.yaml
        cmd += ["--cpu"]
    cmd += ["-m", "mmupt_core.model.train", str(job)]
    log.info("training under accelerate: %s", " ".join(cmd))
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"accelerate launch exited with {done.returncode}: {' '.join(cmd)}")
    metrics = json.loads((job.parent / "metrics.json").read_text())
    if tc.num_processes and metrics.get("processes") != tc.num_processes:
        # accelerate can quietly start fewer ranks than asked (e.g. --cpu, or a MULTI_CPU config without mpirun)
        raise RuntimeError(
            f"training.num_processes is {tc.num_processes} but accelerate trained with "
            f"{metrics.get('processes'):.0f} process(es); on CPUs use an accelerate config like "
            "conf/accelerate/cpu-2proc.yaml"
        )
    return metrics


def run_job(job_path: Path) -> None:
    from mmupt_core.model.sampling import load_image

    job = json.loads(job_path.read_text())
    rows = [json.loads(line) for line in (job_path.parent / "items.jsonl").read_text().splitlines() if line]
    items = [
        TrainItem(r["item_id"], load_image(r["image"]), r["question"], r["pseudo_label"], r.get("answer"))
        for r in rows
    ]
    metrics = train_round(
        Path(job["checkpoint"]),
        items,
        TrainingConfig.model_validate(job["tc"]),
        Path(job["out"]),
        suffix=job["suffix"],
        image_first=job["image_first"],
        tie_break=job["tie_break"],
        min_agreement=job["min_agreement"],
        trust_remote_code=job["trust_remote_code"],
        suppress_tokens=job["suppress_tokens"],
        encode_images_once=job.get("encode_images_once", True),
    )
    if _rank_zero():
        (job_path.parent / "metrics.json").write_text(json.dumps(metrics))
    _close_process_group()


def _close_process_group() -> None:
    """Hold every rank until rank 0 has written the checkpoint, then tear the group down before exit.

    save_model writes from rank 0 with no barrier after it, so the other ranks used to reach interpreter exit
    first with their gloo group still alive; its threads then abort the process ("terminate called without an
    active exception"), the launcher sees a failed rank and kills rank 0 mid-save.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m mmupt_core.model.train JOB.json   (written by the train stage)")
    run_job(Path(sys.argv[1]))
