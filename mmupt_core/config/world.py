"""The embedded default's sections: the synthetic image world (and its named variants) and the tiny model's
first SFT on it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from mmupt_core.config.base import Section

_WORLD_FIELDS_ADDED_LATER = {
    "frame_noise",
    "count_share",
    "sft_panel_noise",
    "sft_frame_weight",
    "frame_width",
    "cue_weight",
}
_UNIFORM5 = [0.2, 0.2, 0.2, 0.2, 0.2]
# Named worlds (`world.variant`): each sets the keys below unless the config sets them itself. Measured link by
# link in bench/results/bootstrap.md; what UPT and its controls do on each is in bench/results/.
WORLD_VARIANTS: dict[str, dict[str, Any]] = {
    # One panel a scene, at random, framed in white and always wrong; the others 10%; routes taken uniformly.
    # The first SFT's panels are 40% wrong, so that the base reads the panel it names (not their consensus).
    "framed": {
        "kind": "panels",
        "panel_noise": [0.1] * 5,
        "route_prior": _UNIFORM5,
        "frame_noise": 1.0,
        "sft_panel_noise": 0.4,
    },
    # The default. `framed` with a frame the base can see (4 px; it locates it on 0.8 of clean images) and colour
    # questions only: count questions transcribe a panel before counting, and sampling each transcribed colour at
    # T = 1 put their sampled accuracy 0.11 below greedy, where no real model sits; every noisy reward lost on them.
    # Route A a little favoured (0.28), so that greedy decoding takes one route; the first SFT takes the framed
    # panel's route 0.75 times as often. Wants bootstrap.frame_fraction (conf/tiny.yaml sets 0.2).
    "framed-colour": {
        "kind": "panels",
        "panel_noise": [0.1] * 5,
        "route_prior": [0.28, 0.18, 0.18, 0.18, 0.18],
        "frame_noise": 1.0,
        "sft_panel_noise": 0.4,
        "frame_width": 4,
        "sft_frame_weight": 0.75,
        "count_share": 0.0,
    },
    # framed-colour with no global favourite: each scene outlines one panel in black, at random and independently
    # of the frame, and the first SFT takes its route cue_weight times as often as each other, so greedy's
    # favourite route differs by item (on framed-colour every item's greedy sits on the same A-or-C fork, which any
    # nudge flips for all at once). At weight 2 an 1800-step first SFT did not learn the cue (greedy on the
    # outlined route 0.22, chance 0.2) and formed a global favourite anyway; at 4 and 6 it did (0.94, 1.00). At 6
    # the outlined route carries so many samples that where its panel is framed the vote is mostly wrong (0.39
    # right) and UPT reinforced it; at 4 the vote there is right more often (0.56) and UPT beat its controls.
    "cued": {
        "kind": "panels",
        "panel_noise": [0.1] * 5,
        "route_prior": _UNIFORM5,
        "frame_noise": 1.0,
        "sft_panel_noise": 0.4,
        "frame_width": 4,
        "sft_frame_weight": 0.75,
        "count_share": 0.0,
        "cue_weight": 4.0,
    },
    # the earlier default: the favourite route (A) reads the noisiest panel; UPT's gain is greedy's first token
    "route-switch": {
        "kind": "panels",
        "panel_noise": [0.6, 0.1, 0.1, 0.1, 0.1],
        "route_prior": [0.3, 0.175, 0.175, 0.175, 0.175],
        "frame_noise": None,
        "sft_panel_noise": None,
    },
    # five equally noisy panels: nothing about which route to trust can be learned (the oracle cannot gain)
    "equal-noise": {
        "kind": "panels",
        "panel_noise": [0.3] * 5,
        "route_prior": _UNIFORM5,
        "frame_noise": None,
        "sft_panel_noise": None,
    },
    # nearly clean panels, first SFT on them too: the base reads the panels' consensus whatever panel it names,
    # so greedy beats its own majority
    "consensus": {
        "kind": "panels",
        "panel_noise": [0.05] * 5,
        "route_prior": _UNIFORM5,
        "frame_noise": 0.8,
        "sft_panel_noise": None,
    },
    # three occluded views where voting has nothing to teach: the negative control
    "views": {"kind": "views"},
}


# The first SFTs each variant's bases were measured with (BootstrapConfig keys; seed and threads may differ): what a
# verdict measured on that world covers. A per-world guard.go_on_anyway holds only with one of these. framed-colour
# at 1200 and 1500 steps: UPT gained on every base where the probe said "may harm" (bench/results/
# upt-framed-colour-t2*.md, upt-sft1500*.md); with a 2400-step first SFT UPT collapsed on two bases of three and
# "may harm" was right (bench/results/upt-sft2400.md).
_FRAMED_COLOUR_SFT = {
    "batch_size": 32,
    "lr": 5e-4,
    "warmup_steps": 50,
    "synthesis_fraction": 0.1,
    "describe_fraction": 0.3,
    "frame_fraction": 0.2,
}
MEASURED_FIRST_SFT: dict[str, tuple[dict[str, Any], ...]] = {
    "framed-colour": ({**_FRAMED_COLOUR_SFT, "steps": 1200}, {**_FRAMED_COLOUR_SFT, "steps": 1500}),
}


def known_variant(name: str) -> str:
    """name, if WORLD_VARIANTS defines it; else a ValueError that lists the ones it does."""
    if name not in WORLD_VARIANTS:
        raise ValueError(f"unknown world variant {name!r}; known: {', '.join(WORLD_VARIANTS)}")
    return name


class WorldConfig(Section):
    """The embedded synthetic image world (used when model.name_or_path == 'tiny'); see mmupt_core/world/."""

    # a named world (WORLD_VARIANTS): fills the keys below that the config leaves unset
    variant: str | None = None
    # panels: one scene in several noisy panels (default); views: three occluded views (the negative control)
    kind: Literal["panels", "views"] = "panels"
    seed: int = 0
    n_sft: int = Field(default=6000, ge=1)
    n_pool: int = Field(default=300, ge=1)
    n_eval: int = Field(default=300, ge=1)
    # panels
    panels: int = Field(default=5, ge=1, le=8)
    panel_noise: list[float] = Field(
        default_factory=lambda: [0.6, 0.1, 0.1, 0.1, 0.1],
        description="per panel: the chance that each object's colour is drawn wrong",
    )
    route_prior: list[float] = Field(
        default_factory=lambda: [0.3, 0.175, 0.175, 0.175, 0.175],
        description="per panel: how often the first SFT's routes read it (the base's habit)",
    )
    # One panel per scene, chosen at random, is framed in white and draws each colour wrong with this chance
    # instead of its panel_noise: an item-level, visible cue of which route not to trust. None: no frame.
    frame_noise: float | None = Field(default=None, ge=0, le=1)
    # the frame's outline in px inside each 28-px cell (None: 2). At 2 px the base never learned where the frame
    # is ("Which panel is framed?" at chance after a first SFT with 10% such examples: bench/results/bootstrap.md)
    frame_width: int | None = Field(default=None, ge=1, le=12)
    # The sft split's noise on every panel (the framed one keeps frame_noise); None: panel_noise. Noisy labelled
    # panels make reading the named panel the only way to fit the first SFT: with 5-10% noise everywhere the base
    # read the panels' consensus whatever panel it named (bench/results/bootstrap.md, designs framed, framed-10).
    sft_panel_noise: float | None = Field(default=None, ge=0, le=1)
    # The first SFT takes the framed panel's route this many times as often as route_prior says (None: 1): a base
    # that already leans away from the frame, item by item, so that the lean is there for training to strengthen.
    sft_frame_weight: float | None = Field(default=None, ge=0)
    # One panel per scene, at random, outlined in black; the first SFT takes its route this many times as often as
    # route_prior says (None: no cue): the base's favourite route, item by item.
    cue_weight: float | None = Field(default=None, gt=0)
    # the share of count questions (the rest ask a colour); None: half and half
    count_share: float | None = Field(default=None, ge=0, le=1)
    # how a count route reads its panel: "transcribe" lists the panel's colours, then counts; "direct" answers
    count_route: Literal["transcribe", "direct"] = "transcribe"
    # views
    min_shapes: int = Field(default=3, ge=1, le=9)
    max_shapes: int = Field(default=8, ge=1, le=9)
    occluders: int = Field(default=1, ge=0, le=3, description="occluded cells per view")
    route: Literal["cells", "bag"] = Field(default="bag", description="how a route transcribes its view")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_variant(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("variant") is None:
            return data
        return {**WORLD_VARIANTS[known_variant(data["variant"])], **data}

    def is_variant(self, name: str) -> bool:
        """Whether this is the named world as defined, no key of the variant set to something else."""
        spec = WORLD_VARIANTS.get(name)
        return (
            spec is not None and self.variant == name and all(getattr(self, k) == v for k, v in spec.items())
        )

    def cache_payload(self) -> dict:
        """What keys the cached world and first SFT: the resolved values, not the variant's name; fields added
        later are left out at their default (None), so worlds and bases built before they existed stay valid."""
        dump = self.model_dump(mode="json", exclude={"variant"})
        return {k: v for k, v in dump.items() if not (k in _WORLD_FIELDS_ADDED_LATER and v is None)}

    @model_validator(mode="after")
    def _consistent(self) -> WorldConfig:
        if self.min_shapes > self.max_shapes:
            raise ValueError(f"min_shapes ({self.min_shapes}) must not exceed max_shapes ({self.max_shapes})")
        for name in ("panel_noise", "route_prior"):
            values = getattr(self, name)
            if len(values) != self.panels:
                raise ValueError(f"{name} has {len(values)} values for {self.panels} panels")
            if any(not 0 <= v <= 1 for v in values):
                raise ValueError(f"{name} values must lie in [0, 1], got {values}")
        if sum(self.route_prior) <= 0:
            raise ValueError("route_prior must give some route a positive weight")
        return self


class BootstrapConfig(Section):
    """First SFT of the tiny model on the world's labeled `sft` split."""

    seed: int = 0
    steps: int = Field(default=1200, ge=1)
    batch_size: int = Field(default=32, ge=1)
    # 2e-3 left the base blind (one-object probe, two runs: shape 0.33-0.37 after 400 or 1200 steps, colour
    # 0.23-0.76); 5e-4 reads both (colour 1.00 at 400 steps, shape 0.995-1.00 at 800): bench/results/bootstrap.md
    lr: float = Field(default=5e-4, gt=0)
    warmup_steps: int = Field(default=50, ge=0)
    synthesis_fraction: float = Field(default=0.1, ge=0, le=1)
    # perception curriculum: "Describe panel C." -> "red blue blue." examples among the SFT batches
    describe_fraction: float = Field(default=0.3, ge=0, le=1)
    # "Which panel is framed?" -> "Panel C." examples (framed worlds): the frame located in the base's own features,
    # where its choice of route can read it (0: none)
    frame_fraction: float = Field(default=0.0, ge=0, le=1)
    # "Which panel is outlined?" -> "Panel B." examples (cued worlds): the cue located in the base's own features.
    # At cue weight 4 SFT seed 0 learned to follow the cue (0.94) and seeds 1 and 2 did not (0.37, 0.24).
    cue_fraction: float = Field(default=0.0, ge=0, le=1)
    # The bootstrap usually runs alone, where 2 threads take 0.20 s/step against 0.33 s for 1 on 2 cores.
    threads: int = Field(default=2, ge=1)

    def is_measured(self, variant: str) -> bool:
        """Whether this first SFT is one the variant's bases were measured with (MEASURED_FIRST_SFT; a
        variant without an entry: any)."""
        specs = MEASURED_FIRST_SFT.get(variant)
        return specs is None or any(all(getattr(self, k) == v for k, v in spec.items()) for spec in specs)
