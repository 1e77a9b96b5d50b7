"""The do-no-harm guard: a "little to teach" or "may harm" probe verdict stops a new run before round 1,
unless guard.go_on_anyway; the terminal's verdict and `mmupt show` say why."""

from mmupt_core.config import dump_config, load_config
from mmupt_core.paths import store_path
from mmupt_core.rounds.driver import Steps, run_rounds
from mmupt_core.rounds.guard import guard_stop
from mmupt_core.store.checkpoints import checkpoint_id
from mmupt_core.store.db import Store
from mmupt_core.store.rows import StageRecord
from mmupt_core.view.summary import round_summaries, verdict
from mmupt_core.voting.probe import stopping_verdicts, summarize_probe

# the guard as shipped for any world but the default's (conf/tiny.yaml goes on past "may harm" on its own world)
STRICT = ["guard.go_on_anyway=false"]
# the vote mostly backs greedy's answer (greedy advantage > 0.1): "may harm"
HARM = summarize_probe(["1"] * 10, [["1"] * 5 + ["2", "3", "4"]] * 8 + [["7"] * 6 + ["1"] * 2] * 2, k=8)
# confident majorities that differ from greedy and beat it: "something to teach"
TEACH = summarize_probe(["1"] * 10, [["1", "2"] + ["3"] * 6] * 2 + [["5"] * 8] * 8, k=8)


def _base(store: Store, run_id: str, probe, config_json: str = "{}") -> None:
    store.ensure_run(run_id, "h", config_json)
    metrics = [
        {"benchmark": "probe", "metric": k, "value": v, "n": probe.n} for k, v in probe.metrics().items()
    ]
    metrics += [{"benchmark": "world_eval", "metric": "greedy_acc", "value": 0.6, "n": 300}]
    record = StageRecord(metrics=metrics, checkpoint={"path": "/ck/base", "parent_id": None})
    store.record_stage(run_id, 0, "evaluate", "h", record, wall_s=1.0, finishes_round=True)


def test_a_may_harm_verdict_stops_before_round_1_unless_the_config_goes_on():
    cfg = load_config("conf/tiny.yaml", STRICT)
    store = Store(store_path(cfg))
    _base(store, "harm", HARM)
    assert HARM.kind == "may harm"
    reason = guard_stop(cfg, "harm")
    assert reason and "may harm" in reason and "guard.go_on_anyway=true" in reason
    assert guard_stop(load_config("conf/tiny.yaml", ["guard.go_on_anyway=true"]), "harm") is None
    # the setting decides whether rounds run, not what a stage computes: the config hash ignores it
    assert load_config("conf/tiny.yaml", ["guard.go_on_anyway=true"]).section_hash() == cfg.section_hash()
    _base(store, "teach", TEACH)
    assert guard_stop(cfg, "teach") is None


def _steps(ran: list, first: int) -> Steps:
    """Driver steps that only record which rounds ran (`first`: the round prepare says to start at)."""
    return Steps(
        prepare=lambda *a: first,
        setup=lambda c, r: ran.append("setup") if first > 1 else None,
        round=lambda c, r, k: ran.append(k),
        announce=lambda c, r, k: None,
    )


def test_the_driver_runs_no_round_after_a_stop_and_the_verdict_says_why():
    cfg = load_config("conf/tiny.yaml", STRICT)
    store = Store(store_path(cfg))
    _base(store, "stopped", HARM)
    ran = []
    steps = _steps(ran, first=1)
    run_rounds(cfg, 3, "stopped", steps=steps)
    assert ran == []
    text = verdict(round_summaries(store, "stopped"))
    assert text.startswith("no round ran") and "'may harm'" in text and "go_on_anyway" in text
    # with the setting on, the same run trains, and its verdict remembers what the probe said
    go = load_config("conf/tiny.yaml", ["guard.go_on_anyway=true"])
    run_rounds(go, 2, "stopped", steps=steps)
    assert ran == [1, 2]
    store.ensure_run("stopped", "h", dump_config(go))  # what the driver stores: the resolved config, as YAML
    summaries = round_summaries(store, "stopped")
    assert summaries[0].probe.kind == "may harm" and not summaries[0].guard_stopped


def test_a_branch_is_never_stopped_by_the_probe():
    cfg = load_config("conf/tiny.yaml", STRICT)
    store = Store(store_path(cfg))
    _base(store, "parent", HARM)
    ran = []
    steps = _steps(ran, first=2)  # a branch from round 1 starts at round 2
    run_rounds(cfg, 3, "parent", steps=steps)
    assert ran == [2, 3]


