"""Data sets as host numpy arrays: UEA/UCR classification (via aeon), PPG-DaLiA, synthetic long-range tasks.

    from rhel.data import load, epoch_batches, take
    splits = load("ACSF1", seed=2345)                 # Splits(train, val, test, info, meta)
    for idx in epoch_batches(len(splits.train), 32, seed=2345, epoch=0):
        x, y, mask = take(splits.train, idx)           # numpy; move to the device here

Pure numpy: this package never imports JAX, and never imports the model layer.
"""

from rhel.data.batching import epoch_batches, take
from rhel.data.cache import cache_dir
from rhel.data.registry import REGISTRY, available, is_cached, load, prepare, resolve
from rhel.data.types import DatasetInfo, DatasetSpec, SequenceData, Splits

__all__ = [
    "SequenceData",
    "DatasetInfo",
    "DatasetSpec",
    "Splits",
    "load",
    "prepare",
    "available",
    "resolve",
    "is_cached",
    "REGISTRY",
    "epoch_batches",
    "take",
    "cache_dir",
]
