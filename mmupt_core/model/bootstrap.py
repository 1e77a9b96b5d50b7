"""First SFT of the embedded tiny Qwen2.5-VL on the world's labeled `sft` split.

The mix, per batch:
- answer examples, each taking one route with the world's route prior ("Panel C: the square is blue.
  \\boxed{blue}");
- a `describe_fraction` of perception-curriculum examples ("Describe panel C." -> "red blue blue."), and where
  the world has them, a `frame_fraction` of "Which panel is framed?" and a `cue_fraction` of "Which panel is
  outlined?" examples;
- a `synthesis_fraction` of question-writing examples (direct and in-context) whose targets come from the
  world's question grammar, so the synthesis stages can run on the tiny model.

Every example is tokenised once before training (each image is processed once; its routes and descriptions share
its pixels), so a step costs only the forward and backward pass. Deterministic for a seed, and cached: the
checkpoint folder is keyed by the world and bootstrap configs, and a second call returns it without training.

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
from itertools import accumulate
from pathlib import Path

import torch
from PIL import Image

from mmupt_core.config import RunConfig, SynthesisConfig
from mmupt_core.data.items import Item
from mmupt_core.model import tiny
from mmupt_core.prompts import build_messages, synthesis_prompt, text_messages
from mmupt_core.world import builder as world

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    image: Image.Image
    messages: list[dict]
    target: str


def bootstrap_key(config: RunConfig) -> str:
    # Frame examples exist only where scenes have a frame: elsewhere frame_fraction changes nothing, and stays out
    # of the key, so the other worlds' bases keep theirs under a config that sets it for the framed ones.
    w = config.world
    no_frame_examples = not config.bootstrap.frame_fraction or w.kind != "panels" or w.frame_noise is None
    no_cue_examples = not config.bootstrap.cue_fraction or w.kind != "panels" or w.cue_weight is None
    left_out = {"frame_fraction"} if no_frame_examples else set()
    left_out |= {"cue_fraction"} if no_cue_examples else set()
    payload = {
        "world": w.cache_payload(),
        # threads are in the key: on some CPUs 1 and 2 threads give other weights from the first steps on (40 steps
        # on the 2026-12-06 machine), so a base built at one count must not stand in for the other; knobs added
        # later stay out of the key at their default
        "bootstrap": config.bootstrap.model_dump(mode="json", exclude=left_out),
        "suffix": config.sampling.prompt_suffix,
        "image_first": config.model.image_first,
        "version": 3,
        "world_format": world.WORLD_FORMAT,
    }
    # Only non-default prompts enter the key, so checkpoints built before the prompts were configurable stay valid.
    prompts = config.synthesis.model_dump(include={"direct_prompt", "in_context_prompt", "answer_hint"})
    defaults = SynthesisConfig().model_dump(include=set(prompts))
    if prompts != defaults:
        payload["synthesis_prompts"] = prompts
    return sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]


def synthesis_example(
    image: Image.Image,
    question: str,
    grammar: list[str],
    rng: random.Random,
    synthesis: SynthesisConfig,
    image_first: bool,
) -> Example:
    """A question-writing example: another grammar question, from the image alone or with an example question."""
    in_context = rng.random() < 0.5
    example_q = question if in_context else None
    target = rng.choice([q for q in grammar if q != example_q])
    # The pool's answers are unknown to the bootstrap's synthesis examples, as in round 1.
    prompt = synthesis_prompt(synthesis, "in_context" if in_context else "direct", example_q, None)
    return Example(image, text_messages(prompt, image_first), target)


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
    route_weights: list[float] | None = None,
) -> list[Example]:
    """n SFT examples drawn from items: routes by the route prior, grammar questions for synthesis."""
    grammar = sorted({it.question for it in items})
    synthesis = synthesis or SynthesisConfig()
    out = []
    for _ in range(n):
        it = items[rng.randrange(len(items))]
        img = images[it.item_id]
        if rng.random() < synthesis_fraction:
            out.append(synthesis_example(img, it.question, grammar, rng, synthesis, image_first))
        else:
            routes = metas[it.item_id]["routes"]
            route = rng.choices(routes, weights=route_weights)[0] if route_weights else rng.choice(routes)
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


# -- tokenised once ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Encoded:
    """One example, tokenised: ids and labels, and its image's pixels (shared by the image's examples)."""

    input_ids: torch.Tensor
    labels: torch.Tensor
    pixel_values: torch.Tensor
    image_grid_thw: torch.Tensor


class Encoder:
    """Tokenises examples once; each image goes through the image processor once."""

    def __init__(self, processor):
        self.processor = processor
        self.tok = processor.tokenizer
        self.image_token = self.tok.convert_tokens_to_ids("<|image_pad|>")
        # keyed by id(image); the image is kept with its pixels, so its id cannot be reused by another image
        self._pixels: dict[int, tuple[Image.Image, torch.Tensor, torch.Tensor]] = {}
        self._prompts: dict[tuple[str, int], list[int]] = {}  # the same question renders the same prompt

    def pixels(self, image: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        key = id(image)
        if key not in self._pixels:
            out = self.processor.image_processor(images=[image], return_tensors="pt")
            # half precision in memory (6000 images); the batch is float32 again
            self._pixels[key] = (image, out["pixel_values"].half(), out["image_grid_thw"])
        return self._pixels[key][1:]

    def encode(self, ex: Example) -> Encoded:
        pixel_values, grid = self.pixels(ex.image)
        n_img = int(grid.prod()) // self.processor.image_processor.merge_size**2
        key = (json.dumps(ex.messages, sort_keys=True), n_img)
        if key not in self._prompts:
            prompt = self.processor.apply_chat_template(
                ex.messages, add_generation_prompt=True, tokenize=False
            )
            # what the processor does with the placeholder: one <|image_pad|> per merged image token
            prompt = prompt.replace("<|image_pad|>", "<|image_pad|>" * n_img)
            self._prompts[key] = self.tok(prompt, add_special_tokens=False)["input_ids"]
        p_ids = self._prompts[key]
        t_ids = self.tok(ex.target + self.tok.eos_token, add_special_tokens=False)["input_ids"]
        ids = torch.tensor(p_ids + t_ids)
        labels = torch.tensor([-100] * len(p_ids) + t_ids)
        return Encoded(ids, labels, pixel_values, grid)

    def collate(self, encs: list[Encoded]) -> dict[str, torch.Tensor]:
        """Left-padded batch, the shape the processor gives."""
        length = max(len(e.input_ids) for e in encs)
        ids = torch.full((len(encs), length), self.tok.pad_token_id, dtype=torch.long)
        labels = torch.full((len(encs), length), -100, dtype=torch.long)
        mask = torch.zeros((len(encs), length), dtype=torch.long)
        for row, e in enumerate(encs):
            n = len(e.input_ids)
            ids[row, length - n :] = e.input_ids
            labels[row, length - n :] = e.labels
            mask[row, length - n :] = 1
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "mm_token_type_ids": (ids == self.image_token).long(),
            "labels": labels,
            "pixel_values": torch.cat([e.pixel_values for e in encs]).float(),
            "image_grid_thw": torch.cat([e.image_grid_thw for e in encs]),
        }


def train_sft(
    model,
    processor,
    sample_batch: Callable[[int], list[Example] | dict[str, torch.Tensor]],
    steps: int,
    lr: float,
    warmup_steps: int,
    seed: int,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """A minimal SFT loop (AdamW, linear warmup then cosine decay); returns the loss per step.
    `sample_batch` gives Examples (tokenised here) or a ready batch (tokenised once, beforehand)."""
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
        batch = sample_batch(step)
        if not isinstance(batch, dict):
            batch = collate(processor, batch)
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
    metas = world.load_metas(world_path, split)
    images = {it.item_id: Image.open(it.image).convert("RGB") for it in items}
    return items, metas, images


@dataclass
class SFTPools:
    """Every SFT example of the world, tokenised: per item, its routes and its descriptions."""

    routes: list[list[Encoded]]
    describe: list[list[Encoded]]
    synthesis: list[Encoded]
    route_weights: list[list[float]]  # per item: how often the first SFT takes each of its routes
    frame: list[Encoded | None]  # per item: where its frame is (None: no frame)
    cue: list[Encoded | None]  # per item: which panel is outlined (None: no cue)


def encode_pools(config: RunConfig, encoder: Encoder, world_path: Path, rng: random.Random) -> SFTPools:
    items, metas, images = load_world_split(world_path, "sft")
    module = world.kind(config.world)
    grammar = [q.text for q in world.all_questions(config.world)]
    suffix, first = config.sampling.prompt_suffix, config.model.image_first
    routes, describe, synthesis, weights, frame, cue = [], [], [], [], [], []

    def located(example, fraction: float, img: Image.Image, meta: dict) -> Encoded | None:
        where = example(meta) if fraction else None
        return (
            None if where is None else encoder.encode(Example(img, text_messages(where[0], first), where[1]))
        )

    for it in items:
        img, meta = images[it.item_id], metas[it.item_id]
        msgs = build_messages(it.question, suffix, first)
        routes.append([encoder.encode(Example(img, msgs, r)) for r in meta["routes"]])
        weights.append(world.route_weights(config.world, meta))
        frame.append(located(module.frame_example, config.bootstrap.frame_fraction, img, meta))
        cue.append(located(module.cue_example, config.bootstrap.cue_fraction, img, meta))
        scene_texts = [module.describe(meta, v) for v in range(len(meta["routes"]))]
        describe.append([encoder.encode(Example(img, text_messages(p, first), t)) for p, t in scene_texts])
        synthesis.append(
            encoder.encode(synthesis_example(img, it.question, grammar, rng, config.synthesis, first))
        )
    return SFTPools(routes, describe, synthesis, weights, frame, cue)


def sample_encoded(pools: SFTPools, config: RunConfig, rng: random.Random, n: int) -> list[Encoded]:
    """n examples: synthesis, descriptions of a random panel, where the frame is, which panel is outlined, each
    by its fraction; the rest take a route by the world's route prior (also where an item has no frame or cue)."""
    bc = config.bootstrap
    bands = (bc.synthesis_fraction, bc.describe_fraction, bc.frame_fraction, bc.cue_fraction)
    out = []
    for _ in range(n):
        k = rng.randrange(len(pools.routes))
        draw = rng.random()
        band = next((i for i, edge in enumerate(accumulate(bands)) if draw < edge), None)
        if band == 0:
            out.append(pools.synthesis[k])
        elif band == 1:
            out.append(rng.choice(pools.describe[k]))
        elif band == 2 and pools.frame[k]:
            out.append(pools.frame[k])
        elif band == 3 and pools.cue[k]:
            out.append(pools.cue[k])
        else:
            out.append(rng.choices(pools.routes[k], weights=pools.route_weights[k])[0])
    return out


