"""An optional LLM judge for free-form answers, through any OpenAI-compatible chat endpoint (e.g. `vllm serve`).

The paper's judge was never released; this one asks a served model whether a prediction matches the reference
(We-Math/MathVerse-style wording: same meaning counts, 0.5 m = 50 cm). It wraps a rule-based scorer: a rule
match is final, and the judge is asked only when the rules say no, so it can only add matches.

    evaluation: {judge_url: "http://127.0.0.1:8000/v1", judge_model: Qwen/Qwen2.5-7B-Instruct}
"""

from __future__ import annotations

import json
import urllib.request

from mmupt_core.data.items import Item

PROMPT = (
    "Judge whether a model's answer matches the standard answer of a math question. The answers match when "
    "they are the same option or express the same value or meaning (for example 0.5 m and 50 cm).\n"
    "Question: {question}\nStandard answer: {answer}\nModel answer: {prediction}\n"
    "Reply with one word: yes or no."
)


class JudgeScorer:
    def __init__(self, rules, url: str, model: str, timeout_s: float = 60.0):
        self.rules = rules
        self.name = f"{rules.name}+judge"
        self.url = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_s = timeout_s

    def ask(self, question: str, answer: str, prediction: str) -> bool:
        body = {
            "model": self.model,
            "messages": [
                {
                    "role": "user",
                    "content": PROMPT.format(question=question, answer=answer, prediction=prediction),
                }
            ],
            "temperature": 0.0,
            "max_tokens": 4,
        }
        req = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 - configured endpoint
            reply = json.load(resp)["choices"][0]["message"]["content"]
        return reply.strip().lower().startswith("yes")

    def score(self, prediction: str | None, item: Item, answer: str) -> bool:
        if self.rules.score(prediction, item, answer):
            return True
        if prediction is None:
            return False
        return self.ask(item.question, answer, prediction)
