"""The stages of a round as plain functions over references: (context) -> StageRecord.

Each stage reads what earlier stages stored (item rows, Parquet sample files, pseudo-labels, checkpoint paths)
and returns everything it produced as one `StageRecord`, which `run_stage` writes atomically with the stage's
status. A stage that crashed part-way simply runs again: its files are written under temporary names and
renamed, and its rows replace the old ones. Prefect tasks wrap these one to one; `mmupt_core.rounds` runs
them without Prefect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from mmupt_core import events
from mmupt_core.config import RunConfig
from mmupt_core.model import tiny
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.bootstrap import run_bootstrap
from mmupt_core.model.sampling import (
    ANSWERABILITY_SEED_OFFSET,
    SYNTHESIS_SEED_OFFSET,
    SamplingParams,
    load_images,
    requests_for,
)
from mmupt_core.paths import cache_dir
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.diagnostics import round_diagnostics
from mmupt_core.rounds.pool import (
    hidden_answers,
    item_row,
    pool_items,
    round_pool,
    stored_pool,
    synthetic_items,
)
from mmupt_core.scoring.checkpoint import benchmark_label, evaluate_checkpoint
from mmupt_core.store.rows import StageRecord, metric_rows
from mmupt_core.voting.answers import extract_answer
from mmupt_core.voting.vote import vote
from mmupt_core.world.builder import world_path

log = logging.getLogger(__name__)


# -- setup (round 0) ---------------------------------------------------------------------------------------
def bootstrap_stage(ctx: Context) -> StageRecord:
    """Round 0: the base checkpoint (the tiny model's first SFT, cached; or the configured model path)."""
    cfg = ctx.config
    if cfg.model.name_or_path == "tiny":
        steps = cfg.bootstrap.steps
        path, info = run_bootstrap(
            cfg,
            world_path(cfg),
            cache_dir("bootstrap"),
            on_step=lambda k, _: events.progress(k + 1, steps, "steps"),
        )
        metrics = metric_rows(
            "bootstrap", {k: info[k] for k in ("wall_s", "params", "steps", "loss_last")}, None
        )
    else:
        from mmupt_core.model.checkpoints import resolve_model

        path, metrics = resolve_model(cfg.model.name_or_path), []
    return StageRecord(metrics=metrics, checkpoint={"path": str(path), "parent_id": None})


def load_stage(ctx: Context) -> StageRecord:
    """Round 0: register the unlabeled pool; items that cannot be used go to rejected_items with a reason."""
    items, rejected = pool_items(ctx.config)
    return StageRecord(items=[item_row(it) for it in items], rejected_items=rejected)


def probe_stage(ctx: Context) -> StageRecord:
    """Round 0: what majority voting can teach the base on the unlabeled pool, from agreement alone (probe.py)."""
    from mmupt_core.rounds.probe import probe_checkpoint

    cfg = ctx.config
    _set_threads(cfg)
    pool, images, rejected = load_images(stored_pool(ctx))
    ck = ctx.store.checkpoint(ctx.run_id, 0)
    if ck is None:
        raise ValueError(f"run {ctx.run_id!r} has no base checkpoint; run the bootstrap first")
    result = probe_checkpoint(cfg, ck["path"], pool, images)
    for line in result.lines():
        log.info("%s: %s", ctx.run_id, line)
    metrics = metric_rows("probe", result.metrics(), result.n)
    return StageRecord(metrics=metrics, rejected_items=rejected)


# -- the round -----------------------------------------------------------------------------------------------
def current_checkpoint(ctx: Context) -> dict:
    """The checkpoint this round starts from: the latest finished one before this round."""
    rows = [c for c in ctx.store.lineage(ctx.run_id) if c["round"] < ctx.round]
    if not rows:
        raise ValueError(
            f"run {ctx.run_id!r} has no checkpoint before round {ctx.round}; run the bootstrap first"
        )
    return rows[0]


def _set_threads(config: RunConfig) -> None:
    torch.set_num_threads(config.model.threads)


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def synthesize_stage(ctx: Context) -> StageRecord:
    """The round's starting model writes new questions about the pool's images; each candidate is filtered
    (synthesis.py) and recorded with its provenance; accepted ones become items of this round."""
    from mmupt_core.rounds import synthesis

    cfg, sc = ctx.config, ctx.config.synthesis
    if not sc.strategies:
        return StageRecord()
    _set_threads(cfg)
    parents, images, rejected = load_images(stored_pool(ctx))
    ck = current_checkpoint(ctx)
    previous = ctx.store.pseudo_labels(ctx.run_id, ctx.round - 1) if ctx.round > 1 else []
    labels = {p["item_id"]: p["label"] for p in previous if p["accepted"]}
    seed = SamplingParams.votes(cfg, ctx.round, SYNTHESIS_SEED_OFFSET).seed
    existing: dict[str, list[str]] = {}
    for it in parents + [it for it in synthetic_items(ctx) if it.meta.get("round", ctx.round) < ctx.round]:
        existing.setdefault(it.image, []).append(it.question)
    with open_sampler(cfg, ck["path"]) as sampler:
        cands = synthesis.generate(
            sampler, parents, sc, image_first=cfg.model.image_first, seed=seed, labels=labels, images=images
        )
        synthesis.text_filters(cands, sc, existing, ctx.round, ck["path"])
        synthesis.answerability(
            sampler,
            cands,
            cfg.voting,
            SamplingParams.votes(cfg, ctx.round, ANSWERABILITY_SEED_OFFSET),
            suffix=cfg.sampling.prompt_suffix,
            image_first=cfg.model.image_first,
        )
    accepted = [c for c in cands if c.outcome == "accepted"]
    items = [item_row(c.item, filter="accepted", agreement=c.agreement) for c in accepted]
    metrics = metric_rows("synthesis", _synthesis_stats(cfg, cands, accepted), len(cands))
    return StageRecord(
        items=items, synthesis=_candidate_rows(cands, ck["path"]), metrics=metrics, rejected_items=rejected
    )


def _candidate_rows(cands: list, generator: str) -> list[dict]:
    """Every synthesis candidate as a row of the synthesis table, with its provenance and outcome."""
    return [
        {
            "candidate_idx": i,
            "parent_item_id": c.parent.item_id,
            "strategy": c.strategy,
            "generator_checkpoint": generator,
            "text": c.text,
            "question": c.question,
            "item_id": c.item.item_id if c.item else None,
            "outcome": c.outcome,
            "label": c.label,
            "agreement": c.agreement,
        }
        for i, c in enumerate(cands)
    ]


def _synthesis_stats(cfg: RunConfig, cands: list, accepted: list) -> dict[str, float]:
    """The candidates' outcome rates, per strategy too, and (world only) how often accepted labels are right."""
    from mmupt_core.rounds import synthesis

    stats = synthesis.summary(cands)
    for strategy in cfg.synthesis.strategies:
        mine = [c for c in cands if c.strategy == strategy]
        stats[f"accept_rate_{strategy}"] = (
            sum(c.outcome == "accepted" for c in mine) / len(mine) if mine else 0.0
        )
    if accepted and cfg.data.source == "world":
        # Diagnostics only: how many accepted questions the world can answer, and how often their vote is right.
        truth = hidden_answers(cfg, [c.item for c in accepted])
        answerable = [c for c in accepted if c.item.item_id in truth]
        stats["world_answerable_rate"] = len(answerable) / len(accepted)
        if answerable:
            stats["label_acc"] = sum(c.label == truth[c.item.item_id] for c in answerable) / len(answerable)
    return stats


def sample_stage(ctx: Context) -> StageRecord:
    """Draw n_votes answers per pool item from the round's starting checkpoint; samples go to Parquet."""
    cfg = ctx.config
    _set_threads(cfg)
    pool, images, rejected = load_images(round_pool(ctx))
    ck = current_checkpoint(ctx)
    with open_sampler(cfg, ck["path"]) as sampler:
        sets = sampler.sample(
            requests_for(pool, cfg.sampling.prompt_suffix, cfg.model.image_first, images),
            SamplingParams.votes(cfg, ctx.round),
        )
    rows = {k: [] for k in ("item_id", "sample_idx", "text", "answer", "finish_reason", "n_tokens")}
    for it, s in zip(pool, sets, strict=True):
        for idx, c in enumerate(s.completions):
            rows["item_id"].append(it.item_id)
            rows["sample_idx"].append(idx)
            rows["text"].append(c.text)
            rows["answer"].append(extract_answer(c.text, it.choices))
            rows["finish_reason"].append(c.finish_reason)
            rows["n_tokens"].append(c.n_tokens)
    path = ctx.round_dir / "samples.parquet"
    write_parquet_atomic(pa.table(rows), path)
    return StageRecord(samples=[{"path": str(path), "n_rows": len(rows["item_id"])}], rejected_items=rejected)


def vote_stage(ctx: Context) -> StageRecord:
    """Majority vote per item over its samples; the filters decide which pseudo-labels are accepted."""
    cfg = ctx.config
    files = ctx.store.sample_files(ctx.run_id, ctx.round)
    if not files:
        raise ValueError(
            f"run {ctx.run_id!r} round {ctx.round}: no samples recorded; run the sample stage first"
        )
    table = pq.read_table(files[0]["path"], columns=["item_id", "answer"]).to_pydict()
    by_item: dict[str, list[str | None]] = {}
    for item_id, ans in zip(table["item_id"], table["answer"], strict=True):
        by_item.setdefault(item_id, []).append(ans)
    hidden = hidden_answers(cfg, synthetic_items(ctx))
    labels, correct = [], []
    for item_id, answers in by_item.items():
        v = vote(answers, tie_break=cfg.voting.tie_break)
        ok = v.accepted(cfg.voting.min_agreement, cfg.voting.min_valid)
        labels.append(
            {
                "item_id": item_id,
                "label": v.label,
                "votes": v.votes,
                "n_valid": v.n_valid,
                "agreement": v.agreement,
                "accepted": ok,
            }
        )
        if ok and item_id in hidden:
            correct.append(v.label == hidden[item_id])
    metrics = round_diagnostics(by_item, labels)
    if correct:
        # Diagnostic only: how often accepted pseudo-labels match the hidden answers. Never used for training.
        metrics += metric_rows("pool", {"pseudo_label_acc": sum(correct) / len(correct)}, len(correct))
    return StageRecord(pseudo_labels=labels, metrics=metrics)


def train_stage(ctx: Context) -> StageRecord:
    """GRPO on the round's accepted items; the checkpoint's parent is the round's starting checkpoint."""
    from mmupt_core.model.train import TrainItem, launch, train_round, write_job

    cfg = ctx.config
    _set_threads(cfg)
    ck = current_checkpoint(ctx)
    labels = {
        p["item_id"]: p["label"] for p in ctx.store.pseudo_labels(ctx.run_id, ctx.round) if p["accepted"]
    }
    from mmupt_core.rounds.guard import held_out_types

    held = held_out_types(cfg, ctx.run_id)  # label-free: the probe's per-type verdicts
    chosen = [it for it in round_pool(ctx) if it.item_id in labels]
    if held:
        kept = [it for it in chosen if (it.meta or {}).get("type") not in held]
        log.warning(
            "%s round %d: %d item(s) of type %s held out of training (the probe's verdict on them stops)",
            ctx.run_id,
            ctx.round,
            len(chosen) - len(kept),
            ", ".join(sorted(held)),
        )
        chosen = kept
    pool, images, rejected = load_images(chosen)
    truth = hidden_answers(cfg, pool) if cfg.training.reward == "ground_truth" else {}
    if not pool:
        # Nothing passed the filters: no pseudo-label, no update. The round carries its checkpoint forward.
        log.warning(
            "%s round %d: no accepted items; keeping checkpoint %s", ctx.run_id, ctx.round, ck["path"]
        )
        return StageRecord(
            metrics=metric_rows("train", {"items": 0.0}, 0),
            checkpoint={"path": ck["path"], "parent_id": ck["checkpoint_id"]},
        )
    out = ctx.dir / "checkpoints" / f"round-{ctx.round}"
    options = _train_options(cfg, ck["path"])
    if cfg.training.launcher == "accelerate":
        rows = [
            {
                "item_id": it.item_id,
                "image": it.image,
                "question": it.question,
                "pseudo_label": labels[it.item_id],
                "answer": truth.get(it.item_id),
            }
            for it in pool
        ]
        job = write_job(
            out.with_name(out.name + ".job"), rows, checkpoint=ck["path"], tc=cfg.training, out=out, **options
        )
        metrics = launch(job, cfg.training)
    else:
        items = [
            TrainItem(it.item_id, images[it.item_id], it.question, labels[it.item_id], truth.get(it.item_id))
            for it in pool
        ]
        metrics = train_round(Path(ck["path"]), items, cfg.training, out, **options)
    metrics["items"] = float(len(pool))
    rows = metric_rows("train", metrics, len(pool))
    return StageRecord(
        metrics=rows,
        checkpoint={"path": str(out), "parent_id": ck["checkpoint_id"]},
        rejected_items=rejected,
    )


def _train_options(cfg: RunConfig, checkpoint: str) -> dict:
    """What train_round (in process or under accelerate) needs besides the items: prompt shape, the vote's
    rules for the reward, and the special tokens sampling must never emit (a sampled image token breaks the
    GRPO re-forward)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint, trust_remote_code=cfg.model.trust_remote_code)
    return {
        "suffix": cfg.sampling.prompt_suffix,
        "image_first": cfg.model.image_first,
        "tie_break": cfg.voting.tie_break,
        "min_agreement": cfg.voting.min_agreement,
        "trust_remote_code": cfg.model.trust_remote_code,
        "suppress_tokens": tiny.suppressed_token_ids(tokenizer),
        "encode_images_once": cfg.model.encode_images_once,
    }


def evaluate_stage(ctx: Context) -> StageRecord:
    """Score the round's new checkpoint on each configured benchmark against ground truth, per item."""
    cfg = ctx.config
    _set_threads(cfg)
    ck = ctx.store.checkpoint(ctx.run_id, ctx.round)
    if ck is None:
        raise ValueError(f"run {ctx.run_id!r} round {ctx.round}: no checkpoint; run the train stage first")
    rows = []
    dev_set = cfg.evaluation.dev_set()
    dev = [dev_set] if dev_set else []  # labelled, apart from the held-out benchmarks
    with open_sampler(cfg, ck["path"]) as sampler:
        for name in [*cfg.evaluation.benchmarks, *dev]:
            metrics = evaluate_checkpoint(cfg, ck["path"], benchmark=name, sampler=sampler)
            counts = {k: int(metrics.pop(k)) for k in [k for k in metrics if k == "n" or k.startswith("n/")]}
            for row in metric_rows(benchmark_label(cfg, name), metrics, counts["n"]):
                # a per-type metric ("greedy_acc/count") counts that type's questions, not the benchmark's
                kind = row["metric"].split("/", 1)[1] if "/" in row["metric"] else None
                rows.append(row | {"n": counts.get(f"n/{kind}", counts["n"])})
    return StageRecord(metrics=rows)


def record_stage(ctx: Context) -> StageRecord:
    """Close the round: label-free stopping signals from this and the previous round's votes."""
    from mmupt_core.rounds.diagnostics import stopping_signals

    prev = ctx.store.pseudo_labels(ctx.run_id, ctx.round - 1) if ctx.round > 1 else []
    cur = ctx.store.pseudo_labels(ctx.run_id, ctx.round)
    metrics = stopping_signals(prev, cur)
    return StageRecord(metrics=metric_rows("stopping", metrics, len(cur)))


STAGE_FUNCTIONS: dict[str, Callable[[Context], StageRecord]] = {
    "bootstrap": bootstrap_stage,
    "load": load_stage,
    "probe": probe_stage,
    "synthesize": synthesize_stage,
    "sample": sample_stage,
    "vote": vote_stage,
    "train": train_stage,
    "evaluate": evaluate_stage,
    "record": record_stage,
}


def stop_suggested(ctx: Context) -> bool:
    """Whether the round's label-free stopping signal fired (see diagnostics.stopping_signals)."""
    rows = [
        m
        for m in ctx.store.metrics(ctx.run_id)
        if m["round"] == ctx.round and m["benchmark"] == "stopping" and m["metric"] == "stop_suggested"
    ]
    return bool(rows and rows[0]["value"])
