import torch
from PIL import Image

from mmupt_core.model import backend, sampling, tiny, vllm_sampler
from mmupt_core.model.sampling import HFSampler, Request
from mmupt_core.prompts import PAPER_SUFFIX, build_messages


def _sampler(batch_size=8):
    torch.manual_seed(0)
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    model = tiny.build_model(tok, seed=0)
    return HFSampler(
        model, proc, batch_size=batch_size, suppress_token_ids=tiny.suppressed_token_ids(tok)
    ), tok


def _requests(n=3):
    return [
        Request(
            f"i{k}",
            Image.new("RGB", (252, 84), (40 * k, 90, 200)),
            build_messages(f"How many circles are there? {k}"),
        )
        for k in range(n)
    ]


def test_hf_sampler_shape_and_fields():
    s, tok = _sampler()
    out = s.sample(
        _requests(3), sampling.SamplingParams(n=4, temperature=1.0, top_p=1.0, max_tokens=6, seed=0)
    )
    assert [len(o.completions) for o in out] == [4, 4, 4]
    assert [o.request.item_id for o in out] == ["i0", "i1", "i2"]
    for o in out:
        for c in o.completions:
            assert c.finish_reason in ("stop", "length")
            assert 0 <= c.n_tokens <= 6
            assert "<|image_pad|>" not in c.text


def test_hf_sampler_is_deterministic_for_a_seed():
    s, _ = _sampler(batch_size=5)
    reqs = _requests(3)
    a = s.sample(reqs, sampling.SamplingParams(n=4, temperature=1.0, top_p=0.9, max_tokens=6, seed=7))
    b = s.sample(reqs, sampling.SamplingParams(n=4, temperature=1.0, top_p=0.9, max_tokens=6, seed=7))
    c = s.sample(reqs, sampling.SamplingParams(n=4, temperature=1.0, top_p=0.9, max_tokens=6, seed=8))
    texts = lambda sets: [[x.text for x in o.completions] for o in sets]  # noqa: E731
    assert texts(a) == texts(b)
    assert texts(a) != texts(c)


def test_greedy_repeats_one_decode():
    s, _ = _sampler()
    out = s.sample(
        _requests(2), sampling.SamplingParams(n=3, temperature=0.0, top_p=1.0, max_tokens=5, seed=0)
    )
    for o in out:
        assert len({c.text for c in o.completions}) == 1 and len(o.completions) == 3


def test_prompt_builder_is_shared_by_both_backends():
    proc = tiny.build_processor(tiny.build_tokenizer())
    req = Request("x", Image.new("RGB", (252, 84)), build_messages("Q?"), prefill="View A:")
    text = sampling.render_prompt(proc, req)
    assert text.endswith("Q?" + PAPER_SUFFIX + "<|im_end|>\n<|im_start|>assistant\nView A:")
    (vreq,) = vllm_sampler.vllm_inputs(proc, [req])
    assert vreq["prompt"] == text and vreq["multi_modal_data"]["image"] is req.image


def test_backend_choice_without_gpu():
    assert backend.choose_backend("hf") == "hf"
    if not vllm_sampler.vllm_available():
        assert backend.choose_backend("auto") == "hf"


def test_a_stage_closes_its_sampler_even_when_it_fails(monkeypatch):
    """A vLLM engine left to the garbage collector keeps its worker and KV cache, and the next stage's engine
    finds too little memory to start; so every stage's sampler is closed on the way out, error or not."""
    closed = []

    class Recording:
        def close(self):
            closed.append(True)

    monkeypatch.setattr(backend, "make_sampler", lambda config, checkpoint: Recording())
    with backend.open_sampler(None, "ck") as s:
        assert isinstance(s, Recording) and not closed
    assert closed == [True]
    try:
        with backend.open_sampler(None, "ck"):
            raise RuntimeError("stage failed")
    except RuntimeError:
        pass
    assert closed == [True, True]
