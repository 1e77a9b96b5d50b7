"""Scores against ground truth, per item: never used for training.

- evaluate: greedy, sampled and maj@k accuracy of a sampler on items (`evaluate`, `EquivalenceScorer`)
- checkpoint: one checkpoint on one benchmark (`evaluate_checkpoint`, `benchmark_label`)
- benchmarks: MathVista, We-Math, MathVerse and MathVision in their published layouts (`load_benchmark`)
- official: each benchmark's official answer extraction and matching; lenient: forgiving matches
- latex_value: LaTeX answers as values; judge: an optional LLM judge over an OpenAI-style endpoint
"""

from mmupt_core.scoring.benchmarks import BENCHMARKS, load_benchmark
from mmupt_core.scoring.checkpoint import benchmark_label, evaluate_checkpoint
from mmupt_core.scoring.evaluate import EquivalenceScorer, Scorer, evaluate

__all__ = [
    "BENCHMARKS",
    "EquivalenceScorer",
    "Scorer",
    "benchmark_label",
    "evaluate",
    "evaluate_checkpoint",
    "load_benchmark",
]
