"""Question synthesis: parsing, each filter, provenance rows, and a synthesis stage on the tiny model."""

import json

import pytest
from helpers import SMALL
from PIL import Image

from mmupt_core.config import ConfigError, SynthesisConfig, VotingConfig, load_config
from mmupt_core.data.items import Item
from mmupt_core.model.sampling import Completion, SampleSet, SamplingParams
from mmupt_core.rounds import synthesis
from mmupt_core.rounds.context import Context
from mmupt_core.rounds.driver import run_rounds
from mmupt_core.rounds.pool import round_pool
from mmupt_core.rounds.synthesis import Candidate, leaks_answer, normalize_question, parse_output


@pytest.mark.parametrize(
    ("text", "finish", "fmt", "expected"),
    [
        ("How many circles are there?", "stop", "plain", "How many circles are there?"),
        ("  Question: How many red shapes?  ", "stop", "plain", "How many red shapes?"),
        ("New question: Find x.", "stop", "plain", "Find x."),
        ("How many circles are", "length", "plain", None),
        ("Sure! <question>What is AB?</question>", "stop", "tagged", "What is AB?"),
        (
            "<question>a</question> then <question>What is the area?</question>",
            "stop",
            "tagged",
            "What is the area?",
        ),
        ("What is AB?", "stop", "tagged", None),
        ("", "stop", "plain", ""),
    ],
)
def test_parse_output(text, finish, fmt, expected):
    assert parse_output(text, finish, fmt) == expected


def test_normalize_question():
    assert normalize_question("How many  RED shapes, are there?") == "how many red shapes are there"


@pytest.mark.parametrize(
    ("question", "label", "leaks"),
    [
        ("How many circles? The answer is 3.", None, True),
        ("Find x. \\boxed{4}", None, True),
        ("Answer: 5. How many squares?", None, True),
        ("How many circles are there?", "3", False),
        ("There are 3 circles; how many circles are there?", "3", True),
        ("If AB = 13, what is BC?", "3", False),  # 3 inside 13 is not the answer
        ("If AB = 3.5, what is BC?", "3", False),
        ("What is the answer for AB?", None, False),
    ],
)
def test_leaks_answer(question, label, leaks):
    assert leaks_answer(question, label) is leaks


def _parent(tmp_path, name="a", question="How many circles are there?"):
    img = tmp_path / f"{name}.png"
    Image.new("RGB", (28, 28), (200, 10, ord(name[0]))).save(img)
    return Item(item_id=f"id-{name}", source="world:pool", image=str(img), question=question, split="pool")


def test_each_text_filter_names_its_outcome(tmp_path):
    p = _parent(tmp_path)
    q = _parent(tmp_path, "b")
    cfg = SynthesisConfig(strategy="both", min_chars=8, max_chars=60)
    texts = [
        ("How many squares are there?", "stop"),  # passes
        ("How many squares are", "length"),  # unparsed
        ("  ", "stop"),  # empty
        ("Hi?", "stop"),  # empty (shorter than min_chars)
        ("How many " + "very " * 20 + "red shapes?", "stop"),  # too long
        ("How many squares? The answer is 2.", "stop"),  # leak
        ("how many CIRCLES are there", "stop"),  # duplicate of the parent after normalising
        ("How many squares are there ?", "stop"),  # duplicate of the first candidate
    ]
    cands = [Candidate(p, "direct", t, f) for t, f in texts]
    # the same text about another image is kept
    cands.append(Candidate(q, "direct", "How many squares are there?", "stop"))
    synthesis.text_filters(cands, cfg, {p.image: [p.question], q.image: [q.question]}, 2, "/ck/r1")
    assert [c.outcome for c in cands] == [
        "pending",
        "unparsed",
        "empty",
        "empty",
        "too_long",
        "answer_leak",
        "near_duplicate",
        "near_duplicate",
        "pending",
    ]
    first = cands[0].item
    assert first.source == "synth:direct:2"
    assert first.parent_item_id == p.item_id and first.image == p.image
    assert first.meta == {"strategy": "direct", "round": 2, "generator_checkpoint": "/ck/r1"}
    assert cands[-1].item.item_id != first.item_id  # the id hashes the image too


class ScriptedSampler:
    """Answers each request with the scripted completions for its item id (the prompt is not read)."""

    def __init__(self, answers):
        self.answers = answers

    def sample(self, requests, params):
        return [
            SampleSet(r, [Completion(t, "stop", 3) for t in self.answers[r.item_id][: params.n]])
            for r in requests
        ]


