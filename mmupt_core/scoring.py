"""A checkpoint at work: its sampler (HF or vLLM, as configured) and its scores on a benchmark, per item against
ground truth (the embedded world's held-out split, or one of the paper's benchmarks)."""

from __future__ import annotations

import torch

from mmupt_core import tiny, world
from mmupt_core.config import RunConfig
from mmupt_core.evaluate import evaluate
from mmupt_core.paths import cache_dir
from mmupt_core.pool import world_path
from mmupt_core.sampling import HFSampler, choose_backend, load_images, requests_for


def make_sampler(config: RunConfig, checkpoint: str):
    """The configured sampler backend for a checkpoint (HF on CPU, vLLM when chosen)."""
    backend = choose_backend(config.sampling.backend)
    if backend == "vllm":
        from transformers import AutoProcessor

        from mmupt_core.sampling import VLLMSampler

        processor = AutoProcessor.from_pretrained(
            checkpoint, trust_remote_code=config.model.trust_remote_code
        )
        return VLLMSampler(checkpoint, processor, trust_remote_code=config.model.trust_remote_code)
    from mmupt_core.models import torch_dtype

    model, processor = tiny.load_pretrained(
        checkpoint, trust_remote_code=config.model.trust_remote_code, dtype=torch_dtype(config.model.dtype)
    )
    if torch.cuda.is_available():
        model.to("cuda")
    return HFSampler(
        model,
        processor,
        batch_size=config.sampling.batch_size,
        suppress_token_ids=tiny.suppressed_token_ids(processor.tokenizer),
    )


def benchmark_label(cfg: RunConfig, name: str) -> str:
    """The name a benchmark's scores are stored and shown under: the scoring mode beside every paper
    benchmark ("mathvista_testmini:official"); the embedded world has one scorer."""
    return name if name == "world_eval" else f"{name}:{cfg.evaluation.scoring}"


def benchmark_items(cfg: RunConfig, name: str):
    """(items, answers, scorer, extract) of one benchmark; world_eval is the embedded world's held-out split."""
    from mmupt_core.evaluate import EquivalenceScorer, default_extract

    if name == "world_eval":
        items = world.load_split(world_path(cfg), "eval")[: cfg.evaluation.limit]
        return items, {it.item_id: it.answer for it in items}, EquivalenceScorer(), default_extract
    from mmupt_core.benchmarks import load_benchmark

    bench, loaded = load_benchmark(
        name,
        cfg.model,
        cache_dir("benchmarks"),
        source=cfg.evaluation.sources.get(name),
        limit=cfg.evaluation.limit,
        max_source_pixels=cfg.data.max_source_pixels,
    )
    mode = cfg.evaluation.scoring
    scorer = bench.scorers[mode]
    if cfg.evaluation.judge_url:
        from mmupt_core.judge import JudgeScorer

        scorer = JudgeScorer(scorer, cfg.evaluation.judge_url, cfg.evaluation.judge_model)
    return loaded.items, loaded.answers, scorer, lambda text, item: bench.extract(text, item, mode)


def evaluate_checkpoint(
    cfg: RunConfig, checkpoint: str, seed: int = 0, benchmark: str = "world_eval", sampler=None
) -> dict[str, float]:
    items, answers, scorer, extract = benchmark_items(cfg, benchmark)
    items, images, _ = load_images([it for it in items if it.item_id in answers])
    sampler = sampler or make_sampler(cfg, checkpoint)
    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first, images)
    metrics, results = evaluate(
        sampler,
        items,
        reqs,
        answers,
        k=cfg.evaluation.k,
        temperature=cfg.evaluation.temperature,
        max_tokens=cfg.sampling.max_tokens,
        seed=seed,
        scorer=scorer,
        top_p=cfg.sampling.top_p,
        extract=extract,
    )
    if benchmark == "wemath_testmini":
        from mmupt_core.benchmarks import wemath_four_dimensional

        hits = [
            (it.meta["group"], it.meta["key"], scorer.score(r.greedy, it, r.answer))
            for it, r in zip(items, results, strict=True)
        ]
        metrics.update(wemath_four_dimensional(hits))
    return metrics
