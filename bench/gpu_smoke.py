"""GPU smoke: HF-backend sampling throughput and a few real GRPO steps, on the tiny model and on a mid-size
random Qwen2.5-VL (about 0.9B parameters, bf16), with no network and no vLLM. Figures go to
<out>/gpu-smoke.{json,md} after every phase, so a run cut short still reports what it measured.

    make gpu-smoke                         # on a GPU machine (installs carried wheels from .whl/ if needed)
    python -m bench.gpu_smoke --quick      # the same code paths on CPU, small sizes (a check, not a figure)
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
import traceback
from pathlib import Path

import torch
from PIL import Image

from mmupt_core.config import TrainingConfig
from mmupt_core.model import tiny
from mmupt_core.model.sampling import HFSampler, Request, SamplingParams
from mmupt_core.model.train import TrainItem, train_round
from mmupt_core.prompts import PAPER_SUFFIX, build_messages

ROOT = Path(__file__).resolve().parents[1]

QUESTIONS = ["How many circles are there?", "How many red shapes are there?", "What is the total?"]


def mid_size_model(tokenizer):
    """A random Qwen2.5-VL of about 0.9B parameters on the tiny tokenizer (so nothing is downloaded)."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    text = {
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "head_dim": 128,
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [16, 24, 24]},
    }
    vision = {
        "depth": 16,
        "hidden_size": 1280,
        "intermediate_size": 3420,
        "num_heads": 16,
        "out_hidden_size": 1536,
        "fullatt_block_indexes": [3, 7, 11, 15],
    }
    cfg = tiny.build_config(tokenizer, text, vision)
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(cfg)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def images(n: int, size: tuple[int, int]) -> list[Image.Image]:
    out = []
    for k in range(n):
        im = Image.new("RGB", size, ((k * 53) % 256, (k * 101) % 256, (k * 29) % 256))
        im.paste((255, 255, 255), (k % 20, 0, k % 20 + 14, 14))
        out.append(im)
    return out


