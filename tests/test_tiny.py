import random

import torch
from PIL import Image

from mmupt_core.config import WorldConfig
from mmupt_core.model import bootstrap, tiny
from mmupt_core.prompts import PAPER_SUFFIX, build_messages
from mmupt_core.world import builder as world


def test_tokenizer_round_trips_and_keeps_digits_single():
    tok = tiny.build_tokenizer()
    for text in ["View B: 3 red. \\boxed{3}", "How many circles are there?", "ünïcode 123 ✓"]:
        assert tok.decode(tok(text)["input_ids"]) == text
    assert "12" not in tok.tokenize("12")
    for special in tiny.SPECIAL_TOKENS:
        assert tok.convert_tokens_to_ids(special) != tok.unk_token_id


def test_chat_template_renders_qwen_style():
    proc = tiny.build_processor(tiny.build_tokenizer())
    text = proc.apply_chat_template(
        build_messages("How many circles are there?"), add_generation_prompt=True, tokenize=False
    )
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n")
    assert "<|vision_start|><|image_pad|><|vision_end|>How many circles are there?" + PAPER_SUFFIX in text
    assert text.endswith("<|im_start|>assistant\n")


def test_processor_gives_one_image_token_per_cell():
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    text = proc.apply_chat_template(build_messages("q"), add_generation_prompt=True, tokenize=False)
    for size, grid, tokens in (((84, 140), [1, 10, 6], 15), ((756, 28), [1, 2, 54], 27)):
        batch = proc(text=[text], images=[Image.new("RGB", size)], return_tensors="pt")
        assert batch["image_grid_thw"].tolist() == [grid]
        assert int((batch["input_ids"] == tok.convert_tokens_to_ids("<|image_pad|>")).sum()) == tokens


def test_model_saves_and_loads_back(tmp_path):
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    model = tiny.build_model(tok, seed=3)
    n_params = sum(p.numel() for p in model.parameters())
    assert 0.5e6 < n_params < 2e6
    tiny.save_pretrained(model, proc, tmp_path / "ck")
    assert (tmp_path / "ck" / "model.safetensors").is_file()
    loaded, proc2 = tiny.load_pretrained(tmp_path / "ck")
    assert type(loaded).__name__ == "Qwen2_5_VLForConditionalGeneration"
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert proc2.tokenizer.chat_template == tiny.CHAT_TEMPLATE


def test_encoded_batches_equal_the_processors(tmp_path):
    """Tokenising once (bootstrap.Encoder) gives the batch the processor gives, labels included."""
    path = world.build_world(WorldConfig(n_sft=4, n_pool=2, n_eval=2), tmp_path)
    items, metas, images = bootstrap.load_world_split(path, "sft")
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    examples = [
        bootstrap.Example(
            images[it.item_id],
            build_messages(it.question, PAPER_SUFFIX, False),
            metas[it.item_id]["routes"][k],
        )
        for k, it in enumerate(items)
    ]
    enc = bootstrap.Encoder(proc)
    mine = enc.collate([enc.encode(e) for e in examples])
    theirs = bootstrap.collate(proc, examples)
    for key in ("input_ids", "attention_mask", "labels", "image_grid_thw", "mm_token_type_ids"):
        assert torch.equal(mine[key], theirs[key]), key
    assert torch.allclose(mine["pixel_values"], theirs["pixel_values"], atol=2e-3)  # stored in half precision


def test_a_few_bootstrap_steps_lower_the_loss(tmp_path):
    torch.set_num_threads(1)
    path = world.build_world(WorldConfig(n_sft=64, n_pool=4, n_eval=4), tmp_path)
    items, metas, images = bootstrap.load_world_split(path, "sft")
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    model = tiny.build_model(tok)
    rng = random.Random(0)
    fixed = bootstrap.make_examples(items, metas, images, rng, 16, PAPER_SUFFIX, 0.1)
    losses = bootstrap.train_sft(model, proc, lambda _: fixed, steps=12, lr=3e-3, warmup_steps=2, seed=0)
    assert sum(losses[-3:]) / 3 < 0.7 * losses[0]


def test_labels_cover_only_the_answer():
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    ex = bootstrap.Example(
        Image.new("RGB", (252, 84)),
        build_messages("How many circles are there?"),
        "View A: 2 circles. \\boxed{2}",
    )
    batch = bootstrap.collate(proc, [ex])
    labelled = batch["input_ids"][0][batch["labels"][0] != -100]
    assert tok.decode(labelled) == "View A: 2 circles. \\boxed{2}<|im_end|>"


