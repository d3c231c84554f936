"""Dataset-independent preprocessing: padding, the seeded split, label encoding, duplicates, time channel, NaN.

All functions are pure numpy. The paper's protocol for the UEA sets is: merge the archive's train and test,
drop exact duplicates, draw a random 70/15/15 split from the run seed, optionally append a time channel
t_k = k / L ∈ [0, 1), and encode the labels as 0..K−1.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rhel.data.types import SequenceData
from rhel.errors import DatasetError

FRACTIONS = (0.70, 0.15, 0.15)


def pad_series(series: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack series of shape (C, L_i) into x (N, L, C) float32, L = max L_i, zero-padded at the end, and mask (N, L)."""
    if len(series) == 0:
        raise DatasetError("the data set has no series; check the source files.")
    channels = {s.shape[0] for s in series}
    if len(channels) != 1:
        raise DatasetError(f"series have different channel counts {sorted(channels)}; the files are malformed.")
    lengths = np.array([s.shape[-1] for s in series])
    n, c, L = len(series), channels.pop(), int(lengths.max())
    x = np.zeros((n, L, c), np.float32)
    for i, s in enumerate(series):
        x[i, : s.shape[-1]] = np.asarray(s, np.float32).T
    mask = np.arange(L)[None, :] < lengths[:, None]
    return x, mask


def random_split(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Disjoint sorted index arrays (train, val, test) cut from a permutation of ``range(n)`` drawn from ``seed``.

    The cuts follow the dataset generator of Log-NCDE (the paper's protocol), which cuts its permutation at
    ``int(N * 0.7)`` and ``int(N * 0.85)``: train ⌊0.7n⌋, val ⌊0.85n⌋ − ⌊0.7n⌋, test the rest, computed in exact
    integers (``7 * n // 10``, ``85 * n // 100``; EigenWorms' 259 gives 181/39/39). The reference's floating point
    cut is one lower for some n (``int(90 * 0.7)`` is 62, not 63). Validation and test always get at least one
    sample, taken from train when n is tiny: n = 3 gives 1/1/1.
    """
    if n < 3:
        raise DatasetError(f"cannot split {n} samples into train/val/test; the data set needs at least 3.")
    perm = np.random.default_rng(int(seed)).permutation(n)
    first, second = 7 * n // 10, 85 * n // 100
    n_val = max(second - first, 1)
    n_test = max(n - second, 1)
    n_train = n - n_val - n_test
    parts = perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]
    return tuple(np.sort(p) for p in parts)


def carve(n: int, seed: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into (kept, carved) with ⌈fraction·n⌉ (≥ 1) carved at random from ``seed``."""
    if n < 2:
        raise DatasetError(f"cannot carve a validation set out of {n} training samples.")
    perm = np.random.default_rng(int(seed)).permutation(n)
    k = min(max(1, int(np.ceil(fraction * n))), n - 1)
    return np.sort(perm[k:]), np.sort(perm[:k])


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Labels → int64 codes 0..K−1 in sorted order (numeric order when every label is a number) and the names."""
    names = [str(v) for v in np.unique(np.asarray(y).astype(str))]
    try:
        names.sort(key=float)
    except ValueError:
        names.sort()
    lookup = {name: k for k, name in enumerate(names)}
    return np.array([lookup[str(v)] for v in np.asarray(y).astype(str)], np.int64), names


def duplicate_free(x: np.ndarray, mask: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of every distinct (series, length, label): exact duplicates dropped."""
    seen: set[tuple] = set()
    keep = []
    for i in range(x.shape[0]):
        key = (str(y[i]), int(mask[i].sum()), x[i][mask[i]].tobytes())
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return np.asarray(keep, np.int64)


def add_time_channel(x: np.ndarray) -> np.ndarray:
    """Append t_k = k / L ∈ [0, 1) as the last channel: (N, L, C) → (N, L, C + 1)."""
    n, L, _ = x.shape
    t = np.broadcast_to((np.arange(L, dtype=np.float32) / L)[None, :, None], (n, L, 1))
    return np.concatenate([x, t], axis=-1)


def check_finite(
    x: np.ndarray, mask: np.ndarray, *, impute: bool, what: str, order: str = "counted in the merged train+test order"
) -> tuple[np.ndarray, int]:
    """Refuse NaN/Inf at real steps (naming the samples), or with ``impute`` fill them by linear interpolation.

    Interpolation runs along time, per sample and channel, over the real steps; values before the first or
    after the last finite one take the nearest finite value; a channel with no finite value becomes 0.
    Returns the (possibly new) array and the number of values imputed.
    """
    bad = ~np.isfinite(x) & mask[..., None]
    if not bad.any():
        return x, 0
    samples = np.flatnonzero(bad.any(axis=(1, 2)))
    if not impute:
        shown = ", ".join(str(int(i)) for i in samples[:10]) + (" ..." if samples.size > 10 else "")
        raise DatasetError(
            f"{what}: {int(bad.sum())} NaN/Inf values in {samples.size} series (sample indices {shown}, {order}). "
            f"Pass impute=True (CLI: --impute) to fill them by linear interpolation "
            f"in time, or clean the source files."
        )
    x = x.copy()
    for i in samples:
        real = np.flatnonzero(mask[i])
        for c in np.flatnonzero(bad[i].any(axis=0)):
            v = x[i, real, c]
            ok = np.isfinite(v)
            x[i, real, c] = np.interp(real, real[ok], v[ok]) if ok.any() else 0.0
    return x, int(bad.sum())


def subset(data: SequenceData, idx: np.ndarray) -> SequenceData:
    """The samples ``idx`` of ``data`` (copies)."""
    return SequenceData(x=data.x[idx], y=data.y[idx], mask=data.mask[idx])
