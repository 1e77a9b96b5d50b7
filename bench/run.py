"""`make bench`: every benchmark, each writing bench/results/<name>.{json,md}. Slow (tens of minutes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = [
    ["micro"],
    # the default config as it stands; the files of earlier defaults keep their names (framed-colour,
    # upt-framed-colour: the 1200-step first SFT with 10 updates a round)
    ["bootstrap", "--design", "default", "--seeds", "0", "1", "2"],
    ["upt", "--name", "upt-default", "--base-seeds", "0", "--upt-seeds", "0", "1", "2", "3", "4"],
    ["recipe", "--run", "recipe-framedsft40-lr3e-5", "recipe-framedsft40-default"],
    # verdicts are recorded once, before any training; each set of worlds trains with the recipe of its day
    ["probe", "--verdicts", "--outcomes"],
    # a third-set world and its mirror: the same label-free readings before opposite outcomes (after probe)
    ["mirror"],
    # the shipped config, guards on, where UPT cannot help
    ["noharm"],
    # the dev guard's delivered round, replayed from the per-item dev scores on record (trains nothing)
    ["dev_margin"],
    # ... and watching the dev set's sampled accuracy too, replayed the same way (trains nothing)
    ["dev_sampled"],
    # label-free stopping rules, replayed on every run on record (trains nothing; after noharm, which it reads)
    ["inrun_signals"],
    ["synthesis", "--seeds", "0", "1", "2"],
    ["orchestration"],
]

if __name__ == "__main__":
    only = sys.argv[1:]
    for args in BENCHES:
        if only and args[0] not in only:
            continue
        print(f"== {args[0]}", flush=True)
        subprocess.run([sys.executable, "-m", f"bench.{args[0]}", *args[1:]], check=True, cwd=ROOT)
