"""Build the embedded tiny Qwen2.5-VL: a locally trained byte-level BPE tokenizer with the Qwen special tokens and
a Qwen2-VL chat template, a tiny `Qwen2_5_VLConfig`, and a processor whose pixel limits keep the worlds' images
at their size (one image token per 28-px cell: 15 for the 84x140 panel images, 27 for the 756x28 views). Everything loads back through `AutoProcessor` / `AutoModelForImageTextToText`.

The bootstrap ("first SFT") lives in `mmupt_core.bootstrap`.
"""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
)

from mmupt_core.config import WorldConfig
from mmupt_core.prompts import DIRECT_SYNTHESIS_PROMPT, IN_CONTEXT_SYNTHESIS_PROMPT, PAPER_SUFFIX
from mmupt_core.world import builder as world

log = logging.getLogger(__name__)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
SYSTEM_PROMPT = "You are a helpful assistant."

# The Qwen2-VL chat template (as shipped with Qwen2-VL / Qwen2.5-VL instruct models).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Multiples of 28 on both sides within these bounds are kept as they are by smart_resize (756x28 -> 27x1 merged
# tokens, 84x140 -> 3x5).
TINY_MIN_PIXELS = 28 * 28 * 4
TINY_MAX_PIXELS = 28 * 28 * 27


def _corpus(seed: int = 0) -> list[str]:
    """Text the tokenizer is trained on: both worlds' questions and route texts, prompts and chat scaffolding
    (one tokenizer for every world kind)."""
    rng = random.Random(seed)
    suffix = PAPER_SUFFIX
    lines = [SYSTEM_PROMPT, DIRECT_SYNTHESIS_PROMPT, suffix, "system\nuser\nassistant\n"]
    for cfg in (WorldConfig(kind="panels"), WorldConfig(kind="views")):
        questions = [q.text for q in world.all_questions(cfg)]
        lines += questions + [q + suffix for q in questions]
        lines += [IN_CONTEXT_SYNTHESIS_PROMPT.format(question=q) for q in questions]
        lines += world.kind(cfg).corpus(rng, cfg)
    lines += ["The answer is 3.", "the answer is (B)", "Answer: 12", "0 1 2 3 4 5 6 7 8 9"]
    return lines


def build_tokenizer(vocab_size: int = 512) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None))
    # Digits stay single tokens so counts are one token each; byte-level covers every other string.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
        padding_side="left",
        model_max_length=1024,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_processor(tokenizer: PreTrainedTokenizerFast) -> Qwen2_5_VLProcessor:
    size = {"shortest_edge": TINY_MIN_PIXELS, "longest_edge": TINY_MAX_PIXELS}
    image_processor = Qwen2VLImageProcessor(size=size, patch_size=14, merge_size=2, temporal_patch_size=2)
    video_processor = Qwen2VLVideoProcessor(size=size, patch_size=14, merge_size=2, temporal_patch_size=2)
    return Qwen2_5_VLProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATE,
    )


def build_config(
    tokenizer: PreTrainedTokenizerFast,
    text_overrides: dict | None = None,
    vision_overrides: dict | None = None,
) -> Qwen2_5_VLConfig:
    """The tiny config; the overrides make larger ones on the same tokenizer (the GPU smoke's mid-size model)."""
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 128,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "head_dim": 64,
        "max_position_embeddings": 1024,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [8, 12, 12]},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "tie_word_embeddings": False,
    }
    vision = {
        "depth": 2,
        "hidden_size": 96,
        "intermediate_size": 192,
        "num_heads": 2,
        "out_hidden_size": 128,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [1],
    }
    text.update(text_overrides or {})
    vision.update(vision_overrides or {})
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def build_model(tokenizer: PreTrainedTokenizerFast, seed: int = 0) -> Qwen2_5_VLForConditionalGeneration:
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(build_config(tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.pad_token_id
    return model


def save_pretrained(model, processor, path: Path) -> None:
    """Save model (safetensors), tokenizer and processor; written to a temp folder, then renamed."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(tmp, safe_serialization=True)
    processor.save_pretrained(tmp)
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)


def load_pretrained(path: str | Path, trust_remote_code: bool = False, dtype: torch.dtype | None = None):
    """Load (model, processor) from a local checkpoint folder; weights from safetensors only."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"not a model checkpoint (no config.json): {path}")
    processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust_remote_code)
    model = AutoModelForImageTextToText.from_pretrained(
        path, trust_remote_code=trust_remote_code, use_safetensors=True, dtype=dtype or torch.float32
    )
    return model, processor


def suppressed_token_ids(tokenizer) -> list[int]:
    """Special tokens that sampling must never emit (a sampled <|image_pad|> breaks the GRPO re-forward)."""
    keep = {tokenizer.eos_token_id}
    return [
        tokenizer.convert_tokens_to_ids(t)
        for t in SPECIAL_TOKENS
        if tokenizer.convert_tokens_to_ids(t) not in keep
    ]
