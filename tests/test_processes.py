"""Several processes on CPU (torch.distributed over gloo): the code path of an 8-GPU node, exercised here."""

from __future__ import annotations

import os
from pathlib import Path

import torch.multiprocessing as mp

from mmupt_core.voting.rewards import reward_for


def _rank_rewards(rank: int, world: int, init: str, completions, item_ids, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    os.environ["RANK"] = str(rank)
    reward = reward_for("majority_vote")
    got = reward(completions[rank], item_id=item_ids[rank])
    Path(out, f"rank{rank}.txt").write_text(",".join(str(r) for r in got))
    dist.destroy_process_group()


def test_a_group_split_across_ranks_is_voted_whole(tmp_path):
    """TRL scores each process's completions apart. With 10 generations and micro-batches of 8 (the 7B configs)
    a group straddles two ranks. Here rank 0 holds four "3"s and a "5", rank 1 two "3"s and three "5"s: rank 1
    alone would reward "5", the whole group (six "3"s of ten) rewards "3" on both ranks."""
    box = "\\boxed{{{}}}".format
    rank0 = [box(3)] * 4 + [box(5)]
    rank1 = [box(3)] * 2 + [box(5)] * 3
    completions = [rank0, rank1]
    item_ids = [["g"] * 5, ["g"] * 5]
    init = f"file://{tmp_path / 'rendezvous'}"
    mp.spawn(_rank_rewards, args=(2, init, completions, item_ids, str(tmp_path)), nprocs=2, join=True)
    got0 = [float(x) for x in (tmp_path / "rank0.txt").read_text().split(",")]
    got1 = [float(x) for x in (tmp_path / "rank1.txt").read_text().split(",")]
    assert got0 == [1.0] * 4 + [0.0]
    # locally rank 1's majority would be "5" (3 of 5); the whole group's is "3" (6 of 10)
    assert got1 == [1.0, 1.0, 0.0, 0.0, 0.0]
    # one process alone votes its own part, as before
    assert reward_for("majority_vote")(rank1, item_id=["g"] * 5) == [0.0, 0.0, 1.0, 1.0, 1.0]


def test_two_cpu_processes_train_a_round_like_one(tmp_path):
    """training.launcher: accelerate with conf/accelerate/cpu-2proc.yaml: two ranks over gloo train the round,
    rank 0 alone writes the checkpoint, and the round looks like the in-process one with the same seed."""
    from helpers import SMALL

    from mmupt_core.config import load_config
    from mmupt_core.rounds.context import Context
    from mmupt_core.rounds.driver import run_rounds

    two = load_config(
        "conf/tiny.yaml",
        [
            *SMALL,
            "training.launcher=accelerate",
            "training.accelerate_config=conf/accelerate/cpu-2proc.yaml",
            "training.num_processes=2",
        ],
    )
    one = load_config("conf/tiny.yaml", SMALL)
    run_rounds(two, 1, "two")
    run_rounds(one, 1, "one")
    store = Context(one, "one", 0).store

    def train(run):
        return {m["metric"]: m["value"] for m in store.metrics(run) if m["benchmark"] == "train"}

    t2, t1 = train("two"), train("one")
    assert t2["processes"] == 2 and t1["processes"] == 1
    assert t2["steps"] == t1["steps"] and t2["items"] == t1["items"]
    assert 0.0 <= t2["reward_mean"] <= 1.0 and abs(t2["reward_mean"] - t1["reward_mean"]) < 0.5
    ck = Path(store.checkpoint("two", 1)["path"])
    assert sorted(p.name for p in ck.glob("*.safetensors")) == ["model.safetensors"]
    assert not ck.with_name(ck.name + ".tmp").exists()
    assert [r["status"] for r in store.rounds("two")] == ["done", "done"]
