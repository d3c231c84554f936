"""The registry of known data sets and the :func:`load` / :func:`prepare` entry points.

Rows carry the shape of each set (length, channels, classes) even when it is not on this machine. Any other
name of the UCR/UEA archives that aeon can download (``aeon.datasets.tsc_datasets.tsc_zenodo``) is accepted
too. Names are matched case-insensitively.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np

from rhel.argcheck import is_integer
from rhel.data import ppg, synthetic, uea
from rhel.data.cache import ENV_VAR, cache_dir
from rhel.data.types import DatasetSpec, Splits
from rhel.errors import DatasetError

_ARCHIVE = "UEA archive (timeseriesclassification.com), via aeon"
_SHIPPED = "UCR/UEA archive, shipped with aeon"


def _uea(name: str, length: int, channels: int, classes: int, shipped: bool = False, note: str = "") -> DatasetSpec:
    return DatasetSpec(name=name, kind="uea", task="classification", length=length, channels=channels,
                       num_classes=classes, source=_SHIPPED if shipped else _ARCHIVE, shipped=shipped,
                       description=note)


REGISTRY: tuple[DatasetSpec, ...] = (
    _uea("EigenWorms", 17_984, 6, 5, note="paper benchmark"),
    _uea("SelfRegulationSCP1", 896, 6, 2, note="paper benchmark"),
    _uea("SelfRegulationSCP2", 1_152, 7, 2, note="paper benchmark"),
    _uea("EthanolConcentration", 1_751, 3, 4, note="paper benchmark"),
    _uea("Heartbeat", 405, 61, 2, note="paper benchmark"),
    _uea("MotorImagery", 3_000, 64, 2, note="paper benchmark"),
    DatasetSpec(name=ppg.NAME, kind="ppg", task="regression", length=ppg.WINDOW, channels=ppg.CHANNELS,
                num_classes=None, source=f"UCI ({ppg.URL}), manual download", description="paper benchmark"),
    _uea("ACSF1", 1_460, 1, 10, shipped=True, note="used by `rhel compare`"),
    _uea("BasicMotions", 100, 6, 4, shipped=True),
    _uea("JapaneseVowels", 29, 12, 9, shipped=True, note="variable length 7-29"),
    _uea("ArrowHead", 251, 1, 3, shipped=True),
    _uea("GunPoint", 150, 1, 2, shipped=True),
    _uea("ItalyPowerDemand", 24, 1, 2, shipped=True),
    _uea("OSULeaf", 427, 1, 6, shipped=True),
    _uea("PickupGestureWiimoteZ", 361, 1, 10, shipped=True, note="variable length 29-361"),
    DatasetSpec(name="recall", kind="synthetic", task="classification", length=synthetic.DEFAULT_LENGTH,
                channels=synthetic.RECALL_CLASSES + 1, num_classes=synthetic.RECALL_CLASSES,
                source="generated from the seed", shipped=True,
                description="token in the first steps, noise to the end; chance 25 %, achievable 100 %"),
    DatasetSpec(name="adding", kind="synthetic", task="regression", length=synthetic.DEFAULT_LENGTH, channels=2,
                num_classes=None, source="generated from the seed", shipped=True,
                description="adding problem; trivial MSE 1/6, achievable 0"),
)
_ALIASES = {"ppg": ppg.NAME, "ppg_dalia": ppg.NAME, "ppgdalia": ppg.NAME}


def available() -> list[DatasetSpec]:
    """The registry rows (for ``rhel data list``)."""
    return list(REGISTRY)


def resolve(name: str) -> DatasetSpec:
    """The spec for ``name`` (case-insensitive), or an archive row for any UCR/UEA name aeon knows."""
    key = str(name).strip()
    key = _ALIASES.get(key.lower(), key)
    for spec in REGISTRY:
        if spec.name.lower() == key.lower():
            return spec
    try:
        archive = uea.archive_names()
    except ImportError:  # aeon missing: only the registry is known
        archive = []
    for a in archive:
        if a.lower() == key.lower():
            return DatasetSpec(name=a, kind="uea", task="classification", length=0, channels=0, num_classes=None,
                               source=_ARCHIVE)
    known = ", ".join(s.name for s in REGISTRY)
    raise DatasetError(
        f"unknown data set {name!r}. Known: {known}; any of the {len(archive)} UCR/UEA archive names aeon lists "
        f"(aeon.datasets.tsc_datasets.tsc_zenodo, e.g. FaceDetection) also works. See `rhel data list`."
    )


def is_cached(spec: DatasetSpec, cache: str | os.PathLike | None = None) -> bool:
    """True when ``load`` needs no download: in the cache, shipped with a package, or generated."""
    root = cache_dir(cache)
    if spec.kind == "synthetic":
        return True
    if spec.kind == "ppg":
        return ppg.is_cached(root)
    return uea.is_cached(spec.name, root) or uea.ts_folder(spec.name, root) is not None


def load(
    name: str,
    *,
    seed: int,
    split: Literal["paper", "official"] = "paper",
    time_channel: bool = False,
    cache_dir: str | os.PathLike | None = None,
    length: int | None = None,
    impute: bool = False,
    size: int | None = None,
) -> Splits:
    """Load a data set as host numpy train/val/test splits drawn from ``seed``.

    ``split``: "paper" (UEA: train+test merged, exact duplicates dropped, 70/15/15 from the seed; PPG: per-subject
    time cut, layout from the seed) or "official" (UEA only: the archive's test set, 15 % of its train set
    carved for validation). ``time_channel`` appends t_k = k/L ∈ [0, 1) as the last channel. ``length`` and
    ``size`` (number of sequences) apply to the synthetic tasks only. ``impute`` fills NaN/Inf by linear
    interpolation in time instead of refusing them. ``time_channel`` and ``impute`` must be booleans.
    """
    spec = resolve(name)
    if not is_integer(seed) or seed < 0:
        raise DatasetError(f"seed must be a non-negative integer, got {seed!r}.")
    seed = int(seed)
    for flag, value in (("time_channel", time_channel), ("impute", impute)):
        if not isinstance(value, (bool, np.bool_)):
            raise DatasetError(f"{flag} must be True or False, got {value!r}.")
    time_channel, impute = bool(time_channel), bool(impute)
    if split not in ("paper", "official"):
        raise DatasetError(f"split={split!r} is not a split kind; use 'paper' or 'official'.")
    if spec.kind != "synthetic" and (length is not None or size is not None):
        raise DatasetError(f"length/size apply to the synthetic tasks (recall, adding) only, not to {spec.name}.")
    root = _cache(cache_dir)
    if spec.kind == "synthetic":
        return synthetic.load_synthetic(spec.name, seed=seed, split=split, time_channel=time_channel,
                                        length=length, size=size)
    if spec.kind == "ppg":
        return ppg.load_ppg(seed=seed, split=split, time_channel=time_channel, cache=root, impute=impute)
    return uea.load_uea(spec.name, seed=seed, split=split, time_channel=time_channel, cache=root, impute=impute)


def prepare(
    name: str, *, source: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None
) -> Path | None:
    """Download or convert ``name`` into the cache; returns the cached file (None for generated tasks)."""
    spec = resolve(name)
    root = _cache(cache_dir)
    if spec.kind == "synthetic":
        return None
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(
            f"cannot use {root} as the data cache ({e.strerror}); choose a writable folder with --cache-dir "
            f"(or ${ENV_VAR})."
        ) from None
    if spec.kind == "ppg":
        return ppg.prepare(root, Path(source) if source is not None else None)
    return uea.prepare(spec.name, root, Path(source) if source is not None else None)


def _cache(explicit: str | os.PathLike | None) -> Path:
    return cache_dir(explicit)
