"""Up-front checks of command-line values.

A bad number or output path becomes a one-line :class:`~rhel.errors.RHELError` that names the flag and
the fix, raised before any work starts: not a traceback, and not a failure at the end of an hour of
measurements whose results would then be lost. Nothing here creates a file or a folder. Counts and
positive numbers are checked by :mod:`rhel.argcheck` (``positive_integer(flag, value)``, …), as the
library's own arguments are.
"""

from __future__ import annotations

import os
from pathlib import Path

from rhel.errors import RHELError


def require_non_negative(flag: str, value: int) -> int:
    """Return ``value`` if it is >= 0; otherwise raise an error naming ``flag``."""
    if value < 0:
        raise RHELError(f"{flag} must be >= 0, got {value}.")
    return value


#: The largest seed: JAX's PRNG keys hold 32 bits, so 2**32 would wrap around to seed 0 and larger seeds
#: overflow when the key is made.
MAX_SEED = 2**32 - 1


def require_seed(flag: str, value: int) -> int:
    """Return ``value`` if it is a seed in 0 … :data:`MAX_SEED`; otherwise raise an error naming ``flag``."""
    if not 0 <= value <= MAX_SEED:
        raise RHELError(f"{flag} must be an integer from 0 to {MAX_SEED} (a 32-bit seed), got {value}.")
    return value


def _nearest_existing(path: Path) -> Path:
    """``path`` itself or its closest ancestor that exists (``path`` is absolute)."""
    return next(p for p in (path, *path.parents) if p.exists())


def _check_creatable(flag: str, given: str, folder: Path) -> None:
    """Check that ``folder`` exists or can be created: its nearest existing ancestor is a writable folder."""
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise RHELError(f"{flag} {given}: {base} is a file, not a folder; choose another path.")
    if not os.access(base, os.W_OK | os.X_OK):
        raise RHELError(f"{flag} {given}: cannot write in {base} (permission denied); choose another path.")


def output_folder(flag: str, path: str | os.PathLike) -> None:
    """Check that ``path`` is a folder the command can write in, or can be created as one (by the writer)."""
    folder = Path(os.path.abspath(path))
    if folder.exists() and not folder.is_dir():
        raise RHELError(f"{flag} {path} is a file; give a folder (it is created if missing).")
    _check_creatable(flag, str(path), folder)


def output_file(flag: str, path: str | os.PathLike, *, example: str = "out.json") -> None:
    """Check that ``path`` names a file, not a folder, that can be written (its folder may be missing: the
    atomic writers create it).

    ``example`` is the file name the error suggests inside ``path`` when ``path`` is a folder.
    """
    file = Path(os.path.abspath(path))
    if file.is_dir():
        raise RHELError(f"{flag} {path} is a folder; give a file name, e.g. {Path(path) / example}.")
    _check_creatable(flag, str(path), file.parent)


def output_figure(flag: str, path: str | os.PathLike) -> None:
    """:func:`output_file`, and the name ends in a figure format rhel writes
    (:func:`rhel.figure.plot_format`)."""
    from rhel.figure import plot_format

    output_file(flag, path, example="plot.png")
    try:
        plot_format(path)
    except RHELError as e:
        raise RHELError(f"{flag} {e}") from None


def _same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name one file: the same path once symbolic links and ``..`` are resolved, or
    two existing links to one file."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): different files
        return False


def report_outputs(args, *, json_example: str) -> None:
    """Check the ``--json`` file and the ``--plot`` figure of a command that writes both (when given), and
    that they are two different files (the figure, written last, would replace the JSON)."""
    if args.json:
        output_file("--json", args.json, example=json_example)
    if args.plot:
        output_figure("--plot", args.plot)
    if args.json and args.plot and _same_file(args.json, args.plot):
        raise RHELError(f"--json {args.json} and --plot {args.plot} are the same file (the figure would "
                        "overwrite the results); give them two different paths.")
