"""Small fixtures in the real column layouts of the paper's data sets and benchmarks (as published on the hub),
written by the tests themselves with `datasets`, so nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

from PIL import Image


def image(seed: int, size: tuple[int, int] = (56, 84), mode: str = "RGB") -> Image.Image:
    colour = ((seed * 53) % 256, (seed * 101) % 256, (seed * 29) % 256)
    im = Image.new("RGB", size, colour)
    im.paste((255 - colour[0], 0, 0), (seed % 20, seed % 20, seed % 20 + 10, seed % 20 + 10))
    return im.convert(mode) if mode != "RGB" else im


def _write(rows: dict, features, path: Path, how: str = "parquet"):
    from datasets import Dataset

    ds = Dataset.from_dict(rows, features=features)
    path.parent.mkdir(parents=True, exist_ok=True)
    if how == "parquet":
        ds.to_parquet(str(path))
    else:
        ds.save_to_disk(str(path))
    return path


def geometry3k(root: Path, n: int = 4) -> Path:
    """hiyouga/geometry3k: images (list of Image), problem ('<image>' first), answer (choice value), id,
    choices, ground_truth; a hub-layout folder data/train-00000-of-00001.parquet."""
    from datasets import Features, Sequence, Value
    from datasets import Image as HFImage

    features = Features(
        {
            "images": Sequence(HFImage()),
            "problem": Value("string"),
            "answer": Value("string"),
            "id": Value("int64"),
            "choices": Sequence(Value("string")),
            "ground_truth": Value("string"),
        }
    )
    rows = {
        "images": [[image(k)] for k in range(n)],
        "problem": [f"<image>Find $x$ in triangle {k}." for k in range(n)],
        "answer": ["48", "2 \\sqrt { 221 }", "\\frac { 20 } { 3 }", "13.0"][:n],
        "id": list(range(n)),
        "choices": [["24", "48", "60", "96"]] * n,
        "ground_truth": ["B"] * n,
    }
    return _write(rows, features, root / "geometry3k" / "data" / "train-00000-of-00001.parquet").parents[1]


def geoqa_leonard(root: Path, n: int = 3) -> Path:
    """leonardPKU/GEOQA_R1V_Train_8K: image (single), problem, solution '<answer> X </answer>'."""
    from datasets import Features, Value
    from datasets import Image as HFImage

    features = Features({"image": HFImage(), "problem": Value("string"), "solution": Value("string")})
    rows = {
        "image": [image(10 + k) for k in range(n)],
        "problem": [f"What is the measure of angle ADC if angle ABO is {30 + k}.0?" for k in range(n)],
        "solution": [f"<answer> {145 + k}° </answer>" for k in range(n)],
    }
    return _write(rows, features, root / "geoqa.parquet")


def mmr1(root: Path, n: int = 3) -> Path:
    """MMR1/MMR1-Math-RL-Data-v0: images (list), problem, answer; saved with save_to_disk."""
    from datasets import Features, Sequence, Value
    from datasets import Image as HFImage

    features = Features(
        {"images": Sequence(HFImage()), "problem": Value("string"), "answer": Value("string")}
    )
    rows = {
        "images": [[image(20 + k)] for k in range(n)],
        "problem": [f"<image>How many unit squares are shaded in figure {k}?" for k in range(n)],
        "answer": [str(k + 2) for k in range(n)],
    }
    return _write(rows, features, root / "mmr1", how="disk")


def mathvista(root: Path, folder: str = "mathvista", first_image: int = 30) -> Path:
    """Three MathVista testmini rows; another `folder` and `first_image` give a copy with other images (the same
    questions about other pictures), e.g. a labelled dev set apart from the reported copy."""
    from datasets import Features, Sequence, Value
    from datasets import Image as HFImage

    features = Features(
        {
            "pid": Value("string"),
            "question": Value("string"),
            "image": Value("string"),
            "decoded_image": HFImage(),
            "choices": Sequence(Value("string")),
            "unit": Value("string"),
            "precision": Value("float64"),
            "answer": Value("string"),
            "question_type": Value("string"),
            "answer_type": Value("string"),
            "query": Value("string"),
        }
    )
    rows = {
        "pid": ["1", "2", "3"],
        "question": [
            "By what distance d is the spring compressed?",
            "what is the total volume?",
            "∠BOC＝（）",
        ],
        "image": ["images/1.jpg", "images/2.jpg", "images/3.jpg"],
        "decoded_image": [image(first_image + k) for k in range(3)],
        "choices": [None, None, ["135°", "140°", "145°", "150°"]],
        "unit": [None, "g", None],
        "precision": [1.0, None, None],
        "answer": ["1.2", "1000", "145°"],
        "question_type": ["free_form", "free_form", "multi_choice"],
        "answer_type": ["float", "integer", "text"],
        "query": [
            "Hint: ... answer requiring a floating-point number with one decimal place\nQuestion: distance d?",
            "Hint: ... integer answer\nQuestion: what is the total volume? (Unit: g)",
            "Hint: ... option letter\nQuestion: ∠BOC＝（）\nChoices:\n(A) 135°\n(B) 140°\n(C) 145°\n(D) 150°",
        ],
    }
    return _write(rows, features, root / folder / "testmini.parquet")


def wemath(root: Path) -> Path:
    from datasets import Features, Value
    from datasets import Image as HFImage

    features = Features(
        {
            "ID": Value("string"),
            "split": Value("string"),
            "knowledge concept": Value("string"),
            "question": Value("string"),
            "option": Value("string"),
            "answer": Value("string"),
            "image_path": HFImage(),
            "key": Value("string"),
            "question number": Value("int64"),
        }
    )
    keys = ["2steps_1", "2steps_2", "2steps_multi"]
    rows = {
        "ID": ["2steps_1"] * 3,
        "split": ["testmini"] * 3,
        "knowledge concept": ["Length units"] * 3,
        "question": ["OA = ( ) m, AB = ( ) m", "What is OB?", "What is the whole path?"],
        "option": ["A. 300, 400;B. 400, 300;C. 3000, 4000;D. 4000, 3000; E. No correct answer"] * 3,
        "answer": ["C", "A", "D"],
        "image_path": [image(40 + k) for k in range(3)],
        "key": keys,
        "question number": [1, 2, 3],
    }
    return _write(rows, features, root / "wemath.parquet")


def mathverse(root: Path) -> Path:
    from datasets import Features, Value
    from datasets import Image as HFImage

    features = Features(
        {
            "sample_index": Value("string"),
            "problem_index": Value("string"),
            "problem_version": Value("string"),
            "question": Value("string"),
            "image": HFImage(),
            "answer": Value("string"),
            "question_type": Value("string"),
            "query_wo": Value("string"),
            "query_cot": Value("string"),
            "question_for_eval": Value("string"),
        }
    )
    rows = {
        "sample_index": ["3421", "3425"],
        "problem_index": ["685", "685"],
        "problem_version": ["Text Dominant", "Vision Only"],
        "question": ["A soft drink can has a height of 13 cm and a radius of 3 cm. Find L.", ""],
        "image": [image(50), image(51)],
        "answer": ["14", "14"],
        "question_type": ["free-form", "free-form"],
        "query_wo": ["Please directly answer...", "According to the question shown in the image, answer it."],
        "query_cot": ["Please first conduct reasoning...", "According to the question shown in the image..."],
        "question_for_eval": ["A soft drink can ... Find L.", "A soft drink can ... Find L."],
    }
    return _write(rows, features, root / "mathverse.parquet")


def mathvision(root: Path) -> Path:
    from datasets import Features, Sequence, Value
    from datasets import Image as HFImage

    features = Features(
        {
            "id": Value("string"),
            "question": Value("string"),
            "options": Sequence(Value("string")),
            "image": Value("string"),
            "decoded_image": HFImage(),
            "answer": Value("string"),
            "solution": Value("string"),
            "level": Value("int64"),
            "subject": Value("string"),
        }
    )
    rows = {
        "id": ["1", "2", "3"],
        "question": [
            "Which number should be written in place of the question mark?\n<image1>",
            "Which bike is most expensive?\n<image1>",
            "Which value is x?\n<image1>",
        ],
        "options": [[], ["A", "B", "C", "D", "E"], ["1", "2", "3", "4", "5"]],
        "image": ["images/1.jpg", "images/2.jpg", "images/3.jpg"],
        "decoded_image": [image(60), image(61), image(62)],
        "answer": ["60", "A", "C"],
        "solution": [None, None, None],
        "level": [2, 2, 1],
        "subject": ["arithmetic", "arithmetic", "algebra"],
    }
    return _write(rows, features, root / "mathvision" / "test.parquet")
