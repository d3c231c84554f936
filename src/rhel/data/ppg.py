"""PPG-DaLiA heart-rate regression from the raw ``PPG_FieldStudy/S{i}/S{i}.pkl`` files (15 subjects).

Each file is a latin-1 pickled dict: ``signal → wrist → ACC`` (32 Hz × 3), ``BVP`` (64 Hz), ``EDA`` and ``TEMP``
(4 Hz), and ``label``, the reference heart rate every 2 s (each over an 8 s window). Conversion (``rhel data
prepare PPG-DaLiA``) brings every channel to 64 Hz by repetition (ACC ×2, EDA and TEMP ×16), gives 6 input
channels [ACC_x, ACC_y, ACC_z, BVP, EDA, TEMP], prepends 3 copies of the first label so that label j sits at
sample 128·j, and stores the unscaled arrays in ``<cache>/ppg_dalia.npz`` with the path, size and mtime_ns of
each subject file. A load converts again when a recorded file that still exists has changed (re-extracted),
or when the npz has no such record (then from ``<cache>/PPG_FieldStudy``); a recorded file that is gone is
not compared, the npz being then the only copy.

Loading, per subject: the recording is cut in time into contiguous 70/15/15 portions whose order is one of
six layouts drawn from the seed (the reference draws it unseeded); cuts fall on label boundaries (multiples
of 128 samples) so inputs and labels stay aligned. Each channel group (ACC jointly, BVP, EDA, TEMP) and the
label are min-max scaled to [−1, 1] with the minimum and maximum of that subject's *training portion only*
(the reference leaks the validation and test portions into them); val/test values may fall outside [−1, 1].
Windows of 49,920 samples with stride 4,992 are cut inside each portion, with the 390 labels they contain
(targets at steps 127, 255, ...). The seeded layouts and all scaling statistics are recorded in ``meta``.
NaN/Inf in a recording is refused with the subject, the file entry and the index into it, or (``impute``)
filled by linear interpolation in time.

Pickles can run code when loaded: only point ``--source`` at the files of the official PPG-DaLiA archive.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np

from rhel.data import preprocess as pp
from rhel.data.cache import ENV_VAR, changed_files, file_record, records_sources, save_npz
from rhel.data.types import DatasetInfo, SequenceData, Splits
from rhel.errors import DatasetError

NAME = "PPG-DaLiA"
SUBJECTS = tuple(range(1, 16))
FS = 64
WINDOW = 49_920
STRIDE = 4_992
OUTPUT_STEP = 128
LABEL_PAD = 3
GROUPS = {"ACC": slice(0, 3), "BVP": slice(3, 4), "EDA": slice(4, 5), "TEMP": slice(5, 6)}
CHANNELS = 6
#: the subject file's entry behind each input channel, and how many 64-Hz steps repeat one of its samples
_ENTRIES = (("signal/wrist/ACC[:, 0]", 2), ("signal/wrist/ACC[:, 1]", 2), ("signal/wrist/ACC[:, 2]", 2),
            ("signal/wrist/BVP", 1), ("signal/wrist/EDA", 16), ("signal/wrist/TEMP", 16))
URL = "https://archive.ics.uci.edu/dataset/495/ppg+dalia"
#: (train, val, test) portions in percent of each recording; the seed picks one layout per subject. A cut at
#: p % of n labels falls at ⌊p·n/100⌋, in exact integers (in floating point, int(0.70 * 650) is 454, not 455).
LAYOUTS = (
    ((0, 70), (70, 85), (85, 100)),
    ((0, 70), (85, 100), (70, 85)),
    ((15, 85), (0, 15), (85, 100)),
    ((15, 85), (85, 100), (0, 15)),
    ((30, 100), (0, 15), (15, 30)),
    ((30, 100), (15, 30), (0, 15)),
)
SPLITS = ("train", "val", "test")


def npz_path(cache: Path) -> Path:
    return cache / "ppg_dalia.npz"


def is_cached(cache: Path) -> bool:
    """The subject files are in the cache, or a converted npz that a load uses without them (see :func:`_outdated`)."""
    return (cache / "PPG_FieldStudy").is_dir() or records_sources(npz_path(cache))


def _missing_message(cache: Path) -> str:
    return (
        f"{NAME} is not in the cache ({npz_path(cache)}) and cannot be downloaded automatically. Download the "
        f"PPG-DaLiA archive from {URL}, unzip it (it contains PPG_FieldStudy/S1/S1.pkl ... S15/S15.pkl), then run "
        f"`rhel data prepare {NAME} --source /path/to/PPG_FieldStudy`, or put the PPG_FieldStudy folder at "
        f"{cache / 'PPG_FieldStudy'} (set the cache with --cache-dir or $RHEL_DATA)."
    )


def _field(d: object, keys: tuple[str, ...], path: Path) -> np.ndarray:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            raise DatasetError(f"{path} has no {'/'.join(keys)} entry: not a PPG-DaLiA subject file, or corrupted.")
        d = d[k]
    return np.asarray(d, np.float64)


def read_subject(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One subject file → (signal (128·n, 6) float32 at 64 Hz, labels (n,) float32 with 3 leading copies)."""
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")
    except FileNotFoundError:
        raise
    except Exception as e:
        raise DatasetError(
            f"cannot read {path}: the file is truncated or corrupted ({type(e).__name__}: {str(e)[:120]}). "
            f"Extract it again from the PPG-DaLiA archive ({URL})."
        ) from None
    acc = _field(data, ("signal", "wrist", "ACC"), path).reshape(-1, 3)
    parts = [
        np.repeat(acc, 2, axis=0),
        _field(data, ("signal", "wrist", "BVP"), path).reshape(-1, 1),
        np.repeat(_field(data, ("signal", "wrist", "EDA"), path).reshape(-1, 1), 16, axis=0),
        np.repeat(_field(data, ("signal", "wrist", "TEMP"), path).reshape(-1, 1), 16, axis=0),
    ]
    label = _field(data, ("label",), path).reshape(-1)
    lengths = [len(p) for p in parts]
    if min(lengths) == 0 or label.size == 0 or max(lengths) - min(lengths) > 2 * FS:
        raise DatasetError(
            f"{path}: channel lengths at 64 Hz {lengths} (ACC, BVP, EDA, TEMP) and {label.size} labels do not "
            f"describe one recording; the file is truncated or corrupted."
        )
    labels = np.concatenate([np.full(LABEL_PAD, label[0]), label])
    n = min(labels.size, min(lengths) // OUTPUT_STEP)
    signal = np.concatenate([p[: n * OUTPUT_STEP] for p in parts], axis=1)
    return signal.astype(np.float32), labels[:n].astype(np.float32)


def _subject_files(source: Path) -> dict[int, Path]:
    source = Path(source).expanduser()
    root = next((r for r in (source, source / "PPG_FieldStudy") if (r / "S1" / "S1.pkl").is_file()), None)
    if root is None:
        raise DatasetError(
            f"{source} does not contain S1/S1.pkl (nor does {source / 'PPG_FieldStudy'}); point --source at the "
            f"PPG_FieldStudy folder of the archive ({URL})."
        )
    files = {i: root / f"S{i}" / f"S{i}.pkl" for i in SUBJECTS}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise DatasetError(f"PPG-DaLiA subject files missing: {', '.join(missing)}; extract the whole archive ({URL}).")
    return files


def convert(source: Path) -> dict[str, np.ndarray]:
    """The 15 subject files under ``source`` as the arrays of ppg_dalia.npz, with their record ("files")."""
    files = _subject_files(source)
    # recorded before reading, so that a file replaced meanwhile is converted again by the next load
    arrays = {"files": np.array(file_record(files.values()))}
    for i, path in files.items():
        arrays[f"S{i}_x"], arrays[f"S{i}_y"] = read_subject(path)
    return arrays


def _source_folder(cache: Path, source: Path | None) -> Path:
    """``source``, or ``<cache>/PPG_FieldStudy`` when None; a DatasetError naming the folder when it is missing."""
    if source is None:
        if not (cache / "PPG_FieldStudy").exists():
            raise DatasetError(_missing_message(cache))
        return cache / "PPG_FieldStudy"
    source = Path(source).expanduser()
    if not source.exists():
        raise DatasetError(
            f"--source {source} does not exist; point it at the PPG_FieldStudy folder of the unzipped PPG-DaLiA "
            f"archive ({URL})."
        )
    return source


def prepare(cache: Path, source: Path | None = None) -> Path:
    """Convert the 15 subject pickles (from ``source`` or ``<cache>/PPG_FieldStudy``) into ``<cache>/ppg_dalia.npz``."""
    arrays = convert(_source_folder(cache, source))
    try:
        save_npz(npz_path(cache), **arrays)
    except OSError as e:
        raise DatasetError(
            f"{NAME} was converted but {npz_path(cache)} could not be written ({e.strerror}): the cache {cache} is "
            f"not a writable folder. Choose one with --cache-dir (or ${ENV_VAR})."
        ) from None
    return npz_path(cache)


def _convert_for_load(cache: Path, source: Path | None) -> dict[str, np.ndarray]:
    """Convert for a load: write the npz when the cache allows it, else warn that every load converts again."""
    arrays = convert(_source_folder(cache, source))
    try:
        save_npz(npz_path(cache), **arrays)
    except OSError as e:
        warnings.warn(
            f"{NAME}: {npz_path(cache)} could not be written ({e.strerror}), so every load converts the subject "
            f"files again. Choose a writable cache with --cache-dir (CLI), cache_dir= (rhel.data.load) or "
            f"${ENV_VAR}."
        )
    return arrays


def _load_npz(npz: Path) -> dict[str, np.ndarray]:
    """Every array of ppg_dalia.npz; a DatasetError naming it when it cannot be read or lacks a subject."""
    try:
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        reason = next((f"no {k}" for i in SUBJECTS for k in (f"S{i}_x", f"S{i}_y") if k not in arrays), None)
    except Exception as e:
        reason = type(e).__name__
    if reason is not None:
        raise DatasetError(
            f"cannot read the cached {npz}: it is truncated or corrupted ({reason}). Delete it and run "
            f"`rhel data prepare {NAME} --source /path/to/PPG_FieldStudy`."
        )
    return arrays


def _outdated(arrays: dict[str, np.ndarray], cache: Path) -> Path | None:
    """The folder to convert again when the npz's ``arrays`` are out of date (module docstring), else None."""
    if "files" not in arrays:  # written before the npz recorded its subject files
        if (cache / "PPG_FieldStudy").is_dir():
            return cache / "PPG_FieldStudy"
        raise DatasetError(
            f"{npz_path(cache)} does not record which subject files it was converted from (an older rhel wrote "
            f"it), so it may be out of date. Convert them again: `rhel data prepare {NAME} --source "
            f"/path/to/PPG_FieldStudy`."
        )
    changed = changed_files(str(arrays["files"]))
    return Path(changed[0]).parents[1] if changed else None


def _read_cache(cache: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The converted recordings by subject, converted (again) first when the npz is missing or out of date."""
    npz = npz_path(cache)
    if not npz.is_file():
        arrays = _convert_for_load(cache, None)
    else:
        arrays = _load_npz(npz)
        source = _outdated(arrays, cache)
        if source is not None:
            arrays = _convert_for_load(cache, source)
    return {i: (arrays[f"S{i}_x"], arrays[f"S{i}_y"]) for i in SUBJECTS}


def nonfinite(signal: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Where a converted recording holds NaN/Inf, as indices into the subject file's own arrays.

    Keys are the file's entries ("signal/wrist/ACC[:, 0]", ..., "signal/wrist/TEMP", "label"); the indices count
    samples at the entry's own rate (ACC 32 Hz, BVP 64 Hz, EDA/TEMP 4 Hz; labels every 2 s), so that a value
    repeated to 64 Hz, or the first label copied in front, is reported once.
    """
    out = {}
    for c, (entry, factor) in enumerate(_ENTRIES):
        steps = np.flatnonzero(~np.isfinite(signal[:, c]))
        if steps.size:
            out[entry] = np.unique(steps // factor)
    steps = np.flatnonzero(~np.isfinite(labels))
    if steps.size:
        out["label"] = np.unique(np.maximum(steps - LABEL_PAD, 0))
    return out


def _finite(subject: int, signal: np.ndarray, labels: np.ndarray, impute: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Refuse NaN/Inf in one subject's recording, naming the file entries and sample indices, or impute them.

    Imputation interpolates linearly in time (:func:`rhel.data.preprocess.check_finite`). Returns the signal, the
    labels and the number of file values that were not finite.
    """
    bad = nonfinite(signal, labels)
    if not bad:
        return signal, labels, 0
    count = int(sum(v.size for v in bad.values()))
    if not impute:
        def shown(v: np.ndarray) -> str:
            return ", ".join(str(int(k)) for k in v[:5]) + (" ..." if v.size > 5 else "")

        where = "; ".join(f"{entry} at index {shown(v)}" for entry, v in bad.items())
        raise DatasetError(
            f"{NAME} subject S{subject} (S{subject}.pkl): {count} NaN/Inf values: {where} (indices into the file's "
            f"arrays). Pass impute=True (CLI: --impute) to fill them by linear interpolation in time, or extract "
            f"the file again from the archive ({URL})."
        )
    ones = np.ones((1, len(signal)), bool)
    signal = pp.check_finite(signal[None], ones, impute=True, what=f"S{subject}")[0][0]
    labels = pp.check_finite(labels[None, :, None], ones[:, : len(labels)], impute=True, what=f"S{subject}")[0][0, :, 0]
    return signal, labels, count


def _scale(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (2.0 * (v - lo) / ((hi - lo) or 1.0) - 1.0).astype(np.float32)


def window_count(n_samples: int) -> int:
    """Windows of WINDOW samples with stride STRIDE that fit in ``n_samples``."""
    return 0 if n_samples < WINDOW else (n_samples - WINDOW) // STRIDE + 1


def _portions(signal: np.ndarray, labels: np.ndarray, layout: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    n = labels.size
    out = {}
    for split, (lo, hi) in zip(SPLITS, LAYOUTS[layout]):
        a, b = lo * n // 100, hi * n // 100
        out[split] = signal[a * OUTPUT_STEP : b * OUTPUT_STEP], labels[a:b]
    return out


def load_ppg(*, seed: int, split: str, time_channel: bool, cache: Path, impute: bool) -> Splits:
    if split != "paper":
        raise DatasetError(f"{NAME} has no official split; use split='paper' (the per-subject 70/15/15 time cut).")
    subjects = _read_cache(cache)
    layouts = np.random.default_rng(int(seed)).integers(len(LAYOUTS), size=len(SUBJECTS))
    pieces: dict[str, list] = {s: [] for s in SPLITS}
    meta: dict = {"dataset": NAME, "split": "paper", "seed": int(seed), "time_channel": bool(time_channel),
                  "layouts": {}, "scaling": {}, "windows": {}, "imputed_values": 0,
                  "scaling_from": "each subject's training portion only"}
    for (i, (signal, labels)), layout in zip(subjects.items(), layouts):
        signal, labels, n_imp = _finite(i, signal, labels, impute)
        meta["imputed_values"] += n_imp
        parts = _portions(signal, labels, int(layout))
        train_x, train_y = parts["train"]
        stats = {g: [float(train_x[:, sl].min()), float(train_x[:, sl].max())] for g, sl in GROUPS.items()}
        stats["label"] = [float(train_y.min()), float(train_y.max())]
        meta["layouts"][f"S{i}"] = {s: [lo / 100, hi / 100] for s, (lo, hi) in zip(SPLITS, LAYOUTS[int(layout)])}
        meta["scaling"][f"S{i}"] = stats
        meta["windows"][f"S{i}"] = {}
        for split_name, (sx, sy) in parts.items():
            k = window_count(len(sx))
            meta["windows"][f"S{i}"][split_name] = k
            if k:
                scaled = [_scale(sx[:, sl], *stats[g]) for g, sl in GROUPS.items()]
                if time_channel:  # a placeholder column, so that whole rows copy contiguously into the windows
                    scaled.append(np.zeros((len(sx), 1), np.float32))
                sx = np.concatenate(scaled, axis=1)
                pieces[split_name].append((sx, _scale(sy, *stats["label"]), k))
    sets = {s: _windows(pieces[s], time_channel) for s in SPLITS}
    empty = [s for s in SPLITS if len(sets[s]) == 0]
    if empty:
        raise DatasetError(
            f"{NAME}: no {WINDOW}-sample window fits in the {'/'.join(empty)} portion of any subject: the recordings "
            f"are too short (each 15 % portion needs {WINDOW} samples); check that the files are complete."
        )
    meta["sizes"] = {s: len(v) for s, v in sets.items()}
    source = f"{NAME} raw pickles ({URL}), converted cache {npz_path(cache).name}"
    meta["source"] = source
    info = DatasetInfo(name=NAME, task="regression", length=WINDOW, channels=CHANNELS + int(time_channel),
                       num_classes=None, output_dim=1, output_step=OUTPUT_STEP, source=source)
    return Splits(train=sets["train"], val=sets["val"], test=sets["test"], info=info, meta=meta)


def _windows(pieces: list[tuple[np.ndarray, np.ndarray, int]], time_channel: bool) -> SequenceData:
    """Cut windows (stride STRIDE) out of each scaled portion into one preallocated (N, WINDOW, C) array."""
    n = sum(k for _, _, k in pieces)
    c = CHANNELS + int(time_channel)
    n_labels, label_stride = WINDOW // OUTPUT_STEP, STRIDE // OUTPUT_STEP
    x = np.empty((n, WINDOW, c), np.float32)
    y = np.empty((n, n_labels, 1), np.float32)
    j = 0
    for sx, sy, k in pieces:
        for w in range(k):
            x[j] = sx[w * STRIDE : w * STRIDE + WINDOW]
            y[j, :, 0] = sy[w * label_stride : w * label_stride + n_labels]
            j += 1
    if time_channel:
        x[:, :, CHANNELS] = np.arange(WINDOW, dtype=np.float32) / WINDOW
    return SequenceData(x=x, y=y, mask=np.ones((n, WINDOW), bool))
