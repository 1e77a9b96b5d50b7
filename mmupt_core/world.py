"""The embedded synthetic image world: seeded scenes of coloured shapes, seen through three occluded views.

Why three views: majority voting can only teach what the majority of samples knows better than the model's
single best guess (DESIGN §4). Here each image shows the same scene three times (views A, B, C, told apart by
their grey level), and in every view one random cell is covered by a black occluder. A reasoning route reads
one view, so its count misses whatever that view hides; different views hide different cells, so routes make
*independent* errors from different image evidence, and a majority over sampled routes can beat greedy decoding.

Each view is a strip of nine 28x28 cells, and the three strips sit in one row (a 756x28 image), so with
Qwen2.5-VL's 14-px patches merged 2x2 every image token sees exactly one cell (27 image tokens). A route first
transcribes its view cell by cell (" rc" = red circle, " ." = empty, " #" = occluded), then counts over its own
transcription: one row of cells keeps "cell j of view v" at a fixed rotary offset from transcription step j, which
a tiny model can learn, where a 2-D grid or counting straight from image tokens was at the blind prior.

Splits: `sft` (labeled, bootstrap only), `pool` (unlabeled; answers written apart to pool_answers.jsonl and
never read by a reward), `eval` (labeled, held out).

    python -m mmupt_core.world   # writes the default world under .mmupt/cache and prints its stats
"""

from __future__ import annotations

import io
import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from mmupt_core.config import WorldConfig
from mmupt_core.items import Item, make_item_id, read_items, write_jsonl

SHAPES = ("circle", "square", "triangle")
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}
COLOURS = {"red": (215, 40, 40), "green": (40, 165, 60), "blue": (45, 75, 215), "yellow": (225, 195, 35)}
VIEW_NAMES = ("A", "B", "C")
VIEW_BACKGROUND = (235, 185, 135)  # grey levels tell the views apart without clashing with shape colours
OCCLUDER = (15, 15, 15)
CELL = 28
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


@dataclass(frozen=True)
class Question:
    kind: str
    text: str
    targets: tuple[str, ...]  # the shape(s) or colour counted; empty for totals


def make_scene(rng: random.Random, cfg: WorldConfig, n_views: int = 3) -> Scene:
    n = rng.randint(cfg.min_shapes, cfg.max_shapes)
    objects = tuple(Obj(rng.choice(SHAPES), rng.choice(list(COLOURS))) for _ in range(n))
    cells, occluded = [], []
    for _ in range(n_views):
        cells.append(tuple(rng.sample(range(CELLS), n)))
        occluded.append(tuple(sorted(rng.sample(range(CELLS), cfg.occluders))))
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


def parse_question(text: str) -> Question | None:
    """The grammar question with this exact text, or None when the text is not one the world can answer."""
    norm = " ".join(text.split()).strip()
    return next((q for q in all_questions() if q.text == norm), None)


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


def render(scene: Scene, rng: random.Random) -> Image.Image:
    """Draw the three views side by side, with per-view jitter in size, position and colour."""
    img = Image.new("RGB", (VIEW_PX * len(scene.cells), CELL))
    draw = ImageDraw.Draw(img)
    for v, cells in enumerate(scene.cells):
        x0 = v * VIEW_PX
        bg = VIEW_BACKGROUND[v]
        draw.rectangle([x0, 0, x0 + VIEW_PX - 1, CELL - 1], fill=(bg, bg, bg))
        for obj, cell in zip(scene.objects, cells, strict=True):
            cx = x0 + cell * CELL + CELL // 2 + rng.randint(-2, 2)
            cy = CELL // 2 + rng.randint(-2, 2)
            r = rng.randint(7, 11)
            colour = tuple(max(0, min(255, c + rng.randint(-20, 20))) for c in COLOURS[obj.colour])
            if obj.shape == "circle":
                draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
            elif obj.shape == "square":
                draw.rectangle([cx - r + 1, cy - r + 1, cx + r - 1, cy + r - 1], fill=colour)
            else:
                draw.polygon([(cx, cy - r), (cx - r, cy + r - 1), (cx + r, cy + r - 1)], fill=colour)
        for occ in scene.occluded[v]:
            ox = x0 + occ * CELL
            draw.rectangle([ox, 0, ox + CELL - 1, CELL - 1], fill=OCCLUDER)
    return img


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def scene_meta(scene: Scene, q: Question, route: str = "bag") -> dict:
    return {
        "type": q.kind,
        "objects": [[o.shape, o.colour] for o in scene.objects],
        "cells": [list(c) for c in scene.cells],
        "occluded": [list(o) for o in scene.occluded],
        "targets": list(q.targets),
        "routes": [route_text(scene, q, v, route) for v in range(len(scene.cells))],
    }


SPLIT_SEED_OFFSET = {"sft": 1, "pool": 2, "eval": 3}


