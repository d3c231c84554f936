"""UEA/UCR sets through aeon: the real sets aeon ships, and .ts files written in the archive's exact format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from aeon.datasets import load_classification

from rhel import data
from rhel.data import uea
from rhel.errors import DatasetError

SHIPPED = ["ACSF1", "BasicMotions", "JapaneseVowels"]


def aeon_reference(name):
    """The merged train-then-test series and labels as aeon itself returns them."""
    X_tr, y_tr = load_classification(name, split="train")
    X_te, y_te = load_classification(name, split="test")
    return list(X_tr) + list(X_te), np.concatenate([y_tr, y_te]), len(y_tr)


def write_ts(path: Path, name: str, series: list[np.ndarray], labels: list[str]) -> None:
    """A .ts file in the archive's format: header, then one case per line, channels separated by ':'."""
    lengths = {s.shape[1] for s in series}
    equal = len(lengths) == 1
    lines = [
        f"@problemName {name}", "@timeStamps false", f"@missing {str(any(np.isnan(s).any() for s in series)).lower()}",
        f"@univariate {str(series[0].shape[0] == 1).lower()}", f"@equalLength {str(equal).lower()}",
    ]
    if equal:
        lines.append(f"@seriesLength {lengths.pop()}")
    lines += [f"@classLabel true {' '.join(sorted(set(labels)))}", "@data"]
    for s, y in zip(series, labels):
        chans = [",".join("NaN" if np.isnan(v) else repr(float(v)) for v in c) for c in s]
        lines.append(":".join(chans) + f":{y}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_set_shapes_classes_and_split_sizes(name, cache):
    X, y, _ = aeon_reference(name)
    splits = data.load(name, seed=2345, cache_dir=cache)
    spec = data.resolve(name)
    meta = splits.meta
    n = len(X) - meta["duplicates_dropped"]
    assert meta["sizes"] == {"train": 7 * n // 10, "val": 85 * n // 100 - 7 * n // 10, "test": n - 85 * n // 100}
    for part in ("train", "val", "test"):
        d = getattr(splits, part)
        assert d.x.shape == (meta["sizes"][part], spec.length, spec.channels) and d.x.dtype == np.float32
        assert d.y.shape == (meta["sizes"][part],) and d.y.dtype == np.int64
        assert d.mask.shape == d.x.shape[:2] and d.mask.dtype == bool
    info = splits.info
    assert (info.length, info.channels, info.num_classes, info.output_dim) == (
        spec.length, spec.channels, spec.num_classes, spec.num_classes)
    # class counts: the encoded labels are aeon's labels in sorted order
    names = meta["class_names"]
    assert len(names) == spec.num_classes
    for part in ("train", "val", "test"):
        idx = np.array(meta["indices"][part])
        expected = np.bincount([names.index(str(v)) for v in y[idx]], minlength=len(names))
        assert meta["class_counts"][part] == expected.tolist()
        np.testing.assert_array_equal(getattr(splits, part).y, [names.index(str(v)) for v in y[idx]])


@pytest.mark.parametrize("name", ["BasicMotions", "JapaneseVowels"])
def test_splits_are_disjoint_cover_and_hold_the_right_series(name, cache):
    X, _, _ = aeon_reference(name)
    splits = data.load(name, seed=7, cache_dir=cache)
    parts = [set(splits.meta["indices"][p]) for p in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(map(len, parts)) == len(X) - splits.meta["duplicates_dropped"]
    for p in ("train", "test"):
        d, idx = getattr(splits, p), splits.meta["indices"][p]
        for j in (0, len(idx) - 1):
            s = np.asarray(X[idx[j]], np.float32)
            np.testing.assert_array_equal(d.x[j, : s.shape[1]], s.T)
    rows = [{row.tobytes() for row in getattr(splits, p).x} for p in ("train", "val", "test")]
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])


def test_same_seed_same_split_other_seed_other_split(cache):
    a = data.load("BasicMotions", seed=1, cache_dir=cache)
    b = data.load("BasicMotions", seed=1, cache_dir=cache)
    c = data.load("BasicMotions", seed=2, cache_dir=cache)
    numpy_seed = data.load("BasicMotions", seed=np.int64(1), cache_dir=cache)
    assert a.meta["indices"] == b.meta["indices"] == numpy_seed.meta["indices"]
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert a.meta["indices"]["test"] != c.meta["indices"]["test"]
    assert not np.array_equal(a.train.y, c.train.y)


def test_japanese_vowels_is_padded_with_a_mask(cache):
    X, _, _ = aeon_reference("JapaneseVowels")
    splits = data.load("JapaneseVowels", seed=0, cache_dir=cache)
    lengths = np.array([np.asarray(s).shape[1] for s in X])
    assert splits.info.length == lengths.max() == 29
    for p in ("train", "val", "test"):
        d, idx = getattr(splits, p), np.array(splits.meta["indices"][p])
        np.testing.assert_array_equal(d.mask.sum(axis=1), lengths[idx])
        np.testing.assert_array_equal(d.mask, np.arange(29)[None] < lengths[idx][:, None])
        assert np.all(d.x[~d.mask] == 0.0)
    assert (lengths < 29).any() and not splits.train.mask.all()


def test_official_split_keeps_the_archive_test_set(cache):
    X, y, n_train = aeon_reference("ACSF1")
    splits = data.load("ACSF1", seed=3, split="official", cache_dir=cache, time_channel=True)
    assert splits.meta["indices"]["test"] == list(range(n_train, len(X)))
    tr, va = set(splits.meta["indices"]["train"]), set(splits.meta["indices"]["val"])
    assert not tr & va and tr | va == set(range(n_train))
    assert len(va) == int(np.ceil(0.15 * n_train))
    assert splits.train.x.shape[2] == 2 and splits.info.channels == 2
    t = splits.train.x[0, :, -1]
    np.testing.assert_allclose(t, np.arange(1460) / 1460, rtol=1e-6)
    assert t.max() < 1.0


def test_prepare_from_a_zip_and_meta_is_json(cache, tmp_path):
    import json
    import zipfile

    archive = tmp_path / "BasicMotions.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for split in ("TRAIN", "TEST"):
            name = f"BasicMotions_{split}.ts"
            z.write(uea.aeon_data_dir() / "BasicMotions" / name, f"BasicMotions/{name}")
    data.prepare("BasicMotions", source=archive, cache_dir=cache)
    assert (cache / "uea" / "BasicMotions" / "BasicMotions_TEST.ts").is_file()
    splits = data.load("BasicMotions", seed=0, cache_dir=cache)
    assert "cache" in splits.info.source and sum(splits.meta["sizes"].values()) == 80
    assert json.loads(json.dumps(splits.meta)) == splits.meta


def test_converted_cache_is_reused_and_identical(cache, monkeypatch):
    first = data.load("ACSF1", seed=4, cache_dir=cache)
    npz = cache / "uea" / "ACSF1.npz"
    assert npz.is_file() and not list(npz.parent.glob(".*tmp*"))

    def no_parsing(path, shown=None):
        raise AssertionError(f"{path} parsed although {npz} is up to date")

    monkeypatch.setattr(uea, "_read_ts", no_parsing)
    second = data.load("ACSF1", seed=4, cache_dir=cache)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(first, part).x, getattr(second, part).x)
        np.testing.assert_array_equal(getattr(first, part).y, getattr(second, part).y)
    assert first.info == second.info


