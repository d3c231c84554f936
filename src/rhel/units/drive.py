"""Input drives: the feed-forward map through which a unit's input enters its potential.

Most potentials see the input only through a per-step affine map, ``V(φ; θ, u_k) = W(φ; θ, v_k)`` with
``v_k = B u_k + b``. Written inside the potential, that map runs inside the recurrence: a (P×H)
matrix-vector product per step in the forward pass and, in every backward or echo step, its transpose
for ``∂/∂u`` and an outer product for ``∂/∂B``. As a *drive* of a :class:`rhel.units.PotentialHRU` it is
applied to the whole sequence at once (one matrix product), the recurrence integrates ``W(φ; θ, v_k)``,
and the engine's per-step input gradients ``∂L/∂v_k`` flow back to ``B``, ``b`` and ``u`` by ordinary
autodiff. Same function, same gradients, less work per step — for BPTT and RHEL alike.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray


class AffineDrive(eqx.Module):
    """``v_k = B u_k + b`` for every step: ``(L, H) → (L, P)``."""

    B: Float[Array, "P H"]
    b: Float[Array, " P"]

    def __call__(self, u: Float[Array, "L H"]) -> Float[Array, "L P"]:
        return u @ self.B.T + self.b

    @classmethod
    def uniform(cls, hidden: int, state: int, *, key: PRNGKeyArray, bias: float = 1.0, dtype=None):
        """``B ~ U(±1/√H)`` and ``b ~ U(−bias, bias)``."""
        kB, kb = jr.split(key)
        bound = 1 / math.sqrt(hidden)
        return cls(
            B=jr.uniform(kB, (state, hidden), dtype, -bound, bound),
            b=jr.uniform(kb, (state,), dtype, -bias, bias),
        )


__all__ = ["AffineDrive"]
