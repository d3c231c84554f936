"""The engine: the leapfrog integrator, the gradient methods and the RHEL echo.

This layer knows nothing about neural networks: it integrates any separable Hamiltonian
``½‖π‖² + V(φ; θ, u)`` and differentiates it by BPTT or by RHEL. It imports only JAX and Equinox.
"""

from rhel.engine.checks import (
    EchoDerivativesError,
    EnergyDrift,
    Reversibility,
    echo_derivatives_error,
    energy_drift,
    reversibility_error,
)
from rhel.engine.gradient import BPTT, RHEL, GradientMethod
from rhel.engine.integrate import integrate
from rhel.engine.leapfrog import Potential, StepResult, leapfrog_step
from rhel.engine.pair import EchoDerivatives
from rhel.engine.simulate import simulate

__all__ = [
    "BPTT",
    "RHEL",
    "GradientMethod",
    "simulate",
    "integrate",
    "leapfrog_step",
    "StepResult",
    "Potential",
    "EchoDerivatives",
    "echo_derivatives_error",
    "EchoDerivativesError",
    "reversibility_error",
    "energy_drift",
    "Reversibility",
    "EnergyDrift",
]
