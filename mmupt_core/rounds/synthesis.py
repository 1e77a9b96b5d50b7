"""Question synthesis: the model writes new questions about the pool's images.

Two strategies (the paper's, whose prompts and filters were never released; these are ours):
- in-context: the image, an existing question and, when the previous round voted on it, its pseudo-label go in;
  the model writes a new, different question about the same image;
- direct: the image alone goes in; the model writes a question.

Every candidate ends with one outcome, in this order of checks (the first that fails names it):
    unparsed        the output holds no question (plain: truncated at max_tokens; tagged: no <question> tags)
    empty           the question is blank or shorter than min_chars
    too_long        longer than max_chars
    answer_leak     it states an answer (\\boxed, "the answer is ...", or its own majority answer as a word)
    near_duplicate  its normalised text is (nearly) that of a question already asked about the same image
    unanswerable    its own majority vote fails the voting filters (min_agreement, min_valid, ties)
    accepted
The answer-leak check runs twice: on the text before sampling, and with the majority answer after voting.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from hashlib import sha256
from pathlib import Path

from PIL import Image

from mmupt_core.config import SynthesisConfig, VotingConfig
from mmupt_core.data.items import Item, make_item_id
from mmupt_core.model.sampling import Request, Sampler, SamplingParams, load_image, requests_for
from mmupt_core.prompts import synthesis_prompt, text_messages
from mmupt_core.voting.answers import extract_answer
from mmupt_core.voting.vote import vote

OUTCOMES = ("accepted", "unparsed", "empty", "too_long", "answer_leak", "near_duplicate", "unanswerable")
_TAGGED = re.compile(r"<question>(.*?)</question>", re.S | re.I)
_LABEL = re.compile(r"^\s*(?:new\s+)?question\s*[:：]\s*", re.I)
_LEAK = re.compile(r"\\boxed|\b(?:the\s+)?(?:final\s+)?answer\s*(?:is|:|=)|\bsolution\s*:", re.I)
_NON_WORD = re.compile(r"[^\w]+")


@dataclass
class Candidate:
    parent: Item
    strategy: str
    text: str
    finish_reason: str = "stop"
    question: str | None = None
    outcome: str = "pending"
    item: Item | None = None
    label: str | None = None
    agreement: float | None = None
    meta: dict = field(default_factory=dict)


def parse_output(text: str, finish_reason: str = "stop", output_format: str = "plain") -> str | None:
    """The question in a generation, or None when it does not parse (see the module docstring)."""
    if output_format == "tagged":
        found = _TAGGED.findall(text)
        return found[-1].strip() if found else None
    if finish_reason == "length":
        return None  # cut off mid-question
    return _LABEL.sub("", text.strip(), count=1).strip().strip('"').strip()


def normalize_question(text: str) -> str:
    """Lower case, punctuation to spaces, one space between words: the text near-duplicates are judged on."""
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


def is_near_duplicate(norm: str, seen: Sequence[str], similarity: float) -> bool:
    for other in seen:
        if norm == other or (similarity < 1 and SequenceMatcher(None, norm, other).ratio() >= similarity):
            return True
    return False


def leaks_answer(question: str, label: str | None = None) -> bool:
    """Whether the question gives its answer away: an answer phrase, or its own answer as a separate word.

    The second test can reject a real question whose answer equals a number it states; we accept that loss.
    """
    if _LEAK.search(question):
        return True
    if label is None or not label.strip():
        return False
    return re.search(rf"(?<![\w.]){re.escape(label.strip())}(?![\w]|\.\d)", question) is not None


def candidate_item(c: Candidate, round_: int, image_digest: str, generator: str) -> Item:
    """A parsed candidate as an Item of source synth:<strategy>:<round> (image shared with its parent)."""
    assert c.question is not None
    return Item(
        item_id=make_item_id(image_digest.encode(), c.question),
        source=f"synth:{c.strategy}:{round_}",
        image=c.parent.image,
        question=c.question,
        split=c.parent.split,
        parent_item_id=c.parent.item_id,
        meta={"strategy": c.strategy, "round": round_, "generator_checkpoint": generator},
    )


def _image_digest(path: str) -> str:
    return sha256(Path(path).read_bytes()).hexdigest()


def generate(
    sampler: Sampler,
    parents: Sequence[Item],
    cfg: SynthesisConfig,
    *,
    image_first: bool,
    seed: int,
    labels: dict[str, str] | None = None,
    images: dict[str, Image.Image] | None = None,
) -> list[Candidate]:
    """per_image candidates per parent and strategy (one request each, n = per_image); images by item id."""
    labels = labels or {}
    requests, meta = [], []
    images = images if images is not None else {it.item_id: load_image(it.image) for it in parents}
    for it in parents:
        for strategy in cfg.strategies:
            text = synthesis_prompt(cfg, strategy, it.question, labels.get(it.item_id))
            requests.append(Request(it.item_id, images[it.item_id], text_messages(text, image_first)))
            meta.append((it, strategy))
    # Synthesis samples with its own settings (its questions are longer and more varied than answers).
    params = SamplingParams(cfg.per_image, cfg.temperature, cfg.top_p, cfg.max_tokens, seed)
    sets = sampler.sample(requests, params)
    return [
        Candidate(parent, strategy, comp.text, comp.finish_reason)
        for (parent, strategy), s in zip(meta, sets, strict=True)
        for comp in s.completions
    ]


def text_filters(
    candidates: Sequence[Candidate],
    cfg: SynthesisConfig,
    existing: dict[str, list[str]],
    round_: int,
    generator: str,
) -> None:
    """Apply every filter that needs no sampling; sets outcome ('pending' when it passed) and item.

    existing maps an image path to the questions already asked about it (the parents'); accepted candidates
    join it as they pass, so two candidates alike only one survives.
    """
    seen = {img: [normalize_question(q) for q in qs] for img, qs in existing.items()}
    digests: dict[str, str] = {}
    for c in candidates:
        c.question = parse_output(c.text, c.finish_reason, cfg.output_format)
        if c.question is None:
            c.outcome = "unparsed"
            continue
        norm = normalize_question(c.question)
        if len(c.question) < cfg.min_chars or not norm:
            c.outcome = "empty"
        elif len(c.question) > cfg.max_chars:
            c.outcome = "too_long"
        elif leaks_answer(c.question):
            c.outcome = "answer_leak"
        elif is_near_duplicate(norm, seen.setdefault(c.parent.image, []), cfg.duplicate_similarity):
            c.outcome = "near_duplicate"
        else:
            seen[c.parent.image].append(norm)
            if c.parent.image not in digests:
                digests[c.parent.image] = _image_digest(c.parent.image)
            c.item = candidate_item(c, round_, digests[c.parent.image], generator)


def answerability(
    sampler: Sampler,
    candidates: Sequence[Candidate],
    voting: VotingConfig,
    params: SamplingParams,
    *,
    suffix: str,
    image_first: bool,
) -> None:
    """Sample params.n answers to each pending candidate; keep it only if its own majority vote is accepted."""
    pending = [c for c in candidates if c.outcome == "pending" and c.item is not None]
    if not pending:
        return
    items = [c.item for c in pending]
    sets = sampler.sample(requests_for(items, suffix, image_first), params)
    for c, s in zip(pending, sets, strict=True):
        v = vote([extract_answer(comp.text, c.item.choices) for comp in s.completions], voting.tie_break)
        c.label, c.agreement = v.label, v.agreement
        if not v.accepted(voting.min_agreement, voting.min_valid):
            c.outcome = "unanswerable"
        elif leaks_answer(c.question or "", v.label):
            c.outcome = "answer_leak"
        else:
            c.outcome = "accepted"


def summary(candidates: Sequence[Candidate]) -> dict[str, float]:
    """Counts per outcome, the acceptance rate, and how many of the questions are distinct."""
    counts = Counter(c.outcome for c in candidates)
    out = {f"n_{o}": float(counts.get(o, 0)) for o in OUTCOMES}
    total = len(candidates)
    out["n_candidates"] = float(total)
    out["accept_rate"] = counts.get("accepted", 0) / total if total else 0.0
    parsed = [normalize_question(c.question) for c in candidates if c.question]
    accepted = [normalize_question(c.question) for c in candidates if c.outcome == "accepted" and c.question]
    out["distinct_ratio_parsed"] = len(set(parsed)) / len(parsed) if parsed else 0.0
    out["distinct_ratio_accepted"] = len(set(accepted)) / len(accepted) if accepted else 0.0
    return out


def cap_mix(originals: int, synthetic: list[Item], mix: float) -> list[Item]:
    """The synthetic items a round's pool takes so they make up at most `mix` of it (all of it at 1.0)."""
    if mix >= 1:
        return synthetic
    cap = int(round(originals * mix / (1 - mix)))
    # item ids are hashes, so sorting by them is a fixed, content-independent shuffle
    return sorted(synthetic, key=lambda it: it.item_id)[:cap]
