"""UEA/UCR archive classification sets, read by aeon from the archive's own ``.ts`` files.

Where the files are looked for, in order:

1. ``<cache>/uea/NAME/NAME_TRAIN.ts`` and ``NAME_TEST.ts`` — downloaded or put there by ``rhel data prepare``;
2. the sets aeon ships inside its package (BasicMotions, JapaneseVowels, ACSF1, ...), no network needed;
3. otherwise aeon downloads the archive's files into a temporary folder of the cache, moved into place
   only when complete.

The first load converts them into ``<cache>/uea/NAME.npz`` (atomically), which records the path, size and
mtime_ns of the two files. Later loads use it while it records the files found now, or when none are found
(it is then the only copy); otherwise (files replaced, another folder, or an npz without that record) the
files are read again and the npz rewritten.

Splits: ``"paper"`` merges train and test, drops exact duplicates and draws 70/15/15 from the seed;
``"official"`` keeps the archive's test set and carves 15 % of its train set (from the seed) for validation.
Variable-length sets are zero-padded at the end to the longest series and carry a mask. ``meta["indices"]``
records which series (in the merged train-then-test order) went to each split.
"""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from pathlib import Path

import numpy as np

from rhel.data import preprocess as pp
from rhel.data.cache import ENV_VAR, atomic_dir, file_record, records_sources, save_npz, temp_dir
from rhel.data.types import DatasetInfo, SequenceData, Splits
from rhel.errors import DatasetError

ARCHIVE_URL = "https://timeseriesclassification.com/aeon-toolkit/{name}.zip"
ARCHIVE_PAGE = "https://www.timeseriesclassification.com/dataset.php"
ZENODO_URL = "https://zenodo.org/records/{record}"
VAL_FRACTION_OFFICIAL = 0.15
_NPZ_KEYS = ("x", "mask", "labels", "origin", "source")


def aeon_data_dir() -> Path | None:
    """The folder of the data sets aeon ships, found without importing aeon (its import takes seconds)."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"


def _has_files(folder: Path, name: str) -> bool:
    return (folder / f"{name}_TRAIN.ts").is_file() and (folder / f"{name}_TEST.ts").is_file()


def archive_names() -> list[str]:
    """Every classification set aeon knows how to download (the UCR/UEA/... archives)."""
    from aeon.datasets.tsc_datasets import tsc_zenodo

    return sorted(tsc_zenodo)


def npz_path(name: str, cache: Path) -> Path:
    return cache / "uea" / f"{name}.npz"


def ts_folder(name: str, cache: Path) -> Path | None:
    """The folder holding NAME_TRAIN.ts/NAME_TEST.ts: the cache first, then aeon's shipped data; None if neither."""
    for folder in (cache / "uea" / name, (aeon_data_dir() or Path("/nonexistent")) / name):
        if _has_files(folder, name):
            return folder
    return None


def is_cached(name: str, cache: Path) -> bool:
    """The .ts files are in the cache, or a converted npz that a load uses without them (see :func:`_cached`)."""
    return _has_files(cache / "uea" / name, name) or records_sources(npz_path(name, cache))


def zenodo_url(name: str) -> str | None:
    """The Zenodo record aeon downloads NAME from (``aeon.datasets.tsc_datasets.tsc_zenodo``), if it lists one."""
    try:
        from aeon.datasets.tsc_datasets import tsc_zenodo
    except ImportError:
        return None
    record = tsc_zenodo.get(name)
    return None if record is None else ZENODO_URL.format(record=record)


def _missing_message(name: str, cache: Path, reason: str) -> str:
    target = cache / "uea" / name
    zenodo = zenodo_url(name)
    also = f" or the Zenodo record aeon downloads from, {zenodo}" if zenodo else ""
    return (
        f"UEA/UCR set {name!r} is neither in the cache nor shipped with aeon, and could not be downloaded "
        f"({reason}). Get it from {ARCHIVE_URL.format(name=name)}{also} (archive page: {ARCHIVE_PAGE}), "
        f"unzip it so that "
        f"{target / f'{name}_TRAIN.ts'} and {target / f'{name}_TEST.ts'} exist, or run "
        f"`rhel data prepare {name} --source /path/to/unzipped/{name}` (set the cache with --cache-dir or $RHEL_DATA)."
    )


