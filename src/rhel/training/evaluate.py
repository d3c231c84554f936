"""Validation and test passes: loss and metric of a model over a whole split, in fixed-size chunks.

Every chunk has ``batch_size`` rows (the last one is padded by repeating its first row, and the padded
predictions are dropped), so the evaluation compiles once. Metrics are computed on the host in float64
from the model's predictions:

* classification: loss = mean negative log-likelihood ``−log p(y)``, metric = accuracy (higher is better);
* regression: loss = metric = mean squared error over every output (lower is better).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def higher_is_better(task: str) -> bool:
    return task == "classification"


def is_improvement(new: float, best: float | None, task: str) -> bool:
    """Strict improvement: a tie is not an improvement (the first best point is kept)."""
    if best is None:
        return bool(np.isfinite(new))
    return new > best if higher_is_better(task) else new < best


def _to_host(out) -> np.ndarray:
    """The whole (global) prediction array on this host, in float64.

    On several hosts the predictions of a batch split across processes span devices this process cannot
    read; they are gathered from every process first (all processes evaluate the same chunks in step).
    """
    if not getattr(out, "is_fully_addressable", True) and not getattr(out, "is_fully_replicated", False):
        from jax.experimental import multihost_utils

        out = multihost_utils.process_allgather(out, tiled=True)
    return np.asarray(out, dtype=np.float64)


def evaluate(
    predict: Callable, data, *, task: str, batch_size: int, place: Callable, dtype
) -> tuple[float, float]:
    """Loss and metric of ``predict(x, mask)`` over all samples of ``data`` (a ``SequenceData``).

    Args:
        predict: ``(x, mask) -> (B, K) log-probabilities | (B, T, D) outputs``, already jit-compiled.
        place: puts host arrays on the devices (see :meth:`DataParallel.batch`).
        dtype: the input dtype of the model.
    """
    n = len(data.x)
    if n == 0:
        return float("nan"), float("nan")
    outs = []
    for start in range(0, n, batch_size):
        idx = np.arange(start, min(start + batch_size, n))
        pad = batch_size - len(idx)
        full = np.concatenate([idx, np.full(pad, idx[0])]) if pad else idx
        x, mask = place(np.asarray(data.x[full], dtype=dtype), np.asarray(data.mask[full]))
        outs.append(_to_host(predict(x, mask))[: len(idx)])
    pred = np.concatenate(outs)
    y = np.asarray(data.y)
    if task == "classification":
        y = y.astype(np.int64)
        nll = -pred[np.arange(n), y]
        acc = np.mean(np.argmax(pred, axis=-1) == y)
        return float(np.mean(nll)), float(acc)
    mse = float(np.mean((pred - y.astype(np.float64)) ** 2))
    return mse, mse
