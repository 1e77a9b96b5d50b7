"""How accurate a model's greedy decoding, its samples and its majority are, estimated from its answers alone.

Majority-vote UPT moves a model toward its own majority answers: greedy decoding gains where the majority is right
more often than greedy, and loses where it is right less often. Which of the two holds cannot be read from the
answers without a model of how they err. This one is a latent-class model in the manner of Dawid and Skene (1979),
who estimated annotators' error rates from their agreements alone; here the annotators are the k samples and the
greedy decode of each question:

- each question has one true answer, a priori any of V answers (V: the distinct answers its question type gets);
- the question belongs to one of a few difficulty classes j; each sample is right with probability p_j;
- a wrong sample takes one of the V - 1 wrong answers from the question's own wrong-answer distribution, itself
  drawn from a symmetric Dirichlet with total concentration alpha: a small alpha makes wrong answers agree (a
  miscount off by one, a wrong panel read the same way), a large one scatters them;
- greedy decoding is right with its own probability q_j; when wrong it takes a wrong answer the way one more wrong
  sample would, so a greedy decode that repeats the samples' shared error is explained as wrong with them.

EM fits the class weights, p, q and alpha to the answers of one question type; each question's posterior over
which answer is true then gives the expected accuracy of its greedy answer, of its samples and of its majority.

Without a floor on p the fit prefers "every answer wrong, the errors agreeing": a question split 6-2 between two
answers is explained as well by "right 3 times in 4" as by "right 1 time in 4", so p_j >= P_FLOOR, as majority
voting itself assumes. What it measured (bench/results/probe-estimate.md, 11 bases with hidden answers): the
majority's lead over one sample within 0.04 on 10 of them (not on views, whose samples are mostly wrong), but
greedy decoding's accuracy 0.05 to 0.45 too high on 10 of 11, and the sign of majority - greedy wrong on 6 of
11. That sign is what a probe would need, so the probe does not use this model; it stays here as the
instrument that showed it.

    .venv/bin/python -m bench.probe_estimate --report      # fits every kept base and writes the comparison
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mmupt_core.voting.answers import equivalent
from mmupt_core.voting.vote import vote

# Initial sample (and greedy) accuracies of the difficulty classes; EM moves them.
START = (0.55, 0.75, 0.95)
# A sample is right more often than wrong in every class: without this floor a question whose answers split 6-2
# is explained as well by "right 3 times in 4" as by "right 1 time in 4, the errors agreeing", and the fit takes
# whichever small terms favour. Majority voting assumes the same; where it fails (the views world), so does this.
P_FLOOR = 0.5
ITERATIONS = 150
TOLERANCE = 1e-7
ALPHA_RANGE = (0.02, 200.0)
ALPHA_START = 1.0
_CLAMP = (1e-3, 1 - 1e-3)


@dataclass(frozen=True)
class Estimate:
    """Expected accuracies of one set of questions under the fitted model (no labels read), with the fit."""

    n: int
    greedy: float  # expected greedy accuracy
    sampled: float  # expected accuracy of one sample
    majority: float  # expected maj@k accuracy (a tie counts wrong, as in evaluation)
    # the fit: class weights, sample and greedy accuracy per class, wrong-answer concentration, answer space
    weights: tuple[float, ...] = ()
    p: tuple[float, ...] = ()
    q: tuple[float, ...] = ()
    alpha: float = 0.0
    answer_space: int = 0

    @property
    def greedy_gain(self) -> float:
        """Where UPT would take greedy decoding if it adopted the majority: majority - greedy."""
        return self.majority - self.greedy

    @property
    def sampled_gain(self) -> float:
        """The same for one sample: majority - sampled."""
        return self.majority - self.sampled


@dataclass(frozen=True)
class _Question:
    k: int  # samples drawn (unparsed ones included)
    counts: tuple[
        int, ...
    ]  # votes per distinct answer (class), the greedy answer's class included at 0 if unsampled
    greedy: int | None  # index into counts, None when greedy gave no answer
    majority: int | None  # index of the vote's label, None on a tie or no answer


def _question(greedy: str | None, samples: Sequence[str | None]) -> _Question:
    """One question's answers as a pattern that forgets the answers' names: two questions with the same pattern
    have the same likelihood, so the fit runs once per pattern."""
    forms: list[str] = []
    counts: list[int] = []

    def index(a: str) -> int:
        for i, f in enumerate(forms):
            if a == f or equivalent(a, f):
                return i
        forms.append(a)
        counts.append(0)
        return len(forms) - 1

    for a in samples:
        if a is not None:
            counts[index(a)] += 1
    g = index(greedy) if greedy is not None else None
    label = vote(list(samples)).label
    m = index(label) if label is not None else None
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], i != g, i != m))
    rank = {old: new for new, old in enumerate(order)}
    return _Question(
        len(samples),
        tuple(counts[i] for i in order),
        rank[g] if g is not None else None,
        rank[m] if m is not None else None,
    )


def _log_dirmult(wrong: Sequence[int], alpha: float, beta: float) -> float:
    """log P(this sequence of wrong answers), counts `wrong` on distinct named values, under the Dirichlet-
    multinomial with per-value concentration beta = alpha / (V - 1)."""
    m = sum(wrong)
    if m == 0:
        return 0.0
    out = math.lgamma(alpha) - math.lgamma(alpha + m)
    for c in wrong:
        if c:
            out += math.lgamma(beta + c) - math.lgamma(beta)
    return out


def _candidate_terms(q: _Question, alpha: float, v: int) -> list[tuple[int, float, bool, float]]:
    """Per candidate true answer (each seen answer, then 'an unseen one'): (votes for it, log P(the wrong answers
    and greedy's wrong pick | it), greedy right?, log prior weight)."""
    beta = alpha / max(1, v - 1)
    seen = len(q.counts)
    out = []
    for c in [*range(seen), None]:
        wrong = [n for i, n in enumerate(q.counts) if i != c]
        log_wrong = _log_dirmult(wrong, alpha, beta)
        right = q.greedy is not None and q.greedy == c
        if q.greedy is not None and not right:
            m = sum(wrong)
            log_wrong += math.log((beta + q.counts[q.greedy]) / (alpha + m))
        prior = math.log(max(1, v - seen)) if c is None else 0.0
        out.append((q.counts[c] if c is not None else 0, log_wrong, right, prior))
    return out


def _logsumexp(xs: Sequence[float]) -> float:
    top = max(xs)
    return top + math.log(sum(math.exp(x - top) for x in xs))


def _clamp(x: float) -> float:
    return min(_CLAMP[1], max(_CLAMP[0], x))


def _posteriors(qs, terms, weights, p, q):
    """Per pattern: (log likelihood of one such question, [[responsibility per candidate] per class])."""
    out = []
    for que, cands in zip(qs, terms, strict=True):
        table = []
        for w, pj, qj in zip(weights, p, q, strict=True):
            row = []
            for votes, log_wrong, right, prior in cands:
                ll = prior + log_wrong + votes * math.log(pj) + (que.k - votes) * math.log(1 - pj)
                if que.greedy is not None:
                    ll += math.log(qj) if right else math.log(1 - qj)
                row.append(math.log(w) + ll)
            table.append(row)
        total = _logsumexp([x for row in table for x in row])
        out.append((total, [[math.exp(x - total) for x in row] for row in table]))
    return out


def _fit_alpha(qs, mult, resp, v: int) -> float:
    """The alpha that maximises the expected log likelihood of the wrong answers (golden-section on log alpha)."""
    per_cand = [
        [sum(row[c] for row in table) for c in range(len(que.counts) + 1)]
        for que, (_, table) in zip(qs, resp, strict=True)
    ]

    def score(log_a: float) -> float:
        a = math.exp(log_a)
        s = 0.0
        for que, n, rs in zip(qs, mult, per_cand, strict=True):
            for r, (_, log_wrong, _, _) in zip(rs, _candidate_terms(que, a, v), strict=True):
                if r > 1e-9:
                    s += n * r * log_wrong
        return s

    lo, hi = math.log(ALPHA_RANGE[0]), math.log(ALPHA_RANGE[1])
    g = (math.sqrt(5) - 1) / 2
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = score(x1), score(x2)
    for _ in range(25):
        if f1 < f2:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = score(x2)
        else:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = score(x1)
    return math.exp(x1 if f1 >= f2 else x2)


def _answer_space(greedy: Sequence[str | None], samples: Sequence[Sequence[str | None]]) -> int:
    """V: the distinct answers this question type gets, and room for one it never gets."""
    seen: list[str] = []
    for g, s in zip(greedy, samples, strict=True):
        for a in [*s, g]:
            if a is not None and not any(a == f or equivalent(a, f) for f in seen):
                seen.append(a)
    return max(2, len(seen) + 1)


def estimate(greedy: Sequence[str | None], samples: Sequence[Sequence[str | None]]) -> Estimate:
    """Fit the model to one question type's answers (one greedy answer and k samples per question) and return
    the expected accuracies; see the module docstring for the model and what it cannot see."""
    patterns = Counter(_question(g, s) for g, s in zip(greedy, samples, strict=True))
    n = sum(patterns.values())
    if n == 0:
        return Estimate(0, 0.0, 0.0, 0.0)
    qs, mult = list(patterns), list(patterns.values())
    v = _answer_space(greedy, samples)
    weights, p, q, alpha = [1 / len(START)] * len(START), list(START), list(START), ALPHA_START
    last = -math.inf
    for _ in range(ITERATIONS):
        terms = [_candidate_terms(que, alpha, v) for que in qs]
        resp = _posteriors(qs, terms, weights, p, q)
        ll = sum(m * t for m, (t, _) in zip(mult, resp, strict=True))
        if ll - last < TOLERANCE * n:
            break
        last = ll
        for j in range(len(START)):
            mass = [m * sum(table[j]) for m, (_, table) in zip(mult, resp, strict=True)]
            weights[j] = max(sum(mass) / n, 1e-6)
            right_votes = sum(
                m * r * cand[0]
                for m, (_, table), cands in zip(mult, resp, terms, strict=True)
                for r, cand in zip(table[j], cands, strict=True)
            )
            drawn = sum(w * que.k for w, que in zip(mass, qs, strict=True))
            p[j] = max(P_FLOOR, _clamp(right_votes / drawn)) if drawn > 0 else p[j]
            g_right = sum(
                m * r * cand[2]
                for m, (_, table), cands, que in zip(mult, resp, terms, qs, strict=True)
                if que.greedy is not None
                for r, cand in zip(table[j], cands, strict=True)
            )
            g_mass = sum(w for w, que in zip(mass, qs, strict=True) if que.greedy is not None)
            q[j] = _clamp(g_right / g_mass) if g_mass > 0 else q[j]
        alpha = _fit_alpha(qs, mult, resp, v)
    g_acc = s_acc = m_acc = 0.0
    for que, m, (_, table) in zip(qs, mult, resp, strict=True):
        true = [sum(row[c] for row in table) for c in range(len(que.counts) + 1)]
        if que.greedy is not None:
            g_acc += m * true[que.greedy]
        if que.majority is not None:
            m_acc += m * true[que.majority]
        # `true` ends with 'an answer never given', which no sample gave
        s_acc += m * sum(t * c for t, c in zip(true, que.counts, strict=False)) / max(1, que.k)
    return Estimate(
        n=n,
        greedy=g_acc / n,
        sampled=s_acc / n,
        majority=m_acc / n,
        weights=tuple(weights),
        p=tuple(p),
        q=tuple(q),
        alpha=alpha,
        answer_space=v,
    )