def _toy(seed=0, n=30, length=12, channels=2):
    rng = np.random.default_rng(seed)
    series = [rng.normal(size=(channels, length)) for _ in range(n)]
    labels = [("a", "b", "c")[i % 3] for i in range(n)]
    return series, labels


def test_duplicates_are_dropped_and_counted(cache, tmp_path):
    series, labels = _toy()
    write_ts(tmp_path / "src" / "Heartbeat_TRAIN.ts", "Heartbeat", series[:20], labels[:20])
    # the test file repeats three training cases exactly, and one series with another label (not a duplicate)
    test_series = series[20:] + [series[0], series[5], series[5], series[1]]
    test_labels = labels[20:] + [labels[0], labels[5], labels[5], "c" if labels[1] != "c" else "a"]
    write_ts(tmp_path / "src" / "Heartbeat_TEST.ts", "Heartbeat", test_series, test_labels)
    data.prepare("Heartbeat", source=tmp_path / "src", cache_dir=cache)
    splits = data.load("Heartbeat", seed=0, cache_dir=cache)
    assert splits.meta["duplicates_dropped"] == 3
    assert sum(splits.meta["sizes"].values()) == 34 - 3
    official = data.load("Heartbeat", seed=0, split="official", cache_dir=cache)
    assert len(official.test) == 14


