"""PPG-DaLiA on generated subject pickles in the archive's on-disk format (Python 2 pickles)."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pytest

from rhel import data
from rhel.data import ppg
from rhel.errors import DatasetError

from ppg_files import PPG_LABELS, SPIKE, write_pickle, write_subject


@pytest.fixture(scope="module")
def prepared(ppg_source, tmp_path_factory):
    cache = tmp_path_factory.mktemp("ppg-cache")
    data.prepare("PPG-DaLiA", source=ppg_source, cache_dir=cache)
    return cache


@pytest.fixture(scope="module")
def splits(prepared):
    return data.load("PPG-DaLiA", seed=2345, cache_dir=prepared)


def _raw(ppg_source, i):
    with open(ppg_source / f"S{i}" / f"S{i}.pkl", "rb") as f:
        return pickle.load(f, encoding="latin1")


def test_full_size_windows_shapes_and_info(splits):
    for part in (splits.train, splits.val, splits.test):
        n = len(part)
        assert n > 0
        assert part.x.shape == (n, 49_920, 6) and part.x.dtype == np.float32
        assert part.y.shape == (n, 390, 1) and part.y.dtype == np.float32
        assert part.mask.shape == (n, 49_920) and part.mask.all()
    info = splits.info
    assert (info.task, info.length, info.channels, info.output_dim, info.output_step) == (
        "regression", 49_920, 6, 1, 128)


def _cut(fraction: float, n: int) -> int:
    """Where a recorded layout's cut at ``fraction`` of ``n`` labels falls: ⌊p·n/100⌋ for p percent, in integers."""
    return round(fraction * 100) * n // 100


def test_portions_cut_at_exact_integer_percentages():
    n = 650  # 0.70 * 650 = 454.99999999999994 in floating point: int() gave 454
    labels = np.arange(n, dtype=np.float32)
    signal = np.repeat(labels, 128)[:, None]
    parts = ppg._portions(signal, labels, 0)
    assert [len(parts[s][1]) for s in ("train", "val", "test")] == [455, 97, 98]  # 455 = 7·650/10 exactly
    assert np.array_equal(np.concatenate([parts[s][1] for s in ("train", "val", "test")]), labels)
    for x, y in parts.values():
        assert np.array_equal(x[::128, 0], y) and len(x) == 128 * len(y)


def test_window_counts_follow_the_recorded_layouts(splits):
    expected = {"train": 0, "val": 0, "test": 0}
    for i, n_labels in PPG_LABELS.items():
        n = n_labels + 3  # three copies of the first label are prepended
        layout = splits.meta["layouts"][f"S{i}"]
        for split, (lo, hi) in layout.items():
            portion = _cut(hi, n) - _cut(lo, n)
            k = (portion - 390) // 39 + 1 if portion >= 390 else 0
            assert splits.meta["windows"][f"S{i}"][split] == k
            expected[split] += k
    assert splits.meta["sizes"] == expected
    assert {s: len(getattr(splits, s)) for s in expected} == expected


def test_first_window_matches_the_source_scaled_by_training_stats(splits, ppg_source):
    raw = _raw(ppg_source, 1)
    n = PPG_LABELS[1] + 3
    lo, hi = splits.meta["layouts"]["S1"]["train"]
    a, b = _cut(lo, n), _cut(hi, n)
    bvp = raw["signal"]["wrist"]["BVP"][:, 0]
    labels = np.concatenate([np.full(3, raw["label"][0]), raw["label"]])
    train_bvp, train_labels = bvp[a * 128 : b * 128], labels[a:b]
    bmin, bmax = train_bvp.min(), train_bvp.max()
    np.testing.assert_allclose(splits.meta["scaling"]["S1"]["BVP"], [bmin, bmax], rtol=1e-6)
    # Leak check: the spikes sit at 5 % and 95 %; the training portion never holds both.
    assert splits.meta["scaling"]["S1"]["BVP"] != pytest.approx([bvp.min(), bvp.max()])
    assert bvp.min() == -SPIKE and bvp.max() == SPIKE
    expect_x = 2 * (train_bvp[:49_920] - bmin) / (bmax - bmin) - 1
    np.testing.assert_allclose(splits.train.x[0, :, 3], expect_x, atol=1e-5)
    lmin, lmax = train_labels.min(), train_labels.max()
    np.testing.assert_allclose(splits.train.y[0, :, 0], 2 * (train_labels[:390] - lmin) / (lmax - lmin) - 1, atol=1e-5)
    # Second window: stride 4,992 samples = 39 labels.
    second = 2 * (train_labels[39:429] - lmin) / (lmax - lmin) - 1
    np.testing.assert_allclose(splits.train.y[1, :, 0], second, atol=1e-5)
    acc = np.repeat(raw["signal"]["wrist"]["ACC"], 2, axis=0)[a * 128 : b * 128]
    expect_acc = 2 * (acc[:49_920] - acc.min()) / (acc.max() - acc.min()) - 1
    np.testing.assert_allclose(splits.train.x[0, :, :3], expect_acc, atol=1e-5)
    for c, entry in ((4, "EDA"), (5, "TEMP")):  # 4 Hz, each sample repeated 16 times to 64 Hz
        v = np.repeat(raw["signal"]["wrist"][entry][:, 0], 16)[a * 128 : b * 128]
        np.testing.assert_allclose(splits.train.x[0, :, c], 2 * (v[:49_920] - v.min()) / (v.max() - v.min()) - 1,
                                   atol=1e-5)
    assert splits.train.x.min() >= -1 - 1e-6 and splits.train.x.max() <= 1 + 1e-6


