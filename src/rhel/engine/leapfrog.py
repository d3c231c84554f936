"""The leapfrog (Störmer–Verlet, drift–kick–drift) step: the one place the dynamics are written.

For a separable Hamiltonian ``H(φ, π) = ½‖π‖² + V(φ; θ, u)`` and a step δ (a scalar or one per
dimension), one step with input ``u_k`` is

    φ_{k+½} = φ_k + (δ/2) ⊙ π_k
    π_{k+1} = π_k − δ ⊙ ∇_φ V(φ_{k+½}; θ, u_k)        (the kick at the half-step position)
    φ_{k+1} = φ_{k+½} + (δ/2) ⊙ π_{k+1}

The map is exactly reversible: ``step(Σz step(Φ)) = Σz Φ`` with ``Σz(φ, π) = (φ, −π)``. The forward pass,
BPTT and the RHEL echo all call :func:`leapfrog_step`; the echo also reads the derivatives of V at the
half-step position, which the step returns alongside the new state (under ``jit`` the forward pass never
computes what it does not use). The echo steps its two lanes at once, as their mean and half-difference
(states of shape (2, P)), and passes the derivatives in those coordinates (:mod:`rhel.engine.pair`):
the drift–kick–drift arithmetic is linear in the state, so it is the same.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
from jaxtyping import Array, Float, PyTree

Potential = Callable[[Float[Array, " P"], Float[Array, " H"], PyTree], Float[Array, ""]]
"""A potential energy ``V(phi, u, params) -> scalar``."""


class StepResult(NamedTuple):
    """Everything one leapfrog step computes."""

    phi: Float[Array, " P"]
    """Position after the step, φ_{k+1}."""
    pi: Float[Array, " P"]
    """Momentum after the step, π_{k+1}."""
    phi_half: Float[Array, " P"]
    """Half-step position φ_{k+½}, where the kick is evaluated."""
    dV_dphi: Float[Array, " P"]
    """∇_φ V(φ_{k+½}; θ, u_k)."""
    dV_du: Float[Array, " H"]
    """∇_u V(φ_{k+½}; θ, u_k) (for the echo's pair: its half-difference between the lanes)."""
    dV_dparams: Any
    """∇_θ V(φ_{k+½}; θ, u_k), a pytree like ``params`` (for the echo's pair: the half-difference)."""


def gradients(potential: Potential, phi: Float[Array, " P"], u: Float[Array, " H"], params: PyTree):
    """``(∇_φ V, ∇_u V, ∇_θ V)`` at ``φ`` by autodiff."""
    return jax.grad(potential, argnums=(0, 1, 2))(phi, u, params)


def leapfrog_step(
    potential: Potential,
    params: PyTree,
    u: Float[Array, " H"],
    dt: Float[Array, "*P"],
    phi: Float[Array, "*lanes P"],
    pi: Float[Array, "*lanes P"],
    *,
    derivatives: Callable | None = None,
) -> StepResult:
    """One drift–kick–drift step of ``H = ½‖π‖² + V(φ; params, u)`` with step ``dt``.

    ``derivatives(phi_half, u, params) -> (∇_φ V, ∇_u V, ∇_θ V)`` defaults to autodiff of the potential;
    the echo passes those of its pair of lanes (:func:`rhel.engine.pair.pair_derivatives`).
    """
    phi_half = phi + 0.5 * dt * pi
    if derivatives is None:
        dV_dphi, dV_du, dV_dparams = gradients(potential, phi_half, u, params)
    else:
        dV_dphi, dV_du, dV_dparams = derivatives(phi_half, u, params)
    pi_new = pi - dt * dV_dphi
    phi_new = phi_half + 0.5 * dt * pi_new
    return StepResult(phi_new, pi_new, phi_half, dV_dphi, dV_du, dV_dparams)
