"""Epochs of mini-batches that a 50k-step data set survives.

The data stay on the host as numpy; only the batch that :func:`take` gathers goes to the device (the caller
does that). Every sample is used exactly once per epoch — the last batch is simply smaller, never dropped —
and the order is a pure function of ``(seed, epoch)``, so a resumed run sees the same batches.
"""

from __future__ import annotations

import numpy as np

from rhel.argcheck import is_integer
from rhel.data.types import SequenceData
from rhel.errors import RHELError


def epoch_batches(n: int, batch_size: int, *, seed: int, epoch: int, shuffle: bool = True) -> list[np.ndarray]:
    """Index arrays covering ``range(n)`` exactly once, of size ``batch_size`` except possibly the last.

    With ``shuffle`` the permutation is drawn from ``numpy.random.default_rng([seed, epoch])``; without it the
    batches are consecutive.
    """
    if not is_integer(n) or n < 0:
        raise RHELError(f"epoch_batches: n = {n!r} must be a non-negative integer: the number of samples (len(data)).")
    if not is_integer(batch_size) or batch_size < 1:
        raise RHELError(f"epoch_batches: batch_size = {batch_size!r} must be a positive integer; pass e.g. 32.")
    if not (is_integer(seed) and is_integer(epoch)) or seed < 0 or epoch < 0:
        raise RHELError(f"epoch_batches: seed ({seed!r}) and epoch ({epoch!r}) must be non-negative integers.")
    n, batch_size = int(n), int(batch_size)
    if shuffle:
        order = np.random.default_rng([int(seed), int(epoch)]).permutation(n)
    else:
        order = np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def take(data: SequenceData, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch ``(x[idx], y[idx], mask[idx])`` as host numpy arrays (copies, contiguous)."""
    idx = np.asarray(idx)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise RHELError(f"take: idx must be a 1-D integer index array, got shape {idx.shape} dtype {idx.dtype}.")
    if idx.size and (idx.min() < -len(data) or idx.max() >= len(data)):
        raise RHELError(
            f"take: index out of range for a data set of {len(data)} samples; use epoch_batches(len(data), ...)."
        )
    return (
        np.ascontiguousarray(data.x[idx]),
        np.ascontiguousarray(data.y[idx]),
        np.ascontiguousarray(data.mask[idx]),
    )
