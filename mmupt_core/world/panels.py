"""The panel world (the embedded default): one scene, drawn in several panels that each get some of it wrong.

A scene is three objects in a row, a circle, a square and a triangle, each in a random colour. The image stacks
`panels` copies of that row (one panel a row, told apart by grey level, 28-px cells, so one image token sees one
object). Each panel re-draws every object's colour wrongly with its own probability (`panel_noise`), drawing a
random other colour, so panels err independently and in different directions.

A question asks for the colour of a shape ("What colour is the square?") or a count by colour ("How many red
shapes are there?"). A reasoning route names a panel, reads it and answers from it:

    Panel C: the square is blue. \\boxed{blue}
    Panel C: red blue blue. 2 blue. \\boxed{2}

so a route's answer is that panel's truth, right or wrong. The SFT data takes routes with the probabilities
`route_prior`. By default the base's favourite route (panel A, 30%) reads the noisiest panel (60% of its colours
wrong), as a model's most familiar strategy can be its sloppiest: greedy decoding follows it, while a majority
over sampled routes is mostly made of the careful panels. That is the self-consistency gap that majority voting
can teach from agreement alone (bench/results/bootstrap.md measures it link by link). The favourite must not be
too strong: at 40% its samples, all alike, won a group's vote about as often as they lost it (its mean GRPO
advantage was about 0) and UPT sharpened onto it instead of away from it.

With `frame_noise` set, each scene frames one panel, chosen at random, in white, and that panel draws its colours
wrong with that chance instead: which route not to trust differs by item and is visible, so a model can learn
it from agreement, while a base that took its routes uniformly decodes greedily about as well as it samples.

With `cue_weight` set, each scene also outlines one panel in black, chosen at random and independently of the
frame, and the first SFT takes that panel's route `cue_weight` times as often: the base's favourite route differs
by item and is seen in the image, as a real model's preferred line of reasoning depends on the problem. A global
favourite (route A for every item) leaves greedy decoding on one fork that any nudge of the model flips for every
item at once (bench/results/knife-*.md); a per-item favourite spreads those forks over the items.

Perception is trained on a curriculum of "Describe panel C." -> "red blue blue." examples in the first SFT.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from mmupt_core.config import WorldConfig
from mmupt_core.world.base import CELL, COLOURS, SHAPES, Question, draw_shape, jitter

PANEL_NAMES = "ABCDEFGH"
QUESTION_TYPES = ("colour", "count")
ROUTE_PREFIX = "Panel {name}:"


@dataclass(frozen=True)
class PanelScene:
    colours: tuple[str, ...]  # the truth, one colour per shape (SHAPES order)
    panels: tuple[tuple[str, ...], ...]  # what each panel shows
    framed: int | None = None  # the panel drawn in a white frame (world.frame_noise), if any
    cued: int | None = None  # the panel outlined in black (world.cue_weight): the first SFT's favourite here


def make_scene(
    rng: random.Random, cfg: WorldConfig, clean: bool = False, colours: tuple[str, ...] | None = None
) -> PanelScene:
    """A scene (random colours, or the given ones) and its panels; `clean` draws every panel right."""
    noise = [0.0] * cfg.panels if clean else list(cfg.panel_noise)
    colours = colours or tuple(rng.choice(list(COLOURS)) for _ in SHAPES)
    framed = None
    if cfg.frame_noise is not None:
        # drawn on the clean control too, so perception is measured on framed images
        framed = rng.randrange(cfg.panels)
        if not clean:
            noise[framed] = cfg.frame_noise
    # drawn after the frame and independent of it, so worlds without a cue keep their scenes
    cued = rng.randrange(cfg.panels) if cfg.cue_weight is not None else None
    panels = []
    for p in noise:
        row = []
        for c in colours:
            if rng.random() < p:
                c = rng.choice([x for x in COLOURS if x != c])
            row.append(c)
        panels.append(tuple(row))
    return PanelScene(colours, tuple(panels), framed, cued)


def all_questions() -> list[Question]:
    qs = [Question("colour", f"What colour is the {s}?", (s,)) for s in SHAPES]
    qs += [Question("count", f"How many {c} shapes are there?", (c,)) for c in COLOURS]
    return qs


def make_question(rng: random.Random, count_share: float | None = None) -> Question:
    # None keeps the original draw (a fair choice of type), so worlds built before count_share stay the same
    kind = (
        rng.choice(QUESTION_TYPES)
        if count_share is None
        else ("count" if rng.random() < count_share else "colour")
    )
    return rng.choice([q for q in all_questions() if q.kind == kind])


def make_example(rng: random.Random, cfg: WorldConfig, clean: bool = False) -> tuple[PanelScene, Question]:
    """A question and its scene. A count question's true count is drawn uniformly from 0..3 first, so no count
    is much commoner than another: with random colours, 0 and 1 would be 84% of the answers, and majority votes
    drift toward a skewed answer prior (measured: the count step collapsed onto 0 and 1 under UPT)."""
    q = make_question(rng, cfg.count_share)
    if q.kind != "count":
        return make_scene(rng, cfg, clean), q
    target = q.targets[0]
    k = rng.randrange(len(SHAPES) + 1)
    where = set(rng.sample(range(len(SHAPES)), k))
    others = [c for c in COLOURS if c != target]
    colours = tuple(target if i in where else rng.choice(others) for i in range(len(SHAPES)))
    return make_scene(rng, cfg, clean, colours), q


def answer(colours: tuple[str, ...] | list[str], q: Question) -> str:
    """The answer to q over one row of colours (the truth, or one panel's)."""
    if q.kind == "colour":
        return colours[SHAPES.index(q.targets[0])]
    return str(sum(c == q.targets[0] for c in colours))


def transcript(row: tuple[str, ...]) -> str:
    return " ".join(row)


def route_text(scene: PanelScene, q: Question, panel: int, count_route: str = "transcribe") -> str:
    """The SFT target of one route: name the panel, read it, answer from it."""
    row = scene.panels[panel]
    a = answer(row, q)
    head = ROUTE_PREFIX.format(name=PANEL_NAMES[panel])
    if q.kind == "colour":
        return f"{head} the {q.targets[0]} is {a}. \\boxed{{{a}}}"
    if count_route == "direct":
        return f"{head} {a} {q.targets[0]}. \\boxed{{{a}}}"
    return f"{head} {transcript(row)}. {a} {q.targets[0]}. \\boxed{{{a}}}"


def describe(meta: dict, panel: int) -> tuple[str, str]:
    """A perception-curriculum example from a stored scene: (prompt, target)."""
    return f"Describe panel {PANEL_NAMES[panel]}.", transcript(meta["panels"][panel]) + "."


FRAME_PROMPT = "Which panel is framed?"
CUE_PROMPT = "Which panel is outlined?"


def _which_panel(meta: dict, key: str, prompt: str) -> tuple[str, str] | None:
    return None if meta.get(key) is None else (prompt, f"Panel {PANEL_NAMES[meta[key]]}.")


def frame_example(meta: dict) -> tuple[str, str] | None:
    """A perception-curriculum example of where the frame is (bootstrap.frame_fraction): (prompt, target), or
    None for a scene with no frame."""
    return _which_panel(meta, "framed", FRAME_PROMPT)


def cue_example(meta: dict) -> tuple[str, str] | None:
    """A perception-curriculum example of which panel is outlined in black (bootstrap.cue_fraction): (prompt,
    target), or None for a scene with no cue."""
    return _which_panel(meta, "cued", CUE_PROMPT)


def render(scene: PanelScene, rng: random.Random, cfg: WorldConfig | None = None) -> Image.Image:
    """One row of cells per panel; panels differ in background grey; each shape keeps its column."""
    frame_width = (cfg.frame_width if cfg else None) or 2
    n = len(scene.panels)
    img = Image.new("RGB", (CELL * len(SHAPES), CELL * n))
    draw = ImageDraw.Draw(img)
    for r, row in enumerate(scene.panels):
        grey = 60 + (150 * r) // max(1, n - 1)
        draw.rectangle([0, r * CELL, CELL * len(SHAPES) - 1, r * CELL + CELL - 1], fill=(grey, grey, grey))
        for c, (shape, colour) in enumerate(zip(SHAPES, row, strict=True)):
            cx = c * CELL + CELL // 2 + rng.randint(-2, 2)
            cy = r * CELL + CELL // 2 + rng.randint(-2, 2)
            draw_shape(draw, cx, cy, rng.randint(8, 11), shape, jitter(rng, colour))
        if r == scene.framed:
            # a white outline around every cell of the row, so each of its image tokens sees the frame
            for c in range(len(SHAPES)):
                x0, y0 = c * CELL, r * CELL
                draw.rectangle(
                    [x0, y0, x0 + CELL - 1, y0 + CELL - 1], outline=(255, 255, 255), width=frame_width
                )
        if r == scene.cued:
            # black, inside where a frame would be, so a panel both framed and cued shows both
            for c in range(len(SHAPES)):
                x0, y0, k = c * CELL + frame_width, r * CELL + frame_width, CELL - 1 - frame_width
                draw.rectangle([x0, y0, c * CELL + k, r * CELL + k], outline=(0, 0, 0), width=2)
    return img


def scene_meta(scene: PanelScene, q: Question, cfg: WorldConfig) -> dict:
    return {
        "type": q.kind,
        "colours": list(scene.colours),
        "panels": [list(p) for p in scene.panels],
        "targets": list(q.targets),
        "routes": [route_text(scene, q, v, cfg.count_route) for v in range(len(scene.panels))],
        "route_answers": [answer(p, q) for p in scene.panels],
        **({"framed": scene.framed} if scene.framed is not None else {}),
        **({"cued": scene.cued} if scene.cued is not None else {}),
    }


def truth(scene_row: dict, q: Question) -> str:
    """The true answer of a grammar question about a stored scene (diagnostics of synthetic questions)."""
    return answer(scene_row["colours"], q)


def corpus(rng: random.Random, cfg: WorldConfig) -> list[str]:
    """Texts for the tokenizer: every question, describe prompt and route shape."""
    lines = [q.text for q in all_questions()]
    lines += [f"Describe panel {name}." for name in PANEL_NAMES]
    for _ in range(200):
        scene, q = make_example(rng, cfg)
        lines += [route_text(scene, q, v) for v in range(len(scene.panels))]
        lines.append(transcript(scene.panels[0]) + ".")
    return lines
