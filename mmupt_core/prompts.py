"""The one place prompts are built, for every backend (HF generate, vLLM, TRL's GRPOTrainer, SFT).

Messages are conversational with the chat template *not* applied, which is the shape TRL's VLM GRPO expects;
the HF and vLLM samplers apply the model's own template to the same messages.
"""

from __future__ import annotations

from typing import Protocol

PAPER_SUFFIX = " Please reason step by step, and put your final answer within \\boxed{}."
DIRECT_SYNTHESIS_PROMPT = "Write a new question about this image."
IN_CONTEXT_SYNTHESIS_PROMPT = (
    "Here is a question about this image: {question} Write a different question about the same image."
)


def build_messages(question: str, suffix: str = PAPER_SUFFIX, image_first: bool = True) -> list[dict]:
    """One user turn: the image and the question followed by the answer-format suffix.

    Real checkpoints see the image first (the paper's layout); the tiny model reads the question first, so that
    under causal attention its image tokens can already see what is being asked.
    """
    text = {"type": "text", "text": question.strip() + suffix}
    content = [{"type": "image"}, text] if image_first else [text, {"type": "image"}]
    return [{"role": "user", "content": content}]


def text_messages(text: str, image_first: bool = True) -> list[dict]:
    """One user turn of the image and a free text (the synthesis prompts)."""
    part = {"type": "text", "text": text}
    content = [{"type": "image"}, part] if image_first else [part, {"type": "image"}]
    return [{"role": "user", "content": content}]


class SynthesisTemplates(Protocol):
    """The prompt templates of the synthesis config (SynthesisConfig), named here so prompts need no config."""

    direct_prompt: str
    in_context_prompt: str
    answer_hint: str | None


def synthesis_prompt(cfg: SynthesisTemplates, strategy: str, question: str | None, answer: str | None) -> str:
    """The prompt text for one strategy; in-context fills the example question and (if known) its answer."""
    if strategy == "direct":
        return cfg.direct_prompt
    if strategy != "in_context":
        raise ValueError(f"unknown synthesis strategy {strategy!r}; expected in_context or direct")
    hint = cfg.answer_hint.format(answer=answer) if cfg.answer_hint and answer is not None else ""
    return cfg.in_context_prompt.format(question=(question or "").strip(), answer_hint=hint)
