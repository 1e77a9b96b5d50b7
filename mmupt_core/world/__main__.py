"""Build the configured world under the cache and print its stats: python -m mmupt_core.world"""

from collections import Counter

from mmupt_core.config import WorldConfig
from mmupt_core.paths import cache_dir
from mmupt_core.world.builder import blind_baseline, build_world, load_split

if __name__ == "__main__":  # pragma: no cover
    path = build_world(WorldConfig(), cache_dir("world"))
    sft, ev = load_split(path, "sft"), load_split(path, "eval")
    print(path)
    print("blind baseline", blind_baseline(sft, ev))
    print("answers", Counter(it.answer for it in ev).most_common())
