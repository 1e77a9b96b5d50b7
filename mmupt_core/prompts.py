"""The one place prompts are built, for every backend (HF generate, vLLM, TRL's GRPOTrainer, SFT).

Messages are conversational with the chat template *not* applied, which is the shape TRL's VLM GRPO expects;
the HF and vLLM samplers apply the model's own template to the same messages.
"""

from __future__ import annotations

PAPER_SUFFIX = " Please reason step by step, and put your final answer within \\boxed{}."
DIRECT_SYNTHESIS_PROMPT = "Write a new question about this image."
IN_CONTEXT_SYNTHESIS_PROMPT = "Here is a question about this image: {question} Write a different question about the same image."


def build_messages(question: str, suffix: str = PAPER_SUFFIX) -> list[dict]:
    """One user turn: the image, then the question followed by the answer-format suffix."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question.strip() + suffix}]}]


def synthesis_messages(example_question: str | None) -> list[dict]:
    """Direct synthesis when example_question is None, in-context synthesis otherwise."""
    text = (
        DIRECT_SYNTHESIS_PROMPT
        if example_question is None
        else IN_CONTEXT_SYNTHESIS_PROMPT.format(question=example_question.strip())
    )
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
