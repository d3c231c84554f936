"""The containers every loader returns: host-side numpy arrays, never device arrays.

A data set is a :class:`Splits` of three :class:`SequenceData` (train/val/test) plus a :class:`DatasetInfo`
that tells the model how to shape itself, and a JSON-serialisable ``meta`` dict that records how the split
was drawn (seed, sizes, scaling statistics, duplicates dropped, ...), so that a run can be reproduced and
audited from its results file alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class SequenceData:
    """N sequences of length L with C channels, on the host.

    ``x``: (N, L, C) float32 — the time channel, if any, is the last channel.
    ``y``: classification: (N,) int64 labels in 0..K−1; regression: (N, T, D) float32 targets.
    ``mask``: (N, L) bool, True at real steps and False at padding (variable-length sets are padded at the end).
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class DatasetInfo:
    """What a model needs to know about a data set.

    ``channels`` counts the time channel when there is one. For classification ``num_classes`` = K and
    ``output_dim`` = K; for regression ``num_classes`` is None, ``output_dim`` = D and, when targets are sparse in
    time, ``output_step`` = s means one target every s steps, at steps s−1, 2s−1, ... (T = L // s targets).
    """

    name: str
    task: Task
    length: int
    channels: int
    num_classes: int | None
    output_dim: int
    output_step: int | None
    source: str


@dataclass(frozen=True)
class Splits:
    """Train, validation and test sets of one data set, with its info and the record of how they were made."""

    train: SequenceData
    val: SequenceData
    test: SequenceData
    info: DatasetInfo
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """One row of the registry (``rhel data list``): known even when the data set is not on this machine.

    ``kind`` is "uea" (UEA/UCR archive, read by aeon), "ppg" (PPG-DaLiA raw pickles) or "synthetic".
    ``length`` and ``channels`` are the raw series' (before any time channel); for synthetic tasks they are the
    defaults. ``shipped`` is True when the data come inside an installed package (no download needed).
    """

    name: str
    kind: Literal["uea", "ppg", "synthetic"]
    task: Task
    length: int
    channels: int
    num_classes: int | None
    source: str
    shipped: bool = False
    description: str = ""
