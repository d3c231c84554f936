"""Argument checks shared by the physics modules: counts and sizes are integers, spans are real numbers.

Python and NumPy numbers are both accepted (``10`` and ``np.int64(10)``, ``3.0`` and ``np.float32(3.0)``);
a ``bool`` is not a number here (``steps=True`` is a mistake, not one step).
"""

from __future__ import annotations

import math

from rhel.argcheck import is_integer, is_real
from rhel.errors import RHELError


def positive_integer(name: str, value: object, meaning: str = "") -> int:
    """``value`` as an ``int`` if it is an integer ≥ 1; otherwise an error naming ``name`` (and ``meaning``,
    e.g. ``" (the number of leapfrog steps)"``)."""
    if not (is_integer(value) and value >= 1):
        raise RHELError(f"{name} must be a positive integer{meaning}, got {value!r}.")
    return int(value)


def positive_real(name: str, value: object) -> float:
    """``value`` as a ``float`` if it is a finite real number > 0; otherwise an error naming ``name``."""
    if not (is_real(value) and math.isfinite(value) and value > 0):
        raise RHELError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)
