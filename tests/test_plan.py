"""The memory plan against figures computed by hand for the 7B paper config (Qwen2.5-VL-7B, 8.29e9 parameters,
28 layers, hidden 3584, 4 KV heads of 128, vocabulary 152064; ZeRO-3 over 8 processes; micro-batch 8;
4096-token sequences, 2048-token completions; vLLM at 0.3 of the GPU when it is colocated)."""

import pytest
from typer.testing import CliRunner

from mmupt_core.cli import app
from mmupt_core.config import load_config
from mmupt_core.model.plan import plan

GIB = 2**30
P = 8.29e9


def test_the_7b_plan_on_an_h100_matches_the_hand_computed_figures():
    """With the rollouts in a colocated vLLM engine, as they will be once TRL is past 1.16 (TrainingConfig.use_vllm
    is refused today)."""
    p = plan(load_config("conf/qwen25vl-7b-mmr1.yaml"), "h100-80gb", colocated=True)
    assert (p.zero_stage, p.processes, p.sequence) == (3, 8, 4096)
    expected = {
        "policy weights (bf16)": 2 * P / 8 / GIB,  # 1.93
        "gradients (bf16)": 2 * P / 8 / GIB,
        "AdamW states (fp32 x3)": 12 * P / 8 / GIB,  # 11.58
        "reference model (bf16)": 2 * P / 8 / GIB,
        "activations": 28 * 8 * 4096 * 2 * 3584 / GIB,  # 6.13, one bf16 hidden state a layer (checkpointing)
        "completion logits (fp32)": 8 * 2048 * 152064 * 4 / GIB,  # 9.28
        "vLLM engine (its share)": 0.3 * 80,
        "rollout KV cache (generate)": 0.0,
        "CUDA context and slack": 2.0,
    }
    assert p.parts == pytest.approx(expected)
    assert p.total_gib == pytest.approx(58.78, abs=0.01) and p.fits
    assert p.kv_per_sequence_gib == pytest.approx(2 * 28 * 4 * 128 * 2 * 4096 / GIB)  # 0.219
    assert p.kv_budget_gib == pytest.approx(24 - 2 * P / GIB)  # 8.56: 39 sequences at once
    assert p.advice() == []


def test_without_an_engine_length_the_kv_cache_is_tight_and_a_small_gpu_does_not_fit():
    long = plan(
        load_config("conf/qwen25vl-7b-mmr1.yaml", ["training.vllm_max_model_length=null"]),
        "h100-80gb",
        colocated=True,
    )
    assert long.kv_per_sequence_gib == pytest.approx(2 * 28 * 4 * 128 * 2 * 128000 / GIB)  # 6.84 of 8.56
    assert "vllm_max_model_length" in long.advice()[0]
    small = plan(load_config("conf/qwen25vl-7b-mmr1.yaml"), "l40s", colocated=True)
    assert not small.fits and small.total_gib == pytest.approx(58.78 - 24 + 0.3 * 48, abs=0.01)
    assert "does not hold its own weights" in small.advice()[0]


def test_rollouts_by_generate_hold_the_kv_cache_of_a_whole_rollout():
    """As shipped (no colocated vLLM), each of 8 ranks generates its 512 x 10 / 8 = 640 completions of up to
    4096 tokens in one call: 140 GiB of KV cache, which no GPU here holds."""
    p = plan(load_config("conf/qwen25vl-7b-mmr1.yaml"), "h200")
    assert p.parts["vLLM engine (its share)"] == 0.0
    assert p.parts["rollout KV cache (generate)"] == pytest.approx(640 * 2 * 28 * 4 * 128 * 2 * 4096 / GIB)
    assert not p.fits and "training.rollout_prompts" in " ".join(p.advice())
    fewer = plan(load_config("conf/qwen25vl-7b-mmr1.yaml", ["training.rollout_prompts=128"]), "h200")
    assert fewer.parts["rollout KV cache (generate)"] == pytest.approx(
        p.parts["rollout KV cache (generate)"] / 4
    )


def test_mmupt_plan_prints_a_plan_for_each_paper_config():
    for name in ("mmr1", "geo3k", "geoqa"):
        out = CliRunner().invoke(app, ["plan", "--config", f"conf/qwen25vl-7b-{name}.yaml", "--gpu", "h200"])
        assert out.exit_code == 0 and "ZeRO-3 over 8" in out.output and "fit" in out.output
    bad = CliRunner().invoke(app, ["plan", "--gpu", "tpu"])
    assert bad.exit_code == 2 and "unknown GPU 'tpu'" in bad.output


def test_a_local_checkpoint_is_measured_from_its_config_and_safetensors_headers(tmp_path):
    """The tiny model saved as a checkpoint: its parameters counted from the file's header equal the model's."""
    from mmupt_core.model import tiny
    from mmupt_core.model.plan import model_shape

    tok = tiny.build_tokenizer()
    model = tiny.build_model(tok)
    tiny.save_pretrained(model, tiny.build_processor(tok), tmp_path / "ck")
    shape = model_shape(str(tmp_path / "ck"))
    text = model.config.text_config
    assert shape.params == sum(p.numel() for p in model.state_dict().values())
    assert (shape.layers, shape.hidden, shape.kv_heads, shape.vocab) == (
        text.num_hidden_layers,
        text.hidden_size,
        text.num_key_value_heads,
        text.vocab_size,
    )
    with pytest.raises(ValueError, match="no shape known"):
        model_shape(str(tmp_path / "missing"))