def _expected_windows(raw: dict, layout: dict, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The windows of one subject's ``split`` portion, rebuilt from its file and scaled with the minimum and
    maximum of its *training* portion (per channel group and for the label)."""
    wrist = raw["signal"]["wrist"]
    signal = np.concatenate([np.repeat(wrist["ACC"], 2, axis=0), wrist["BVP"], np.repeat(wrist["EDA"], 16, axis=0),
                             np.repeat(wrist["TEMP"], 16, axis=0)], axis=1)
    labels = np.concatenate([np.full(3, raw["label"][0]), raw["label"]])
    n = labels.size

    def portion(part):
        lo, hi = layout[part]
        return signal[_cut(lo, n) * 128 : _cut(hi, n) * 128], labels[_cut(lo, n) : _cut(hi, n)]

    (train_x, train_y), (x, y) = portion("train"), portion(split)
    for sl in (slice(0, 3), slice(3, 4), slice(4, 5), slice(5, 6)):
        lo, hi = train_x[:, sl].min(), train_x[:, sl].max()
        x = np.concatenate([x[:, : sl.start], 2 * (x[:, sl] - lo) / (hi - lo) - 1, x[:, sl.stop :]], axis=1)
    y = 2 * (y - train_y.min()) / (train_y.max() - train_y.min()) - 1
    k = (len(x) - 49_920) // 4_992 + 1 if len(x) >= 49_920 else 0
    return (np.stack([x[w * 4_992 : w * 4_992 + 49_920] for w in range(k)]) if k else np.zeros((0, 49_920, 6)),
            np.stack([y[w * 39 : w * 39 + 390] for w in range(k)]) if k else np.zeros((0, 390)))


@pytest.mark.parametrize("split", ["val", "test"])
def test_val_and_test_are_scaled_with_the_training_statistics(splits, ppg_source, split):
    windows = [_expected_windows(_raw(ppg_source, i), splits.meta["layouts"][f"S{i}"], split) for i in ppg.SUBJECTS]
    x = np.concatenate([w[0] for w in windows])
    y = np.concatenate([w[1] for w in windows])
    part = getattr(splits, split)
    assert len(x) == len(part) > 0
    np.testing.assert_allclose(part.x, x, atol=1e-4)
    np.testing.assert_allclose(part.y[:, :, 0], y, atol=1e-5)


def test_split_is_seeded_and_recorded(prepared, splits):
    again = data.load("PPG-DaLiA", seed=2345, cache_dir=prepared)
    assert again.meta["layouts"] == splits.meta["layouts"]
    np.testing.assert_array_equal(again.val.x, splits.val.x)
    other = data.load("PPG-DaLiA", seed=3456, cache_dir=prepared, time_channel=True)
    assert other.meta["layouts"] != splits.meta["layouts"]
    assert json.loads(json.dumps(splits.meta)) == splits.meta
    assert other.train.x.shape[2] == 7
    t = other.train.x[0, :, 6]
    assert t[0] == 0.0 and t.max() < 1.0 and np.all(np.diff(t) > 0)


def _copy_source(src, dst):
    """A copy of the source tree whose files are symlinks (cheap), to be altered per test."""
    for i in ppg.SUBJECTS:
        (dst / f"S{i}").mkdir(parents=True)
        (dst / f"S{i}" / f"S{i}.pkl").symlink_to(src / f"S{i}" / f"S{i}.pkl")
    return dst


def test_truncated_pickle_names_the_file(ppg_source, tmp_path):
    src = _copy_source(ppg_source, tmp_path / "PPG_FieldStudy")
    bad = src / "S1" / "S1.pkl"
    content = bad.read_bytes()
    bad.unlink()
    bad.write_bytes(content[: len(content) // 2])
    with pytest.raises(DatasetError, match=r"S1\.pkl.*truncated or corrupted"):
        data.prepare("PPG-DaLiA", source=src, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "ppg_dalia.npz").exists()


def test_missing_subject_and_wrong_structure(ppg_source, tmp_path):
    src = _copy_source(ppg_source, tmp_path / "PPG_FieldStudy")
    (src / "S7" / "S7.pkl").unlink()
    with pytest.raises(DatasetError, match=r"S7\.pkl"):
        data.prepare("PPG-DaLiA", source=src, cache_dir=tmp_path / "cache")
    write_pickle(src / "S7" / "S7.pkl", {"signal": {"chest": {}}, "label": [1.0]})
    with pytest.raises(DatasetError, match=r"S7\.pkl has no signal/wrist/ACC"):
        data.prepare("PPG-DaLiA", source=src, cache_dir=tmp_path / "cache")


def test_not_cached_says_where_to_get_it_and_where_to_put_it(cache):
    with pytest.raises(DatasetError) as e:
        data.load("ppg", seed=0, cache_dir=cache)
    msg = str(e.value)
    assert "archive.ics.uci.edu" in msg and str(cache / "PPG_FieldStudy") in msg and "rhel data prepare" in msg


def test_corrupted_cache_names_the_file(prepared, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    content = (prepared / "ppg_dalia.npz").read_bytes()
    (cache / "ppg_dalia.npz").write_bytes(content[: len(content) // 3])
    with pytest.raises(DatasetError, match=r"ppg_dalia\.npz.*truncated or corrupted"):
        data.load("PPG-DaLiA", seed=0, cache_dir=cache)


def test_nan_is_reported_with_its_subject_entry_and_index_or_imputed(tmp_path):
    rng = np.random.default_rng(1)
    src = tmp_path / "PPG_FieldStudy"
    for i in ppg.SUBJECTS:
        write_subject(src / f"S{i}" / f"S{i}.pkl", 2_600 if i == 1 else 10, rng)
    raw = _raw(src, 4)
    raw["signal"]["wrist"]["BVP"][500, 0] = np.nan
    raw["signal"]["wrist"]["ACC"][40, 1] = np.inf  # 32 Hz: two 64-Hz steps, one value of the file
    raw["label"][3] = np.nan  # one label: 128 steps of the converted recording
    write_pickle(src / "S4" / "S4.pkl", raw)
    cache = tmp_path / "cache"
    data.prepare("PPG-DaLiA", source=src, cache_dir=cache)
    with pytest.raises(DatasetError) as e:
        data.load("PPG-DaLiA", seed=0, cache_dir=cache)
    msg = str(e.value)
    assert "subject S4 (S4.pkl): 3 NaN/Inf values" in msg and "impute=True" in msg
    assert "signal/wrist/ACC[:, 1] at index 40;" in msg and "signal/wrist/BVP at index 500;" in msg
    assert "label at index 3 " in msg
    fixed = data.load("PPG-DaLiA", seed=0, cache_dir=cache, impute=True)
    assert fixed.meta["imputed_values"] == 3 and np.isfinite(fixed.train.x).all()
    labels = np.concatenate([np.full(3, raw["label"][0]), raw["label"]]).astype(np.float32)
    signal = np.zeros((len(labels) * 128, 6), np.float32)
    signal[500, 3], signal[80:82, 1] = np.nan, np.inf
    x, y, n = ppg._finite(4, signal, labels, impute=True)
    assert n == 3 and x[500, 3] == 0.0 and np.all(x[80:82, 1] == 0.0)
    assert y[6] == pytest.approx((labels[5] + labels[7]) / 2)


def test_official_split_is_refused(prepared):
    with pytest.raises(DatasetError, match="no official split"):
        data.load("PPG-DaLiA", seed=0, split="official", cache_dir=prepared)


def test_prepare_from_the_cache_folder(ppg_source, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(ppg_source, cache / "PPG_FieldStudy", symlinks=False)
    assert data.is_cached(data.resolve("PPG-DaLiA"), cache)
    splits = data.load("PPG-DaLiA", seed=5, cache_dir=cache)  # converts on first use
    assert (cache / "ppg_dalia.npz").is_file() and len(splits.train) > 0


def test_a_re_extracted_subject_file_is_converted_again(ppg_source, tmp_path):
    src = _copy_source(ppg_source, tmp_path / "PPG_FieldStudy")
    cache = tmp_path / "cache"
    data.prepare("PPG-DaLiA", source=src, cache_dir=cache)
    before = data.load("PPG-DaLiA", seed=0, cache_dir=cache).meta["scaling"]["S1"]
    (src / "S1" / "S1.pkl").unlink()  # extracted again, with other content
    write_subject(src / "S1" / "S1.pkl", PPG_LABELS[1], np.random.default_rng(99))
    after = data.load("PPG-DaLiA", seed=0, cache_dir=cache).meta["scaling"]["S1"]
    assert after != before
    data.prepare("PPG-DaLiA", source=src, cache_dir=tmp_path / "fresh")
    assert after == data.load("PPG-DaLiA", seed=0, cache_dir=tmp_path / "fresh").meta["scaling"]["S1"]


def test_the_npz_is_used_when_the_subject_files_are_gone(ppg_source, tmp_path):
    src = _copy_source(ppg_source, tmp_path / "PPG_FieldStudy")
    cache = tmp_path / "cache"
    data.prepare("PPG-DaLiA", source=src, cache_dir=cache)
    shutil.rmtree(src)
    assert data.is_cached(data.resolve("PPG-DaLiA"), cache)
    assert len(data.load("PPG-DaLiA", seed=0, cache_dir=cache).train) > 0


def test_an_npz_without_its_record_is_refused_or_converted_again(prepared, ppg_source, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    with np.load(prepared / "ppg_dalia.npz") as z:  # as an rhel that did not record the files wrote it
        np.savez(cache / "ppg_dalia.npz", **{k: z[k] for k in z.files if k != "files"})
    assert not data.is_cached(data.resolve("PPG-DaLiA"), cache)  # `rhel data info` says to prepare it
    with pytest.raises(DatasetError, match=r"does not record which subject files.*rhel data prepare PPG-DaLiA"):
        data.load("PPG-DaLiA", seed=0, cache_dir=cache)
    _copy_source(ppg_source, cache / "PPG_FieldStudy")
    assert data.is_cached(data.resolve("PPG-DaLiA"), cache)
    data.load("PPG-DaLiA", seed=0, cache_dir=cache)
    with np.load(cache / "ppg_dalia.npz") as z:
        assert "files" in z.files


def _refuse(path, **arrays):  # a folder the process may not write to (chmod does not stop root)
    raise PermissionError(13, "Permission denied", str(path))


def test_a_cache_that_cannot_be_written_converts_in_memory(ppg_source, prepared, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _copy_source(ppg_source, cache / "PPG_FieldStudy")
    monkeypatch.setattr(ppg, "save_npz", _refuse)
    with pytest.warns(UserWarning, match=r"ppg_dalia\.npz could not be written.*--cache-dir"):
        splits = data.load("PPG-DaLiA", seed=3, cache_dir=cache)
    assert not (cache / "ppg_dalia.npz").exists()
    expected = data.load("PPG-DaLiA", seed=3, cache_dir=prepared)
    np.testing.assert_array_equal(splits.val.x, expected.val.x)
    with pytest.raises(DatasetError, match=r"ppg_dalia\.npz could not be written.*--cache-dir"):
        data.prepare("PPG-DaLiA", cache_dir=cache)


def test_the_converted_cache_is_read_not_the_pickles(prepared, splits, monkeypatch):
    def no_reading(path):
        raise AssertionError(f"{path} read although ppg_dalia.npz is up to date")

    monkeypatch.setattr(ppg, "read_subject", no_reading)
    again = data.load("PPG-DaLiA", seed=2345, cache_dir=prepared)
    np.testing.assert_array_equal(again.test.x, splits.test.x)
    np.testing.assert_array_equal(again.train.y, splits.train.y)