def test_answerability_keeps_only_agreed_questions_and_rechecks_leaks(tmp_path):
    p = _parent(tmp_path)
    cfg = SynthesisConfig(strategy="direct")
    cands = [
        Candidate(p, "direct", "How many squares are there?"),
        Candidate(p, "direct", "How many red shapes are there?"),
        Candidate(p, "direct", "There are 2 squares; how many squares?"),
    ]
    synthesis.text_filters(cands, cfg, {}, 1, "ck")
    ids = [c.item.item_id for c in cands]
    sampler = ScriptedSampler(
        {
            ids[0]: ["\\boxed{2}"] * 3 + ["\\boxed{1}"],
            ids[1]: ["\\boxed{1}", "\\boxed{2}", "\\boxed{3}", "no idea"],
            ids[2]: ["\\boxed{2}"] * 4,
        }
    )
    voting = VotingConfig(min_agreement=0.5)
    synthesis.answerability(
        sampler, cands, voting, SamplingParams(n=4, temperature=1, max_tokens=8), suffix="", image_first=True
    )
    assert [c.outcome for c in cands] == ["accepted", "unanswerable", "answer_leak"]
    assert cands[0].label == "2" and cands[0].agreement == 0.75
    stats = synthesis.summary(cands)
    assert stats["n_accepted"] == 1 and stats["n_unanswerable"] == 1 and stats["n_answer_leak"] == 1
    assert stats["accept_rate"] == pytest.approx(1 / 3)
    assert stats["distinct_ratio_parsed"] == 1.0


def test_prompts_come_from_the_config():
    cfg = SynthesisConfig(
        in_context_prompt="Q: {question}\n{answer_hint}New question:",
        answer_hint="A: {answer}\n",
        direct_prompt="Ask something.",
    )
    assert (
        synthesis.synthesis_prompt(cfg, "in_context", " Find x. ", "4") == "Q: Find x.\nA: 4\nNew question:"
    )
    assert synthesis.synthesis_prompt(cfg, "in_context", "Find x.", None) == "Q: Find x.\nNew question:"
    assert synthesis.synthesis_prompt(cfg, "direct", "Find x.", "4") == "Ask something."
    with pytest.raises(ConfigError, match="in_context_prompt must contain"):
        load_config(None, ["synthesis.in_context_prompt=Write a question."])
    with pytest.raises(ConfigError, match="answer_hint must contain"):
        load_config(None, ["synthesis.answer_hint=hint"])


def test_cap_mix():
    syn = [Item(f"s{i}", "synth:direct:1", "x.png", "q") for i in range(10)]
    assert len(synthesis.cap_mix(6, syn, 0.5)) == 6
    assert len(synthesis.cap_mix(6, syn, 0.25)) == 2
    assert len(synthesis.cap_mix(6, syn, 0.0)) == 0
    assert synthesis.cap_mix(6, syn, 1.0) == syn


def test_synthesis_stage_on_the_tiny_model_records_provenance():
    # The small bootstrap rarely gets 50% agreement on its own questions; min_agreement is 0 in SMALL.
    cfg = load_config("conf/tiny.yaml", [*SMALL, "synthesis.strategy=both", "synthesis.per_image=2"])
    run_rounds(cfg, 2, "syn")
    store = Context(cfg, "syn", 0).store
    rows = store.synthesis("syn")
    assert len(rows) == 2 * 6 * 2 * 2  # rounds x parents x strategies x per_image
    assert {r["strategy"] for r in rows} == {"in_context", "direct"}
    assert {r["generator_checkpoint"] for r in rows if r["round"] == 2} == {
        store.checkpoint("syn", 1)["path"]
    }
    assert set(r["outcome"] for r in rows) <= set(synthesis.OUTCOMES)
    accepted = [r for r in rows if r["outcome"] == "accepted"]
    assert accepted, "the tiny model wrote no acceptable question"
    items = store.items("syn", None, "synthesize")
    assert sorted(i["item_id"] for i in items) == sorted(r["item_id"] for r in accepted)
    pool_ids = {i["item_id"] for i in store.items("syn", 0, "load")}
    for it in items:
        assert it["source"] == f"synth:{json.loads(it['meta'])['strategy']}:{it['round']}"
        assert it["parent_item_id"] in pool_ids
    # accepted questions joined the round's pool (mix 0.5: at most as many as the originals), and were voted on
    r2 = {i["item_id"] for i in items if i["round"] == 2}
    pool = round_pool(Context(cfg, "syn", 2))
    assert len(pool) == 6 + min(len(r2), 6)
    assert {it.item_id for it in pool[6:]} <= r2
    assert {p["item_id"] for p in store.pseudo_labels("syn", 2)} == {it.item_id for it in pool}
    metrics = {
        (m["round"], m["metric"]): m["value"] for m in store.metrics("syn") if m["benchmark"] == "synthesis"
    }
    assert metrics[(1, "n_candidates")] == 24
    assert metrics[(1, "n_accepted")] == sum(r["round"] == 1 for r in accepted)


def test_synthetic_only_pool_and_kept_questions():
    base = [*SMALL, "synthesis.strategy=direct", "synthesis.per_image=2"]
    cfg = load_config("conf/tiny.yaml", [*base, "synthesis.mix=1.0", "synthesis.keep_for_later_rounds=true"])
    run_rounds(cfg, 2, "only")
    store = Context(cfg, "only", 0).store
    items = store.items("only", None, "synthesize")
    pool = round_pool(Context(cfg, "only", 2))
    assert {it.item_id for it in pool} == {i["item_id"] for i in items}  # rounds 1 and 2 kept, no originals
    assert all(it.source.startswith("synth:direct:") for it in pool)
