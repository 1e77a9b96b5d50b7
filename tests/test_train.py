import random
from pathlib import Path

import pytest
import torch
from PIL import Image

from mmupt_core.config import TrainingConfig
from mmupt_core.model import tiny
from mmupt_core.model.bootstrap import Example, train_sft
from mmupt_core.model.train import TrainItem, grpo_args, train_round
from mmupt_core.prompts import PAPER_SUFFIX, build_messages


def test_grpo_args_mapping(tmp_path):
    tc = TrainingConfig(
        lr=2e-5,
        beta=0.05,
        epsilon=0.2,
        epsilon_high=0.3,
        num_generations=4,
        steps=3,
        prompts_per_step=8,
        num_iterations=2,
        temperature=0.7,
        max_completion_length=32,
    )
    args = grpo_args(tc, tmp_path, n_items=100, suppress_tokens=[5, 6])
    assert args.learning_rate == 2e-5 and args.beta == 0.05
    assert (args.epsilon, args.epsilon_high) == (0.2, 0.3)
    assert args.num_generations == 4 and args.per_device_train_batch_size == 32
    assert args.max_steps == 6 and args.num_iterations == 2
    assert args.temperature == 0.7 and args.max_completion_length == 32
    assert args.generation_kwargs == {"suppress_tokens": [5, 6]}
    assert args.use_vllm is False  # training.use_vllm is off by default (TRL issue #6294)
    assert args.lr_scheduler_type == "constant"
    small = grpo_args(tc, tmp_path, n_items=3)
    assert small.per_device_train_batch_size == 12  # never more prompts than items


def test_micro_batches_accumulate_to_one_step_per_generation_batch(tmp_path):
    tc = TrainingConfig(num_generations=10, prompts_per_step=128, micro_batch_size=8, steps=2)
    args = grpo_args(tc, tmp_path, n_items=6000, world_size=8)
    assert args.per_device_train_batch_size == 8
    assert args.gradient_accumulation_steps == args.steps_per_generation == 20  # 1280 = 8 x 8 x 20
    with pytest.raises(ValueError, match="must split evenly"):
        grpo_args(tc, tmp_path, n_items=6000, world_size=3)


def _two_answer_model(tmp_path):
    """A tiny model SFT'd to answer \\boxed{3} or \\boxed{4} about equally, so rewards vary within groups."""
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    model = tiny.build_model(tok, seed=0)
    rng = random.Random(0)
    img = Image.new("RGB", (252, 84), (100, 100, 150))
    msgs = build_messages("How many circles are there?", PAPER_SUFFIX, image_first=False)

    def batch(_):
        return [Example(img, msgs, f"View A: {t} circles. \\boxed{{{t}}}") for t in rng.choices("34", k=8)]

    train_sft(model, proc, batch, steps=40, lr=3e-3, warmup_steps=2, seed=0)
    tiny.save_pretrained(model, proc, tmp_path / "base")
    return model, tok


