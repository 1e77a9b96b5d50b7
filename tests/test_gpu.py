"""Checks that need a CUDA GPU (and, for the vLLM sampler, vLLM itself). Run with `pytest -m gpu`."""

import pytest
import torch
from PIL import Image

from mmupt_core.model import sampling, tiny, vllm_sampler
from mmupt_core.prompts import build_messages

pytestmark = pytest.mark.gpu


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_hf_sampler_on_gpu(tmp_path):
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    model = tiny.build_model(tok).to("cuda")
    s = sampling.HFSampler(model, proc, batch_size=16, suppress_token_ids=tiny.suppressed_token_ids(tok))
    reqs = [
        sampling.Request(f"i{k}", Image.new("RGB", (756, 28)), build_messages("How many circles are there?"))
        for k in range(4)
    ]
    out = s.sample(reqs, sampling.SamplingParams(n=4, temperature=1.0, top_p=1.0, max_tokens=8, seed=0))
    assert [len(o.completions) for o in out] == [4] * 4


@pytest.mark.skipif(not vllm_sampler.vllm_available(), reason="needs vLLM and a CUDA GPU")
def test_vllm_sampler_real_run(tmp_path):
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    tiny.save_pretrained(tiny.build_model(tok), proc, tmp_path / "ck")
    s = vllm_sampler.VLLMSampler(str(tmp_path / "ck"), proc, gpu_memory_utilization=0.2, max_model_len=512)
    reqs = [sampling.Request("a", Image.new("RGB", (756, 28)), build_messages("How many circles are there?"))]
    out = s.sample(reqs, sampling.SamplingParams(n=3, temperature=1.0, top_p=1.0, max_tokens=8, seed=0))
    assert len(out[0].completions) == 3
