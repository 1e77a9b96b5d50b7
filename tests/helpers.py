"""Shared test settings."""

# A config small enough for a whole round in seconds on one CPU thread.
SMALL = [
    "world.n_sft=64",
    "world.n_pool=6",
    "world.n_eval=6",
    "bootstrap.steps=80",
    "bootstrap.batch_size=8",
    "bootstrap.lr=3e-3",
    "sampling.n=4",
    "sampling.max_tokens=40",
    "voting.min_agreement=0.0",
    "training.steps=1",
    "training.prompts_per_step=4",
    "training.num_generations=4",
    "training.num_iterations=1",
    "training.max_completion_length=40",
    "evaluation.k=2",
    # these tests exercise the rounds themselves; what the probe's verdict does is tests/test_guard.py's
    "guard.go_on_anyway=true",
    "guard.min_agreement_change=null",
]
