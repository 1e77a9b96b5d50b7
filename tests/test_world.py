import json
import random

from PIL import Image

from mmupt_core.config import WorldConfig
from mmupt_core.data.items import read_items
from mmupt_core.world import builder as world
from mmupt_core.world import panels as world_panels
from mmupt_core.world import views as world_views

CFG = WorldConfig(n_sft=40, n_pool=20, n_eval=20)
VIEWS = WorldConfig(kind="views", n_sft=40, n_pool=20, n_eval=20)


def _recount(meta: dict) -> int:
    """An independent recount from the scene description, not using world_views.count."""
    objs = meta["objects"]
    t = meta["targets"]
    kind = meta["type"]
    if kind == "total":
        return len(objs)
    if kind == "shape":
        return len([o for o in objs if o[0] == t[0]])
    if kind == "colour":
        return len([o for o in objs if o[1] == t[0]])
    return abs(len([o for o in objs if o[0] == t[0]]) - len([o for o in objs if o[0] == t[1]]))


def test_generator_is_deterministic(tmp_path):
    for cfg in (CFG, VIEWS):
        a = world.build_world(cfg, tmp_path / "a")
        b = world.build_world(cfg, tmp_path / "b")
        for split in ("sft", "pool", "eval"):
            assert (a / f"{split}.jsonl").read_text() == (b / f"{split}.jsonl").read_text()
        assert (a / "images" / "eval-00003.png").read_bytes() == (
            b / "images" / "eval-00003.png"
        ).read_bytes()
        other = world.build_world(cfg.model_copy(update={"seed": 1}), tmp_path / "c")
        assert (other / "eval.jsonl").read_text() != (a / "eval.jsonl").read_text()


def _read(colours: list[str], kind: str, target: str) -> str:
    """An independent reading of one row of colours, not using world_panels.answer."""
    if kind == "colour":
        return colours[["circle", "square", "triangle"].index(target)]
    return str(colours.count(target))


