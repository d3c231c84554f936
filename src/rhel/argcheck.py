"""What counts as a number in an argument check, the same in every layer.

Python and NumPy numbers are both accepted (``10`` and ``np.int64(10)``, ``3.0`` and ``np.float32(3.0)``);
a ``bool`` is never a number here (``hidden=True`` is a mistake, not one unit). ``np.bool_`` is neither
:class:`numbers.Integral` nor :class:`numbers.Real`, so it is refused by the same test.

:func:`is_integer` and :func:`is_real` are predicates, for callers that raise their own
:class:`~rhel.errors.RHELError` (or :class:`~rhel.errors.DatasetError`); :func:`positive_integer`,
:func:`integer_at_least` and :func:`positive_real` are the checks most arguments need (constructors'
arguments and command-line flags alike), with one wording for every layer.
"""

from __future__ import annotations

import math
import numbers

from rhel.errors import RHELError


def is_integer(value: object) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """A real number (Python or NumPy, integers included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer_at_least(name: str, value: object, least: int, meaning: str = "") -> int:
    """``value`` as an ``int`` if it is an integer ≥ ``least``; otherwise an error naming ``name`` (and
    ``meaning``, e.g. ``" (the number of leapfrog steps)"``)."""
    if not (is_integer(value) and value >= least):
        wanted = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise RHELError(f"{name} must be {wanted}{meaning}, got {value!r}.")
    return int(value)


def positive_integer(name: str, value: object, meaning: str = "") -> int:
    """``value`` as an ``int`` if it is an integer ≥ 1 (:func:`integer_at_least`)."""
    return integer_at_least(name, value, 1, meaning)


def positive_real(name: str, value: object, meaning: str = "") -> float:
    """``value`` as a ``float`` if it is a finite real number > 0; otherwise an error naming ``name`` (and
    ``meaning``)."""
    if not (is_real(value) and math.isfinite(value) and value > 0):
        raise RHELError(f"{name} must be a finite number > 0{meaning}, got {value!r}.")
    return float(value)
