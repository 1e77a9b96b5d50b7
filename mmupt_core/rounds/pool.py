"""The round's pool, read from the store: the registered items, the model's accepted synthetic questions, and
their hidden answers (for diagnostics and the ground-truth oracle only; never a UPT reward)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from mmupt_core.config import RunConfig
from mmupt_core.data import sources as data
from mmupt_core.data.items import Item
from mmupt_core.paths import cache_dir
from mmupt_core.rounds.synthesis import cap_mix
from mmupt_core.world import builder as world
from mmupt_core.world.builder import world_path

if TYPE_CHECKING:
    from mmupt_core.rounds.context import Context

log = logging.getLogger(__name__)


def pool_items(config: RunConfig) -> tuple[list[Item], list[dict]]:
    """The unlabeled pool (the world's `pool` split, or the configured data set) and its rejected rows."""
    if config.data.source == "world":
        items, rejected = world.load_split(world_path(config), "pool"), []
    else:
        loaded = data.load_items(config.data, config.model, cache_dir("data"))
        items, rejected = loaded.items, list(loaded.rejected)
    seen: set[str] = set()
    kept = []
    for it in items:
        reason = None
        if not it.question.strip():
            reason = "empty question"
        elif it.item_id in seen:
            reason = "duplicate item id"
        else:
            try:
                data.open_image(it.image, None, config.data.max_source_pixels)
            except data.ImageProblem as exc:
                reason = str(exc)
        if reason:
            rejected.append({"item_id": it.item_id, "reason": reason})
        else:
            seen.add(it.item_id)
            kept.append(it)
    return kept, rejected


def item_row(it: Item, **meta) -> dict:
    """An item as a row of the store's items table (never with its answer: pool answers stay hidden)."""
    return {
        "item_id": it.item_id,
        "split": it.split,
        "source": it.source,
        "image_path": it.image,
        "question": it.question,
        "choices": it.choices,
        "answer": None,
        "parent_item_id": it.parent_item_id,
        "meta": {**it.meta, **meta},
    }


def _row_item(r: dict) -> Item:
    meta = r.get("meta")
    return Item(
        item_id=r["item_id"],
        source=r["source"],
        image=r["image_path"],
        question=r["question"],
        split=r["split"],
        choices=json.loads(r["choices"]) if r.get("choices") else None,
        parent_item_id=r.get("parent_item_id"),
        meta=json.loads(meta) if meta else {},
    )


def stored_pool(ctx: Context) -> list[Item]:
    """The pool registered by the run's load stage (a branched run reads its ancestors')."""
    store, run_id = ctx.store, ctx.run_id
    rows = store.items(run_id, 0, "load")
    while not rows and (parent := store.get_run(run_id)["parent_run_id"]):
        run_id = parent
        rows = store.items(run_id, 0, "load")
    return [_row_item(r) for r in rows]


def synthetic_items(ctx: Context) -> list[Item]:
    """Questions the model wrote that this round's pool may take: this round's, and earlier rounds' when
    synthesis.keep_for_later_rounds is set."""
    rows = ctx.store.items(ctx.run_id, None, "synthesize")
    keep = ctx.config.synthesis.keep_for_later_rounds
    return [_row_item(r) for r in rows if r["round"] == ctx.round or (keep and r["round"] < ctx.round)]


def round_pool(ctx: Context) -> list[Item]:
    """The items this round samples and trains on: the registered pool plus accepted synthetic questions,
    mixed as synthesis.mix says (mix 1.0: synthetic questions only)."""
    originals = stored_pool(ctx)
    sc = ctx.config.synthesis
    if not sc.strategies:
        return originals
    chosen = cap_mix(len(originals), synthetic_items(ctx), sc.mix)
    pool = chosen if sc.mix >= 1 else originals + chosen
    if not pool:
        log.warning(
            "%s round %d: the round's pool is empty (no accepted synthetic questions)", ctx.run_id, ctx.round
        )
    return pool


def hidden_answers(config: RunConfig, synthetic: list[Item] = ()) -> dict[str, str]:
    """Pool answers for diagnostics (and the ground-truth oracle only); never read by a UPT reward.
    In the world, a synthetic question the grammar can parse has a true answer too."""
    if config.data.source != "world":
        return data.load_items(config.data, config.model, cache_dir("data")).answers
    path = world_path(config)
    answers = world.load_pool_answers(path)
    if synthetic:
        answers.update(world.synthetic_answers(config.world, path, synthetic))
    return answers
