"""The embedded synthetic image world: seeded scenes, splits, and ground truth (for evaluation only).

Two kinds (`world.kind`), with one interface (panels.py, views.py):
- `panels` (default): one scene drawn in several panels, each with its own colour noise; a reasoning route reads
  one panel. The base's favourite route reads the noisiest panel, so a majority over sampled routes beats greedy
  decoding: the self-consistency gap majority voting needs.
- `views`: the earlier world of three occluded views, kept as the negative control.

Splits: `sft` (labeled, bootstrap only), `pool` (unlabeled; answers written apart to pool_answers.jsonl and never
read by a reward), `eval` (labeled, held out).

    python -m mmupt_core.world   # writes the default world under .mmupt/cache and prints its stats
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from hashlib import sha256
from pathlib import Path
from types import ModuleType

from mmupt_core.config import RunConfig, WorldConfig
from mmupt_core.data.items import Item, make_item_id, read_items, write_jsonl
from mmupt_core.paths import cache_dir
from mmupt_core.world import panels, views
from mmupt_core.world.base import Question, png

SPLIT_SEED_OFFSET = {"sft": 1, "pool": 2, "eval": 3, "dev": 4}


def kind(cfg: WorldConfig) -> ModuleType:
    """The module that draws this world's scenes, questions and routes."""
    return panels if cfg.kind == "panels" else views


def route_names(cfg: WorldConfig) -> list[str]:
    module = kind(cfg)
    names = panels.PANEL_NAMES[: cfg.panels] if cfg.kind == "panels" else views.VIEW_NAMES
    return [module.ROUTE_PREFIX.format(name=n) for n in names]


def route_weights(cfg: WorldConfig, meta: dict | None = None) -> list[float]:
    """How often the first SFT takes each route (the base's habits), for one item's scene meta when given: the
    framed panel's route is weighted by world.sft_frame_weight, the cued one's by world.cue_weight."""
    if cfg.kind != "panels":
        return [1.0] * len(views.VIEW_NAMES)
    weights = list(cfg.route_prior)
    framed = (meta or {}).get("framed")
    if framed is not None and cfg.sft_frame_weight is not None:
        weights[framed] *= cfg.sft_frame_weight
    cued = (meta or {}).get("cued")
    if cued is not None and cfg.cue_weight is not None:
        weights[cued] *= cfg.cue_weight
    return weights


def all_questions(cfg: WorldConfig | None = None) -> list[Question]:
    """Every question the grammar can produce (the synthesis targets and the near-duplicate reference)."""
    return kind(cfg or WorldConfig()).all_questions()


def parse_question(text: str, cfg: WorldConfig | None = None) -> Question | None:
    """The grammar question with this exact text, or None when the text is not one the world can answer."""
    norm = " ".join(text.split()).strip()
    return next((q for q in all_questions(cfg) if q.text == norm), None)


def generate_split(
    cfg: WorldConfig, split: str, n: int, image_dir: Path, clean: bool = False
) -> list[tuple[Item, dict]]:
    """n items of one split, deterministic in (cfg, split); returns (item, scene meta) pairs. `clean` draws
    the same kind of scenes with no noise (the perception control)."""
    module = kind(cfg)
    if split == "sft" and cfg.sft_panel_noise is not None and cfg.kind == "panels":
        cfg = cfg.model_copy(update={"panel_noise": [cfg.sft_panel_noise] * cfg.panels})
    rng = random.Random(cfg.seed * 1000 + SPLIT_SEED_OFFSET[split])
    image_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(n):
        scene, q = module.make_example(rng, cfg, clean)
        data = png(module.render(scene, rng, cfg))
        meta = module.scene_meta(scene, q, cfg)
        name = f"{split}-{k:05d}.png"
        (image_dir / name).write_bytes(data)
        item = Item(
            item_id=make_item_id(data, q.text),
            source=f"world:{split}",
            image=f"images/{name}",
            question=q.text,
            answer=module.truth(meta, q),
            split=split,
            meta={"type": q.kind},
        )
        out.append((item, meta))
    return out


# The generator's version: a change here rebuilds the world and its first SFT (3: balanced count answers).
WORLD_FORMAT = 3


