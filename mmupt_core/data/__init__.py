"""Items and where they come from.

- items: `Item` (item id, source, image path, question, optional choices and answer), JSONL read/write
- sources: hub ids, folders and files -> Items, with column mappings, image checks and a quarantine for
  rows that cannot be used (`load_items`, `DataError`, `ImageProblem`)
"""

from mmupt_core.data.items import Item, make_item_id, read_items, write_jsonl
from mmupt_core.data.sources import DataError, ImageProblem, Loaded, load_items, open_image

__all__ = [
    "DataError",
    "ImageProblem",
    "Item",
    "Loaded",
    "load_items",
    "make_item_id",
    "open_image",
    "read_items",
    "write_jsonl",
]
