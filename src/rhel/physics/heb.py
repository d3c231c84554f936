"""Hamiltonian Echo Backpropagation (HEB, Lopez-Pastor & Marquardt, 2023) as a special case of RHEL.

HEB trains a physical system that receives a *static* input in its initial condition, ``Φ(0) = (x, π_0)``,
evolves freely for a time T under ``H = ½‖π‖² + V(φ; θ)`` and is scored at the final time only,
``L = ℓ(φ(T))``. Its echo: flip the final momenta, give them one kick ``±ε ∇ℓ(φ(T))``, let the system run
freely for the same time T, and read

    dL/dθ = −(1/2ε) ∫₀ᵀ [∇_θ V(φᵉ₊(s)) − ∇_θ V(φᵉ₋(s))] ds,    dL/dΦ(0) = (1/2ε) Σx (Φᵉ₊(T) − Φᵉ₋(T)).

That is RHEL with a cotangent that vanishes everywhere but at the last step, so the engine's echo is
HEB's echo (discretised by the leapfrog: one nudge at the start, then free flight), and the gradient
w.r.t. the input x is the initial-state gradient of the echo. :func:`final_time_loss` poses the problem
for :func:`rhel.simulate`; ``jax.grad`` of it with ``gradient=rhel.RHEL()`` is HEB's gradient.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from rhel.argcheck import positive_integer
from rhel.engine.gradient import RHEL, GradientMethod
from rhel.engine.leapfrog import Potential
from rhel.engine.simulate import simulate
from rhel.errors import RHELError
from rhel.physics.trace import check_loss


def final_time_loss(
    potential: Potential,
    params: PyTree,
    state0: tuple[Float[Array, " P"], Float[Array, " P"]],
    loss: Callable[[Float[Array, " P"]], Float[Array, ""]],
    *,
    steps: int,
    dt: float | Float[Array, "*P"],
    u: Float[Array, " H"] | None = None,
    gradient: GradientMethod = RHEL(),
) -> Float[Array, ""]:
    """``loss(φ_T)`` after ``steps`` free leapfrog steps from ``state0``: the HEB setting.

    Args:
        potential: ``V(phi, u, params)``; ``u`` is the constant ``u`` below (an empty vector if None).
        params: θ.
        state0: the initial state; the static input of HEB is placed here (e.g. ``(x, zeros)``).
        loss: ℓ of the final positions φ_T; it must return a floating-point scalar.
        steps: the number of leapfrog steps, T = steps·dt.
        dt: the step.
        u: an optional constant input held during the whole run (a bias field, say).
        gradient: ``rhel.RHEL()`` for HEB's echo gradient, ``rhel.BPTT()`` for autodiff.

    Differentiable w.r.t. ``params``, ``state0``, ``u`` and ``dt``.
    """
    steps = positive_integer("steps", steps, " (the number of leapfrog steps)")
    dtype = jnp.result_type(state0[0], float)
    u = jnp.zeros((0,), dtype) if u is None else jnp.asarray(u)
    if u.ndim != 1:
        raise RHELError(f"u must be a vector (H,) held constant over the run, got shape {u.shape}.")
    inputs = jnp.broadcast_to(u, (steps,) + u.shape)
    phis = simulate(potential, params, inputs, state0, dt=dt, gradient=gradient)
    check_loss(loss, jax.ShapeDtypeStruct(phis.shape[1:], phis.dtype), "the final positions φ_T")
    return loss(phis[-1])
