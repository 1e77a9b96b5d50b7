"""The label-free latent-class estimate of greedy, sampled and majority accuracy (bench/estimate.py): what it gets
right on answers drawn from its own model, and that it reads only the answers' pattern, not their names."""

import random

from bench.estimate import estimate


def _world(n, classes, answers, alpha, seed):
    """n questions drawn from the estimator's own model: classes of (weight, sample accuracy, greedy accuracy),
    wrong answers from a per-question Dirichlet of total concentration alpha. Returns greedy, samples, truths."""
    rng = random.Random(seed)
    greedy, samples, truths = [], [], []
    for _ in range(n):
        _, p, q = rng.choices(classes, weights=[c[0] for c in classes])[0]
        values = [f"a{i}" for i in range(answers)]
        truth = rng.choice(values)
        wrong = [v for v in values if v != truth]
        theta = [rng.gammavariate(alpha / len(wrong), 1) + 1e-12 for _ in wrong]
        samples.append([truth if rng.random() < p else rng.choices(wrong, theta)[0] for _ in range(8)])
        greedy.append(truth if rng.random() < q else rng.choices(wrong, theta)[0])
        truths.append(truth)
    return greedy, samples, truths


def _greedy_acc(greedy, truths):
    return sum(g == t for g, t in zip(greedy, truths, strict=True)) / len(truths)


def test_it_finds_greedy_worse_or_better_than_its_majority_when_answers_follow_its_model():
    worse = _world(300, [(0.5, 0.6, 0.2), (0.5, 0.85, 0.6)], 8, 2.0, seed=1)
    e = estimate(*worse[:2])
    assert e.greedy_gain > 0.3 and abs(e.greedy - _greedy_acc(worse[0], worse[2])) < 0.05
    better = _world(300, [(0.5, 0.5, 0.9), (0.5, 0.8, 0.97)], 8, 0.5, seed=2)
    e = estimate(*better[:2])
    assert e.greedy_gain < -0.1
    assert e.sampled_gain > 0  # the majority of mostly-right samples beats one sample


def test_it_reads_the_answers_pattern_not_their_names():
    greedy, samples, _ = _world(60, [(1.0, 0.7, 0.7)], 5, 1.0, seed=3)
    renamed = {f"a{i}": name for i, name in enumerate(["red", "blue", "green", "pink", "grey"])}
    a = estimate(greedy, samples)
    b = estimate([renamed[g] for g in greedy], [[renamed[x] for x in s] for s in samples])
    assert (a.greedy, a.sampled, a.majority) == (b.greedy, b.sampled, b.majority)


def test_unanimous_answers_are_estimated_right_and_empty_input_is_empty():
    e = estimate(["4"] * 20, [["4"] * 8] * 20)
    assert e.greedy > 0.9 and e.majority > 0.9 and abs(e.greedy_gain) < 1e-6
    assert estimate([], []).n == 0
    # unparsed answers never vote and count as wrong samples
    e = estimate([None] * 10, [[None] * 4 + ["2"] * 4] * 10)
    assert e.greedy == 0.0 and e.sampled < e.majority
