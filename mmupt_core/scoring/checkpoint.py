"""A checkpoint at work: its sampler (HF or vLLM, as configured) and its scores on a benchmark, per item against
ground truth (the embedded world's held-out split, or one of the paper's benchmarks)."""

from __future__ import annotations

from contextlib import nullcontext

from mmupt_core.config import DEV_BENCHMARKS, RunConfig
from mmupt_core.model.backend import open_sampler
from mmupt_core.model.sampling import SamplingParams, load_images, requests_for
from mmupt_core.paths import cache_dir
from mmupt_core.scoring.evaluate import evaluate
from mmupt_core.world import builder as world
from mmupt_core.world.builder import world_path


def benchmark_label(cfg: RunConfig, name: str) -> str:
    """The name a benchmark's scores are stored and shown under: the scoring mode beside every paper
    benchmark ("mathvista_testmini:official"); the embedded world has one scorer."""
    return name if name in ("world_eval", *DEV_BENCHMARKS) else f"{name}:{cfg.evaluation.scoring}"


def benchmark_items(cfg: RunConfig, name: str):
    """(items, answers, scorer, extract) of one benchmark; world_eval is the embedded world's held-out split."""
    from mmupt_core.scoring.evaluate import EquivalenceScorer, default_extract

    if name == "world_eval":
        items = world.load_split(world_path(cfg), "eval")[: cfg.evaluation.limit]
        return items, {it.item_id: it.answer for it in items}, EquivalenceScorer(), default_extract
    if name == "world_dev":  # labelled: monitoring and the dev guard only (evaluation.dev_items)
        dev = world.build_dev_split(cfg.world, cache_dir("world"), cfg.evaluation.dev_items)
        items = world.load_split(dev, "dev")
        return items, {it.item_id: it.answer for it in items}, EquivalenceScorer(), default_extract
    from mmupt_core.scoring.benchmarks import load_benchmark

    ev = cfg.evaluation
    if name == "dev":  # labelled data of the user's own, in a benchmark's layout (evaluation.dev_benchmark)
        bench, loaded = load_benchmark(
            ev.dev_benchmark,
            cfg.model,
            cache_dir("benchmarks"),
            source=ev.dev_source,
            limit=ev.dev_items,
            max_source_pixels=cfg.data.max_source_pixels,
        )
        if ev.dev_benchmark in ev.benchmarks:
            reported, answers, _, _ = benchmark_items(cfg, ev.dev_benchmark)
            _check_apart(loaded, reported, answers, ev.dev_benchmark)
    else:
        bench, loaded = load_benchmark(
            name,
            cfg.model,
            cache_dir("benchmarks"),
            source=ev.sources.get(name),
            limit=ev.limit,
            max_source_pixels=cfg.data.max_source_pixels,
        )
    mode = cfg.evaluation.scoring
    scorer = bench.scorers[mode]
    if cfg.evaluation.judge_url:
        from mmupt_core.scoring.judge import JudgeScorer

        scorer = JudgeScorer(scorer, cfg.evaluation.judge_url, cfg.evaluation.judge_model)
    return loaded.items, loaded.answers, scorer, lambda text, item: bench.extract(text, item, mode)


def _check_apart(dev, reported: list, reported_answers: dict[str, str], name: str) -> None:
    """A dev set that chooses checkpoints must share no question with the benchmark it would be judged on: the
    same question text, answer and image is one question, wherever each copy came from."""
    import hashlib
    from pathlib import Path

    from mmupt_core.data.sources import DataError

    def keys(items, answers) -> set[tuple]:
        return {
            (
                it.question,
                answers.get(it.item_id),
                hashlib.sha256(Path(it.image).read_bytes()).hexdigest(),
            )
            for it in items
            if it.image and Path(it.image).is_file()
        }

    shared = keys(dev.items, dev.answers) & keys(reported, reported_answers)
    if shared:
        raise DataError(
            f"evaluation.dev_source shares {len(shared)} of its {len(dev.items)} questions with {name}, which this "
            "run reports: a dev set that chooses checkpoints must be apart from the benchmarks reported"
        )


def evaluate_checkpoint(
    cfg: RunConfig, checkpoint: str, seed: int = 0, benchmark: str = "world_eval", sampler=None
) -> dict[str, float]:
    items, answers, scorer, extract = benchmark_items(cfg, benchmark)
    items, images, _ = load_images([it for it in items if it.item_id in answers])
    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first, images)
    # a sampler handed in is the caller's to close; one built here is closed here
    with nullcontext(sampler) if sampler is not None else open_sampler(cfg, checkpoint) as s:
        metrics, results = evaluate(
            s,
            items,
            reqs,
            answers,
            SamplingParams.evaluation(cfg, seed),
            scorer=scorer,
            extract=extract,
        )
    if benchmark == "wemath_testmini":
        from mmupt_core.scoring.benchmarks import wemath_four_dimensional

        hits = [
            (it.meta["group"], it.meta["key"], scorer.score(r.greedy, it, r.answer))
            for it, r in zip(items, results, strict=True)
        ]
        metrics.update(wemath_four_dimensional(hits))
    return metrics