def test_panel_answers_and_routes_match_an_independent_reading(tmp_path):
    path = world.build_world(CFG, tmp_path)
    for split in ("sft", "eval"):
        for line in (path / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            meta = row["meta"]
            kind, target = meta["type"], meta["targets"][0]
            assert row["answer"] == _read(meta["colours"], kind, target)
            for v, (route, panel) in enumerate(zip(meta["routes"], meta["panels"], strict=True)):
                # a route reads its own panel, right or wrong: it ends with that panel's answer
                own = _read(panel, kind, target)
                assert route.startswith(f"Panel {'ABCDE'[v]}:") and route.endswith("\\boxed{" + own + "}")
                assert meta["route_answers"][v] == own


def test_panel_noise_is_per_panel_and_the_clean_control_has_none():
    cfg = WorldConfig(panel_noise=[1.0, 0.0, 0.0, 0.0, 0.0])
    rng = random.Random(0)
    for _ in range(50):
        scene = world_panels.make_scene(rng, cfg)
        assert all(a != b for a, b in zip(scene.panels[0], scene.colours, strict=True))  # always wrong
        assert all(p == scene.colours for p in scene.panels[1:])
        clean = world_panels.make_scene(rng, cfg, clean=True)
        assert all(p == clean.colours for p in clean.panels)


def test_views_answers_match_an_independent_recount(tmp_path):
    path = world.build_world(VIEWS, tmp_path)
    for split in ("sft", "eval"):
        for line in (path / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            assert row["answer"] == str(_recount(row["meta"])), row
            # every route counts only what its view shows: the hidden object (if any) is the only difference
            for v, route in enumerate(row["meta"]["routes"]):
                occ = row["meta"]["occluded"][v]
                visible = [
                    o
                    for o, c in zip(row["meta"]["objects"], row["meta"]["cells"][v], strict=True)
                    if c not in occ
                ]
                expect = _recount({**row["meta"], "objects": visible})
                assert route.startswith(f"View {'ABC'[v]}:") and route.endswith(f"\\boxed{{{expect}}}")


def test_pool_answers_are_stored_apart(tmp_path):
    for cfg in (CFG, VIEWS):
        path = world.build_world(cfg, tmp_path / cfg.kind)
        pool = read_items(path / "pool.jsonl")
        assert all(it.answer is None for it in pool)
        assert all(set(it.meta) == {"type"} for it in pool)
        hidden = world.load_pool_answers(path)
        assert set(hidden) == {it.item_id for it in pool}


def test_images_are_the_documented_size_and_splits_go_through_the_item_loader(tmp_path):
    for cfg, size in ((CFG, (84, 140)), (VIEWS, (756, 28))):
        path = world.build_world(cfg, tmp_path / cfg.kind)
        items = world.load_split(path, "eval")
        assert len(items) == cfg.n_eval
        with Image.open(items[0].image) as im:
            assert im.size == size and im.mode == "RGB"
        assert len({it.item_id for it in items}) == len(items)


def test_transcription_lists_every_cell_of_the_view():
    rng = random.Random(1)
    scene = world_views.make_scene(rng, VIEWS)
    for v in range(3):
        codes = world_views.transcribe(scene, v, "cells").split()
        assert len(codes) == world_views.CELLS
        assert all(codes[c] == "#" for c in scene.occluded[v])
        for obj, cell in zip(scene.objects, scene.cells[v], strict=True):
            if cell not in scene.occluded[v]:
                assert codes[cell] == obj.colour[0] + obj.shape[0]
        assert sum(c not in (".", "#") for c in codes) == len(scene.visible(v))


def test_route_differs_from_truth_only_through_occlusion():
    rng = random.Random(0)
    for _ in range(200):
        scene = world_views.make_scene(rng, VIEWS)
        q = world_views.make_question(rng)
        for v in range(3):
            if not set(scene.occluded[v]) & set(scene.cells[v]):
                assert world_views.count(scene.visible(v), q) == world_views.count(scene.objects, q)


def test_blind_baseline_is_computed_per_question(tmp_path):
    path = world.build_world(CFG, tmp_path)
    sft, ev = world.load_split(path, "sft"), world.load_split(path, "eval")
    base = world.blind_baseline(sft, ev)
    assert 0.0 <= base["all"] <= 1.0


def test_parse_question_accepts_only_grammar_questions():
    assert world.parse_question("What colour is  the square?").kind == "colour"
    assert world.parse_question("How many circles are there?") is None  # a views question
    assert world.parse_question("How many  circles are there?", VIEWS).kind == "shape"
    assert world.parse_question("How many dogs are there?", VIEWS) is None


def test_clean_control_is_labeled_and_noise_free(tmp_path):
    path = world.build_clean_control(CFG, tmp_path, 12)
    for line in (path / "eval.jsonl").read_text().splitlines():
        meta = json.loads(line)["meta"]
        assert all(p == meta["colours"] for p in meta["panels"])


def test_a_framed_panel_is_drawn_in_white_and_takes_the_frame_noise():
    cfg = WorldConfig(panel_noise=[0.0] * 5, route_prior=[0.2] * 5, frame_noise=1.0)
    rng = random.Random(0)
    framed = []
    for _ in range(200):
        scene = world_panels.make_scene(rng, cfg)
        framed.append(scene.framed)
        for v, panel in enumerate(scene.panels):
            wrong = [a != b for a, b in zip(panel, scene.colours, strict=True)]
            assert all(wrong) if v == scene.framed else not any(wrong)
    assert set(framed) == set(range(5))  # every panel gets framed sometimes
    # the frame is visible: white pixels on the framed row's cell borders, none on the other rows
    scene = world_panels.make_scene(random.Random(1), cfg)
    img = world_panels.render(scene, random.Random(1))
    cell = 28
    for r in range(5):
        corner = img.getpixel((0, r * cell))
        assert (corner == (255, 255, 255)) == (r == scene.framed)

    # world.frame_width thickens the outline (2 px unless set)
    def white(image, x):
        return image.getpixel((x, scene.framed * cell + cell // 2)) == (255, 255, 255)

    assert white(img, 1) and not white(img, 3)
    thick = world_panels.render(scene, random.Random(1), cfg.model_copy(update={"frame_width": 4}))
    assert white(thick, 3) and not white(thick, 5)
    # the clean control frames a panel too, with no wrong colours anywhere
    clean = world_panels.make_scene(random.Random(2), cfg, clean=True)
    assert clean.framed is not None and all(p == clean.colours for p in clean.panels)


def test_worlds_without_a_frame_keep_their_cache_key():
    # frame_noise came later: at None it stays out of the key, so earlier worlds and bases stay valid
    assert "frame_noise" not in WorldConfig().cache_payload()
    assert WorldConfig(frame_noise=0.5).cache_payload()["frame_noise"] == 0.5
    # a variant's name is not part of the key, only the values it resolves to
    assert WorldConfig(variant="route-switch").cache_payload() == WorldConfig().cache_payload()


def test_world_variants_fill_only_what_the_config_leaves_unset():
    framed = WorldConfig(variant="framed")
    assert framed.frame_noise == 1.0 and framed.route_prior == [0.2] * 5
    own = WorldConfig(variant="framed", frame_noise=0.5)
    assert own.frame_noise == 0.5 and own.panel_noise == framed.panel_noise
    assert WorldConfig(variant="views").kind == "views"
    import pytest

    with pytest.raises(ValueError, match="unknown world variant 'nope'; known: framed"):
        WorldConfig(variant="nope")


def test_sft_panel_noise_changes_the_sft_split_only(tmp_path):
    base = WorldConfig(n_sft=30, n_pool=10, n_eval=10, panel_noise=[0.0] * 5, route_prior=[0.2] * 5)
    noisy = base.model_copy(update={"sft_panel_noise": 1.0})
    a, b = world.build_world(base, tmp_path / "a"), world.build_world(noisy, tmp_path / "b")
    for line in (b / "sft.jsonl").read_text().splitlines():
        meta = json.loads(line)["meta"]
        assert all(c != t for p in meta["panels"] for c, t in zip(p, meta["colours"], strict=True))
    for split in ("eval", "pool"):
        assert (a / f"{split}.jsonl").read_text() == (b / f"{split}.jsonl").read_text()


def test_sft_frame_weight_leans_each_item_away_from_its_frame():
    cfg = WorldConfig(frame_noise=1.0, route_prior=[0.28, 0.18, 0.18, 0.18, 0.18], sft_frame_weight=0.5)
    assert world.route_weights(cfg, {"framed": 0}) == [0.14, 0.18, 0.18, 0.18, 0.18]
    assert world.route_weights(cfg, {"framed": 3})[3] == 0.09
    # no frame on the item, or no weight set: the route prior as it is
    assert world.route_weights(cfg, {}) == cfg.route_prior
    assert (
        world.route_weights(cfg.model_copy(update={"sft_frame_weight": None}), {"framed": 0})
        == cfg.route_prior
    )
    # a base built before the knob existed keeps its cache key
    assert "sft_frame_weight" not in WorldConfig().cache_payload()


def test_cue_weight_favours_each_items_outlined_panel_and_leaves_other_worlds_unchanged(tmp_path):
    import pytest

    assert WorldConfig(variant="cued").cue_weight == 4.0
    cfg = WorldConfig(variant="cued", cue_weight=2.0, n_sft=30, n_pool=10, n_eval=10)
    assert world.route_weights(cfg, {"framed": 1, "cued": 3}) == pytest.approx([0.2, 0.15, 0.2, 0.4, 0.2])
    assert world.route_weights(cfg, {"framed": 2, "cued": 2})[2] == pytest.approx(0.3)
    built = world.build_world(cfg, tmp_path / "cued")
    cued = [json.loads(line)["meta"]["cued"] for line in (built / "sft.jsonl").read_text().splitlines()]
    assert set(cued) <= set(range(5)) and len(set(cued)) > 1  # a different favourite from item to item
    # the cue is drawn in black inside every cell of its row, and nowhere else
    rng = random.Random(0)
    scene = world_panels.make_scene(rng, cfg)
    img = world_panels.render(scene, random.Random(0), cfg)
    k = scene.cued * 28 + cfg.frame_width
    assert img.getpixel((cfg.frame_width, k)) == (0, 0, 0)
    others = [r for r in range(5) if r != scene.cued]
    assert all(img.getpixel((cfg.frame_width, r * 28 + cfg.frame_width)) != (0, 0, 0) for r in others)
    # worlds without a cue keep their scenes and their cache keys
    plain = WorldConfig(variant="framed-colour", n_sft=30, n_pool=10, n_eval=10)
    a = world.build_world(plain, tmp_path / "plain")
    assert '"cued"' not in (a / "eval.jsonl").read_text()
    assert "cue_weight" not in plain.cache_payload()
    with pytest.raises(ValueError):
        WorldConfig(cue_weight=0.0)
