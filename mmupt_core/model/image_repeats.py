"""Encode each distinct image once per call of a Qwen2-VL-family vision tower.

GRPO puts every prompt in a batch `num_generations` times, and TRL hands the model one copy of its image per
completion; sampling n answers per question does the same. So the vision tower encodes each image 8 times in every
forward: in generation, in the old-policy and reference log-probs and in each update. In this tower an image
attends only to itself (its attention is cut at each image's boundary), so encoding the distinct images and
repeating their features gives the features the full batch would have had, up to the order of float sums. Autograd
adds the repeats' gradients into the one copy, as the full batch added them into the shared weights.

    encode_images_once(model)   # on the loaded model, before training or sampling; returns whether it applied
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)

_MARK = "_mmupt_encodes_images_once"


def vision_tower(model) -> torch.nn.Module | None:
    """The model's vision tower, where it sits in transformers' Qwen2-VL-family classes (None elsewhere)."""
    model = getattr(model, "module", model)  # a DeepSpeed or DDP wrapper holds the model as .module
    for owner in (getattr(model, "model", None), model):
        visual = getattr(owner, "visual", None)
        if isinstance(visual, torch.nn.Module) and hasattr(visual, "spatial_merge_size"):
            return visual
    return None


def distinct_images(pixels: torch.Tensor, grid_thw: torch.Tensor) -> tuple[list[int], list[int]]:
    """For a tower batch (patch rows of every image in turn, each image's grid in `grid_thw`): the index of each
    distinct image's first copy, and for every image the position of its copy in that list. Images are equal only
    if their grids and every pixel are; a checksum picks the candidates so that few pairs are compared."""
    sizes = grid_thw.prod(-1)
    owner = torch.repeat_interleave(torch.arange(len(sizes), device=pixels.device), sizes)
    # Two copies whose checksums differ by rounding are only encoded twice: the checksum never decides equality.
    sums = torch.zeros(len(sizes), dtype=torch.float32, device=pixels.device)
    sums.index_add_(0, owner, pixels.detach().sum(-1, dtype=torch.float32))
    chunks = pixels.detach().split(sizes.tolist())
    first: list[int] = []
    inverse: list[int] = []
    candidates: dict[tuple, list[int]] = {}  # (grid, checksum) -> positions in `first`
    for i, key in enumerate(zip(map(tuple, grid_thw.tolist()), sums.tolist(), strict=True)):
        same = candidates.setdefault(key, [])
        match = next((j for j in same if torch.equal(chunks[first[j]], chunks[i])), None)
        if match is None:
            match = len(first)
            first.append(i)
            same.append(match)
        inverse.append(match)
    return first, inverse


def _repeat(features: torch.Tensor, rows: list[int], inverse: list[int]) -> torch.Tensor:
    """Rows of the distinct images' features (image j has rows[j] of them, in turn) laid out again for every
    image of the full batch."""
    parts = features.split(rows)
    return torch.cat([parts[j] for j in inverse])


def encode_images_once(model) -> bool:
    """Make the model's vision tower encode each distinct image of a call once; False (and nothing changed) when
    the model has no Qwen2-VL-family tower. Idempotent."""
    visual = vision_tower(model)
    if visual is None:
        log.info("encode_images_once: no Qwen2-VL-family vision tower; every copy of an image is encoded")
        return False
    if getattr(visual, _MARK, False):
        return True
    encode = visual.forward
    merge = visual.spatial_merge_size**2

    def forward(hidden_states: torch.Tensor, grid_thw: torch.Tensor, **kwargs):
        # Per-layer outputs or attentions, when asked for, would have the distinct images' rows only.
        if kwargs.get("output_hidden_states") or kwargs.get("output_attentions"):
            return encode(hidden_states, grid_thw, **kwargs)
        first, inverse = distinct_images(hidden_states, grid_thw)
        if len(first) == len(inverse):
            return encode(hidden_states, grid_thw, **kwargs)
        sizes = grid_thw.prod(-1).tolist()
        chunks = hidden_states.split(sizes)
        out = encode(torch.cat([chunks[i] for i in first]), grid_thw[first], **kwargs)
        rows = [sizes[i] for i in first]
        # last_hidden_state keeps the tower's window order, which permutes rows within each image only
        out.last_hidden_state = _repeat(out.last_hidden_state, rows, inverse)
        out.pooler_output = _repeat(out.pooler_output, [r // merge for r in rows], inverse)
        return out

    visual.forward = forward
    setattr(visual, _MARK, True)
    return True