def sampling_throughput(model, processor, n_requests, n, max_tokens, size, device, batch_size) -> dict:
    model.to(device).eval()
    reqs = [
        Request(f"r{k}", im, build_messages(QUESTIONS[k % 3], PAPER_SUFFIX, image_first=True))
        for k, im in enumerate(images(n_requests, size))
    ]
    sampler = HFSampler(
        model,
        processor,
        batch_size=batch_size,
        suppress_token_ids=tiny.suppressed_token_ids(processor.tokenizer),
    )
    sampler.sample(
        reqs[: max(1, batch_size // n)], SamplingParams(n, 1.0, 1.0, 8, 0)
    )  # warm-up (kernels, allocator)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    sets = sampler.sample(reqs, SamplingParams(n, 1.0, 1.0, max_tokens, 1))
    if device == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - start
    samples = sum(len(s.completions) for s in sets)
    tokens = sum(c.n_tokens for s in sets for c in s.completions)
    return {
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "requests": n_requests,
        "n": n,
        "max_tokens": max_tokens,
        "batch_size": batch_size,
        "wall_s": round(wall, 2),
        "samples_per_s": round(samples / wall, 1),
        "tokens_per_s": round(tokens / wall, 1),
    }


def vllm_sampling_throughput(tok, processor, folder: Path, n_requests, n, max_tokens, size) -> dict:
    """The tiny model saved as a checkpoint and sampled through vLLM (VLLMSampler, the code a real run uses);
    skipped where vLLM does not import (the GPU check machine has none)."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return {"skipped": "vLLM is not installed here"}
    from mmupt_core.model.vllm_sampler import VLLMSampler

    tiny.save_pretrained(tiny.build_model(tok), processor, folder / "tiny")
    load_start = time.perf_counter()
    sampler = VLLMSampler(str(folder / "tiny"), processor, gpu_memory_utilization=0.2, max_model_len=512)
    load_s = time.perf_counter() - load_start
    reqs = [
        Request(f"r{k}", im, build_messages(QUESTIONS[k % 3], PAPER_SUFFIX, image_first=True))
        for k, im in enumerate(images(n_requests, size))
    ]
    sampler.sample(reqs[:8], SamplingParams(n, 1.0, 1.0, 8, 0))  # warm-up
    start = time.perf_counter()
    sets = sampler.sample(reqs, SamplingParams(n, 1.0, 1.0, max_tokens, 1))
    wall = time.perf_counter() - start
    samples = sum(len(s.completions) for s in sets)
    return {
        "requests": n_requests,
        "n": n,
        "max_tokens": max_tokens,
        "load_s": round(load_s, 1),
        "wall_s": round(wall, 2),
        "samples_per_s": round(samples / wall, 1),
        "tokens_per_s": round(sum(c.n_tokens for s in sets for c in s.completions) / wall, 1),
    }


def grpo_steps(model, processor, folder: Path, steps, prompts, generations, max_len, size) -> dict:
    base = folder / "base"
    tiny.save_pretrained(model.to("cpu").float(), processor, base)
    items = [TrainItem(f"i{k}", im, QUESTIONS[k % 3], "3") for k, im in enumerate(images(prompts, size))]
    tc = TrainingConfig(
        steps=steps,
        prompts_per_step=prompts,
        num_generations=generations,
        num_iterations=1,
        max_completion_length=max_len,
        lr=1e-5,
        beta=0.01,
        reward="pseudo_label",
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    metrics = train_round(
        base,
        items,
        tc,
        folder / "out",
        suffix=PAPER_SUFFIX,
        image_first=True,
        suppress_tokens=tiny.suppressed_token_ids(processor.tokenizer),
    )
    wall = time.perf_counter() - start
    out = {
        "steps": int(metrics.get("steps", 0)),
        "prompts_per_step": prompts,
        "generations": generations,
        "max_completion_length": max_len,
        "wall_s": round(wall, 2),
        "s_per_step": round(wall / max(1, steps), 2),
        "reward_mean": metrics.get("reward_mean"),
        "checkpoint_written": (folder / "out" / "model.safetensors").is_file(),
    }
    if torch.cuda.is_available():
        out["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def write(report: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu-smoke.json").write_text(json.dumps(report, indent=1))
    lines = [
        "# GPU smoke",
        "",
        f"Device: {report['env'].get('device')}; torch {report['env']['torch']}; "
        f"transformers {report['env'].get('transformers')}; trl {report['env'].get('trl')}.",
        "",
    ]
    for name, res in report["phases"].items():
        lines.append(f"- **{name}**: " + ", ".join(f"{k} {v}" for k, v in res.items()))
    lines.append("")
    lines.append(f"Total wall {report.get('total_s', 0):.0f} s.")
    (out / "gpu-smoke.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    ap.add_argument("--quick", action="store_true", help="small sizes, for a CPU check of the code paths")
    ap.add_argument("--budget-s", type=float, default=420.0, help="skip phases that would start after this")
    args = ap.parse_args()
    import transformers
    import trl

    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = Path(args.out)
    report: dict = {
        "env": {
            "device": torch.cuda.get_device_name(0) if device == "cuda" else platform.processor() or "cpu",
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "python": platform.python_version(),
            "quick": args.quick,
        },
        "phases": {},
    }
    q = args.quick
    tok = tiny.build_tokenizer()
    proc = tiny.build_processor(tok)
    start = time.perf_counter()
    phases = [
        (
            "tiny sampling (HF)",
            lambda: sampling_throughput(
                tiny.build_model(tok), proc, 16 if q else 512, 8, 40, (756, 28), device, 64 if q else 1024
            ),
        ),
        (
            "tiny sampling (vLLM)",
            lambda d: vllm_sampling_throughput(tok, proc, d, 16 if q else 512, 8, 40, (756, 28)),
        ),
        (
            "tiny GRPO",
            lambda d: grpo_steps(
                tiny.build_model(tok),
                proc,
                d,
                1 if q else 3,
                4 if q else 32,
                4 if q else 8,
                16 if q else 48,
                (756, 28),
            ),
        ),
        (
            "mid-size sampling (HF, bf16)",
            lambda: sampling_throughput(
                mid_size_model(tok).to(torch.bfloat16),
                proc,
                2 if q else 128,
                2 if q else 8,
                8 if q else 128,
                (56, 56) if q else (448, 448),
                device,
                4 if q else 256,
            ),
        ),
        (
            "mid-size GRPO (bf16 autocast)",
            lambda d: grpo_steps(
                mid_size_model(tok),
                proc,
                d,
                1 if q else 3,
                2 if q else 16,
                2 if q else 8,
                8 if q else 128,
                (56, 56) if q else (448, 448),
            ),
        ),
    ]
    for name, fn in phases:
        if time.perf_counter() - start > args.budget_s:
            report["phases"][name] = {"skipped": "over the time budget"}
            continue
        try:
            if "GRPO" in name or "vLLM" in name:
                with tempfile.TemporaryDirectory() as tmp:
                    res = fn(Path(tmp))
            else:
                res = fn()
            report["phases"][name] = res
        except Exception as exc:  # report and go on: one failing phase must not hide the others
            traceback.print_exc()
            report["phases"][name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        if device == "cuda":
            torch.cuda.empty_cache()
        report["total_s"] = time.perf_counter() - start
        write(report, out)
        print(f"{name}: {report['phases'][name]}", flush=True)
    print((out / "gpu-smoke.md").read_text())


if __name__ == "__main__":
    main()