def _round(
    store: Store, run_id: str, r: int, dev: float, greedy: float, dev_sampled: float = 0.5, **dev_types: float
) -> None:
    metrics = [
        {"benchmark": "world_dev", "metric": "greedy_acc", "value": dev, "n": 100},
        {"benchmark": "world_dev", "metric": "sampled_acc", "value": dev_sampled, "n": 100},
        {"benchmark": "world_eval", "metric": "greedy_acc", "value": greedy, "n": 300},
    ]
    metrics += [
        {"benchmark": "world_dev", "metric": f"greedy_acc/{t}", "value": v, "n": 50}
        for t, v in dev_types.items()
    ]
    parent = checkpoint_id(run_id, r - 1) if r else None  # a lineage, as the driver links it
    record = StageRecord(metrics=metrics, checkpoint={"path": f"/ck/{r}", "parent_id": parent})
    store.record_stage(run_id, r, "evaluate", "h", record, wall_s=1.0, finishes_round=True)


def test_the_dev_guard_stops_after_a_round_that_lost_labelled_dev_accuracy_and_says_it_used_labels():
    import pytest

    from mmupt_core.config import ConfigError
    from mmupt_core.rounds.driver import should_stop
    from mmupt_core.rounds.guard import dev_guard_stop

    with pytest.raises(ConfigError, match="needs a labelled dev set"):
        load_config("conf/tiny.yaml", ["guard.max_dev_drop=0.02"])
    # without the delivered round's margin (guard.dev_margin_z), which a +0.03 gain on 100 items would not clear
    cfg = load_config(
        "conf/tiny.yaml", ["evaluation.dev_items=100", "guard.max_dev_drop=0.02", "guard.dev_margin_z=0"]
    )
    store = Store(store_path(cfg))
    store.ensure_run("dev", "h", dump_config(cfg))
    # greedy falls while sampling gains, as on the bases where UPT's greedy fell (bench/results/dev-guard.md)
    for r, (dev, greedy, sampled) in enumerate([(0.80, 0.70, 0.60), (0.83, 0.72, 0.70), (0.77, 0.69, 0.75)]):
        _round(store, "dev", r, dev, greedy, sampled)
    assert dev_guard_stop(cfg, "dev", 1) is None and not should_stop(cfg, "dev", 1)
    reason = dev_guard_stop(cfg, "dev", 2)
    assert (
        "USES LABELS" in reason
        and "0.800 → 0.770" in reason
        and "the round it delivers is 1 (0.830): use its checkpoint, /ck/1" in reason
    )
    assert should_stop(cfg, "dev", 2)
    # off unless configured, even with a dev set
    assert dev_guard_stop(load_config("conf/tiny.yaml", ["evaluation.dev_items=100"]), "dev", 2) is None
    text = verdict(round_summaries(store, "dev"))
    assert "labelled dev set (USES LABELS): greedy 0.800 → 0.770, best at round 1" in text
    assert "the dev guard stopped the run after round 2; the run delivers round 1's checkpoint" in text
    assert "not its last: /ck/1" in text
    assert "sampled (T = 1) 0.600 → 0.750, best at round 2 (0.750)" in text


def test_with_dev_stop_per_type_a_type_that_fell_stops_the_run_while_the_overall_mean_held():
    from mmupt_core.rounds.driver import should_stop
    from mmupt_core.rounds.guard import dev_guard_stop

    line = ["evaluation.dev_items=100", "guard.max_dev_drop=0.02"]
    overall_only = load_config("conf/tiny.yaml", line)
    per_type = load_config("conf/tiny.yaml", [*line, "guard.dev_stop_per_type=true"])
    store = Store(store_path(per_type))
    store.ensure_run("types", "h", dump_config(per_type))
    # colour rises while count falls and the mean holds, as UPT did on `framed` (bench/results/dev-guard-types.md)
    for r, (colour, count) in enumerate([(0.70, 0.70), (0.80, 0.62)]):
        _round(store, "types", r, (colour + count) / 2, 0.7, colour=colour, count=count)
    reason = dev_guard_stop(per_type, "types", 1)
    assert reason and "on count questions 0.700 → 0.620, more than 0.02 below the base" in reason
    assert "the round it delivers is 0" in reason and should_stop(per_type, "types", 1)
    text = verdict(round_summaries(store, "types"))
    assert "the dev guard stopped the run after round 1" in text
    store.ensure_run("types", "h", dump_config(overall_only))  # the same run, configured as shipped
    assert dev_guard_stop(overall_only, "types", 1) is None and not should_stop(overall_only, "types", 1)
    assert "the dev guard stopped" not in verdict(round_summaries(store, "types"))


