"""PPG-DaLiA subject files in the archive's exact on-disk format, for the data tests."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

#: labels (2 s each) per generated subject: two long recordings whose every 15 % portion holds windows
#: (≥ 2,600 labels), the others short enough that only some portions do.
PPG_LABELS = {1: 2_700, 2: 2_650, **{i: 420 + 20 * i for i in range(3, 16)}}
#: S1's BVP has a spike of +SPIKE at 5 % and −SPIKE at 95 % of the recording: no training portion holds both.
SPIKE = 1e4


def write_subject(path: Path, n_labels: int, rng: np.random.Generator, spikes: bool = False) -> dict:
    """A PPG-DaLiA subject file: latin-1 compatible pickle (protocol 2, as the archive's Python 2 pickles) of
    signal → wrist → ACC (32 Hz × 3), BVP (64 Hz), EDA and TEMP (4 Hz), chest data, and a label every 2 s
    over 8 s."""
    seconds = 2 * n_labels + 6  # n labels over 8 s windows shifted by 2 s: 2(n − 1) + 8 seconds
    wrist = {
        "ACC": rng.normal(0.0, 30.0, (32 * seconds, 3)),
        "BVP": rng.normal(0.0, 50.0, (64 * seconds, 1)),
        "EDA": rng.uniform(0.1, 4.0, (4 * seconds, 1)),
        "TEMP": rng.uniform(30.0, 35.0, (4 * seconds, 1)),
    }
    if spikes:
        bvp = wrist["BVP"]
        bvp[int(0.05 * len(bvp))] = SPIKE
        bvp[int(0.95 * len(bvp))] = -SPIKE
    data = {
        "signal": {"wrist": wrist, "chest": {"ECG": np.zeros((10, 1))}},
        "label": rng.uniform(50.0, 160.0, n_labels),
        "activity": np.zeros((4 * seconds, 1)),
        "subject": path.stem,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)
    return data