def test_frame_examples_join_the_first_sft_only_when_asked(tmp_path):
    from mmupt_core.config import load_config

    cfg = load_config(None, ["world.n_sft=6", "world.n_pool=2", "world.n_eval=2", "world.frame_noise=1.0"])
    path = world.build_world(cfg.world, tmp_path)
    enc = bootstrap.Encoder(tiny.build_processor(tiny.build_tokenizer()))
    rng = random.Random(0)
    off = bootstrap.encode_pools(cfg, enc, path, rng)
    assert off.frame == [None] * 6
    asked = cfg.model_copy(update={"bootstrap": cfg.bootstrap.model_copy(update={"frame_fraction": 1.0})})
    on = bootstrap.encode_pools(asked, enc, path, rng)
    tok = enc.processor.tokenizer
    targets = {tok.decode(e.input_ids[e.labels != -100]) for e in on.frame}
    framed = {f"Panel {'ABCDE'[m['framed']]}.<|im_end|>" for m in world.load_metas(path, "sft").values()}
    assert targets == framed
    # with synthesis and descriptions off, every example is a frame example
    only = asked.bootstrap.model_copy(update={"synthesis_fraction": 0.0, "describe_fraction": 0.0})
    picked = bootstrap.sample_encoded(on, asked.model_copy(update={"bootstrap": only}), rng, 20)
    assert all(any(e is f for f in on.frame) for e in picked)
    # a knob at its default leaves the cache key of bases built before it as it was
    assert bootstrap.bootstrap_key(asked) != bootstrap.bootstrap_key(cfg)


def test_frame_fraction_stays_out_of_the_key_where_no_scene_has_a_frame():
    from mmupt_core.config import load_config

    for world_keys in (["world.variant=route-switch"], ["world.variant=views"]):
        off = load_config(None, world_keys)
        on = load_config(None, [*world_keys, "bootstrap.frame_fraction=0.2"])
        assert bootstrap.bootstrap_key(on) == bootstrap.bootstrap_key(off)
    framed = load_config(None, ["world.variant=framed-colour"])
    asked = load_config(None, ["world.variant=framed-colour", "bootstrap.frame_fraction=0.2"])
    assert bootstrap.bootstrap_key(asked) != bootstrap.bootstrap_key(framed)


def test_a_base_built_at_one_thread_count_never_stands_in_for_another():
    """On some CPUs the first SFT's weights depend on the thread count, so the cached base is keyed by it."""
    from mmupt_core.config import load_config

    one = load_config("conf/tiny.yaml", ["bootstrap.threads=1"])
    two = load_config("conf/tiny.yaml", ["bootstrap.threads=2"])
    assert bootstrap.bootstrap_key(one) != bootstrap.bootstrap_key(two)


def test_cue_examples_join_the_first_sft_only_when_asked(tmp_path):
    from mmupt_core.config import load_config

    cfg = load_config(None, ["world.variant=cued", "world.n_sft=6", "world.n_pool=2", "world.n_eval=2"])
    path = world.build_world(cfg.world, tmp_path)
    enc = bootstrap.Encoder(tiny.build_processor(tiny.build_tokenizer()))
    rng = random.Random(0)
    assert bootstrap.encode_pools(cfg, enc, path, rng).cue == [None] * 6
    asked = cfg.model_copy(update={"bootstrap": cfg.bootstrap.model_copy(update={"cue_fraction": 1.0})})
    on = bootstrap.encode_pools(asked, enc, path, rng)
    tok = enc.processor.tokenizer
    targets = sorted(tok.decode(e.input_ids[e.labels != -100]) for e in on.cue)
    metas = world.load_metas(path, "sft").values()
    assert targets == sorted(f"Panel {'ABCDE'[m['cued']]}.<|im_end|>" for m in metas)
    only = asked.bootstrap.model_copy(
        update={"synthesis_fraction": 0.0, "describe_fraction": 0.0, "frame_fraction": 0.0}
    )
    picked = bootstrap.sample_encoded(on, asked.model_copy(update={"bootstrap": only}), rng, 20)
    assert all(any(e is c for c in on.cue) for e in picked)
    assert bootstrap.bootstrap_key(asked) != bootstrap.bootstrap_key(cfg)
    # where no scene is outlined the knob teaches nothing, and the cached bases keep their key
    plain = load_config(None, ["world.variant=framed-colour"])
    assert bootstrap.bootstrap_key(plain) == bootstrap.bootstrap_key(
        load_config(None, ["world.variant=framed-colour", "bootstrap.cue_fraction=0.2"])
    )