def test_with_dev_watch_sampled_a_fall_in_sampled_accuracy_stops_the_run_while_greedy_held():
    from mmupt_core.rounds.driver import should_stop
    from mmupt_core.rounds.guard import dev_guard_stop

    line = ["evaluation.dev_items=100", "guard.max_dev_drop=0.02", "guard.dev_margin_z=0"]
    greedy_only = load_config("conf/tiny.yaml", line)
    watching = load_config("conf/tiny.yaml", [*line, "guard.dev_watch_sampled=true"])
    store = Store(store_path(watching))
    store.ensure_run("sharp", "h", dump_config(watching))
    # greedy holds (and gains a little) while sampling falls, as UPT sharpened a noisy favourite route
    # (bench/results/dev-guard-sampled.md)
    for r, (dev, sampled) in enumerate([(0.50, 0.60), (0.54, 0.59), (0.55, 0.49)]):
        _round(store, "sharp", r, dev, 0.5, sampled)
    assert dev_guard_stop(watching, "sharp", 1) is None and not should_stop(watching, "sharp", 1)
    reason = dev_guard_stop(watching, "sharp", 2)
    assert reason and "sampled accuracy on the labelled dev set 0.600 → 0.490, more than 0.02 below" in reason
    assert "greedy on the labelled dev set" not in reason
    # round 2 is best on greedy but fell on sampling: round 1 is delivered
    assert "the round it delivers is 1 (0.540)" in reason and should_stop(watching, "sharp", 2)
    text = verdict(round_summaries(store, "sharp"))
    assert (
        "the dev guard stopped the run after round 2" in text
        and "the run delivers round 1's checkpoint" in text
    )
    store.ensure_run("sharp", "h", dump_config(greedy_only))  # the same run, the guard watching greedy alone
    assert dev_guard_stop(greedy_only, "sharp", 2) is None
    assert "the dev guard stopped" not in verdict(round_summaries(store, "sharp"))


def test_a_dev_split_is_built_apart_from_the_world_and_labelled(tmp_path):
    from mmupt_core.config import WorldConfig
    from mmupt_core.world import builder

    cfg = WorldConfig(n_sft=10, n_pool=5, n_eval=5)
    world = builder.build_world(cfg, tmp_path)
    dev = builder.build_dev_split(cfg, tmp_path, 7)
    items = builder.load_split(dev, "dev")
    assert len(items) == 7 and all(it.answer for it in items) and dev != world
    evals = {it.question + it.answer for it in builder.load_split(world, "eval")}
    assert builder.build_dev_split(cfg, tmp_path, 7) == dev  # built once
    assert len(evals) and items[0].item_id not in {it.item_id for it in builder.load_split(world, "eval")}


def _votes(store: Store, run_id: str, r: int, agreement: float) -> None:
    labels = [
        {"item_id": f"i{k}", "label": "1", "votes": 4, "n_valid": 8, "agreement": agreement, "accepted": True}
        for k in range(10)
    ]
    metrics = [{"benchmark": "pool", "metric": "agreement_mean", "value": agreement, "n": 10}]
    store.record_stage(run_id, r, "vote", "h", StageRecord(pseudo_labels=labels, metrics=metrics), wall_s=1.0)


def test_the_consolidation_guard_stops_before_training_on_an_update_that_lowered_agreement():
    from mmupt_core.rounds.driver import should_stop
    from mmupt_core.rounds.guard import consolidation_stop

    cfg = load_config("conf/tiny.yaml", STRICT)
    assert cfg.guard.min_agreement_change == -0.02  # on by default
    store = Store(store_path(cfg))
    store.ensure_run("c", "h", dump_config(cfg))
    _round(store, "c", 0, 0.8, 0.70)
    _votes(store, "c", 1, 0.71)
    _round(store, "c", 1, 0.8, 0.71)
    assert consolidation_stop(cfg, "c", 1) is None  # round 1 has nothing to compare with
    _votes(store, "c", 2, 0.70)  # -0.01: within the floor
    assert consolidation_stop(cfg, "c", 2) is None
    _votes(store, "c", 2, 0.67)  # -0.04: the update did not fit the majority
    reason = consolidation_stop(cfg, "c", 2)
    assert reason and "label-free" in reason and "0.710 → 0.670" in reason and should_stop(cfg, "c", 2)
    assert (
        consolidation_stop(load_config("conf/tiny.yaml", ["guard.min_agreement_change=null"]), "c", 2) is None
    )
    text = verdict(round_summaries(store, "c"))
    assert (
        "consolidation guard stopped the run before round 2 trained (agreement under the vote 0.710 → 0.670)"
        in text
    )
    # a round that already trained is never held back
    _round(store, "c", 2, 0.8, 0.72)
    assert consolidation_stop(cfg, "c", 2) is None


