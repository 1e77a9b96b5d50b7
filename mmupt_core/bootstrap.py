"""First SFT of the embedded tiny Qwen2.5-VL on the world's labeled `sft` split.

The mix: answer examples, each taking one random view as its reasoning route ("View B: 2 circles. \\boxed{2}"),
plus a `synthesis_fraction` of question-writing examples (direct and in-context) whose targets come from the
world's question grammar, so the synthesis stages can run on the tiny model.

Deterministic for a seed, and cached: the checkpoint folder is keyed by the world and bootstrap configs, and a
second call returns it without training.

    mmupt bootstrap --config conf/tiny.yaml
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

import torch
from PIL import Image

from mmupt_core import tiny, world
from mmupt_core.config import RunConfig, SynthesisConfig
from mmupt_core.items import Item
from mmupt_core.prompts import build_messages, text_messages
from mmupt_core.synthesis import synthesis_prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    image: Image.Image
    messages: list[dict]
    target: str


def bootstrap_key(config: RunConfig) -> str:
    payload = {
        "world": config.world.model_dump(mode="json"),
        # threads change speed, not the result
        "bootstrap": config.bootstrap.model_dump(mode="json", exclude={"threads"}),
        "suffix": config.sampling.prompt_suffix,
        "image_first": config.model.image_first,
        "version": 2,
    }
    # Only non-default prompts enter the key, so checkpoints built before the prompts were configurable stay valid.
    prompts = config.synthesis.model_dump(include={"direct_prompt", "in_context_prompt", "answer_hint"})
    defaults = SynthesisConfig().model_dump(include=set(prompts))
    if prompts != defaults:
        payload["synthesis_prompts"] = prompts
    return sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def make_examples(
    items: list[Item],
    metas: dict[str, dict],
    images: dict[str, Image.Image],
    rng: random.Random,
    n: int,
    suffix: str,
    synthesis_fraction: float,
    image_first: bool = True,
    synthesis: SynthesisConfig | None = None,
) -> list[Example]:
    """n SFT examples drawn from items: random routes for answers, grammar questions for synthesis."""
    grammar = [q.text for q in world.all_questions()]
    synthesis = synthesis or SynthesisConfig()
    out = []
    for _ in range(n):
        it = items[rng.randrange(len(items))]
        img = images[it.item_id]
        if rng.random() < synthesis_fraction:
            in_context = rng.random() < 0.5
            example_q = it.question if in_context else None
            target = rng.choice([q for q in grammar if q != example_q])
            strategy = "in_context" if in_context else "direct"
            # The pool's answers are unknown to the bootstrap's synthesis examples, as in round 1.
            prompt = synthesis_prompt(synthesis, strategy, example_q, None)
            out.append(Example(img, text_messages(prompt, image_first), target))
        else:
            routes = metas[it.item_id]["routes"]
            route = routes[rng.randrange(len(routes))]
            out.append(Example(img, build_messages(it.question, suffix, image_first), route))
    return out


def collate(processor, examples: list[Example]) -> dict[str, torch.Tensor]:
    """Tokenize prompt+target with the processor; labels cover the target and its <|im_end|> only."""
    tok = processor.tokenizer
    prompts = [
        processor.apply_chat_template(e.messages, add_generation_prompt=True, tokenize=False)
        for e in examples
    ]
    texts = [p + e.target + tok.eos_token for p, e in zip(prompts, examples, strict=True)]
    batch = processor(text=texts, images=[e.image for e in examples], return_tensors="pt", padding=True)
    image_tokens = (batch["image_grid_thw"].prod(-1) // processor.image_processor.merge_size**2).tolist()
    labels = batch["input_ids"].clone()
    seq = labels.shape[1]
    for row, (prompt, n_img) in enumerate(zip(prompts, image_tokens, strict=True)):
        prompt_len = len(tok(prompt, add_special_tokens=False)["input_ids"]) + n_img - 1
        pad = seq - int(batch["attention_mask"][row].sum())
        labels[row, : pad + prompt_len] = -100
    batch["labels"] = labels
    return batch


def train_sft(
    model,
    processor,
    sample_batch: Callable[[int], list[Example]],
    steps: int,
    lr: float,
    warmup_steps: int,
    seed: int,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """A minimal SFT loop (AdamW, linear warmup then cosine decay); returns the loss per step."""
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)

    def schedule(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, steps - warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    losses = []
    for step in range(steps):
        batch = collate(processor, sample_batch(step))
        loss = model(**batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    model.eval()
    return losses


def load_world_split(
    world_path: Path, split: str
) -> tuple[list[Item], dict[str, dict], dict[str, Image.Image]]:
    items = world.load_split(world_path, split)
    rows = [json.loads(line) for line in (world_path / f"{split}.jsonl").read_text().splitlines() if line]
    metas = {r["item_id"]: r["meta"] for r in rows}
    images = {it.item_id: Image.open(it.image).convert("RGB") for it in items}
    return items, metas, images


def run_bootstrap(
    config: RunConfig, world_path: Path, out_root: Path, on_step: Callable[[int, float], None] | None = None
) -> tuple[Path, dict]:
    """Train (or reuse) the base checkpoint; returns (path, info) with loss curve and wall time."""
    out = out_root / f"tiny-{bootstrap_key(config)}"
    info_path = out / "bootstrap.json"
    if info_path.is_file():
        return out, json.loads(info_path.read_text())
    bc = config.bootstrap
    torch.set_num_threads(bc.threads)
    start = time.perf_counter()
    tokenizer = tiny.build_tokenizer()
    processor = tiny.build_processor(tokenizer)
    model = tiny.build_model(tokenizer, seed=bc.seed)
    items, metas, images = load_world_split(world_path, "sft")
    rng = random.Random(bc.seed)

    def sample_batch(_: int) -> list[Example]:
        return make_examples(
            items,
            metas,
            images,
            rng,
            bc.batch_size,
            config.sampling.prompt_suffix,
            bc.synthesis_fraction,
            config.model.image_first,
            config.synthesis,
        )

    losses = train_sft(model, processor, sample_batch, bc.steps, bc.lr, bc.warmup_steps, bc.seed, on_step)
    wall = time.perf_counter() - start
    info = {
        "steps": bc.steps,
        "wall_s": wall,
        "params": sum(p.numel() for p in model.parameters()),
        "image_tokens": tiny.IMAGE_TOKENS,
        "loss_first": losses[0],
        "loss_last": sum(losses[-20:]) / len(losses[-20:]),
        "losses_every_50": losses[::50],
    }
    tiny.save_pretrained(model, processor, out)
    (out / "bootstrap.json").write_text(json.dumps(info, indent=1))
    return out, info
