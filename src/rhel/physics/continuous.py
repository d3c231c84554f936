"""Continuous-time problems on the leapfrog grid: inputs u(t) and running losses ∫ℓ(φ(t), t) dt.

RHEL-SPEC §2 states RHEL in continuous time: the forward ``dΦ/dt = J∇H(Φ, θ, u(t))`` on ``[0, T]``, the
loss ``L = ∫₀ᵀ ℓ(φ(t), t) dt``, and the theorem that the echo's gradient and its adjoint λ(t) equal those
of the continuous adjoint method at every t. The engine integrates the discrete leapfrog; these helpers
pose a continuous problem on its grid ``t_k = k δ``, ``δ = T/L``, so that every discrete quantity is a
second-order approximation of its continuous counterpart:

* the input of step k (from t_k to t_{k+1}) is ``u(t_k + δ/2)``, the midpoint value (the leapfrog's
  kick sits at the half step);
* the loss is the trapezoidal rule on the outputs φ_1 … φ_L,
  ``L_δ = Σ_{k=1}^{L−1} δ ℓ(φ_k, t_k) + (δ/2) ℓ(φ_L, T)``; the term ``(δ/2) ℓ(φ_0, 0)`` of the full rule is
  left out because φ_0 is given, not an output (it does not depend on θ).

Then ``∂L_δ/∂θ = ∂L/∂θ + O(δ²)``, and the echo's adjoint (:attr:`EchoTrace.adjoint_midpoint`) is
λ(t_k) + O(δ²) at the interior grid points (tests/physics/test_continuous.py measures both orders).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from rhel.argcheck import positive_integer, positive_real
from rhel.errors import RHELError


def time_grid(T: float, steps: int) -> tuple[Float[Array, " L+1"], float]:
    """The grid ``t_k = k T/L`` (k = 0 … L) and the step ``δ = T/L`` (a Python float).

    ``T`` is a finite real number > 0 and ``steps`` an integer ≥ 1 (Python or NumPy, not a bool).
    """
    steps = positive_integer("steps", steps)
    dt = positive_real("the horizon T", T) / steps
    return dt * jnp.arange(steps + 1), dt


def midpoint_inputs(
    u: Callable[[Float[Array, ""]], Float[Array, " H"]], T: float, steps: int
) -> tuple[Float[Array, "L H"], float]:
    """Sample a continuous input ``u(t) -> (H,)`` at the step midpoints; return ``(inputs, δ)``."""
    ts, dt = time_grid(T, steps)
    inputs = jax.vmap(u)(ts[:-1] + 0.5 * dt)
    if inputs.ndim != 2:
        raise RHELError(
            f"u(t) must return a vector of shape (H,); it returned shape {inputs.shape[1:]}. "
            "Wrap a scalar input as jnp.array([value])."
        )
    return inputs, dt


def trapezoid_weights(T: float, steps: int) -> Float[Array, " L"]:
    """Weights of the outputs φ_1 … φ_L in the trapezoidal rule on [0, T]: δ, …, δ, δ/2."""
    _, dt = time_grid(T, steps)
    return jnp.full(steps, dt).at[-1].set(0.5 * dt)


def integral_loss(
    running: Callable[[Float[Array, " P"], Float[Array, ""]], Float[Array, ""]], T: float, steps: int
) -> Callable[[Float[Array, "L P"]], Float[Array, ""]]:
    """The trapezoidal approximation of ``∫₀ᵀ ℓ(φ(t), t) dt`` as a function of the outputs φ_1 … φ_L.

    ``running(phi, t)`` is the running loss ℓ; the returned function is what :func:`rhel.simulate`'s
    output (or :func:`echo_trace`'s ``loss``) is fed to. It takes exactly ``steps`` outputs, shape
    ``(steps, P)``; other shapes raise an :class:`RHELError`.
    """
    ts, _ = time_grid(T, steps)
    weights = trapezoid_weights(T, steps)

    def loss(phis: Float[Array, "L P"]) -> Float[Array, ""]:
        shape = jnp.shape(phis)
        if len(shape) != 2 or shape[0] != len(weights):
            raise RHELError(
                f"integral_loss(running, T, steps={len(weights)}) takes the {len(weights)} outputs φ_1 … φ_L, "
                f"shape ({len(weights)}, P); got shape {shape}. Give integral_loss steps = the number of "
                "leapfrog steps (the length of the inputs)."
            )
        return jnp.sum(weights * jax.vmap(running)(phis, ts[1:]))

    return loss