def test_types_whose_verdict_stops_are_held_out_of_training_and_every_type_stopping_stops_the_run():
    from mmupt_core.rounds.guard import held_out_types

    greedy = ["red"] * 10 + ["1"] * 10
    samples = [["blue"] * 6 + ["red"] * 2] * 10 + [["1"] * 5 + ["2", "3", "0"]] * 10
    mixed = summarize_probe(greedy, samples, k=8, types=["colour"] * 10 + ["count"] * 10)
    assert mixed.by_type["colour"].kind == "something to teach" and mixed.by_type["count"].stops()
    cfg = load_config("conf/tiny.yaml", STRICT)
    store = Store(store_path(cfg))
    _base(store, "mixed", mixed, dump_config(cfg))
    assert guard_stop(cfg, "mixed") is None
    assert held_out_types(cfg, "mixed") == {"count"}
    assert held_out_types(load_config("conf/tiny.yaml", ["guard.go_on_anyway=true"]), "mixed") == set()
    _round(store, "mixed", 1, 0.8, 0.65)
    text = verdict(round_summaries(store, "mixed"))
    assert (
        "questions of type count were held out of training (the probe said count 'little to teach')" in text
    )
    # every type stops: the whole run stops before round 1
    both = summarize_probe(
        ["1"] * 20, [["1"] * 5 + ["2", "3", "0"]] * 20, k=8, types=["colour", "count"] * 10
    )
    _base(store, "both", both, dump_config(cfg))
    assert guard_stop(cfg, "both") and held_out_types(cfg, "both") == set()


def test_a_stopping_verdict_on_the_whole_pool_is_not_overruled_by_one_type():
    # colour: greedy and its samples agree everywhere; count: on 3 of 4 questions a confident majority differs.
    # Over the pool that is 3 of 44 ("little to teach"); count alone says "something to teach". Training count
    # alone would still move the shared model that answers colour (the views control lost 0.11 on held-out types).
    greedy = ["red"] * 40 + ["1"] * 4
    samples = [["red"] * 8] * 40 + [["2"] * 7 + ["1"]] * 3 + [["1"] * 8]
    probe = summarize_probe(greedy, samples, k=8, types=["colour"] * 40 + ["count"] * 4)
    assert probe.kind == "little to teach" and probe.by_type["count"].kind == "something to teach"
    assert probe.stops_run() and probe.held_types() == set()
    cfg = load_config("conf/tiny.yaml", STRICT)
    store = Store(store_path(cfg))
    _base(store, "whole", probe, dump_config(cfg))
    reason = guard_stop(cfg, "whole")
    assert reason and "little to teach" in reason
    go_on = load_config("conf/tiny.yaml", ['guard.go_on_anyway=["little to teach"]'])
    assert (
        guard_stop(go_on, "whole") is None
        and probe.held_types(stopping_verdicts(["little to teach"])) == set()
    )


