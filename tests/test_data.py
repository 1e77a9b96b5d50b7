"""Data set loaders on fixtures written in each data set's real layout; bad rows; missing columns."""

import json

import numpy as np
import pytest
from PIL import Image

from bench import layouts
from mmupt_core.config import DataConfig, ModelConfig
from mmupt_core.data.sources import DataError, fit_pixels, load_items, read_rows, to_rgb

MODEL = ModelConfig(min_pixels=3136, max_pixels=12544)


def test_geometry3k_hub_layout_folder(tmp_path):
    folder = layouts.geometry3k(tmp_path)
    cfg = DataConfig(source=str(folder), split="train", choices_key="choices", id_key="id")
    loaded = load_items(cfg, MODEL, tmp_path / "cache")
    assert len(loaded.items) == 4 and not loaded.rejected
    it = loaded.items[0]
    assert it.question == "Find $x$ in triangle 0."  # the <image> placeholder is gone
    assert it.choices == ["24", "48", "60", "96"]
    assert it.meta["row"] == "0" and it.source == str(folder)
    assert loaded.answers[it.item_id] == "48"
    with Image.open(it.image) as im:
        assert im.mode == "RGB" and 3136 <= im.width * im.height <= 12544
    # the answers live apart from the items: a pool row never carries one
    assert all(row.get("answer") is None for row in map(json.loads, (loaded.folder / "items.jsonl").open()))
    again = load_items(cfg, MODEL, tmp_path / "cache")  # cached
    assert [i.item_id for i in again.items] == [i.item_id for i in loaded.items]


def test_geoqa_single_image_column_and_answer_tags(tmp_path):
    path = layouts.geoqa_leonard(tmp_path)
    cfg = DataConfig(source=str(path), question_key="problem", answer_key="solution", image_key="image")
    loaded = load_items(cfg, MODEL, tmp_path / "cache")
    assert len(loaded.items) == 3
    assert sorted(loaded.answers.values()) == ["145°", "146°", "147°"]


def test_mmr1_saved_to_disk(tmp_path):
    folder = layouts.mmr1(tmp_path)
    loaded = load_items(DataConfig(source=str(folder)), MODEL, tmp_path / "cache")
    assert [it.question for it in loaded.items][0] == "How many unit squares are shaded in figure 0?"
    assert len(loaded.answers) == 3


