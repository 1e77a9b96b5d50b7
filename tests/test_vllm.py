"""The vLLM lane: the same VLLMSampler, flow and TRL code a GPU node runs, on vLLM's CPU build.

make test-vllm        (builds .venv-vllm first; these tests are skipped wherever vLLM cannot run)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch
from helpers import SMALL
from PIL import Image

from mmupt_core.config import load_config
from mmupt_core.model.vllm_sampler import vllm_available

pytestmark = [
    pytest.mark.vllm,
    pytest.mark.skipif(not vllm_available(), reason="needs vLLM (make setup-vllm)"),
]
ROOT = Path(__file__).resolve().parents[1]


def test_vllm_samples_like_the_hf_sampler_on_300_pool_items():
    from bench.vllm_lane import compare

    # the world this bound was measured on (bench/results/vllm.md): the framed world without frame examples
    world = ["world.variant=framed", "bootstrap.frame_fraction=0"]
    m = compare(load_config("conf/tiny.yaml", [*SMALL, *world, "world.n_pool=300"]))
    print(m)
    assert m["items"] == 300
    assert m["greedy_answer_agreement"] >= 0.95
    # sampled answers: no further apart than two HF draws with different seeds, give or take
    assert m["tv_hf_vllm"] <= m["tv_hf_hf"] + 0.05


def test_vllm_expands_already_expanded_image_tokens_again(tmp_path):
    """Why training.use_vllm is refused with TRL 1.16 (TRL issue #6294): its colocate path hands vLLM the
    processor's token ids, image pads already expanded, with the image; vLLM expands the first pad again. The
    text prompt (what VLLMSampler sends) comes out the same length as the processor's ids."""
    from mmupt_core.model import tiny
    from mmupt_core.model.sampling import Request, SamplingParams, render_prompt
    from mmupt_core.model.vllm_sampler import VLLMSampler, vllm_params
    from mmupt_core.prompts import PAPER_SUFFIX, build_messages

    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    tiny.save_pretrained(tiny.build_model(tok), proc, tmp_path / "ck")
    img = Image.new("RGB", (252, 84), (100, 100, 150))
    text = render_prompt(proc, Request("a", img, build_messages("How many circles?", PAPER_SUFFIX, False)))
    ids = proc(text=[text], images=[img], return_tensors="pt")["input_ids"][0].tolist()
    pads = ids.count(proc.image_token_id)
    sampler = VLLMSampler(str(tmp_path / "ck"), proc, dtype="float32", max_model_len=512)
    llm = sampler.llm
    params = vllm_params(SamplingParams(n=1, temperature=0, top_p=1, max_tokens=4, seed=0))
    as_text, as_ids = llm.generate(
        [
            {"prompt": text, "multi_modal_data": {"image": img}},
            {"prompt_token_ids": ids, "multi_modal_data": {"image": img}},
        ],
        params,
        use_tqdm=False,
    )
    assert pads > 1 and len(as_text.prompt_token_ids) == len(ids)
    assert len(as_ids.prompt_token_ids) == len(ids) + pads - 1
    # close() stops the engine's processes now, not whenever the garbage collector gets to them
    assert _engine_processes()
    del llm
    sampler.close()
    assert not _engine_processes(timeout=30)


def _engine_processes(timeout: float = 0) -> list:
    import psutil

    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for p in psutil.Process().children(recursive=True):
            try:
                if p.name().startswith("VLLM") and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(p)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.5)


def _keep_linear_weights(layer, remove_weight: bool) -> None:
    """vLLM's own fallback for CPUs without oneDNN: the layer multiplies by its weight as loaded."""
    layer.cpu_linear = torch.nn.functional.linear


@pytest.fixture
def colocated_engine():
    """What TRL's colocate mode leaves in this process, undone: the torch.distributed variables it writes into
    os.environ (a later test's subprocess would inherit them and bind the same MASTER_PORT) and the process
    group its in-process engine holds."""
    saved = dict(os.environ)
    yield
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    os.environ.clear()
    os.environ.update(saved)


