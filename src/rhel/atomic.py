"""Atomic file writes: a file a user would lose (checkpoint, results, cache, figure) is either the old
one or the new one, never a truncated mix.

The content goes to a temporary file in the target's folder, is flushed to disk, gets the mode an
ordinary ``open`` would have given it (``0666`` minus the umask: ``mkstemp`` creates 0600 files, which
other users of a shared results folder could not read), and is moved over the target with
:func:`os.replace` (atomic on POSIX and Windows). On any failure the temporary file is removed and the
old file stays.

Every layer writes through this module (it imports nothing of ``rhel``).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterator


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(final: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``final`` to write to; on success it replaces ``final``.

    ``suffix`` ends the temporary name (some writers choose the format from it, e.g. ``".png"``).
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=f".tmp{suffix}", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


def leftover_temporaries(final: str | Path) -> list[Path]:
    """The temporary files of :func:`atomic_path` for ``final`` that a killed process left behind (a normal
    exit, or an exception, removes its own): ``.<name>.<random>.tmp<suffix>`` next to ``final``."""
    final = Path(final)
    return [p for p in final.parent.glob(f".{final.name}.*.tmp*") if p.is_file()]


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary binary file, then atomically move it to ``path``."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Atomically replace ``path`` with ``text`` (UTF-8)."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


__all__ = ["atomic_path", "atomic_write", "atomic_write_text", "leftover_temporaries"]