def test_go_on_anyway_may_name_the_verdicts_it_goes_past():
    from mmupt_core.rounds.guard import held_out_types

    little = summarize_probe(["1"] * 10, [["1"] * 8] * 10, k=8)
    assert little.kind == "little to teach"
    past_harm = load_config("conf/tiny.yaml", ['guard.go_on_anyway=["may harm"]'])
    store = Store(store_path(past_harm))
    _base(store, "h2", HARM)
    _base(store, "l2", little)
    assert guard_stop(past_harm, "h2") is None
    from mmupt_core.rounds.guard import gone_past

    assert "goes past the probe's 'may harm'" in gone_past(past_harm, HARM)
    assert gone_past(load_config("conf/tiny.yaml", STRICT), HARM) is None  # it stops instead
    assert gone_past(past_harm, TEACH) is None  # nothing to go past
    reason = guard_stop(past_harm, "l2")
    assert reason and "little to teach" in reason
    # per type: only the verdicts still stopping hold a type out
    colour = [["red"] * 5 + ["blue", "green", "pink"]] * 8 + [["blue"] * 6 + ["red"] * 2] * 2
    mixed = summarize_probe(
        ["red"] * 10 + ["2"] * 10, colour + [["2"] * 8] * 10, k=8, types=["colour"] * 10 + ["count"] * 10
    )
    assert mixed.by_type["colour"].kind == "may harm" and mixed.by_type["count"].kind == "little to teach"
    _base(store, "m2", mixed, dump_config(past_harm))
    assert guard_stop(past_harm, "m2") is None and held_out_types(past_harm, "m2") == {"count"}
    assert held_out_types(load_config("conf/tiny.yaml", STRICT), "m2") == set()  # both stop: the run does
    _round(store, "m2", 1, 0.8, 0.65)
    assert round_summaries(store, "m2")[0].held_types == ("count",)
    # a verdict that is not one of the probe's is a config error that names the field
    import pytest

    from mmupt_core.config import ConfigError

    with pytest.raises(ConfigError, match="guard.go_on_anyway"):
        load_config("conf/tiny.yaml", ['guard.go_on_anyway=["maybe"]'])


def test_the_shipped_exception_holds_on_its_own_world_only():
    """conf/tiny.yaml goes past "may harm" on framed-colour, where UPT gained in every seed despite it; a user who
    switches world, changes one of its keys or brings data gets the guard back, and the terminal says why."""
    shipped = load_config("conf/tiny.yaml")
    assert shipped.go_on_anyway() == ["may harm"]
    store = Store(store_path(shipped))
    _base(store, "own", HARM)
    assert guard_stop(shipped, "own") is None
    # another SFT seed or thread count is the same recipe, and the earlier default's 1200-step first SFT was
    # measured too; a longer one is another base, where the probe's "may harm" was right
    for same in (["bootstrap.seed=2", "bootstrap.threads=1"], ["bootstrap.steps=1200", "training.steps=10"]):
        assert load_config("conf/tiny.yaml", same).go_on_anyway() == ["may harm"], same
    for elsewhere in (
        ["world.variant=equal-noise"],
        ["world.frame_width=2"],
        ["data.source=pool.parquet"],
        ["bootstrap.steps=2400"],
    ):
        cfg = load_config("conf/tiny.yaml", elsewhere)
        assert cfg.go_on_anyway() is False, elsewhere
        reason = guard_stop(cfg, "own")
        assert reason and "may harm" in reason and "holds on world framed-colour only" in reason
    # `mmupt show` reads the run's stored config the same way
    _base(store, "moved", HARM, dump_config(load_config("conf/tiny.yaml", ["world.variant=equal-noise"])))
    assert round_summaries(store, "moved")[0].guard_stopped
    _base(store, "stayed", HARM, dump_config(shipped))
    assert not round_summaries(store, "stayed")[0].guard_stopped
    # true on the command line goes past everywhere, as the stop message says
    assert guard_stop(load_config("conf/tiny.yaml", ["world.variant=equal-noise", GO_ON_TRUE]), "own") is None
    import pytest

    from mmupt_core.config import ConfigError

    with pytest.raises(ConfigError, match="unknown world variant 'nope'"):
        load_config("conf/tiny.yaml", ['guard.go_on_anyway={nope: ["may harm"]}'])


GO_ON_TRUE = "guard.go_on_anyway=true"


def test_the_paper_configs_go_past_may_harm_and_stop_on_little_to_teach():
    """The paper measured a gain on each of its three training sets with Qwen2.5-VL-7B, and the probe's "may harm"
    held on bases where UPT gained and where it lost alike: the paper configs go past that verdict, not the
    other."""
    little = summarize_probe(["1"] * 10, [["1"] * 8] * 10, k=8)
    for name in ("mmr1", "geo3k", "geoqa"):
        cfg = load_config(f"conf/qwen25vl-7b-{name}.yaml")
        assert cfg.go_on_anyway() == ["may harm"], name
        store = Store(store_path(cfg))
        _base(store, f"{name}-harm", HARM)
        _base(store, f"{name}-little", little)
        assert guard_stop(cfg, f"{name}-harm") is None
        reason = guard_stop(cfg, f"{name}-little")
        assert reason and "little to teach" in reason


