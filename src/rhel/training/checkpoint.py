"""Checkpoints: the whole training state in one atomically written file.

Layout: a magic line ``RHELCKPT1``, the length of a JSON header (8 bytes, little endian), the header
(step, best validation metric and step, evaluations without improvement, metric history, elapsed time,
resolved config, and ``array_bytes``: the length of what follows), then the array leaves of the
:class:`TrainState` pytree (model, batch-norm state, optimiser state, RNG key) serialised by
:func:`equinox.tree_serialise_leaves`. Reading needs a pytree of the same structure (``like``), which the
trainer builds from the config exactly as for a fresh run.

A file that is cut short or altered (a partial copy, a damaged disk) raises :class:`DamagedCheckpoint`
naming the file; ``array_bytes`` tells a truncated file from one written for another model (checkpoints
written before it existed are only checked against the model).
"""

from __future__ import annotations

import io
import json
import os
import struct
from pathlib import Path
from typing import Any

import equinox as eqx
from jaxtyping import PRNGKeyArray, PyTree

from rhel.errors import RHELError
from rhel.atomic import atomic_write

MAGIC = b"RHELCKPT1\n"


class DamagedCheckpoint(RHELError):
    """A checkpoint file that is truncated or corrupt (not one written for another model).

    Attributes:
        path: the file.
        reason: what is wrong with it, e.g. ``"it ends inside its header, after 3 of 412 bytes"``.
    """

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"checkpoint {str(path)!r} is damaged ({reason}); delete it or choose another "
                         "--out folder.")


class TrainState(eqx.Module):
    """The array part of a training run's state.

    Attributes:
        model: the HSSM (parameters and static structure).
        bn_state: the batch-norm running statistics (an ``eqx.nn.State``).
        opt_state: the optimiser state (Adam moments and count).
        key: the run's base RNG key; the key of step ``k`` is ``fold_in(key, k)``, so a resumed run draws
            the same dropout masks as an uninterrupted one.
    """

    model: PyTree
    bn_state: PyTree
    opt_state: PyTree
    key: PRNGKeyArray


def save_checkpoint(path: str | Path, state: TrainState, header: dict[str, Any]) -> Path:
    """Atomically write ``state`` and the JSON-ready ``header`` (plus ``array_bytes``) to ``path``."""
    arrays = io.BytesIO()
    eqx.tree_serialise_leaves(arrays, state)
    blob = json.dumps({**header, "array_bytes": arrays.getbuffer().nbytes}, allow_nan=True).encode("utf-8")

    def write(f):
        f.write(MAGIC)
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        f.write(arrays.getbuffer())

    return atomic_write(path, write)


def read_header(path: str | Path) -> dict[str, Any]:
    """Only the JSON header of a checkpoint (cheap: no arrays are read)."""
    with open(path, "rb") as f:
        return _header(f, path)


def load_checkpoint(path: str | Path, like: TrainState) -> tuple[TrainState, dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint` into a pytree shaped like ``like``."""
    with open(path, "rb") as f:
        header = _header(f, path)
        _check_length(f, header, path)
        try:
            state = eqx.tree_deserialise_leaves(f, like)
        except Exception as e:  # shape/dtype mismatch (or a truncated file without array_bytes)
            raise RHELError(
                f"checkpoint {str(path)!r} does not match this run's model ({type(e).__name__}: {e}); "
                "resume with the same config (model size, dtype) it was written with, or start a new run "
                "in another --out folder."
            ) from None
    return state, header


def _header(f, path) -> dict[str, Any]:
    """Read the magic line and the JSON header; :class:`DamagedCheckpoint` if they are cut short or corrupt."""
    magic = f.read(len(MAGIC))
    if magic != MAGIC:
        if MAGIC.startswith(magic):
            raise DamagedCheckpoint(path, f"it ends after {len(magic)} bytes, inside its first line")
        raise RHELError(f"{str(path)!r} is not an rhel checkpoint; delete it or choose another --out folder.")
    size = f.read(8)
    if len(size) < 8:
        raise DamagedCheckpoint(path, "it ends before its header")
    (n,) = struct.unpack("<Q", size)
    left = os.fstat(f.fileno()).st_size - f.tell()
    if left < n:  # checked before reading: a corrupt length could ask for exabytes
        raise DamagedCheckpoint(path, f"it ends inside its header, after {left} of {n} bytes")
    blob = f.read(n)
    try:
        header = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict):
        raise DamagedCheckpoint(path, "its header is not a JSON object")
    return header


def _check_length(f, header: dict[str, Any], path) -> None:
    """Compare the bytes after the header with the ``array_bytes`` the header records (when it does)."""
    expected = header.get("array_bytes")
    if expected is None:
        return
    found = os.fstat(f.fileno()).st_size - f.tell()
    if found != expected:
        raise DamagedCheckpoint(path, f"it holds {found} bytes of arrays where {expected} were written")


def array_bytes(path: str | Path) -> bytes:
    """The serialised arrays of a checkpoint, without its header: equal bytes ⇔ bit-identical states."""
    with open(path, "rb") as f:
        _header(f, path)
        return f.read()
