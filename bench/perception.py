"""The simplest perception probe: one object on an empty canvas, "Describe the object." -> "red circle".

A fresh tiny model is first-SFT'd on this alone for a few hundred steps and then asked about new images. A base
recipe that cannot teach it has a defect in how image features reach and are read by the language model. It is
how the old recipe's defect was found: at lr 2e-3 the base learned colour slowly and shape not at all (shape at
chance after 1200 steps); at 5e-4 it reads both (bench/results/bootstrap.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch
from PIL import Image, ImageDraw

from mmupt_core.model import tiny
from mmupt_core.model.bootstrap import Encoder, Example, train_sft
from mmupt_core.model.sampling import HFSampler, Request, SamplingParams
from mmupt_core.prompts import text_messages
from mmupt_core.world.base import CELL, COLOURS, SHAPES, draw_shape, jitter

PROMPT = "Describe the object."
CANVAS_CELLS = 4


@dataclass(frozen=True)
class PerceptionResult:
    steps: int
    lr: float
    colour: float
    shape: float
    loss_last: float


def one_object(rng: random.Random) -> tuple[Image.Image, str, str]:
    """A grey canvas of four cells with one shape in a random cell; (image, colour, shape)."""
    shape, colour = rng.choice(SHAPES), rng.choice(list(COLOURS))
    img = Image.new("RGB", (CELL * CANVAS_CELLS, CELL), (235, 235, 235))
    cx = rng.randrange(CANVAS_CELLS) * CELL + CELL // 2 + rng.randint(-2, 2)
    cy = CELL // 2 + rng.randint(-2, 2)
    draw_shape(ImageDraw.Draw(img), cx, cy, rng.randint(7, 11), shape, jitter(rng, colour))
    return img, colour, shape


def one_object_probe(
    steps: int, lr: float, seed: int = 0, batch_size: int = 32, n_train: int = 2000, n_test: int = 200
) -> PerceptionResult:
    """First-SFT a fresh tiny model on one-object captions; greedy colour and shape accuracy on new images."""
    tok = tiny.build_tokenizer()
    processor = tiny.build_processor(tok)
    model = tiny.build_model(tok, seed=seed)
    rng = random.Random(seed)
    encoder = Encoder(processor)
    msgs = text_messages(PROMPT, image_first=False)
    train = []
    for _ in range(n_train):
        img, colour, shape = one_object(rng)
        train.append(encoder.encode(Example(img, msgs, f"{colour} {shape}")))
    losses = train_sft(
        model,
        processor,
        lambda _: encoder.collate([train[rng.randrange(n_train)] for _ in range(batch_size)]),
        steps,
        lr,
        min(50, steps // 4),
        seed,
    )
    test_rng = random.Random(10_000 + seed)
    tests = [one_object(test_rng) for _ in range(n_test)]
    sampler = HFSampler(model, processor, suppress_token_ids=tiny.suppressed_token_ids(tok))
    with torch.inference_mode():
        sets = sampler.sample(
            [Request(str(k), t[0], msgs) for k, t in enumerate(tests)], SamplingParams(max_tokens=8)
        )
    words = [s.completions[0].text.split() for s in sets]
    colour = sum(bool(w) and w[0] == t[1] for w, t in zip(words, tests, strict=True)) / n_test
    shape = sum(len(w) > 1 and w[1] == t[2] for w, t in zip(words, tests, strict=True)) / n_test
    return PerceptionResult(steps, lr, colour, shape, sum(losses[-20:]) / 20)
