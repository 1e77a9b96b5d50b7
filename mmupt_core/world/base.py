"""What the embedded worlds share: the question record, the palette and shapes, and how a shape is drawn."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}
COLOURS = {"red": (215, 40, 40), "green": (40, 165, 60), "blue": (45, 75, 215), "yellow": (225, 195, 35)}
CELL = 28  # px: with 14-px patches merged 2x2, one image token sees one cell


@dataclass(frozen=True)
class Question:
    kind: str
    text: str
    targets: tuple[str, ...]  # the shape(s) or colour asked about; empty for totals


def jitter(rng: random.Random, colour: str, amount: int = 20) -> tuple[int, ...]:
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in COLOURS[colour])


def draw_shape(
    draw: ImageDraw.ImageDraw, cx: int, cy: int, r: int, shape: str, fill: tuple[int, ...]
) -> None:
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        draw.rectangle([cx - r + 1, cy - r + 1, cx + r - 1, cy + r - 1], fill=fill)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r - 1), (cx + r, cy + r - 1)], fill=fill)


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
