"""`genbench check-plugin` passes the built-in clock and names what a bad generator gets wrong."""

from __future__ import annotations

import pytest
import torch

from harness.conformance import assert_conforms, check_generator
from tests.helpers import TinyGenerator


class BatchDependent(TinyGenerator):
    name = "batchdep"

    def sample(self, n, rng, condition=None):
        return torch.rand(n, *self.mean.shape[1:]) * 2 - 1  # global RNG: breaks the contract


class OutOfRange(TinyGenerator):
    name = "outofrange"

    def sample(self, n, rng, condition=None):
        return rng.randn(*self.mean.shape[1:]) * 5


def test_clock_conforms(run_cli):
    code, out, _ = run_cli("check-plugin", "clock")
    assert code == 0 and "all checks passed" in out


def test_tiny_conforms(clock_data):
    assert_conforms(TinyGenerator, clock_data)


def test_batch_dependent_sampling_is_named(clock_data):
    failures = {r.check: r.message for r in check_generator(BatchDependent, clock_data) if not r.ok}
    assert "same seed, same samples" in failures
    assert "SampleRNG" in failures["samples do not depend on the batch size"]


def test_out_of_range_is_named(clock_data):
    with pytest.raises(AssertionError, match=r"must lie in \[-1, 1\]"):
        assert_conforms(OutOfRange, clock_data)


def test_unknown_plugin(run_cli):
    code, _, err = run_cli("check-plugin", "nope")
    assert code == 2 and "no plugin or generator 'nope'" in err
