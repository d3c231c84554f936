"""Writing a Matplotlib figure: its format is its file suffix, and the file is written atomically.

Beside :mod:`rhel.atomic` at the bottom of the layers (it imports only that and :mod:`rhel.errors`): the
benchmark plots, ``rhel gradcheck`` and the physical toy's figures all write through
:func:`save_figure`, and command-line checks call :func:`plot_format` before any work starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from rhel.atomic import atomic_write
from rhel.errors import RHELError

#: The figure formats rhel writes; a figure's file suffix names its format.
PLOT_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")


def plot_format(path: str | os.PathLike) -> str:
    """The format a figure at ``path`` is written in: its suffix, one of :data:`PLOT_FORMATS`.

    Raises :class:`RHELError` for any other suffix (or none).
    """
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in PLOT_FORMATS:
        names = ", ".join(f".{f}" for f in PLOT_FORMATS)
        raise RHELError(f"{path}: a figure's file name must end in one of {names} (the format it is "
                        "written in).")
    return fmt


def save_figure(fig, path: str | os.PathLike, *, dpi: int) -> None:
    """Write the Matplotlib figure ``fig`` to ``path`` atomically, in the format its suffix names, and close
    the figure (also on failure)."""
    import matplotlib.pyplot as plt

    try:
        fmt = plot_format(path)
        atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))
    finally:
        plt.close(fig)
