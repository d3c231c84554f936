"""PPG-DaLiA subject files in the archive's on-disk format (Python 2 pickles), for the data tests."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np

#: labels (2 s each) per generated subject: two long recordings whose every 15 % portion holds windows
#: (≥ 2,600 labels), the others short enough that only some portions do.
PPG_LABELS = {1: 2_700, 2: 2_650, **{i: 420 + 20 * i for i in range(3, 16)}}
#: S1's BVP has a spike of +SPIKE at 5 % and −SPIKE at 95 % of the recording: no training portion holds both.
SPIKE = 1e4


class Python2Pickler(pickle._Pickler):
    """Pickles as Python 2 with numpy 1 did (protocol 2): ``bytes`` and ASCII ``str`` — both a Python 2 ``str`` —
    as SHORT_BINSTRING/BINSTRING opcodes, and numpy's functions under numpy 1's module names (``numpy.core``).

    numpy's array reduce carries the raw buffer in such a string, which Python 3 decodes only with
    ``pickle.load(f, encoding="latin1")``: the default (ASCII) fails on the buffer's bytes ≥ 0x80.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_str(self, obj: bytes | str) -> None:
        if isinstance(obj, str) and not obj.isascii():  # a Python 2 unicode object
            return self.save_str(obj)
        raw = obj if isinstance(obj, bytes) else obj.encode("ascii")
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str
    dispatch[str] = save_python2_str

    def save_global(self, obj, name=None) -> None:
        module = getattr(obj, "__module__", "")
        if not module.startswith("numpy._core."):
            return super().save_global(obj, name)
        self.write(pickle.GLOBAL + f"numpy.core.{module[len('numpy._core.'):]}\n{obj.__qualname__}\n".encode())
        self.memoize(obj)


def write_pickle(path: Path, obj: object) -> None:
    """``obj`` pickled as Python 2 did (:class:`Python2Pickler`) into ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        Python2Pickler(f, protocol=2).dump(obj)


def write_subject(path: Path, n_labels: int, rng: np.random.Generator, spikes: bool = False) -> dict:
    """A PPG-DaLiA subject file, a Python 2 pickle (:func:`write_pickle`) of signal → wrist → ACC (32 Hz × 3),
    BVP (64 Hz), EDA and TEMP (4 Hz), chest data, and a label every 2 s over 8 s."""
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
    write_pickle(path, data)
    return data
