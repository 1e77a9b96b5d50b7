import copy

import numpy as np
import torch
from PIL import Image

from mmupt_core.model import sampling, tiny
from mmupt_core.model.image_repeats import distinct_images, encode_images_once, vision_tower
from mmupt_core.model.sampling import HFSampler, Request
from mmupt_core.prompts import build_messages


def _images():
    rng = np.random.default_rng(0)
    panels = [Image.fromarray(rng.integers(0, 255, (140, 84, 3), dtype=np.uint8)) for _ in range(3)]
    strip = Image.fromarray(rng.integers(0, 255, (28, 756, 3), dtype=np.uint8))
    near = np.array(panels[0])
    near[70, 40, 1] ^= 1  # one channel of one pixel differs: another image
    return panels + [strip, Image.fromarray(near)]


def _model():
    tok = tiny.build_tokenizer()
    return tiny.build_model(tok, seed=0), tiny.build_processor(tok)


def test_distinct_images_by_grid_and_every_pixel():
    _, proc = _model()
    ims = _images()
    order = [0, 1, 0, 3, 2, 4, 1, 3, 0]
    batch = proc.image_processor(images=[ims[i] for i in order], return_tensors="pt")
    first, inverse = distinct_images(batch["pixel_values"], batch["image_grid_thw"])
    assert first == [0, 1, 3, 4, 5]  # the first copy of images 0, 1, 3 (the strip), 2 and 4 (the near copy)
    assert inverse == [0, 1, 0, 2, 3, 4, 1, 2, 0]


def test_features_and_gradients_match_encoding_every_copy():
    full, proc = _model()
    once = copy.deepcopy(full)
    assert encode_images_once(once) and encode_images_once(once)  # idempotent
    ims = _images()
    batch = proc.image_processor(images=[ims[i] for i in [0, 1, 0, 3, 2, 1, 3, 0]], return_tensors="pt")
    outs = []
    for model in (full, once):
        out = model.model.get_image_features(batch["pixel_values"], batch["image_grid_thw"])
        features = torch.cat(out.pooler_output)
        (features.square().sum() + out.last_hidden_state.sum()).backward()
        outs.append((features, out.last_hidden_state))
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-6)
    assert torch.allclose(outs[0][1], outs[1][1], atol=1e-6)
    for (name, a), (_, b) in zip(full.named_parameters(), once.named_parameters(), strict=True):
        if a.grad is not None:
            # the repeats' gradients are summed in another order: equal up to float rounding
            assert (a.grad - b.grad).abs().max() <= 1e-5 * a.grad.abs().max(), name


def test_a_model_without_a_vision_tower_is_left_alone():
    lm = torch.nn.Linear(2, 2)
    assert vision_tower(lm) is None and encode_images_once(lm) is False


def test_sampling_gives_the_same_answers():
    """n samples per question repeat its image n times in generate's batch; the answers do not change."""
    full, proc = _model()
    once = copy.deepcopy(full)
    encode_images_once(once)
    requests = [
        Request(f"i{k}", im, build_messages("How many circles are there?")) for k, im in enumerate(_images())
    ]
    params = sampling.SamplingParams(n=4, temperature=1.0, max_tokens=6, seed=3)
    texts = []
    for model in (full, once):
        sampler = HFSampler(
            model, proc, batch_size=8, suppress_token_ids=tiny.suppressed_token_ids(proc.tokenizer)
        )
        texts.append([[c.text for c in s.completions] for s in sampler.sample(requests, params)])
    assert texts[0] == texts[1]
