"""What counts as a number in an argument check, the same in every layer.

Python and NumPy numbers are both accepted (``10`` and ``np.int64(10)``, ``3.0`` and ``np.float32(3.0)``);
a ``bool`` is never a number here (``hidden=True`` is a mistake, not one unit). ``np.bool_`` is neither
:class:`numbers.Integral` nor :class:`numbers.Real`, so it is refused by the same test.

These are predicates, not checks: the caller raises its own :class:`~rhel.errors.RHELError` (or
:class:`~rhel.errors.DatasetError`) so that the message names its argument and its fix.
"""

from __future__ import annotations

import numbers


def is_integer(value: object) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """A real number (Python or NumPy, integers included), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