def world_dir(cfg: WorldConfig, root: Path) -> Path:
    payload = {**cfg.cache_payload(), "format": WORLD_FORMAT}
    key = sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
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
            # The pool is unlabeled: its answers and scenes live in separate files that only diagnostics read.
            write_jsonl(
                out / "pool_answers.jsonl", [{"item_id": it.item_id, "answer": it.answer} for it, _ in rows]
            )
            write_jsonl(out / "pool_scenes.jsonl", [_scene_row(it, m) for it, m in rows])
            write_jsonl(out / "pool.jsonl", [{**it.to_row(), "answer": None} for it, _ in rows])
        else:
            write_jsonl(out / f"{split}.jsonl", [{**it.to_row(), "meta": meta} for it, meta in rows])
    # Written last: its presence marks a complete world.
    (out / "manifest.json").write_text(json.dumps({"config": cfg.model_dump(mode="json"), "sizes": sizes}))
    return out


def _scene_row(item: Item, meta: dict) -> dict:
    """What diagnostics may read of a pool scene: its objects and each route's own answer."""
    keep = ("objects", "colours", "route_answers", "framed", "cued")
    return {
        "image": Path(item.image).name,
        "item_id": item.item_id,
        **{k: meta[k] for k in keep if k in meta},
    }


def build_clean_control(cfg: WorldConfig, root: Path, n: int) -> Path:
    """Eval-like items with no noise at all (labeled): perception measured apart from the world's noise."""
    out = world_dir(cfg, root).with_name(world_dir(cfg, root).name + f"-clean{n}")
    if (out / "eval.jsonl").is_file():
        return out
    rows = generate_split(cfg, "eval", n, out / "images", clean=True)
    write_jsonl(out / "eval.jsonl", [{**it.to_row(), "meta": meta} for it, meta in rows])
    return out


def build_dev_split(cfg: WorldConfig, root: Path, n: int) -> Path:
    """A labelled dev split (evaluation.dev_items) beside the world, drawn like eval on a seed of its own; built
    apart so that asking for one never changes the world or its first SFT."""
    out = world_dir(cfg, root).with_name(world_dir(cfg, root).name + f"-dev{n}")
    if (out / "dev.jsonl").is_file():
        return out
    rows = generate_split(cfg, "dev", n, out / "images")
    write_jsonl(out / "dev.tmp.jsonl", [{**it.to_row(), "meta": meta} for it, meta in rows])
    (out / "dev.tmp.jsonl").rename(out / "dev.jsonl")
    return out


def load_split(world: Path, split: str) -> list[Item]:
    return read_items(world / f"{split}.jsonl")


def load_metas(world: Path, split: str) -> dict[str, dict]:
    """Scene metadata (routes, per-route answers) of a labeled split, by item id."""
    rows = [json.loads(line) for line in (world / f"{split}.jsonl").read_text().splitlines() if line]
    return {r["item_id"]: r["meta"] for r in rows}


def load_pool_answers(world: Path) -> dict[str, str]:
    """Hidden pool answers, for diagnostics (pseudo-label accuracy) only."""
    rows = [json.loads(line) for line in (world / "pool_answers.jsonl").read_text().splitlines() if line]
    return {r["item_id"]: r["answer"] for r in rows}


def pool_scenes(cfg: WorldConfig, world: Path) -> dict[str, dict]:
    """Hidden: every pool scene, keyed by image file name (diagnostics of synthetic questions).

    Worlds built before this file existed get it on first use, regenerated from the same seed in a scratch
    folder, so the live images are never rewritten.
    """
    path = world / "pool_scenes.jsonl"
    if not path.is_file():
        import tempfile

        with tempfile.TemporaryDirectory(dir=world) as tmp:
            rows = generate_split(cfg, "pool", cfg.n_pool, Path(tmp))
        write_jsonl(path, [_scene_row(it, m) for it, m in rows])
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return {r["image"]: r for r in rows}


def synthetic_answers(cfg: WorldConfig, world: Path, items: list[Item]) -> dict[str, str]:
    """True answers of synthetic questions the grammar can parse, asked about pool images (diagnostics only)."""
    scenes = pool_scenes(cfg, world)
    out = {}
    for it in items:
        q = parse_question(it.question, cfg)
        row = scenes.get(Path(it.image).name)
        if q is not None and row is not None:
            out[it.item_id] = kind(cfg).truth(row, q)
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


def world_path(config: RunConfig) -> Path:
    """The configured world, built (or found) in the cache."""
    return build_world(config.world, cache_dir("world"))
