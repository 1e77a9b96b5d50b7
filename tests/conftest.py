import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own MMUPT_HOME unless it asks for the shared session cache."""
    home = tmp_path_factory.mktemp("mmupt_home")
    monkeypatch.setenv("MMUPT_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield home


ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
