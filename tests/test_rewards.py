import pytest

from mmupt_core.voting.rewards import (
    completion_text,
    ground_truth_reward,
    make_majority_vote_reward,
    pseudo_label_reward,
    reward_for,
)


def conv(text):
    return [{"role": "assistant", "content": text}]


def test_majority_vote_groups_by_item_id_not_position():
    # Two items interleaved: grouping by position would mix them.
    completions = [
        conv(t) for t in ["\\boxed{3}", "\\boxed{7}", "\\boxed{3}", "\\boxed{7}", "\\boxed{4}", "\\boxed{2}"]
    ]
    item_id = ["a", "b", "a", "b", "a", "b"]
    fn = make_majority_vote_reward()
    assert fn.__name__ == "majority_vote_reward"
    out = fn(
        completions=completions,
        item_id=item_id,
        prompts=[None] * 6,
        completion_ids=[[1]] * 6,
        trainer_state=None,
        pseudo_label=["x"] * 6,
    )
    assert out == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_majority_vote_tie_and_unparseable_get_zero():
    fn = make_majority_vote_reward(tie_break="none")
    out = fn(completions=[conv("\\boxed{1}"), conv("\\boxed{2}"), conv("no answer")], item_id=["a"] * 3)
    assert out == [0.0, 0.0, 0.0]
    lowest = make_majority_vote_reward(tie_break="lowest")
    assert lowest(completions=[conv("\\boxed{1}"), conv("\\boxed{2}")], item_id=["a", "a"]) == [1.0, 0.0]


def test_majority_vote_min_agreement_gate():
    fn = make_majority_vote_reward(min_agreement=0.75)
    texts = ["\\boxed{1}", "\\boxed{1}", "\\boxed{2}", "\\boxed{3}"]
    assert fn(completions=[conv(t) for t in texts], item_id=["a"] * 4) == [0.0] * 4


def test_majority_vote_equivalent_forms():
    fn = make_majority_vote_reward()
    texts = ["\\boxed{0.5}", "\\boxed{\\frac{1}{2}}", "\\boxed{1}"]
    assert fn(completions=[conv(t) for t in texts], item_id=["a"] * 3) == [1.0, 1.0, 0.0]


def test_pseudo_label_and_ground_truth_rewards_with_trl_keywords():
    completions = [conv("View A: 3 red. \\boxed{3}"), conv("\\boxed{4}"), "plain \\boxed{3}"]
    kw = {"prompts": [[]] * 3, "completion_ids": [[1]] * 3, "trainer_state": None, "item_id": ["a", "a", "b"]}
    assert pseudo_label_reward(completions=completions, pseudo_label=["3", "3", None], **kw) == [
        1.0,
        0.0,
        0.0,
    ]
    assert ground_truth_reward(completions=completions, answer=["3", "3", "3.0"], **kw) == [1.0, 0.0, 1.0]


def test_completion_text_shapes():
    assert completion_text("x") == "x"
    assert (
        completion_text(
            [{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
        )
        == "ab"
    )


def test_registry():
    assert reward_for("pseudo_label") is pseudo_label_reward
    with pytest.raises(ValueError, match="unknown reward 'oracle'"):
        reward_for("oracle")


def test_random_reward_is_a_fair_seeded_coin_that_ignores_the_answer():
    right = ["\\boxed{2}"] * 2000
    coins = reward_for("random", seed=3)(right, item_id=["a"] * 2000)
    assert set(coins) == {0.0, 1.0} and abs(sum(coins) / len(coins) - 0.5) < 0.05
    assert reward_for("random", seed=3)(right, item_id=["a"] * 2000) == coins  # same seed, same coins
    assert reward_for("random", seed=4)(right, item_id=["a"] * 2000) != coins
    assert reward_for("random").__name__ == "random_reward"
