"""Synthetic long-range tasks: exact labels, determinism per seed, and memory linear in the length."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from rhel import data
from rhel.data import preprocess as pp
from rhel.data import synthetic
from rhel.errors import DatasetError

LONG = 50_000


@pytest.mark.parametrize("name", ["recall", "adding"])
def test_deterministic_per_seed_at_50k_steps(name):
    a = data.load(name, seed=11, length=LONG, size=6)
    b = data.load(name, seed=11, length=LONG, size=6)
    c = data.load(name, seed=12, length=LONG, size=6)
    assert a.train.x.shape[:2] == (4, LONG) and a.info.length == LONG
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(a, part).x, getattr(b, part).x)
        np.testing.assert_array_equal(getattr(a, part).y, getattr(b, part).y)
    assert not np.array_equal(a.train.x, c.train.x)
    assert a.meta["sizes"] == {"train": 4, "val": 1, "test": 1}
    assert json.loads(json.dumps(a.meta)) == a.meta


def test_recall_label_is_the_token_far_back():
    d = synthetic.recall(64, LONG, seed=3)
    k = synthetic.RECALL_CLASSES
    assert d.x.shape == (64, LONG, k + 1) and d.x.dtype == np.float32 and d.y.dtype == np.int64
    np.testing.assert_array_equal(np.argmax(d.x[:, 0, :k], axis=1), d.y)  # the first step alone decides the label
    assert np.all(d.x[:, : synthetic.TOKEN_STEPS, k] == 1) and np.all(d.x[:, synthetic.TOKEN_STEPS :, k] == 0)
    # after the token the label is invisible: the late steps carry the same statistics for every class
    late = d.x[:, synthetic.TOKEN_STEPS :, :k]
    assert abs(late.mean()) < 0.01 and abs(late.std() - 1) < 0.01
    assert set(np.unique(d.y)) == set(range(k))
    info = data.load("recall", seed=0, length=100, size=10).info
    assert (info.task, info.num_classes, info.output_dim, info.channels) == ("classification", k, k, k + 1)


def test_adding_target_and_trivial_score():
    d = synthetic.adding(2_000, 200, seed=5)
    assert d.y.shape == (2_000, 1, 1)
    marks = d.x[:, :, 1] == 1
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :100].sum(axis=1) == 1)  # one marker in each half
    np.testing.assert_allclose(d.y[:, 0, 0], (d.x[:, :, 0] * marks).sum(axis=1) - 1, atol=1e-6)
    # the trivial predictor 0 scores the documented MSE 1/6
    assert np.mean(d.y**2) == pytest.approx(synthetic.ADDING_BASELINE_MSE, rel=0.08)
    splits = data.load("adding", seed=0, length=LONG, size=5)
    assert splits.info.output_step == LONG and splits.info.task == "regression"
    assert splits.meta["baseline_mse"] == pytest.approx(1 / 6)


@pytest.mark.parametrize("name", ["recall", "adding"])
def test_generation_memory_is_linear_in_length(name):
    def peak(length):
        tracemalloc.start()
        splits = data.load(name, seed=0, length=length, size=8)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert splits.train.x.shape[1] == length
        return top

    short, long = peak(LONG // 2), peak(LONG)
    assert 1.8 < long / short < 2.2, (short, long)
    assert long > 8 * LONG * 2 * 4  # the data themselves are counted


def test_smallest_size_leaves_no_split_empty():
    tiny = data.load("adding", seed=0, length=10, size=3)  # size 3 is accepted: each split gets one sequence
    assert tiny.meta["sizes"] == {"train": 1, "val": 1, "test": 1}
    for n in range(3, 40):
        sizes = [len(p) for p in pp.random_split(n, seed=n)]
        assert min(sizes) >= 1 and sum(sizes) == n
        if n >= 4:  # cut at ⌊0.7n⌋ and ⌊0.85n⌋, unchanged
            assert sizes == [7 * n // 10, 85 * n // 100 - 7 * n // 10, n - 85 * n // 100]


@pytest.mark.parametrize("n,sizes", [(90, [63, 13, 14]), (259, [181, 39, 39]), (524, [366, 79, 79])])
def test_split_is_cut_at_exactly_70_and_85_percent(n, sizes):
    """Log-NCDE's cuts int(0.7 N), int(0.85 N) in exact integers (in floating point, int(0.7 * 90) is 62)."""
    parts = pp.random_split(n, seed=1)
    assert [len(p) for p in parts] == sizes
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))


def test_time_channel_and_bad_lengths():
    s = data.load("recall", seed=0, length=1_000, size=10, time_channel=True)
    assert s.info.channels == synthetic.RECALL_CLASSES + 2
    np.testing.assert_allclose(s.train.x[0, :, -1], np.arange(1_000) / 1_000, rtol=1e-6)
    with pytest.raises(DatasetError, match="length"):
        data.load("recall", seed=0, length=3)
    with pytest.raises(DatasetError, match="size"):
        data.load("adding", seed=0, length=10, size=2)
    with pytest.raises(DatasetError, match="no official split"):
        data.load("adding", seed=0, split="official", length=10, size=10)


def test_a_length_beyond_the_machines_memory_is_refused_before_allocating(monkeypatch):
    # 1,000 sequences of 10⁸ steps: petabytes, refused on any machine (numpy would raise a MemoryError)
    with pytest.raises(DatasetError, match=r"recall: 1000 sequences of length 100000000 need .* --length"):
        data.load("recall", seed=0, length=10**8)
    # the estimate counts the generation's copies: 3 × 4 bytes × 10 × 1,000 × (2 channels + time)
    monkeypatch.setattr(synthetic, "_physical_memory", lambda: 3 * 4 * 10 * 1_000 * 3 - 1)
    with pytest.raises(DatasetError, match="adding: 10 sequences of length 1000"):
        data.load("adding", seed=0, length=1_000, size=10, time_channel=True)
    monkeypatch.setattr(synthetic, "_physical_memory", lambda: 3 * 4 * 10 * 1_000 * 3)
    assert data.load("adding", seed=0, length=1_000, size=10, time_channel=True).info.length == 1_000
    monkeypatch.setattr(synthetic, "_physical_memory", lambda: None)  # an OS that does not say: no check
    assert data.load("adding", seed=0, length=1_000, size=10).info.length == 1_000


@pytest.mark.parametrize("length,size", [(10.7, 5), ("abc", 5), (True, 5), (10, 5.0), (10, "7"), (0, 5), (10, 2)])
def test_length_and_size_must_be_integers(length, size):
    with pytest.raises(DatasetError, match=r"must be an integer of at least"):
        data.load("recall", seed=0, length=length, size=size)


def test_switches_must_be_booleans():
    for flag in ("time_channel", "impute"):
        with pytest.raises(DatasetError, match=f"{flag} must be True or False, got 'no'"):
            data.load("adding", seed=0, length=10, size=5, **{flag: "no"})
    assert data.load("adding", seed=0, length=10, size=5, time_channel=np.bool_(True)).info.channels == 3
