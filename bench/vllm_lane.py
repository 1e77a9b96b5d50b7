"""vLLM's CPU build against the transformers sampler, on the same tiny base and pool (the vLLM lane).

    make setup-vllm && .venv-vllm/bin/python -m bench.vllm_lane     # writes bench/results/vllm.md

Greedy agreement: the share of pool items whose greedy answer (extracted, as the vote reads it) is the same under
both backends. Sampled answers: per item, the total-variation distance between the two backends' answer
distributions over n draws, beside the same distance between two HF draws with different seeds (the noise floor
of n draws: a distance at the floor means the backends sample the same distribution). Throughput: completions
per second of the sampled pass, engine start excluded, both measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from mmupt_core.config import RunConfig, load_config
from mmupt_core.model.backend import make_sampler
from mmupt_core.model.sampling import SampleSet, SamplingParams, load_images, requests_for
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import run_rounds
from mmupt_core.rounds.pool import pool_items
from mmupt_core.voting.answers import extract_answer

RESULTS = Path(__file__).resolve().parent / "results"


def base_and_requests(config: RunConfig, run_id: str = "vllm-lane"):
    """The run's base checkpoint (round 0: the tiny model's first SFT) and one request per pool item."""
    run_rounds(config, 0, run_id)
    ck = Context(config, run_id, 0).store.checkpoint(run_id, 0)["path"]
    pool, images, _ = load_images(pool_items(config)[0])
    pool = sorted(pool, key=lambda it: it.item_id)
    return ck, pool, requests_for(pool, config.sampling.prompt_suffix, config.model.image_first, images)


def answers(sets: list[SampleSet], pool) -> list[list[str | None]]:
    return [
        [extract_answer(c.text, it.choices) for c in s.completions] for s, it in zip(sets, pool, strict=True)
    ]


def total_variation(a: list, b: list) -> float:
    pa, pb = Counter(a), Counter(b)
    return 0.5 * sum(abs(pa[k] / len(a) - pb[k] / len(b)) for k in set(pa) | set(pb))


def _timed(sampler, requests, params) -> tuple[list[SampleSet], float]:
    start = time.perf_counter()
    out = sampler.sample(requests, params)
    return out, time.perf_counter() - start


def compare(config: RunConfig, n: int = 8) -> dict[str, float]:
    ck, pool, requests = base_and_requests(config)
    sampled = SamplingParams(
        n=n, temperature=1.0, top_p=1.0, max_tokens=config.sampling.max_tokens, seed=config.sampling.seed
    )
    greedy = sampled.greedy()
    out: dict[str, float] = {"items": float(len(pool)), "n": float(n)}
    runs = {}
    for backend in ("hf", "vllm"):
        cfg = config.model_copy(deep=True)
        cfg.sampling.backend = backend
        start = time.perf_counter()
        sampler = make_sampler(cfg, ck)
        out[f"{backend}_load_s"] = time.perf_counter() - start
        g, _ = _timed(sampler, requests, greedy)
        s, wall = _timed(sampler, requests, sampled)
        out[f"{backend}_samples_per_s"] = len(pool) * n / wall
        runs[backend] = (answers(g, pool), answers(s, pool), [x.completions[0].text for x in g])
        if backend == "hf":
            again, _ = _timed(sampler, requests, replace(sampled, seed=sampled.seed + 1))
            runs["hf_again"] = answers(again, pool)
        sampler.close()  # the HF model's memory, or the vLLM engine's, before the next backend starts
    (hg, hs, ht), (vg, vs, vt) = runs["hf"], runs["vllm"]
    out["greedy_answer_agreement"] = statistics.mean(a[0] == b[0] for a, b in zip(hg, vg, strict=True))
    out["greedy_text_agreement"] = statistics.mean(a == b for a, b in zip(ht, vt, strict=True))
    out["tv_hf_vllm"] = statistics.mean(total_variation(a, b) for a, b in zip(hs, vs, strict=True))
    out["tv_hf_hf"] = statistics.mean(
        total_variation(a, b) for a, b in zip(hs, runs["hf_again"], strict=True)
    )
    out["throughput_ratio"] = out["vllm_samples_per_s"] / out["hf_samples_per_s"]
    return out


def report(m: dict[str, float], what: str) -> str:
    return "\n".join(
        [
            "# vLLM (CPU build) against the transformers sampler",
            "",
            f"{what}; {m['items']:.0f} pool items, one greedy answer and {m['n']:.0f} draws at T = 1 each, "
            "measured in one run on this 2-core machine (`python -m bench.vllm_lane`).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| greedy answers equal | {m['greedy_answer_agreement']:.1%} |",
            f"| greedy texts equal | {m['greedy_text_agreement']:.1%} |",
            f"| mean TV distance, HF vs vLLM answers | {m['tv_hf_vllm']:.3f} |",
            f"| mean TV distance, HF vs HF (another seed: the noise floor) | {m['tv_hf_hf']:.3f} |",
            f"| HF samples/s | {m['hf_samples_per_s']:.1f} |",
            f"| vLLM samples/s | {m['vllm_samples_per_s']:.1f} |",
            f"| vLLM / HF throughput | {m['throughput_ratio']:.2f}x |",
            f"| engine start: HF / vLLM | {m['hf_load_s']:.1f} s / {m['vllm_load_s']:.1f} s |",
            "",
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="conf/tiny.yaml")
    ap.add_argument("--set", action="append", default=[])
    args = ap.parse_args()
    config = load_config(args.config, args.set)
    m = compare(config)
    text = report(m, f"{args.config} {' '.join(args.set)}".strip() + " (its base: the first SFT)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vllm.md").write_text(text)
    (RESULTS / "vllm.json").write_text(
        json.dumps({"config": args.config, "overrides": args.set, **m}, indent=1)
    )
    print(text)


if __name__ == "__main__":
    main()
