"""The interface every Hamiltonian Recurrent Unit implements."""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, Float

from rhel.engine.gradient import GradientMethod


class HRU(eqx.Module):
    """A Hamiltonian Recurrent Unit: a sequence layer ``(L, H) → (L, H)``.

    Internally it integrates a separable Hamiltonian ``½‖π‖² + V(φ; θ, u_k)`` with the leapfrog from the
    zero state, driven by the input sequence, and reads out ``o_k = readout(φ_k) + D ⊙ u_k``. The gradient
    method is chosen per call, so one model can be differentiated by either method with the same weights.

    Subclasses implement :meth:`__call__` and :meth:`potential` (the latter lets any HRU be cross-checked
    against the generic engine, and documents the physics it implements).
    """

    @abc.abstractmethod
    def __call__(
        self, u: Float[Array, "L H"], *, gradient: GradientMethod
    ) -> Float[Array, "L H"]:
        """Run the unit over one sequence of inputs; returns one output per step."""
