"""The embedded synthetic image world the default runs on: seeded scenes, splits, and their ground truth.

- builder: `build_world` (cached by config), `world_path`, `load_split`, `load_pool_answers`, routes
- panels: the default world (one scene in several noisy panels; a reasoning route reads one panel)
- views: the earlier world of occluded views, kept as the negative control
- base: shapes, colours and drawing shared by both
"""

from mmupt_core.world.builder import (
    WORLD_FORMAT,
    build_world,
    load_pool_answers,
    load_split,
    route_names,
    synthetic_answers,
    world_path,
)

__all__ = [
    "WORLD_FORMAT",
    "build_world",
    "load_pool_answers",
    "load_split",
    "route_names",
    "synthetic_answers",
    "world_path",
]
