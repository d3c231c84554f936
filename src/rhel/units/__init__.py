"""Hamiltonian Recurrent Units (HRUs): sequence-to-sequence layers whose recurrence is a leapfrog-integrated
Hamiltonian system, differentiable by BPTT or RHEL. This layer imports only :mod:`rhel.engine`.
"""

from rhel.units.base import HRU
from rhel.units.linear import LinearHRU

__all__ = ["HRU", "LinearHRU"]
