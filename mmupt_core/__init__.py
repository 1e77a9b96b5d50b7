"""mmupt's core: plain Python, no Prefect. Values and paths in, values out.

Shared by every part: `config` (the run config and its loader), `paths` (where runs and caches live),
`prompts` (every prompt the models see), `events` (progress announcements). The parts, lowest first:
`voting`, `data` and `store`; `world`; `model`; `scoring`; `view`; `rounds`; and `cli` on top. A part imports
only from parts below it (tests/test_layers.py checks this).
"""
