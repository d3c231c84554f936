"""Checkpoints: the whole training state in one atomically written file.

Layout: a magic line ``RHELCKPT1``, the length of a JSON header (8 bytes, little endian), the header
(step, best validation metric and step, evaluations without improvement, metric history, elapsed time,
resolved config), then the array leaves of the :class:`TrainState` pytree (model, batch-norm state,
optimiser state, RNG key) serialised by :func:`equinox.tree_serialise_leaves`. Reading needs a pytree of
the same structure (``like``), which the trainer builds from the config exactly as for a fresh run.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import equinox as eqx
from jaxtyping import PRNGKeyArray, PyTree

from rhel.errors import RHELError
from rhel.atomic import atomic_write

MAGIC = b"RHELCKPT1\n"


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
    """Atomically write ``state`` and the JSON-ready ``header`` to ``path``."""
    blob = json.dumps(header, allow_nan=True).encode("utf-8")

    def write(f):
        f.write(MAGIC)
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        eqx.tree_serialise_leaves(f, state)

    return atomic_write(path, write)


def read_header(path: str | Path) -> dict[str, Any]:
    """Only the JSON header of a checkpoint (cheap: no arrays are read)."""
    with open(path, "rb") as f:
        return _header(f, path)


def load_checkpoint(path: str | Path, like: TrainState) -> tuple[TrainState, dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint` into a pytree shaped like ``like``."""
    with open(path, "rb") as f:
        header = _header(f, path)
        try:
            state = eqx.tree_deserialise_leaves(f, like)
        except Exception as e:  # shape/dtype mismatch or truncated file
            raise RHELError(
                f"checkpoint {str(path)!r} does not match this run's model ({type(e).__name__}: {e}); "
                "resume with the same config (model size, dtype) it was written with, or start a new run "
                "in another --out folder."
            ) from None
    return state, header


def _header(f, path) -> dict[str, Any]:
    if f.read(len(MAGIC)) != MAGIC:
        raise RHELError(f"{str(path)!r} is not an rhel checkpoint; delete it or choose another --out folder.")
    (n,) = struct.unpack("<Q", f.read(8))
    return json.loads(f.read(n).decode("utf-8"))


def array_bytes(path: str | Path) -> bytes:
    """The serialised arrays of a checkpoint, without its header: equal bytes ⇔ bit-identical states."""
    with open(path, "rb") as f:
        _header(f, path)
        return f.read()