def test_nan_is_reported_with_sample_index_or_imputed(cache, tmp_path):
    series, labels = _toy()
    series[23][1, 4] = np.nan
    write_ts(tmp_path / "src" / "Heartbeat_TRAIN.ts", "Heartbeat", series[:20], labels[:20])
    write_ts(tmp_path / "src" / "Heartbeat_TEST.ts", "Heartbeat", series[20:], labels[20:])
    data.prepare("Heartbeat", source=tmp_path / "src", cache_dir=cache)
    with pytest.raises(DatasetError, match=r"1 NaN/Inf values in 1 series \(sample indices 23,.*impute=True"):
        data.load("Heartbeat", seed=0, cache_dir=cache)
    splits = data.load("Heartbeat", seed=0, cache_dir=cache, impute=True)
    assert splits.meta["imputed_values"] == 1
    part = next(p for p in ("train", "val", "test") if 23 in splits.meta["indices"][p])
    j = splits.meta["indices"][part].index(23)
    got = getattr(splits, part).x[j, 4, 1]
    assert got == pytest.approx((series[23][1, 3] + series[23][1, 5]) / 2, rel=1e-5)


def test_truncated_file_is_named(cache, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for split in ("TRAIN", "TEST"):
        content = (uea.aeon_data_dir() / "ACSF1" / f"ACSF1_{split}.ts").read_bytes()
        (src / f"ACSF1_{split}.ts").write_bytes(content[: len(content) // 2] if split == "TEST" else content)
    with pytest.raises(DatasetError, match=r"ACSF1_TEST\.ts: the file is truncated or corrupted"):
        data.prepare("ACSF1", source=src, cache_dir=cache)
    assert not (cache / "uea" / "ACSF1.npz").exists()


def test_corrupted_converted_cache_is_named(cache):
    data.load("BasicMotions", seed=0, cache_dir=cache)
    npz = cache / "uea" / "BasicMotions.npz"
    npz.write_bytes(npz.read_bytes()[:1000])
    with pytest.raises(DatasetError, match=r"BasicMotions\.npz: it is truncated or corrupted"):
        data.load("BasicMotions", seed=0, cache_dir=cache)


def test_not_cached_and_not_downloadable(cache, monkeypatch):
    import aeon.datasets

    def offline(name, extract_path=None, **kw):
        (Path(extract_path) / name).mkdir(parents=True)  # aeon creates the folder before it fails
        (Path(extract_path) / name / f"{name}_TRAIN.ts").write_text("@problemName partial\n")
        raise ValueError("Could not download files: <urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr(aeon.datasets, "load_classification", offline)
    with pytest.raises(DatasetError) as e:
        data.load("EigenWorms", seed=0, cache_dir=cache)
    msg = str(e.value)
    assert "timeseriesclassification.com" in msg and "EigenWorms.zip" in msg
    from aeon.datasets.tsc_datasets import tsc_zenodo

    assert f"https://zenodo.org/records/{tsc_zenodo['EigenWorms']}" in msg  # where aeon itself downloads from
    assert str(cache / "uea" / "EigenWorms" / "EigenWorms_TRAIN.ts") in msg and "rhel data prepare EigenWorms" in msg
    # nothing half-written is left under the final name
    assert not (cache / "uea" / "EigenWorms").exists() and list((cache / "uea").iterdir()) == []
    assert not data.is_cached(data.resolve("EigenWorms"), cache)


def test_a_download_lands_in_the_cache(cache, monkeypatch):
    import aeon.datasets

    def fake_download(name, extract_path=None, **kw):  # stands in for the network: the archive's real files
        (Path(extract_path) / name).mkdir(parents=True)
        for split in ("TRAIN", "TEST"):
            content = (uea.aeon_data_dir() / "BasicMotions" / f"BasicMotions_{split}.ts").read_bytes()
            (Path(extract_path) / name / f"{name}_{split}.ts").write_bytes(content)

    monkeypatch.setattr(aeon.datasets, "load_classification", fake_download)
    splits = data.load("Heartbeat", seed=0, cache_dir=cache)
    assert sorted(p.name for p in (cache / "uea").iterdir()) == ["Heartbeat", "Heartbeat.npz"]
    assert (cache / "uea" / "Heartbeat" / "Heartbeat_TRAIN.ts").is_file()
    assert sum(splits.meta["sizes"].values()) == 80 and splits.info.num_classes == 4
    assert data.is_cached(data.resolve("Heartbeat"), cache)


def test_unknown_name_lists_the_known_names():
    with pytest.raises(DatasetError) as e:
        data.load("EigenWorm", seed=0)
    msg = str(e.value)
    for known in ("EigenWorms", "SelfRegulationSCP1", "PPG-DaLiA", "ACSF1", "recall", "adding"):
        assert known in msg


def test_archive_names_resolve_case_insensitively():
    assert data.resolve("eigenworms").name == "EigenWorms"
    spec = data.resolve("facedetection")  # in the archive, not in the registry
    assert spec.name == "FaceDetection" and spec.kind == "uea"


def test_bad_arguments(cache):
    with pytest.raises(DatasetError, match="split"):
        data.load("BasicMotions", seed=0, split="random", cache_dir=cache)
    with pytest.raises(DatasetError, match="synthetic"):
        data.load("BasicMotions", seed=0, length=100, cache_dir=cache)
    with pytest.raises(DatasetError, match="seed"):
        data.load("BasicMotions", seed=-1, cache_dir=cache)


def _write_toy(folder, offset=0.0, seed=0):
    series, labels = _toy(seed)
    series = [s + offset for s in series]
    write_ts(folder / "Heartbeat_TRAIN.ts", "Heartbeat", series[:20], labels[:20])
    write_ts(folder / "Heartbeat_TEST.ts", "Heartbeat", series[20:], labels[20:])


def test_replaced_ts_files_are_converted_again(cache, tmp_path):
    _write_toy(tmp_path / "src")
    data.prepare("Heartbeat", source=tmp_path / "src", cache_dir=cache)
    assert abs(data.load("Heartbeat", seed=0, cache_dir=cache).train.x.mean()) < 1
    _write_toy(cache / "uea" / "Heartbeat", offset=100.0)  # e.g. a fresh archive unzipped over the old one
    assert data.load("Heartbeat", seed=0, cache_dir=cache).train.x.mean() == pytest.approx(100, abs=1)


def test_a_replaced_file_of_the_same_size_is_read_again(cache, tmp_path):
    import os

    _write_toy(tmp_path / "src")
    data.prepare("Heartbeat", source=tmp_path / "src", cache_dir=cache)
    train = cache / "uea" / "Heartbeat" / "Heartbeat_TRAIN.ts"
    first = data.load("Heartbeat", seed=0, split="official", cache_dir=cache)
    content = train.read_bytes()
    start = content.index(b"@data")
    digit = next(i for i in range(start, len(content)) if content[i : i + 1].isdigit())  # of the first value
    changed = content[:digit] + (b"9" if content[digit : digit + 1] != b"9" else b"8") + content[digit + 1 :]
    stat = train.stat()
    train.write_bytes(changed)
    os.utime(train, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # the same size, a later time
    assert train.stat().st_size == stat.st_size
    second = data.load("Heartbeat", seed=0, split="official", cache_dir=cache)
    assert not np.array_equal(np.concatenate([first.train.x, first.val.x]),
                              np.concatenate([second.train.x, second.val.x]))


def test_an_npz_without_its_record_is_converted_again(cache, tmp_path):
    _write_toy(tmp_path / "src")
    data.prepare("Heartbeat", source=tmp_path / "src", cache_dir=cache)
    npz = cache / "uea" / "Heartbeat.npz"
    with np.load(npz) as z:
        old = {k: z[k] for k in z.files if k != "files"}  # as an rhel that did not record the files wrote it
    old["x"] = old["x"] + 1000.0
    np.savez(npz, **old)
    assert abs(data.load("Heartbeat", seed=0, cache_dir=cache).train.x.mean()) < 1
    with np.load(npz) as z:
        assert "files" in z.files


def test_the_npz_is_the_only_copy_when_the_ts_files_are_gone(cache, tmp_path, monkeypatch):
    import shutil

    _write_toy(tmp_path / "src")
    data.prepare("Heartbeat", source=tmp_path / "src", cache_dir=cache)
    first = data.load("Heartbeat", seed=0, cache_dir=cache)
    shutil.rmtree(cache / "uea" / "Heartbeat")

    def no_download(name, cache):
        raise AssertionError("downloaded although the converted npz was there")

    monkeypatch.setattr(uea, "download", no_download)
    assert data.is_cached(data.resolve("Heartbeat"), cache)
    np.testing.assert_array_equal(data.load("Heartbeat", seed=0, cache_dir=cache).train.x, first.train.x)


def test_an_npz_without_its_record_and_without_its_files_is_not_cached(cache, tmp_path):
    import shutil

    _write_toy(tmp_path / "src")
    data.prepare("Heartbeat", source=tmp_path / "src", cache_dir=cache)
    npz, spec = cache / "uea" / "Heartbeat.npz", data.resolve("Heartbeat")
    shutil.rmtree(cache / "uea" / "Heartbeat")
    assert data.is_cached(spec, cache)  # the npz records its files: a load uses it alone
    with np.load(npz) as z:
        old = {k: z[k] for k in z.files if k != "files"}  # as an rhel that did not record the files wrote it
    np.savez(npz, **old)
    assert not data.is_cached(spec, cache)  # a load would convert it again from files that are gone


def test_a_copy_in_the_cache_takes_over_from_the_shipped_set(cache):
    import shutil

    assert "shipped with aeon" in data.load("BasicMotions", seed=0, cache_dir=cache).info.source
    (cache / "uea" / "BasicMotions").mkdir()
    for split in ("TRAIN", "TEST"):
        shutil.copyfile(uea.aeon_data_dir() / "BasicMotions" / f"BasicMotions_{split}.ts",
                        cache / "uea" / "BasicMotions" / f"BasicMotions_{split}.ts")
    assert "(aeon .ts files, cache)" in data.load("BasicMotions", seed=0, cache_dir=cache).info.source


def test_a_download_into_a_cache_that_cannot_be_written(cache, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):  # a folder the process may not write to (chmod does not stop root)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(DatasetError, match=r"cannot write into .*uea \(Permission denied\).*--cache-dir.*cache_dir="):
        data.load("EigenWorms", seed=0, cache_dir=cache)
    with pytest.raises(DatasetError, match=r"cannot write into .*--cache-dir"):
        data.prepare("BasicMotions", source=uea.aeon_data_dir() / "BasicMotions", cache_dir=cache)


def test_a_bad_source_leaves_the_cached_copy_as_it_was(cache, tmp_path):
    _write_toy(tmp_path / "good")
    data.prepare("Heartbeat", source=tmp_path / "good", cache_dir=cache)
    first = data.load("Heartbeat", seed=0, cache_dir=cache)
    cached = {p.name: p.read_bytes() for p in (cache / "uea" / "Heartbeat").iterdir()}
    _write_toy(tmp_path / "bad", offset=5.0)
    test_file = tmp_path / "bad" / "Heartbeat_TEST.ts"
    test_file.write_bytes(test_file.read_bytes()[: len(test_file.read_bytes()) // 2])  # an interrupted copy
    with pytest.raises(DatasetError, match="truncated or corrupted") as e:
        data.prepare("Heartbeat", source=tmp_path / "bad", cache_dir=cache)
    assert f"cannot read {test_file}:" in str(e.value)  # where the user put it, not a temporary folder
    assert {p.name: p.read_bytes() for p in (cache / "uea" / "Heartbeat").iterdir()} == cached
    assert sorted(p.name for p in (cache / "uea").iterdir()) == ["Heartbeat", "Heartbeat.npz"]
    again = data.load("Heartbeat", seed=0, cache_dir=cache)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(again, part).x, getattr(first, part).x)
        np.testing.assert_array_equal(getattr(again, part).y, getattr(first, part).y)
