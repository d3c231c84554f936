"""Hamiltonian Recurrent Units (HRUs): sequence-to-sequence layers whose recurrence is a leapfrog-integrated
Hamiltonian system, differentiable by BPTT or RHEL. This layer imports only :mod:`rhel.engine`.
"""

from rhel.units.base import HRU
from rhel.units.drive import AffineDrive
from rhel.units.linear import LinearHRU
from rhel.units.nonlinear import NonlinearParams, NonlinearPotential, nonlinear_hru, nonlinear_potential
from rhel.units.potential import PotentialHRU

__all__ = [
    "HRU",
    "AffineDrive",
    "LinearHRU",
    "PotentialHRU",
    "nonlinear_hru",
    "nonlinear_potential",
    "NonlinearPotential",
    "NonlinearParams",
]