def generate_split(cfg: WorldConfig, split: str, n: int, image_dir: Path) -> list[tuple[Item, dict]]:
    """n items of one split, deterministic in (cfg, split); returns (item, scene meta) pairs."""
    rng = random.Random(cfg.seed * 1000 + SPLIT_SEED_OFFSET[split])
    image_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(n):
        scene = make_scene(rng, cfg)
        q = make_question(rng)
        data = _png(render(scene, rng))
        item_id = make_item_id(data, q.text)
        name = f"{split}-{k:05d}.png"
        (image_dir / name).write_bytes(data)
        item = Item(
            item_id=item_id,
            source=f"world:{split}",
            image=f"images/{name}",
            question=q.text,
            answer=str(count(scene.objects, q)),
            split=split,
            meta={"type": q.kind},
        )
        out.append((item, scene_meta(scene, q, cfg.route)))
    return out


def world_dir(cfg: WorldConfig, root: Path) -> Path:
    from hashlib import sha256

    key = sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]
    return root / f"world-{key}"


def build_world(cfg: WorldConfig, root: Path) -> Path:
    """Write the world (images + JSONL per split) under root, once; later calls reuse it."""
    out = world_dir(cfg, root)
    if (out / "manifest.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    sizes = {"sft": cfg.n_sft, "pool": cfg.n_pool, "eval": cfg.n_eval}
    for split, n in sizes.items():
        rows = generate_split(cfg, split, n, out / "images")
        if split == "pool":
            # The pool is unlabeled: its answers live in a separate file that only diagnostics read.
            write_jsonl(
                out / "pool_answers.jsonl", [{"item_id": it.item_id, "answer": it.answer} for it, _ in rows]
            )
            write_jsonl(
                out / "pool.jsonl",
                [{**it.to_row(), "answer": None} for it, _ in rows],
            )
        else:
            write_jsonl(out / f"{split}.jsonl", [{**it.to_row(), "meta": meta} for it, meta in rows])
    # Written last: its presence marks a complete world.
    (out / "manifest.json").write_text(json.dumps({"config": cfg.model_dump(mode="json"), "sizes": sizes}))
    return out


def load_split(world: Path, split: str) -> list[Item]:
    return read_items(world / f"{split}.jsonl")


def load_pool_answers(world: Path) -> dict[str, str]:
    """Hidden pool answers, for diagnostics (pseudo-label accuracy) only."""
    rows = [json.loads(line) for line in (world / "pool_answers.jsonl").read_text().splitlines() if line]
    return {r["item_id"]: r["answer"] for r in rows}


def pool_scenes(cfg: WorldConfig, world: Path) -> dict[str, list[list[str]]]:
    """Hidden: the objects of every pool scene, keyed by image file name (diagnostics of synthetic questions).

    Worlds built before this file existed get it on first use, regenerated from the same seed in a scratch
    folder, so the live images are never rewritten.
    """
    path = world / "pool_scenes.jsonl"
    if not path.is_file():
        import tempfile

        with tempfile.TemporaryDirectory(dir=world) as tmp:
            rows = generate_split(cfg, "pool", cfg.n_pool, Path(tmp))
        write_jsonl(path, [{"image": Path(it.image).name, "objects": m["objects"]} for it, m in rows])
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return {r["image"]: r["objects"] for r in rows}


def synthetic_answers(cfg: WorldConfig, world: Path, items: list[Item]) -> dict[str, str]:
    """True answers of synthetic questions the grammar can parse, asked about pool images (diagnostics only)."""
    scenes = pool_scenes(cfg, world)
    out = {}
    for it in items:
        q = parse_question(it.question)
        objects = scenes.get(Path(it.image).name)
        if q is not None and objects is not None:
            out[it.item_id] = str(count([Obj(s, c) for s, c in objects], q))
    return out


def blind_baseline(train: list[Item], test: list[Item]) -> dict[str, float]:
    """Best accuracy from the question text alone: answer each question with its most common training answer."""
    by_q: dict[str, Counter] = defaultdict(Counter)
    for it in train:
        by_q[it.question][it.answer] += 1
    hits: dict[str, list[bool]] = defaultdict(list)
    for it in test:
        guess = by_q[it.question].most_common(1)[0][0] if by_q[it.question] else "0"
        hits[it.meta["type"]].append(guess == it.answer)
        hits["all"].append(guess == it.answer)
    return {k: sum(v) / len(v) for k, v in hits.items()}


if __name__ == "__main__":  # pragma: no cover
    from mmupt_core.paths import cache_dir

    cfg = WorldConfig()
    path = build_world(cfg, cache_dir("world"))
    sft, ev = load_split(path, "sft"), load_split(path, "eval")
    print(path)
    print("blind baseline", blind_baseline(sft, ev))
    print("answers", Counter(it.answer for it in ev).most_common())
