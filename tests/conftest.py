import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("mmupt_cache")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch, _shared_cache):
    """Each test gets its own MMUPT_HOME (run store, runs); the world/bootstrap cache is shared per session."""
    home = tmp_path_factory.mktemp("mmupt_home")
    monkeypatch.setenv("MMUPT_HOME", str(home))
    monkeypatch.setenv("MMUPT_CACHE", str(_shared_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield home


ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