def test_jsonl_with_paths_and_every_bad_row_kind(tmp_path):
    img = tmp_path / "imgs"
    img.mkdir()
    layouts.image(1).save(img / "ok.png")
    layouts.image(2, mode="RGBA").save(img / "alpha.png")
    layouts.image(3).convert("P").save(img / "palette.png", transparency=0)
    Image.fromarray((np.arange(56 * 84).reshape(84, 56) * 13 % 65535).astype(np.uint16)).save(
        img / "deep.png"
    )
    (img / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    full = (img / "ok.png").read_bytes()
    (img / "truncated.png").write_bytes(full[: len(full) // 2])
    Image.new("RGB", (4000, 3000)).save(img / "huge.png")
    Image.new("RGB", (1, 300)).save(img / "thin.png")
    rows = [
        {"problem": "Find x.", "image": "imgs/ok.png", "answer": "3"},
        {"problem": "Find y.", "image": "imgs/alpha.png", "answer": "4"},
        {"problem": "Find z.", "image": "imgs/palette.png", "answer": "5"},
        {"problem": "Find w.", "image": "imgs/deep.png", "answer": "6"},
        {"problem": "Find v.", "image": "imgs/missing.png", "answer": "1"},
        {"problem": "Find u.", "image": "imgs/corrupt.png", "answer": "1"},
        {"problem": "Find t.", "image": "imgs/truncated.png", "answer": "1"},
        {"problem": "Find s.", "image": "imgs/huge.png", "answer": "1"},
        {"problem": "Find r.", "image": "imgs/thin.png", "answer": "1"},
        {"problem": "  <image> ", "image": "imgs/ok.png", "answer": "1"},
        {"problem": "Find x.", "image": "imgs/ok.png", "answer": "3"},
    ]
    path = tmp_path / "pool.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    cfg = DataConfig(source=str(path), image_key="image", max_source_pixels=10_000_000)
    loaded = load_items(cfg, MODEL, tmp_path / "cache")
    assert [it.question for it in loaded.items] == ["Find x.", "Find y.", "Find z.", "Find w."]
    for it in loaded.items:
        with Image.open(it.image) as im:
            assert im.mode == "RGB"
    with Image.open(loaded.items[1].image) as im:  # transparent pixels composite onto white
        assert im.getpixel((0, 0)) != (0, 0, 0)
    with Image.open(loaded.items[3].image) as im:  # 16-bit grey is scaled, not clipped to white
        assert len(np.unique(np.asarray(im))) > 10
    reasons = [r["reason"] for r in loaded.rejected]
    assert reasons[0].startswith("image not found")
    assert reasons[1].startswith("corrupt image") and reasons[2].startswith("corrupt image")
    assert reasons[3].startswith("image too large")
    assert reasons[4].startswith("aspect ratio")
    assert reasons[5] == "empty question"
    assert reasons[6].startswith("duplicate item")


def test_zero_size_image_is_rejected(tmp_path):
    from mmupt_core.data.sources import ImageProblem, open_image

    class Empty:
        size = (0, 5)

    with pytest.raises(ImageProblem, match="zero size"):
        open_image(Image.new("RGB", (0, 5)), None, 10**8)
    with pytest.raises(ImageProblem, match="expected one image, got 2"):
        open_image([Empty(), Empty()], None, 10**8)
    with pytest.raises(ImageProblem, match="no image"):
        open_image([None], None, 10**8)


def test_missing_column_names_the_column_and_the_data_set(tmp_path):
    folder = layouts.geometry3k(tmp_path)
    cfg = DataConfig(source=str(folder), question_key="question")
    with pytest.raises(DataError, match=r"geometry3k.*has no column 'question' \(data.question_key\)"):
        load_items(cfg, MODEL, tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("manifest.json"))


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        read_rows(str(tmp_path / "nope.parquet"), "train")
    with pytest.raises(DataError, match="could not be read"):
        read_rows("no-such-owner/no-such-dataset", "train")  # offline: the hub is never reached


def test_fit_pixels_keeps_aspect_within_bounds():
    assert fit_pixels(56, 84, 3136, 12544) == (56, 84)
    w, h = fit_pixels(2000, 1000, 3136, 12544)
    assert w * h <= 12544 and abs(w / h - 2) < 0.05
    w, h = fit_pixels(10, 20, 3136, 12544)
    assert w * h >= 3136 and abs(h / w - 2) < 0.1


def test_to_rgb_handles_la_and_float_modes():
    assert to_rgb(Image.new("LA", (4, 4), (10, 0))).getpixel((0, 0)) == (255, 255, 255)
    assert to_rgb(Image.new("F", (4, 4), 0.5)).mode == "RGB"


def test_a_round_on_a_real_layout_pool_with_a_benchmark(tmp_path):
    """The tiny model through one whole round on a geometry3k-layout pool, evaluated on a MathVista-layout
    benchmark: the same path Qwen2.5-VL takes on the paper's data."""
    from helpers import SMALL

    from mmupt_core.config import load_config
    from mmupt_core.rounds.context import Context
    from mmupt_core.rounds.driver import run_rounds

    pool = layouts.geometry3k(tmp_path)
    bench = layouts.mathvista(tmp_path)
    cfg = load_config(
        "conf/tiny.yaml",
        [
            *SMALL,
            f"data.source={pool}",
            "data.choices_key=choices",
            "evaluation.benchmarks=[world_eval, mathvista_testmini]",
            f"evaluation.sources.mathvista_testmini={bench}",
        ],
    )
    run_rounds(cfg, 1, "real")
    store = Context(cfg, "real", 0).store
    assert len(store.items("real", 0, "load")) == 4
    assert len(store.pseudo_labels("real", 1)) == 4
    names = {(m["benchmark"], m["metric"]) for m in store.metrics("real")}
    assert {("mathvista_testmini:official", "greedy_acc"), ("world_eval", "greedy_acc")} <= names
    assert ("mathvista_testmini:official", "greedy_acc/multi_choice") in names  # the scoring mode is named
