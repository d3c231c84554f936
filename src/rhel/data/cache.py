"""The data cache directory and atomic writes into it.

Location: an explicit path > ``$RHEL_DATA`` > ``$XDG_CACHE_HOME/rhel`` > ``~/.cache/rhel``. Everything written
there goes to a temporary file (or folder) in the same directory first and is then moved into place with
``os.replace``, so an interrupted write never leaves a half-written file under the final name.

A converted cache file records the source files it was built from (:func:`file_record`: path, size and
modification time of each), so that a loader can tell when those files were replaced and convert them again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from rhel.atomic import atomic_path
from rhel.errors import DatasetError

ENV_VAR = "RHEL_DATA"


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data cache: ``explicit`` > ``$RHEL_DATA`` > ``$XDG_CACHE_HOME/rhel`` > ``~/.cache/rhel`` (not created)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "rhel"


def temp_dir(parent: Path, *, prefix: str, suffix: str) -> Path:
    """A new temporary folder in ``parent`` (created if missing), or a DatasetError when that cannot be written."""
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    except OSError as e:
        raise DatasetError(
            f"cannot write into {parent} ({e.strerror or type(e).__name__}): the data cache must be a writable "
            f"folder. Choose one with --cache-dir (CLI), cache_dir= (rhel.data.load/prepare) or ${ENV_VAR}."
        ) from None


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary folder next to ``final``; on success it replaces ``final`` (which must not be a file)."""
    final = Path(final)
    tmp = temp_dir(final.parent, prefix=f".{final.name}.", suffix=".tmp")
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def save_npz(final: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` (uncompressed) written atomically."""
    with atomic_path(final, suffix=".npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def save_json(final: Path, obj: dict) -> None:
    """A JSON file written atomically."""
    with atomic_path(final, suffix=".json") as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))


def file_record(paths: Iterable[Path]) -> str:
    """JSON list ``[[absolute path, size, mtime_ns], ...]`` of ``paths`` (symlinks followed for size and time)."""
    entries = []
    for p in paths:
        st = Path(p).stat()
        entries.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
    return json.dumps(entries)


def records_sources(npz: Path) -> bool:
    """Whether the converted cache ``npz`` exists and holds a :func:`file_record` (its ``files`` entry).

    A load uses such an npz even when its source files are gone; an npz without the record (written by an older
    rhel) is converted again from its sources, so without them it is not usable. A file that cannot be read
    counts as a record: the load then reports it as corrupted instead of fetching the data again.
    """
    if not npz.is_file():
        return False
    try:
        with np.load(npz, allow_pickle=False) as z:
            return "files" in z.files
    except Exception:
        return True


def changed_files(record: str) -> list[str]:
    """The files of a :func:`file_record` that exist now with another size or mtime_ns (files gone are left out)."""
    changed = []
    for path, size, mtime_ns in json.loads(record):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
            changed.append(path)
    return changed
