"""The forward pass: the leapfrog step iterated over an input sequence with ``lax.scan``."""

from __future__ import annotations

import jax
from jax import lax
from jaxtyping import Array, Float, PyTree

from rhel.engine.leapfrog import Potential, leapfrog_step


def integrate(
    potential: Potential,
    params: PyTree,
    inputs: Float[Array, "L H"],
    phi0: Float[Array, " P"],
    pi0: Float[Array, " P"],
    dt: Float[Array, "*P"],
    *,
    checkpoint: bool = False,
) -> tuple[Float[Array, "L P"], tuple[Float[Array, " P"], Float[Array, " P"]]]:
    """Run ``L`` leapfrog steps; return the positions φ_1 … φ_L and the final state (φ_L, π_L).

    With ``checkpoint=True`` each step is rematerialised in a backward pass instead of stored.
    """

    def body(state, u):
        step = leapfrog_step(potential, params, u, dt, *state)
        return (step.phi, step.pi), step.phi

    if checkpoint:
        body = jax.checkpoint(body)
    final, phis = lax.scan(body, (phi0, pi0), inputs)
    return phis, final