def test_one_real_grpo_step_changes_parameters_and_checkpoint_loads(tmp_path):
    torch.set_num_threads(1)
    model, tok = _two_answer_model(tmp_path)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    img = Image.new("RGB", (252, 84), (100, 100, 150))
    items = [TrainItem(f"i{k}", img, "How many circles are there?", "3") for k in range(2)]
    tc = TrainingConfig(
        reward="pseudo_label",
        lr=1e-3,
        beta=0.1,
        num_generations=8,
        steps=1,
        prompts_per_step=2,
        num_iterations=1,
        max_completion_length=16,
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
    assert metrics["steps"] == 1
    assert 0.0 < metrics["reward_mean"] < 1.0
    assert metrics["frac_zero_spread"] < 1.0
    assert "kl" in metrics and "entropy" in metrics
    assert not (tmp_path / "r1.tmp").exists()
    loaded, _ = tiny.load_pretrained(tmp_path / "r1")
    after = loaded.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2


def test_vllm_rollouts_suppress_tokens_with_a_logit_bias(tmp_path):
    """TRL's colocate mode builds vllm.SamplingParams(**generation_kwargs), a strict struct with no
    `suppress_tokens` field: the vLLM path must say it as a logit bias, the HF path keeps suppress_tokens."""
    tc = TrainingConfig(num_generations=4, prompts_per_step=8, top_p=0.99, vllm_max_model_length=4096)
    args = grpo_args(tc, tmp_path, n_items=100, suppress_tokens=[5, 6], use_vllm=True)
    assert args.generation_kwargs == {"logit_bias": {5: -100.0, 6: -100.0}}
    assert args.top_p == 0.99 and args.vllm_max_model_length == 4096
    hf = grpo_args(tc, tmp_path, n_items=100, suppress_tokens=[5, 6], use_vllm=False)
    assert hf.generation_kwargs == {"suppress_tokens": [5, 6]} and hf.top_p == 0.99
    assert grpo_args(tc, tmp_path, n_items=100, use_vllm=True).generation_kwargs is None


def test_vllm_rollout_kwargs_build_vllms_own_sampling_params(tmp_path):
    """Where vLLM imports (its CPU build too), the keys TRL passes in colocate mode build a real SamplingParams."""
    vllm = pytest.importorskip("vllm")
    tc = TrainingConfig(num_generations=4, prompts_per_step=8, top_p=0.99)
    args = grpo_args(tc, tmp_path, n_items=100, suppress_tokens=[5, 6], use_vllm=True)
    trl_keys = {"n": 1, "repetition_penalty": 1.0, "temperature": args.temperature, "top_p": args.top_p}
    params = vllm.SamplingParams(**trl_keys, max_tokens=args.max_completion_length, **args.generation_kwargs)
    assert params.logit_bias == {5: -100.0, 6: -100.0}


def test_colocated_vllm_rollouts_are_refused_while_trl_expands_image_tokens_twice():
    from mmupt_core.config import trl_expands_images_once

    assert not trl_expands_images_once()  # trl 1.16.0 here
    with pytest.raises(ValueError, match="#6294"):
        TrainingConfig(use_vllm=True)


def test_the_vllm_sampler_asks_for_one_image_and_no_video(monkeypatch):
    """vLLM is a GPU extra; a stand-in module records what the sampler asks of it."""
    import sys
    import types

    from mmupt_core.model.sampling import SamplingParams
    from mmupt_core.model.vllm_sampler import VLLMSampler, vllm_params

    seen = {}
    fake = types.ModuleType("vllm")
    fake.LLM = lambda **kwargs: seen.update(kwargs)
    fake.SamplingParams = lambda **kwargs: kwargs
    monkeypatch.setitem(sys.modules, "vllm", fake)
    VLLMSampler("/ck", processor=None, trust_remote_code=False)
    assert seen["limit_mm_per_prompt"] == {"image": 1, "video": 0} and seen["trust_remote_code"] is False
    assert vllm_params(SamplingParams(n=4, temperature=0.7, top_p=0.99, max_tokens=9, seed=3)) == {
        "n": 4, "temperature": 0.7, "top_p": 0.99, "max_tokens": 9, "seed": 3, "skip_special_tokens": True,
        "logit_bias": None,
    }  # fmt: skip
    assert vllm_params(SamplingParams(n=1, temperature=0, top_p=1, max_tokens=9, seed=3), [7])[
        "logit_bias"
    ] == {7: -100.0}


@pytest.mark.parametrize("name", ["mmr1", "geo3k", "geoqa"])
def test_paper_configs_ask_for_the_papers_training_budget(name):
    """MM-UPT reports step 80 of EasyR1, where a step is one rollout of 512 prompts split into 4 updates of 128:
    40,960 prompts, 409,600 completions (n = 10) and 320 optimizer updates. The README's recipe runs 4 rounds."""
    from mmupt_core.config import load_config
    from mmupt_core.model.train import budget

    cfg = load_config(Path(__file__).resolve().parents[1] / "conf" / f"qwen25vl-7b-{name}.yaml")
    assert budget(cfg.training, rounds=4) == {
        "rollouts": 80,
        "prompts": 40_960,
        "completions": 409_600,
        "updates": 320,
    }


def test_a_rollout_is_split_into_updates(tmp_path):
    tc = TrainingConfig(
        num_generations=10,
        prompts_per_step=128,
        rollout_prompts=512,
        micro_batch_size=8,
        steps=20,
        num_iterations=1,
    )
    args = grpo_args(tc, tmp_path, n_items=6000, world_size=8)
    # one update = 128 prompts x 10 = 1280 completions = 8 per GPU x 8 GPUs x 20 accumulation steps
    assert args.per_device_train_batch_size == 8 and args.gradient_accumulation_steps == 20
    assert args.steps_per_generation == 80  # a generation batch of 512 prompts feeds 4 updates
    assert args.max_steps == 80  # 20 rollouts x 4 updates
    with pytest.raises(ValueError, match="must be a multiple of prompts_per_step"):
        TrainingConfig(prompts_per_step=128, rollout_prompts=500)


def test_the_policy_loads_after_its_config_and_in_bf16_only_under_deepspeed(tmp_path, monkeypatch):
    """Defect 3 of the 8-GPU path: the GRPO config (which registers ZeRO-3 under accelerate + DeepSpeed) is
    built before the weights load, and DeepSpeed with bf16 loads them in bf16, not a whole fp32 7B per rank."""
    from types import SimpleNamespace

    from mmupt_core.model import train

    policy_dtype = train.policy_dtype
    order = []
    monkeypatch.setattr(train, "grpo_args", lambda *a, **k: order.append("config") or SimpleNamespace())

    class Stop(Exception):
        pass

    def load(*a, **k):
        order.append("weights")
        raise Stop

    import transformers

    monkeypatch.setattr(transformers.AutoModelForImageTextToText, "from_pretrained", load)
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", lambda *a, **k: None)
    monkeypatch.setattr(train, "policy_dtype", lambda args: torch.float32)
    item = TrainItem("i", Image.new("RGB", (28, 28)), "q", "1")
    with pytest.raises(Stop):
        train.train_round(tmp_path, [item], TrainingConfig(), tmp_path / "out", suffix="", image_first=True)
    assert order == ["config", "weights"]

    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    assert policy_dtype(SimpleNamespace(bf16=True, deepspeed=None)) is torch.bfloat16
    assert policy_dtype(SimpleNamespace(bf16=False, deepspeed=None)) is torch.float32
    monkeypatch.delenv("ACCELERATE_USE_DEEPSPEED")
    assert policy_dtype(SimpleNamespace(bf16=True, deepspeed=None)) is torch.float32


def test_train_vision_false_freezes_the_tower_and_merger_only():
    import pytest
    import torch

    from mmupt_core.model import tiny
    from mmupt_core.model.train import freeze_vision

    model = tiny.build_model(tiny.build_tokenizer(), seed=0)
    frozen = freeze_vision(model)
    visual = sum(p.numel() for n, p in model.named_parameters() if n.startswith("model.visual."))
    assert frozen == visual > 0
    assert all(p.requires_grad == (not n.startswith("model.visual.")) for n, p in model.named_parameters())
    with pytest.raises(ValueError, match="no parameters under 'visual'"):
        freeze_vision(torch.nn.Linear(2, 2))