def test_grpo_with_trl_colocated_vllm_runs_on_cpu(tmp_path, monkeypatch, colocated_engine):
    """TRL's colocate mode builds vllm.SamplingParams(**generation_kwargs): with the rollout's suppressed tokens
    as a logit bias (not `suppress_tokens`, which vLLM's strict struct rejects) a real GRPO step runs.

    Where vLLM's CPU build packs a linear layer's weight for oneDNN it drops the original (an empty Parameter
    without a weight_loader), so TRL's weight sync into the live engine cannot work on that CPU: the test runs
    vLLM's unpacked fallback, which CPUs without oneDNN take anyway. GPUs keep their weights."""
    import test_train
    import vllm.model_executor.layers.utils as vllm_layer_utils

    from mmupt_core.config import TrainingConfig
    from mmupt_core.model import tiny, train
    from mmupt_core.model.train import TrainItem, train_round
    from mmupt_core.prompts import PAPER_SUFFIX

    _, tok = test_train._two_answer_model(tmp_path)
    monkeypatch.setattr(train, "grpo_args", partial(train.grpo_args, use_vllm=True))
    monkeypatch.setattr(vllm_layer_utils, "dispatch_cpu_unquantized_gemm", _keep_linear_weights)
    img = Image.new("RGB", (252, 84), (100, 100, 150))
    items = [TrainItem(f"i{k}", img, "How many circles are there?", "3") for k in range(2)]
    tc = TrainingConfig(
        reward="pseudo_label", num_generations=4, steps=1, prompts_per_step=2, num_iterations=1
    )
    metrics = train_round(
        tmp_path / "base",
        items,
        tc,
        tmp_path / "r1",
        suffix=PAPER_SUFFIX,
        image_first=False,
        suppress_tokens=tiny.suppressed_token_ids(tok),
    )
    assert metrics["steps"] == 1 and (tmp_path / "r1" / "model.safetensors").is_file()


def _flow(run_id: str, rounds: int, env: dict, pause: str | None = None) -> subprocess.Popen:
    args = [sys.executable, "-m", "flows.improve", "--rounds", str(rounds), "--run", run_id]
    for s in (*SMALL, "sampling.backend=vllm"):
        args += ["--set", s]
    env = {**env, **({"MMUPT_FAULT_PAUSE": pause} if pause else {})}
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )


def test_two_rounds_through_the_flow_with_vllm_resume_after_a_kill():
    """`make round N=2 SET="--set sampling.backend=vllm"` as the flow runs it: round 2's sampling reloads round 1's
    checkpoint in vLLM; a SIGKILL before round 2's update, then the same command finishes with every stage done
    once and no row twice."""
    from mmupt_core.rounds.context import Context
    from mmupt_core.rounds.runner import ROUND_STAGES

    # as from a user's shell: no torch.distributed rank or rendezvous of an earlier test's making
    dist_vars = {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}
    env = {k: v for k, v in os.environ.items() if k not in dist_vars}
    home = Path(env["MMUPT_HOME"])
    proc = _flow("v", 2, env, pause="train:before:2")
    deadline = time.monotonic() + 1500
    while not (home / "fault.ready").exists():
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (home / "fault.ready").unlink()
    done = _flow("v", 2, env)
    out = done.communicate(timeout=1500)[0].decode()
    assert done.returncode == 0, out[-3000:]
    assert "greedy" in out and "round" in out  # the final table
    cfg = load_config("conf/tiny.yaml", [*SMALL, "sampling.backend=vllm"])
    store = Context(cfg, "v", 0).store
    stages = [(s["round"], s["stage"]) for s in store.stages("v") if s["status"] == "done"]
    assert len(stages) == len(set(stages))
    assert {(r, s) for r in (1, 2) for s in ROUND_STAGES} <= set(stages)
    for r in (1, 2):
        (samples,) = store.sample_files("v", r)
        assert pq.read_metadata(samples["path"]).num_rows == 6 * 4
    assert [c["checkpoint_id"] for c in store.lineage("v")] == ["v/r2", "v/r1", "v/r0"]
