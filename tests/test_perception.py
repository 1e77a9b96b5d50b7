"""The simplest perception probe on a fresh tiny base: one object, "Describe the object.". The first-SFT recipe
must teach it in a few hundred steps; the old recipe (lr 2e-3) did not (bench/results/bootstrap.md)."""

import pytest
import torch

from bench.perception import one_object_probe
from mmupt_core.config import BootstrapConfig


def test_the_base_recipe_reads_colour_in_a_few_hundred_steps():
    torch.set_num_threads(1)
    r = one_object_probe(steps=300, lr=BootstrapConfig().lr, n_test=100)
    assert r.colour >= 0.9, r


@pytest.mark.slow
def test_the_base_recipe_reads_shape_and_the_old_one_does_not():
    torch.set_num_threads(1)
    assert one_object_probe(steps=800, lr=BootstrapConfig().lr, n_test=100).shape >= 0.9
    old = one_object_probe(steps=300, lr=2e-3, n_test=100)
    assert old.colour < 0.9 and old.shape < 0.45, old
