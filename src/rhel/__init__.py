"""rhel: Recurrent Hamiltonian Echo Learning in JAX.

Exact gradients of non-dissipative Hamiltonian recurrent models from echo passes (Pourcel & Ernoult,
NeurIPS 2025), as a drop-in for backpropagation through time::

    import rhel
    phis = rhel.simulate(potential, params, inputs, (phi0, pi0), dt=0.1, gradient=rhel.RHEL())

Layers (each imports only the ones before it): ``rhel.engine`` (integrator, echo) → ``rhel.units``
(Hamiltonian recurrent units) → ``rhel.model`` (HSSM) → ``rhel.data`` → ``rhel.training`` → ``rhel.bench``
→ ``rhel.cli``, with ``rhel.physics`` (physical systems, continuous time) beside the units. All of them may
use the bottom utilities, which import only each other: ``rhel.errors``, ``rhel.argcheck``, ``rhel.atomic``,
``rhel.figure``, ``rhel.allocator``, ``rhel.xla_loops``, ``rhel.environment`` (``tests/test_layers.py``).
"""

from rhel.engine import (
    BPTT,
    RHEL,
    EchoDerivatives,
    EnergyDrift,
    GradientMethod,
    Reversibility,
    echo_derivatives_error,
    energy_drift,
    leapfrog_step,
    reversibility_error,
    simulate,
)
from rhel.allocator import retain_freed_memory
from rhel.xla_loops import compile_small_loops
from rhel.errors import DatasetError, RHELError

__version__ = "0.1.0"

__all__ = [
    "BPTT",
    "RHEL",
    "GradientMethod",
    "simulate",
    "leapfrog_step",
    "reversibility_error",
    "energy_drift",
    "echo_derivatives_error",
    "EchoDerivatives",
    "Reversibility",
    "EnergyDrift",
    "RHELError",
    "DatasetError",
    "retain_freed_memory",
    "compile_small_loops",
    "__version__",
]
