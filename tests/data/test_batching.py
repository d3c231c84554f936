"""Epoch batching: every sample once per epoch, deterministic in (seed, epoch), host numpy batches."""

from __future__ import annotations

import numpy as np
import pytest

from rhel.data import SequenceData, epoch_batches, take
from rhel.errors import RHELError


@pytest.mark.parametrize("n,batch", [(10, 3), (12, 4), (1, 32), (0, 5), (101, 100)])
def test_every_sample_exactly_once_last_batch_smaller(n, batch):
    batches = epoch_batches(n, batch, seed=1, epoch=0)
    assert len(batches) == -(-n // batch)
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)) if batches else [], np.arange(n))
    assert all(len(b) == batch for b in batches[:-1])
    if batches:
        assert len(batches[-1]) == n - batch * (len(batches) - 1)


def test_deterministic_in_seed_and_epoch():
    a = epoch_batches(50, 8, seed=3, epoch=2)
    b = epoch_batches(50, 8, seed=3, epoch=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    other_epoch = np.concatenate(epoch_batches(50, 8, seed=3, epoch=3))
    other_seed = np.concatenate(epoch_batches(50, 8, seed=4, epoch=2))
    assert not np.array_equal(np.concatenate(a), other_epoch)
    assert not np.array_equal(np.concatenate(a), other_seed)
    ordered = epoch_batches(10, 4, seed=3, epoch=0, shuffle=False)
    np.testing.assert_array_equal(np.concatenate(ordered), np.arange(10))


def test_take_returns_the_rows():
    x = np.arange(5 * 4 * 2, dtype=np.float32).reshape(5, 4, 2)
    d = SequenceData(x=x, y=np.arange(5), mask=np.ones((5, 4), bool))
    bx, by, bm = take(d, np.array([4, 1]))
    np.testing.assert_array_equal(bx, x[[4, 1]])
    np.testing.assert_array_equal(by, [4, 1])
    assert isinstance(bx, np.ndarray) and bm.shape == (2, 4) and len(d) == 5
    with pytest.raises(RHELError, match="out of range"):
        take(d, np.array([5]))
    with pytest.raises(RHELError, match="1-D integer"):
        take(d, np.array([[0]]))


def test_bad_batch_size():
    with pytest.raises(RHELError, match="batch_size"):
        epoch_batches(10, 0, seed=0, epoch=0)


@pytest.mark.parametrize("kwargs", [{"batch_size": 2.9}, {"batch_size": "4"}, {"seed": None}, {"seed": 1.5},
                                    {"epoch": None}, {"n": 10.0}, {"batch_size": True}])
def test_counts_must_be_integers(kwargs):
    args = {"n": 10, "batch_size": 3, "seed": 0, "epoch": 0, **kwargs}
    n, batch_size = args.pop("n"), args.pop("batch_size")
    with pytest.raises(RHELError, match="integer"):
        epoch_batches(n, batch_size, **args)
    assert len(epoch_batches(np.int64(10), np.int32(3), seed=np.int64(0), epoch=0)) == 4