def _pool_share(store: Store, run_id: str, r: int, share: float, items: int = 300) -> None:
    """Round r's votes with `share` of a pool of `items` electing its most common answer (agreement steady)."""
    labels = [
        {"item_id": f"i{k}", "label": "1", "votes": 6, "n_valid": 8, "agreement": 0.75, "accepted": True}
        for k in range(10)
    ]
    metrics = [
        {"benchmark": "pool", "metric": "agreement_mean", "value": 0.75, "n": items},
        {"benchmark": "pool", "metric": "top_label_share", "value": share, "n": items},
    ]
    store.record_stage(run_id, r, "vote", "h", StageRecord(pseudo_labels=labels, metrics=metrics), wall_s=1.0)


def test_the_collapse_guard_stops_votes_piling_onto_one_answer_and_the_run_delivers_the_checkpoint_before():
    from mmupt_core.rounds.driver import should_stop
    from mmupt_core.rounds.guard import collapse_stop
    from mmupt_core.view.choice import choose
    from mmupt_core.view.summary import delivered

    cfg = load_config("conf/tiny.yaml", STRICT)
    assert cfg.guard.max_top_label_rise == 0.10  # on by default
    store = Store(store_path(cfg))
    store.ensure_run("v", "h", dump_config(cfg))
    _round(store, "v", 0, 0.8, 0.41)
    _pool_share(store, "v", 1, 0.317)
    _round(store, "v", 1, 0.8, 0.37)
    assert collapse_stop(cfg, "v", 1) is None  # round 1's pool is what later pools are held to
    _pool_share(store, "v", 2, 0.40)  # +0.083: within the line
    assert collapse_stop(cfg, "v", 2) is None
    _pool_share(store, "v", 2, 0.577)  # +0.260: the votes pile onto one answer (views, noharm-past-probe.md)
    reason = collapse_stop(cfg, "v", 2)
    assert reason and "label-free collapse guard" in reason and "0.317 → 0.577" in reason
    assert "round 0's checkpoint (the base)" in reason and should_stop(cfg, "v", 2)
    assert collapse_stop(load_config("conf/tiny.yaml", ["guard.max_top_label_rise=null"]), "v", 2) is None
    # the same rise on a pool of 10 is two votes, under the share's own noise (1.64 errors: 0.365)
    store.ensure_run("small", "h", dump_config(cfg))
    _round(store, "small", 0, 0.8, 0.41)
    _pool_share(store, "small", 1, 0.3, items=10)
    _round(store, "small", 1, 0.8, 0.37)
    _pool_share(store, "small", 2, 0.6, items=10)
    assert collapse_stop(cfg, "small", 2) is None and not should_stop(cfg, "small", 2)
    assert delivered(round_summaries(store, "small"))[0].round == 1
    summaries = round_summaries(store, "v")
    # round 1's checkpoint is the one whose samples showed it: the run delivers the base
    assert delivered(summaries)[0].round == 0
    assert "collapse guard stopped the run before round 2 trained" in verdict(summaries)
    assert "it delivers round 0 (the base), greedy 0.410" in verdict(summaries)
    chosen = choose(summaries, "v", "run")
    assert chosen.round == 0 and "collapse guard" in chosen.why and not chosen.uses_labels
    assert choose(summaries, "v", "last").round == 1
    # a round that already trained is never held back; with the guard on now, the run still delivers the base
    _round(store, "v", 2, 0.8, 0.39)
    assert collapse_stop(cfg, "v", 2) is None
    summaries = round_summaries(store, "v")
    assert delivered(summaries)[0].round == 0 and "collapse guard found round 2's votes" in verdict(summaries)


def test_a_store_from_before_the_collapse_guard_delivers_what_it_did():
    from mmupt_core.view.summary import delivered

    cfg = load_config("conf/tiny.yaml", [*STRICT, "guard.max_top_label_rise=null"])
    store = Store(store_path(cfg))
    config = "\n".join(line for line in dump_config(cfg).splitlines() if "max_top_label_rise" not in line)
    assert "max_top_label_rise" not in config
    store.ensure_run("old", "h", config)
    _round(store, "old", 0, 0.8, 0.41)
    _pool_share(store, "old", 1, 0.317)
    _round(store, "old", 1, 0.8, 0.37)
    _pool_share(store, "old", 2, 0.577)
    _round(store, "old", 2, 0.8, 0.39)
    assert delivered(round_summaries(store, "old"))[0].round == 2
