"""Switches that the environment gives the process (e.g. ``RHEL_RETAIN_FREED_MEMORY=0``).

Layer: imports nothing of ``rhel``, so any layer may use it.
"""

from __future__ import annotations

import os

#: The values that turn a switch off (compared after stripping and lower-casing).
OFF = ("0", "false", "no", "off")


def switched_off(variable: str) -> bool:
    """Whether the environment variable ``variable`` is set to one of :data:`OFF`; unset means on."""
    return os.environ.get(variable, "1").strip().lower() in OFF
