"""The views world (`world.kind: views`): the negative control, the embedded default until 2026-11-30.

Each image shows one scene of 3-8 coloured shapes three times (views A, B, C, told apart by their grey level),
and in every view one random cell is covered by a black occluder. A reasoning route reads one view, so its count
misses whatever that view hides. Each view is a strip of nine 28x28 cells, and the three strips sit in one row
(a 756x28 image), so every image token sees exactly one cell. A route transcribes its view ("bag": the visible
objects as colour+shape codes, " rc" = red circle; "cells": cell by cell, '.' empty, '#' occluded) and counts.

Questions count by shape, by colour, the total, and shape differences. Measured (bench/results/bootstrap.md): its
ideal gap is small, because one occluder rarely changes a count, and its routes agree when wrong; majority
voting has little to teach here, which is what a negative control is for.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from mmupt_core.config import WorldConfig
from mmupt_core.world.base import CELL, COLOURS, PLURAL, SHAPES, Question, draw_shape, jitter

VIEW_NAMES = ("A", "B", "C")
ROUTE_PREFIX = "View {name}:"
VIEW_BACKGROUND = (235, 185, 135)  # grey levels tell the views apart without clashing with shape colours
OCCLUDER = (15, 15, 15)
CELLS = 9  # per view, in one row
VIEW_PX = CELL * CELLS
EMPTY, HIDDEN = ".", "#"
QUESTION_TYPES = ("shape", "colour", "total", "difference")


@dataclass(frozen=True)
class Obj:
    shape: str
    colour: str


@dataclass(frozen=True)
class Scene:
    objects: tuple[Obj, ...]
    # per view: the cell of each object (same order as objects) and the occluded cells
    cells: tuple[tuple[int, ...], ...]
    occluded: tuple[tuple[int, ...], ...]

    def visible(self, view: int) -> list[Obj]:
        return [
            o for o, c in zip(self.objects, self.cells[view], strict=True) if c not in self.occluded[view]
        ]


def make_scene(rng: random.Random, cfg: WorldConfig, clean: bool = False) -> Scene:
    """A scene and its views; `clean` draws no occluders (the perception control)."""
    n = rng.randint(cfg.min_shapes, cfg.max_shapes)
    objects = tuple(Obj(rng.choice(SHAPES), rng.choice(list(COLOURS))) for _ in range(n))
    cells, occluded = [], []
    for _ in VIEW_NAMES:
        cells.append(tuple(rng.sample(range(CELLS), n)))
        occluded.append(tuple(sorted(rng.sample(range(CELLS), 0 if clean else cfg.occluders))))
    return Scene(objects, tuple(cells), tuple(occluded))


def count(objects: list[Obj] | tuple[Obj, ...], q: Question) -> int:
    """The answer to q over the given objects (all of them for the truth, one view's visible ones for a route)."""
    if q.kind == "total":
        return len(objects)
    if q.kind == "shape":
        return sum(o.shape == q.targets[0] for o in objects)
    if q.kind == "colour":
        return sum(o.colour == q.targets[0] for o in objects)
    a = sum(o.shape == q.targets[0] for o in objects)
    b = sum(o.shape == q.targets[1] for o in objects)
    return abs(a - b)


def make_question(rng: random.Random, kind: str | None = None) -> Question:
    kind = kind or rng.choice(QUESTION_TYPES)
    if kind == "shape":
        s = rng.choice(SHAPES)
        return Question(kind, f"How many {PLURAL[s]} are there?", (s,))
    if kind == "colour":
        c = rng.choice(list(COLOURS))
        return Question(kind, f"How many {c} shapes are there?", (c,))
    if kind == "total":
        return Question(kind, "How many shapes are there in total?", ())
    a, b = rng.sample(SHAPES, 2)
    return Question(
        kind, f"What is the difference between the number of {PLURAL[a]} and {PLURAL[b]}?", (a, b)
    )


def all_questions() -> list[Question]:
    """Every question the grammar can produce (the synthesis targets and the near-duplicate reference)."""
    qs = [Question("shape", f"How many {PLURAL[s]} are there?", (s,)) for s in SHAPES]
    qs += [Question("colour", f"How many {c} shapes are there?", (c,)) for c in COLOURS]
    qs.append(Question("total", "How many shapes are there in total?", ()))
    qs += [
        Question(
            "difference", f"What is the difference between the number of {PLURAL[a]} and {PLURAL[b]}?", (a, b)
        )
        for a in SHAPES
        for b in SHAPES
        if a != b
    ]
    return qs


def cell_code(obj: Obj) -> str:
    return obj.colour[0] + obj.shape[0]


_COLOUR_ORDER = {c: k for k, c in enumerate(COLOURS)}
_SHAPE_ORDER = {s: k for k, s in enumerate(SHAPES)}


def transcribe(scene: Scene, view: int, route: str = "bag") -> str:
    """One view as codes (colour+shape initials). "cells": cell by cell, '.' empty, '#' occluded.
    "bag": the visible objects only, in a fixed colour-then-shape order ('-' when none)."""
    if route == "bag":
        seen = sorted(scene.visible(view), key=lambda o: (_COLOUR_ORDER[o.colour], _SHAPE_ORDER[o.shape]))
        return " ".join(cell_code(o) for o in seen) or "-"
    by_cell = {c: o for o, c in zip(scene.objects, scene.cells[view], strict=True)}
    codes = []
    for cell in range(CELLS):
        if cell in scene.occluded[view]:
            codes.append(HIDDEN)
        else:
            codes.append(cell_code(by_cell[cell]) if cell in by_cell else EMPTY)
    return " ".join(codes)


def route_text(scene: Scene, q: Question, view: int, route: str = "bag") -> str:
    """The SFT target for one reasoning route: transcribe one view, count over it, box the answer."""
    seen = scene.visible(view)
    head = f"View {VIEW_NAMES[view]}: {transcribe(scene, view, route)} |"
    k = count(seen, q)
    if q.kind == "total":
        return f"{head} {k} shapes. \\boxed{{{k}}}"
    if q.kind == "shape":
        return f"{head} {k} {PLURAL[q.targets[0]]}. \\boxed{{{k}}}"
    if q.kind == "colour":
        return f"{head} {k} {q.targets[0]}. \\boxed{{{k}}}"
    a = sum(o.shape == q.targets[0] for o in seen)
    b = sum(o.shape == q.targets[1] for o in seen)
    tail = f"{a} {PLURAL[q.targets[0]]}, {b} {PLURAL[q.targets[1]]}, difference {abs(a - b)}."
    return f"{head} {tail} \\boxed{{{abs(a - b)}}}"


def render(scene: Scene, rng: random.Random, cfg: WorldConfig | None = None) -> Image.Image:
    """Draw the three views side by side, with per-view jitter in size, position and colour (cfg: unused, the
    interface panels.render has)."""
    img = Image.new("RGB", (VIEW_PX * len(scene.cells), CELL))
    draw = ImageDraw.Draw(img)
    for v, cells in enumerate(scene.cells):
        x0 = v * VIEW_PX
        bg = VIEW_BACKGROUND[v]
        draw.rectangle([x0, 0, x0 + VIEW_PX - 1, CELL - 1], fill=(bg, bg, bg))
        for obj, cell in zip(scene.objects, cells, strict=True):
            cx = x0 + cell * CELL + CELL // 2 + rng.randint(-2, 2)
            cy = CELL // 2 + rng.randint(-2, 2)
            draw_shape(draw, cx, cy, rng.randint(7, 11), obj.shape, jitter(rng, obj.colour))
        for occ in scene.occluded[v]:
            ox = x0 + occ * CELL
            draw.rectangle([ox, 0, ox + CELL - 1, CELL - 1], fill=OCCLUDER)
    return img


def scene_meta(scene: Scene, q: Question, cfg: WorldConfig) -> dict:
    return {
        "type": q.kind,
        "objects": [[o.shape, o.colour] for o in scene.objects],
        "cells": [list(c) for c in scene.cells],
        "occluded": [list(o) for o in scene.occluded],
        "targets": list(q.targets),
        "routes": [route_text(scene, q, v, cfg.route) for v in range(len(scene.cells))],
        "route_answers": [str(count(scene.visible(v), q)) for v in range(len(scene.cells))],
    }


def make_example(rng: random.Random, cfg: WorldConfig, clean: bool = False) -> tuple[Scene, Question]:
    """A scene, then a question about it (the generator's order since the first version of this world)."""
    scene = make_scene(rng, cfg, clean)
    return scene, make_question(rng)


def frame_example(meta: dict) -> None:
    """Views are never framed (bootstrap.frame_fraction has nothing to teach here)."""
    return None


def cue_example(meta: dict) -> None:
    """Views are never outlined (bootstrap.cue_fraction has nothing to teach here)."""
    return None


def describe(meta: dict, view: int) -> tuple[str, str]:
    """A perception-curriculum example from a stored scene: (prompt, target), the view cell by cell."""
    scene = Scene(
        tuple(Obj(s, c) for s, c in meta["objects"]),
        tuple(tuple(c) for c in meta["cells"]),
        tuple(tuple(o) for o in meta["occluded"]),
    )
    return f"Describe view {VIEW_NAMES[view]}.", transcribe(scene, view, "cells") + "."


def truth(scene_row: dict, q: Question) -> str:
    """The true answer of a grammar question about a stored scene (diagnostics of synthetic questions)."""
    return str(count([Obj(s, c) for s, c in scene_row["objects"]], q))


def corpus(rng: random.Random, cfg: WorldConfig) -> list[str]:
    """Texts for the tokenizer: every question, describe prompt and route shape."""
    lines = [q.text for q in all_questions()] + [f"Describe view {name}." for name in VIEW_NAMES]
    for _ in range(400):
        scene = make_scene(rng, cfg)
        q = make_question(rng)
        lines += [route_text(scene, q, v, route) for v in range(3) for route in ("bag", "cells")]
    return lines