def download(name: str, cache: Path) -> Path:
    """Download NAME through aeon into a temporary folder of the cache, then move it to ``<cache>/uea/NAME``."""
    root = cache / "uea"
    staging = temp_dir(root, prefix=f".{name}.", suffix=".download")
    try:
        from aeon.datasets import load_classification

        try:
            load_classification(name, extract_path=str(staging))
        except Exception as e:  # aeon raises ValueError/URLError/OSError for a network or name failure
            raise DatasetError(_missing_message(name, cache, f"{type(e).__name__}: {str(e)[:200]}")) from None
        if not _has_files(staging / name, name):
            raise DatasetError(_missing_message(name, cache, "the download did not contain the .ts files"))
        with atomic_dir(root / name) as tmp:
            for f in (staging / name).iterdir():
                shutil.move(str(f), tmp / f.name)
        return root / name
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy_files(name: str, source: Path, dest: Path) -> Path:
    """Copy NAME_*.ts from ``source`` (a folder, its parent, or a .zip) into ``dest``; returns where they were."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as z:
            members = [m for m in z.namelist() if Path(m).name.startswith(f"{name}_") and m.endswith(".ts")]
            for m in members:
                (dest / Path(m).name).write_bytes(z.read(m))
        return source
    folder = next((f for f in (source, source / name) if _has_files(f, name)), None)
    if folder is None:
        raise DatasetError(
            f"--source {source} does not contain {name}_TRAIN.ts and {name}_TEST.ts "
            f"(nor does {source / name}); "
            f"point it at the unzipped folder of {ARCHIVE_URL.format(name=name)}."
        )
    for f in folder.glob(f"{name}_*.ts"):
        shutil.copyfile(f, dest / f.name)
    return folder


def install_source(name: str, source: Path, cache: Path) -> dict[str, np.ndarray]:
    """Copy NAME_TRAIN.ts/NAME_TEST.ts from ``source`` into ``<cache>/uea/NAME`` and return them converted.

    ``source`` is a folder, its parent, or a .zip. Both files are read (:func:`_convert`) before they replace the
    cached folder atomically, so a source that cannot be read leaves the cached copy as it was.
    """
    source = Path(source).expanduser()
    with atomic_dir(cache / "uea" / name) as tmp:
        found = _copy_files(name, source, tmp)
        if not _has_files(tmp, name):
            url = ARCHIVE_URL.format(name=name)
            raise DatasetError(f"{source} has no {name}_TRAIN.ts/{name}_TEST.ts; download {url}.")
        raw = _convert(tmp, name, shown=found)
    return raw


def _read_ts(path: Path, shown: Path | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """One archive file through aeon's reader → series of shape (C, L_i) float32 and string labels.

    Errors name ``shown`` (default ``path``): where the user put the file.
    """
    from aeon.datasets import load_from_ts_file

    def broken(reason: str) -> DatasetError:
        name = path.stem.rsplit("_", 1)[0]
        return DatasetError(
            f"cannot read {shown or path}: the file is truncated or corrupted ({reason}). Delete it and download it "
            f"again (rhel data prepare {name}, or --source a fresh copy)."
        )

    try:
        X, y, meta = load_from_ts_file(str(path), return_meta_data=True)
        series = [np.asarray(s, np.float32) for s in X]
        series = [s.reshape(1, -1) if s.ndim == 1 else s for s in series]
    except Exception as e:
        raise broken(f"{type(e).__name__}: {str(e)[:160]}") from None
    if not meta.get("classlabel", False):
        raise DatasetError(
            f"{shown or path} holds a regression problem (no class labels); rhel loads classification sets only."
        )
    if len(series) == 0 or len(series) != len(y) or any(s.size == 0 for s in series):
        raise broken(f"{len(series)} series, {len(y)} labels, some empty")
    return series, np.asarray(y).astype(str)


def _record(folder: Path, name: str) -> str:
    return file_record(folder / f"{name}_{s}.ts" for s in ("TRAIN", "TEST"))


def _cached(name: str, cache: Path, record: str | None) -> dict[str, np.ndarray] | None:
    """The arrays of ``<cache>/uea/NAME.npz`` when it is up to date, else None.

    Up to date: it records the .ts files (``record``, None when no .ts files are found) — or it has a record
    and no .ts files are found.
    """
    npz = npz_path(name, cache)
    if not npz.is_file():
        return None
    try:
        with np.load(npz, allow_pickle=False) as z:
            stored = str(z["files"]) if "files" in z.files else None  # the record (cache.file_record)
            if stored is None or (record is not None and record != stored):
                return None
            return {k: z[k] for k in _NPZ_KEYS}
    except Exception as e:
        raise DatasetError(
            f"cannot read the cached {npz}: it is truncated or corrupted ({type(e).__name__}). Delete it; the next "
            f"load rebuilds it from the .ts files."
        ) from None


def _convert(folder: Path, name: str, shown: Path | None = None) -> dict[str, np.ndarray]:
    """NAME_TRAIN.ts and NAME_TEST.ts of ``folder`` merged: {x (N,L,C), mask, labels (str), origin (0/1)}.

    Errors name the files as in ``shown`` (default ``folder``).
    """
    parts = [_read_ts(folder / f"{name}_{s}.ts", (shown or folder) / f"{name}_{s}.ts") for s in ("TRAIN", "TEST")]
    x, mask = pp.pad_series(parts[0][0] + parts[1][0])
    return {
        "x": x,
        "mask": mask,
        "labels": np.concatenate([parts[0][1], parts[1][1]]),
        "origin": np.repeat(np.array([0, 1], np.int8), [len(parts[0][0]), len(parts[1][0])]),
    }


def _store(name: str, cache: Path, folder: Path, record: str, raw: dict[str, np.ndarray]) -> str:
    """Write ``raw`` (converted from ``folder``) with its source and ``record`` into the npz, and return the source.

    A cache that cannot be written is skipped: it only costs speed, the arrays being in memory.
    """
    shipped = aeon_data_dir() is not None and folder == aeon_data_dir() / name
    source = f"UEA/UCR archive {name} (aeon .ts files, {'shipped with aeon' if shipped else 'cache'})"
    try:
        save_npz(npz_path(name, cache), source=np.array(source), files=np.array(record), **raw)
    except OSError:
        pass
    return source


def read_raw(name: str, cache: Path) -> tuple[dict[str, np.ndarray], str]:
    """The merged train+test arrays {x (N,L,C), mask, labels (str), origin (0 train / 1 test)} and their source.

    Taken from the converted npz when it is up to date (module docstring), else from the .ts files.
    """
    folder = ts_folder(name, cache)
    raw = _cached(name, cache, None if folder is None else _record(folder, name))
    if raw is not None:
        return raw, str(raw.pop("source"))
    folder = folder or download(name, cache)
    record = _record(folder, name)  # taken before reading: a file replaced meanwhile is read again next time
    raw = _convert(folder, name)
    return raw, _store(name, cache, folder, record, raw)


def prepare(name: str, cache: Path, source: Path | None = None) -> Path:
    """Put NAME into the cache (from ``source``, from aeon's shipped data, or by downloading) and convert it."""
    npz = npz_path(name, cache)
    if source is None:
        npz.unlink(missing_ok=True)
        read_raw(name, cache)
    else:
        raw = install_source(name, source, cache)  # read before it replaces the cached copy
        npz.unlink(missing_ok=True)
        folder = cache / "uea" / name
        _store(name, cache, folder, _record(folder, name), raw)
    # a load goes on without its cache file; preparing it must not
    if not npz.is_file():
        raise DatasetError(
            f"{name} was read but {npz} could not be written: the cache {cache} is not a writable folder. "
            f"Choose one with --cache-dir (or ${ENV_VAR})."
        )
    return npz


def load_uea(name: str, *, seed: int, split: str, time_channel: bool, cache: Path, impute: bool) -> Splits:
    raw, source = read_raw(name, cache)
    x, mask, labels, origin = raw["x"], raw["mask"], raw["labels"], raw["origin"]
    x, n_imputed = pp.check_finite(x, mask, impute=impute, what=f"{name}")
    y, class_names = pp.encode_labels(labels)
    if time_channel:
        x = pp.add_time_channel(x)
    full = SequenceData(x=x, y=y, mask=mask)
    meta: dict = {"dataset": name, "split": split, "seed": int(seed), "time_channel": bool(time_channel)}
    if split == "paper":
        keep = pp.duplicate_free(raw["x"], mask, labels)
        tr, va, te = (keep[p] for p in pp.random_split(keep.size, seed))
        meta.update(duplicates_dropped=int(len(y) - keep.size), fractions=list(pp.FRACTIONS))
    elif split == "official":
        official_train, te = np.flatnonzero(origin == 0), np.flatnonzero(origin == 1)
        kept, carved = pp.carve(official_train.size, seed, VAL_FRACTION_OFFICIAL)
        tr, va = official_train[kept], official_train[carved]
        meta.update(duplicates_dropped=0, val_fraction_of_train=VAL_FRACTION_OFFICIAL)
    else:
        raise DatasetError(f"split={split!r} is not a split kind; use 'paper' (70/15/15 of train+test) or 'official'.")
    sets = {k: pp.subset(full, idx) for k, idx in (("train", tr), ("val", va), ("test", te))}
    meta.update(
        sizes={k: len(v) for k, v in sets.items()},
        indices={k: idx.tolist() for k, idx in (("train", tr), ("val", va), ("test", te))},
        class_names=class_names,
        class_counts={k: np.bincount(v.y, minlength=len(class_names)).tolist() for k, v in sets.items()},
        imputed_values=n_imputed,
        source=source,
    )
    info = DatasetInfo(
        name=name,
        task="classification",
        length=int(x.shape[1]),
        channels=int(x.shape[2]),
        num_classes=len(class_names),
        output_dim=len(class_names),
        output_step=None,
        source=source,
    )
    return Splits(train=sets["train"], val=sets["val"], test=sets["test"], info=info, meta=meta)
