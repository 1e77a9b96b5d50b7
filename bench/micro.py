"""Micro benchmarks: answer extraction + voting throughput, and HF sampler throughput on the tiny model.
Results go to bench/results/micro.{json,md}.

    .venv/bin/python -m bench.micro
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from mmupt_core.voting.answers import extract_answer
from mmupt_core.voting.vote import vote

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "bench" / "results"


def extraction_and_voting(n_items: int = 20000, k: int = 8) -> dict:
    rng = random.Random(0)
    texts = [
        f"View B: rc . # gs | {a} red. \\boxed{{{a}}}"
        for a in (rng.randint(0, 9) for _ in range(n_items * k))
    ]
    start = time.perf_counter()
    answers = [extract_answer(t) for t in texts]
    mid = time.perf_counter()
    for i in range(n_items):
        vote(answers[i * k : (i + 1) * k])
    end = time.perf_counter()
    return {
        "answers": len(texts),
        "extract_per_s": len(texts) / (mid - start),
        "vote_answers_per_s": len(texts) / (end - mid),
        "extract_and_vote_answers_per_s": len(texts) / (end - start),
    }


def _default_base():
    """The default config, its world and its base checkpoint (built and cached on first use)."""
    from mmupt_core.config import load_config
    from mmupt_core.model.bootstrap import run_bootstrap
    from mmupt_core.paths import cache_dir
    from mmupt_core.world import builder as world

    cfg = load_config(ROOT / "conf" / "tiny.yaml")
    wpath = world.build_world(cfg.world, cache_dir("world"))
    checkpoint, _ = run_bootstrap(cfg, wpath, cache_dir("bootstrap"))
    return cfg, wpath, str(checkpoint)


def sampler_throughput(
    checkpoint: str | None, n_items: int = 64, n: int = 8, threads: int = 1, encode_images_once: bool = True
) -> dict:
    import torch

    from mmupt_core.model.backend import open_sampler
    from mmupt_core.model.sampling import SamplingParams, requests_for
    from mmupt_core.world import builder as world

    torch.set_num_threads(threads)
    cfg, wpath, base = _default_base()
    cfg = cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"encode_images_once": encode_images_once})}
    )
    checkpoint = checkpoint or base
    items = world.load_split(wpath, "eval")[:n_items]
    reqs = requests_for(items, cfg.sampling.prompt_suffix, cfg.model.image_first)
    with open_sampler(cfg, str(checkpoint)) as sampler:
        sampler.sample(reqs[:8], SamplingParams(2, 1.0, 1.0, cfg.sampling.max_tokens, 0))  # warm-up
        start = time.perf_counter()
        sets = sampler.sample(reqs, SamplingParams(n, 1.0, 1.0, cfg.sampling.max_tokens, 0))
        wall = time.perf_counter() - start
    tokens = sum(c.n_tokens for s in sets for c in s.completions)
    return {
        "checkpoint": str(checkpoint),
        "threads": threads,
        "samples": n_items * n,
        "wall_s": wall,
        "samples_per_s": n_items * n / wall,
        "tokens_per_s": tokens / wall,
        "batch_size": cfg.sampling.batch_size,
        "encode_images_once": encode_images_once,
    }


def grpo_update_wall(rollouts: int = 2, repeats: int = 2) -> dict:
    """One GRPO update of `rollouts` rollouts (the default's 32 prompts x 8 completions each) on the default base,
    with each image encoded once and with every copy encoded, alternating so that both see the same machine."""
    import tempfile

    import torch

    from mmupt_core.model.sampling import load_images
    from mmupt_core.model.train import TrainItem, train_round
    from mmupt_core.rounds.pool import hidden_answers, pool_items
    from mmupt_core.rounds.stages import _train_options

    cfg, _, base = _default_base()
    torch.set_num_threads(cfg.model.threads)
    pool, _ = pool_items(cfg)
    pool, images, _ = load_images(pool[: rollouts * cfg.training.prompts_per_rollout])
    labels = hidden_answers(cfg, pool)  # any fixed labels do: only the time is measured
    items = [TrainItem(it.item_id, images[it.item_id], it.question, labels[it.item_id]) for it in pool]
    options = _train_options(cfg, base)
    tc = cfg.training.model_copy(update={"steps": rollouts})
    walls: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            for once in (False, True):
                start = time.perf_counter()
                train_round(base, items, tc, Path(tmp) / "out", **(options | {"encode_images_once": once}))
                walls[once].append(time.perf_counter() - start)
    every, once = min(walls[False]), min(walls[True])
    return {
        "rollouts": rollouts,
        "completions_per_rollout": tc.prompts_per_rollout * tc.num_generations,
        "threads": cfg.model.threads,
        "walls_every_copy_s": walls[False],
        "walls_once_s": walls[True],
        "speedup": every / once,
    }


def vllm_line() -> str:
    """vLLM runs only in its own environment (.venv-vllm): its figures come from bench.vllm_lane's last run."""
    path = RESULTS / "vllm.json"
    if not path.is_file():
        # the lane's table alone (vllm.md) is what a clone may have: quote its throughput row as it stands
        table = RESULTS / "vllm.md"
        rows = table.read_text().splitlines() if table.is_file() else []
        ratio = next((r.split("|")[2].strip() for r in rows if r.startswith("| vLLM / HF throughput")), None)
        if ratio is None:
            return "- vLLM (CPU build): not measured (make setup-vllm, then .venv-vllm/bin/python -m bench.vllm_lane)"
        return f"- vLLM (CPU build) against the HF sampler: {ratio} in the last run of bench.vllm_lane (bench/results/vllm.md)"
    m = json.loads(path.read_text())
    return (
        f"- vLLM (CPU build) against the HF sampler, one run of bench.vllm_lane ({m['items']:.0f} items x "
        f"{m['n']:.0f} draws): {m['vllm_samples_per_s']:.0f} vs {m['hf_samples_per_s']:.0f} samples/s = "
        f"{m['throughput_ratio']:.2f}x (engine start {m['vllm_load_s']:.0f} s excluded; bench/results/vllm.md)"
    )


def main() -> None:
    out = {"extraction_voting": extraction_and_voting()}
    for threads in (1, 2):
        out[f"hf_sampler_threads{threads}"] = sampler_throughput(None, threads=threads)
    out["hf_sampler_every_copy"] = sampler_throughput(None, threads=1, encode_images_once=False)
    out["grpo_update"] = grpo_update_wall()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "micro.json").write_text(json.dumps(out, indent=1))
    ev = out["extraction_voting"]
    lines = [
        "# Micro benchmarks",
        "",
        f"- extraction: {ev['extract_per_s']:.0f} answers/s; voting: {ev['vote_answers_per_s']:.0f} answers/s; "
        f"both: {ev['extract_and_vote_answers_per_s']:.0f} answers/s (goal ≥ 50,000)",
    ]
    every = out["hf_sampler_every_copy"]["samples_per_s"]
    for threads in (1, 2):
        s = out[f"hf_sampler_threads{threads}"]
        beside = f"; with every copy of an image encoded: {every:.0f} samples/s" if threads == 1 else ""
        lines.append(
            f"- HF sampler, {threads} thread(s), batch {s['batch_size']}: {s['samples_per_s']:.0f} samples/s, "
            f"{s['tokens_per_s']:.0f} tokens/s (goal ≥ 100 samples/s){beside}"
        )
    g = out["grpo_update"]
    lines.append(
        f"- GRPO update on the default base, {g['rollouts']} rollouts of {g['completions_per_rollout']} completions, "
        f"{g['threads']} thread(s), best of {len(g['walls_once_s'])}: {min(g['walls_once_s']):.1f} s with each image "
        f"encoded once against {min(g['walls_every_copy_s']):.1f} s with every copy = {g['speedup']:.2f}x "
        "(model.encode_images_once)"
    )
    lines.append(vllm_line())
    text = "\n".join(lines) + "\n"
    (RESULTS / "micro.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