def run_bootstrap(
    config: RunConfig, world_path: Path, out_root: Path, on_step: Callable[[int, float], None] | None = None
) -> tuple[Path, dict]:
    """Train (or reuse) the base checkpoint; returns (path, info) with loss curve and wall time."""
    out = out_root / f"tiny-{bootstrap_key(config)}"
    info_path = out / "bootstrap.json"
    if info_path.is_file():
        return out, json.loads(info_path.read_text())
    bc = config.bootstrap
    threads = torch.get_num_threads()
    torch.set_num_threads(bc.threads)
    start = time.perf_counter()
    tokenizer = tiny.build_tokenizer()
    processor = tiny.build_processor(tokenizer)
    model = tiny.build_model(tokenizer, seed=bc.seed)
    rng = random.Random(bc.seed)
    encoder = Encoder(processor)
    pools = encode_pools(config, encoder, world_path, rng)
    encode_s = time.perf_counter() - start

    def sample_batch(_: int) -> dict[str, torch.Tensor]:
        return encoder.collate(sample_encoded(pools, config, rng, bc.batch_size))

    try:
        losses = train_sft(model, processor, sample_batch, bc.steps, bc.lr, bc.warmup_steps, bc.seed, on_step)
    finally:
        # the caller's thread count again: two processes at two threads each on two cores run 10-20x slower
        torch.set_num_threads(threads)
    wall = time.perf_counter() - start
    info = {
        "steps": bc.steps,
        "wall_s": wall,
        "encode_s": encode_s,
        "params": sum(p.numel() for p in model.parameters()),
        "loss_first": losses[0],
        "loss_last": sum(losses[-20:]) / len(losses[-20:]),
        "losses_every_50": losses[::50],
    }
    tiny.save_pretrained(model, processor, out)
    (out / "bootstrap.json").write_text(json.dumps(info, indent=1))
    return out, info
