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


def sampler_throughput(checkpoint: str | None, n_items: int = 64, n: int = 8, threads: int = 1) -> dict:
    import torch

    from mmupt_core.config import load_config
    from mmupt_core.model.backend import open_sampler
    from mmupt_core.model.bootstrap import run_bootstrap
    from mmupt_core.model.sampling import SamplingParams, requests_for
    from mmupt_core.paths import cache_dir
    from mmupt_core.world import builder as world

    torch.set_num_threads(threads)
    cfg = load_config(ROOT / "conf" / "tiny.yaml")
    wpath = world.build_world(cfg.world, cache_dir("world"))
    if checkpoint is None:
        checkpoint, _ = run_bootstrap(cfg, wpath, cache_dir("bootstrap"))
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
    }


def vllm_line() -> str:
    """vLLM runs only in its own environment (.venv-vllm): its figures come from bench.vllm_lane's last run."""
    path = RESULTS / "vllm.json"
    if not path.is_file():
        return "- vLLM (CPU build): not measured (make setup-vllm, then .venv-vllm/bin/python -m bench.vllm_lane)"
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
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "micro.json").write_text(json.dumps(out, indent=1))
    ev = out["extraction_voting"]
    lines = [
        "# Micro benchmarks",
        "",
        f"- extraction: {ev['extract_per_s']:.0f} answers/s; voting: {ev['vote_answers_per_s']:.0f} answers/s; "
        f"both: {ev['extract_and_vote_answers_per_s']:.0f} answers/s (goal ≥ 50,000)",
    ]
    for threads in (1, 2):
        s = out[f"hf_sampler_threads{threads}"]
        lines.append(
            f"- HF sampler, {threads} thread(s), batch {s['batch_size']}: {s['samples_per_s']:.0f} samples/s, "
            f"{s['tokens_per_s']:.0f} tokens/s (goal ≥ 100 samples/s)"
        )
    lines.append(vllm_line())
    text = "\n".join(lines) + "\n"
    (RESULTS / "micro.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
