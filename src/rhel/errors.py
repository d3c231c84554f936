"""Exceptions raised by ``rhel``.

Every error a user can trigger with bad input is an :class:`RHELError` (a ``ValueError``) whose message
names the problem and the fix, so that nothing surfaces as a bare JAX trace.
"""

from __future__ import annotations


class RHELError(ValueError):
    """Bad input or an unsupported configuration, with a message that says how to fix it."""


class DatasetError(RHELError):
    """A data set is missing, unknown, truncated or malformed."""
