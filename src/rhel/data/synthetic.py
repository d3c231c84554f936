"""Synthetic long-range tasks, generated from a seed at any length (50,000 steps and more), no download.

**recall** (classification, K = 4 classes, K + 1 channels). During the first ``TOKEN_STEPS`` steps the first K
channels hold the one-hot code of the class and the marker channel (the last) is 1; afterwards the first K
channels are N(0, 1) noise and the marker is 0, up to the end. The label is the class of the token, so the
task is solved exactly (100 % accuracy) by remembering the first steps across the whole sequence, and a model
that forgets scores chance, 1/K.

**adding** (regression, the classic adding problem, 2 channels). Channel 0 holds values a_k ~ U[0, 1); channel
1 is 1 at exactly two steps, one in the first half and one in the second half, 0 elsewhere. The target, one
per sequence at the last step (``output_step = L``), is a_i + a_j − 1 ∈ [−1, 1): its mean is 0 and its
variance 2/12, so the trivial predictor 0 scores MSE 1/6 ≈ 0.1667; the exact sum scores 0.

Generation draws the sequences from ``numpy.random.default_rng(seed)`` (float32 throughout, so time and memory
are linear in the length) and splits them 70/15/15 with the same seed.
"""

from __future__ import annotations

import os

import numpy as np

from rhel.argcheck import is_integer
from rhel.data import preprocess as pp
from rhel.data.types import DatasetInfo, SequenceData, Splits
from rhel.errors import DatasetError

DEFAULT_LENGTH = 1_000
DEFAULT_SIZE = 1_000
RECALL_CLASSES = 4
TOKEN_STEPS = 5
ADDING_BASELINE_MSE = 1.0 / 6.0
#: The data in float32 while they are generated, given a time channel and split: about three copies.
_COPIES = 3


def _physical_memory() -> int | None:
    """Bytes of RAM of this machine, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _check_fits(name: str, size: int, length: int, channels: int) -> None:
    """Refuse a data set that cannot fit in this machine's memory, before numpy tries to allocate it."""
    needed, available = _COPIES * 4 * size * length * channels, _physical_memory()
    if available is not None and needed > available:
        raise DatasetError(
            f"{name}: {size} sequences of length {length} need about {needed / 2**30:.3g} GiB while they are "
            f"generated, more than this machine's {available / 2**30:.3g} GiB; lower the length (`rhel train "
            "--length`) or the number of sequences (`size=` of rhel.data.load)."
        )


def recall(n: int, length: int, seed: int, classes: int = RECALL_CLASSES) -> SequenceData:
    """``n`` recall sequences (n, length, classes + 1) with labels (n,): see the module docstring."""
    if length <= TOKEN_STEPS:
        raise DatasetError(f"recall needs length > {TOKEN_STEPS} (the token lasts {TOKEN_STEPS} steps); got {length}.")
    rng = np.random.default_rng(int(seed))
    y = rng.integers(classes, size=n).astype(np.int64)
    x = rng.standard_normal((n, length, classes + 1), dtype=np.float32)
    x[:, :, classes] = 0.0
    x[:, :TOKEN_STEPS, :] = 0.0
    x[np.arange(n), :TOKEN_STEPS, y] = 1.0
    x[:, :TOKEN_STEPS, classes] = 1.0
    return SequenceData(x=x, y=y, mask=np.ones((n, length), bool))


def adding(n: int, length: int, seed: int) -> SequenceData:
    """``n`` adding-problem sequences (n, length, 2) with targets (n, 1, 1): see the module docstring."""
    if length < 2:
        raise DatasetError(f"adding needs length >= 2 (one marker in each half); got {length}.")
    rng = np.random.default_rng(int(seed))
    x = np.zeros((n, length, 2), np.float32)
    x[:, :, 0] = rng.random((n, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    rows = np.arange(n)
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    y = x[rows, first, 0] + x[rows, second, 0] - 1.0
    return SequenceData(x=x, y=y.astype(np.float32).reshape(n, 1, 1), mask=np.ones((n, length), bool))


def _count(name: str, what: str, value: object, default: int, least: int) -> int:
    """``value`` as an int ≥ ``least`` (``default`` when None); anything else, 10.7 or "abc" included, is refused."""
    if value is None:
        return default
    if not is_integer(value) or value < least:
        raise DatasetError(f"{name}: {what} must be an integer of at least {least}, got {value!r}.")
    return int(value)


def load_synthetic(name: str, *, seed: int, split: str, time_channel: bool, length: int | None,
                   size: int | None) -> Splits:
    length = _count(name, "length", length, DEFAULT_LENGTH, 1)
    size = _count(name, "size (the number of sequences)", size, DEFAULT_SIZE, 3)
    if split != "paper":
        raise DatasetError(
            f"{name} is generated and has no official split; use split='paper' (70/15/15 from the seed)."
        )
    _check_fits(name, size, length, (RECALL_CLASSES + 1 if name == "recall" else 2) + bool(time_channel))
    data = recall(size, length, seed) if name == "recall" else adding(size, length, seed)
    if time_channel:
        data = SequenceData(x=pp.add_time_channel(data.x), y=data.y, mask=data.mask)
    tr, va, te = pp.random_split(size, seed)
    sets = {k: pp.subset(data, idx) for k, idx in (("train", tr), ("val", va), ("test", te))}
    meta: dict = {"dataset": name, "split": "paper", "seed": int(seed), "length": length, "size": size,
                  "time_channel": bool(time_channel), "sizes": {k: len(v) for k, v in sets.items()}}
    source = f"synthetic ({name}, generated from the seed)"
    if name == "recall":
        meta.update(chance_accuracy=1.0 / RECALL_CLASSES, achievable_accuracy=1.0, token_steps=TOKEN_STEPS)
        info = DatasetInfo(name=name, task="classification", length=length, channels=data.x.shape[2],
                           num_classes=RECALL_CLASSES, output_dim=RECALL_CLASSES, output_step=None, source=source)
    else:
        meta.update(baseline_mse=ADDING_BASELINE_MSE, achievable_mse=0.0)
        info = DatasetInfo(name=name, task="regression", length=length, channels=data.x.shape[2],
                           num_classes=None, output_dim=1, output_step=length, source=source)
    meta["source"] = source
    return Splits(train=sets["train"], val=sets["val"], test=sets["test"], info=info, meta=meta)
